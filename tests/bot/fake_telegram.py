"""A local Telegram Bot API: enough of it for a real python-telegram-bot ``Application``.

An aiohttp server on 127.0.0.1 (random port) answering ``/bot<token>/<method>`` the way
api.telegram.org does (``{"ok": true, "result": ...}``, errors as ``{"ok": false, ...}``):
getMe, deleteWebhook, getWebhookInfo, setMyCommands, a long-polling getUpdates fed by
``push``, sendMessage and sendPhoto (multipart). Every call is recorded with its form fields and
uploaded files; ``wait_for`` waits (with a bound, never a sleep) until a call has arrived.
``posted`` holds the messages created; ``hold_answer`` lets the fake create one but never answer,
as if the bot died right then (the Bot API has no idempotency key: a resend posts again).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:TEST-token-for-a-local-fake-only"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "moonbot",
    "username": "moonbot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
WAIT_S = 5.0  # the bound on every wait for the bot under test
DATE = 1772625600  # 2026-03-04 12:00 UTC


@dataclass
class ApiCall:
    method: str
    params: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[ApiCall] = []
        self.updates: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []  # messages created, in order
        self._held: dict[str, int] = {}
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._changed = asyncio.Condition()
        self._closing = False
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.base_file_url = ""

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/bot"
        self.base_file_url = f"http://{host}:{port}/file/bot"
        return self

    async def close(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- scripting ----------------------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for the next getUpdates; ``update_id`` is filled in."""
        update = {"update_id": next(self._update_ids), **update}
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()
        return update

    def fail_next(self, method: str, description: str, error_code: int = 400) -> None:
        """The next call of ``method`` fails the way Telegram fails it."""
        self._failures.setdefault(method, []).append((error_code, description))

    def hold_answer(self, method: str, nth: int) -> None:
        """Carry out the ``nth`` call of ``method`` (counting every call so far) but answer only
        when the fake closes."""
        self._held[method] = nth

    async def wait_posted(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` messages created, once they exist (or TimeoutError)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.posted) >= count), WAIT_S
            )
        return self.posted[:count]

    def sent(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1) -> list[ApiCall]:
        """The first ``count`` calls of ``method``, once they have arrived (or TimeoutError)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.sent(method)) >= count), WAIT_S
            )
        return self.sent(method)[:count]

    # --- the API ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        form = await request.post()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        files = {k: v.file.read() for k, v in form.items() if isinstance(v, web.FileField)}
        async with self._changed:
            self.calls.append(ApiCall(method, params, files))
            number = len(self.sent(method))
            self._changed.notify_all()
        if self._failures.get(method):
            code, description = self._failures[method].pop(0)
            return _error(code, description)
        result = await self._answer(method, params, files)
        if result is None:
            return _error(404, "Not Found: method not found")
        if self._held.get(method) == number:
            del self._held[method]
            async with self._changed:
                await self._changed.wait_for(lambda: self._closing)
        return web.json_response({"ok": True, "result": result})

    async def _answer(self, method: str, params: dict[str, str], files: dict[str, bytes]) -> Any:
        match method:
            case "getMe":
                return BOT_USER
            case "deleteWebhook" | "setMyCommands" | "deleteMyCommands" | "close" | "logOut":
                return True
            case "getWebhookInfo":
                return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
            case "getUpdates":
                return await self._get_updates(params)
            case "sendMessage":
                return await self._post(params, text=params["text"])
            case "sendPhoto":
                photo = {"file_id": "AgAC-photo", "file_unique_id": "AQAD-photo"}
                sizes = [{**photo, "width": 320, "height": 240, "file_size": len(files["photo"])}]
                return await self._post(params, photo=sizes, caption=params.get("caption", ""))
            case "sendMediaGroup":  # media: a JSON array of InputMediaPhoto, "attach://<name>"
                album = []
                for item in json.loads(params["media"]):
                    upload = files[item["media"].removeprefix("attach://")]
                    photo = {"file_id": "AgAC-album", "file_unique_id": "AQAD-album"}
                    sizes = [{**photo, "width": 320, "height": 240, "file_size": len(upload)}]
                    album.append(
                        await self._post(params, photo=sizes, caption=item.get("caption", ""))
                    )
                return album
        return None

    async def _get_updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self.updates if u["update_id"] >= offset]

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._closing or bool(pending())), timeout
                )
        return pending()

    async def _post(self, params: dict[str, str], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": DATE,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            **content,
        }
        async with self._changed:
            self.posted.append(message)
            self._changed.notify_all()
        return message


def _error(code: int, description: str) -> web.Response:
    body = {"ok": False, "error_code": code, "description": description}
    return web.json_response(body, status=code)


def command_update(
    text: str, *, chat_id: int, user_id: int, chat_type: str = "private"
) -> dict[str, Any]:
    """An update as Telegram sends it for a typed command (``/predict <mint>``)."""
    user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}", "language_code": "en"}
    chat: dict[str, Any] = (
        {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        if chat_type == "private"
        else {"id": chat_id, "type": chat_type, "title": "moonbot testers"}
    )
    command = text.split(maxsplit=1)[0]
    return {
        "message": {
            "message_id": 10,
            "date": DATE,
            "chat": chat,
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
    }
