"""A local Discord REST API: enough of it for a real discord.py client, interaction and webhook.

An aiohttp server on 127.0.0.1 (random port). A gateway websocket at ``/gateway`` speaks the
handshake (HELLO, IDENTIFY, READY, then GUILD_CREATE with the test's roles), acknowledges
heartbeats and pushes the events a test hands to ``dispatch`` (INTERACTION_CREATE). Under
``/api/v10`` it answers REST the way discord.com does: the login calls (``/users/@me``, ``/oauth2/applications/@me``), command sync (PUT and GET
``/applications/{id}/commands``), interaction callbacks (defer), webhook executions (interaction
follow-ups and alert webhooks) and channel messages. JSON bodies and multipart uploads
(``payload_json`` plus ``files[n]``) are recorded; ``wait_for`` waits with a bound, never sleeps.

A channel message with ``nonce`` and ``enforce_nonce`` is created once per (author, nonce), as on
discord.com: a second create returns the first message (discord.com remembers for "a few minutes",
this fake for its lifetime). ``messages`` holds what was created, ``created`` counts it per nonce;
``hold_answer`` lets the fake create a message but never answer, as if the bot died right then.

discord.py has no base-URL setting: ``point_at`` sets ``discord.http.Route.BASE`` (REST,
interaction responses, follow-ups and webhooks all build their URLs from it) and
``DiscordWebSocket.DEFAULT_GATEWAY`` with pytest's ``monkeypatch``, undone after the test. The
payload builders follow Discord's documented INTERACTION_CREATE and GUILD_CREATE shapes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import discord.gateway
import discord.http
import pytest
import yarl
from aiohttp import WSMsgType, web

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.local-test-token-not-real"
APP_ID = 1234567890123456789
BOT_USER = {
    "id": str(APP_ID),
    "username": "moonbot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
    "verified": True,
    "flags": 0,
    "mfa_enabled": False,
}
OWNER_ID = "1000000000000000001"
APP_INFO = {
    "id": str(APP_ID),
    "name": "moonbot",
    "icon": None,
    "description": "",
    "bot_public": False,
    "bot_require_code_grant": False,
    "owner": {**BOT_USER, "id": OWNER_ID, "username": "owner", "bot": False},
    "team": None,
    "verify_key": "0" * 64,
    "flags": 0,
    "summary": "",
}
GUILD_ID = 1100000000000000001
CHANNEL_ID = 1100000000000000002
WEBHOOK_ID = 1200000000000000001
WEBHOOK_TOKEN = "w" * 68
WEBHOOK_URL = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
WAIT_S = 5.0  # the bound on every wait for the client under test
TIMESTAMP = "2026-03-04T13:00:00.000000+00:00"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    files: dict[str, bytes] = field(default_factory=dict)


class FakeDiscord:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.commands: list[dict[str, Any]] = []
        self._failures: list[tuple[str, int, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1300000000000000001)
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = itertools.count(1)
        self.gateway_received: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []  # channel messages created
        self.created: Counter[str] = Counter()  # channel messages created, per nonce
        self._by_nonce: dict[tuple[str, str], dict[str, Any]] = {}
        self._held: set[str] = set()
        self._closed = asyncio.Event()
        self.role_ids: tuple[int, ...] = ()
        self.base = ""
        self.gateway_url = ""

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}/api/v10"
        self.gateway_url = f"ws://{host}:{port}/gateway/"
        return self

    def point_at(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Send discord.py's REST and gateway traffic here for the rest of the test."""
        monkeypatch.setattr(discord.http.Route, "BASE", self.base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url)
        )

    async def close(self) -> None:
        self._closed.set()  # held answers go out now, to nobody
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- scripting ----------------------------------------------------------------------

    def fail_next(self, path_prefix: str, status: int = 400, message: str = "Bad") -> None:
        """The next request whose path starts with ``path_prefix`` fails like Discord's do."""
        self._failures.append((path_prefix, status, {"code": 50035, "message": message}))

    def hold_answer(self, nonce: str) -> None:
        """Create the channel message with this nonce but answer only when the fake closes."""
        self._held.add(nonce)

    async def wait_created(self, nonce: str) -> None:
        """Wait until a channel message with this nonce exists."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.created[nonce] > 0), WAIT_S)

    def matching(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    async def wait_for(self, method: str, path_prefix: str, count: int = 1) -> list[Recorded]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.matching(method, path_prefix)) >= count),
                WAIT_S,
            )
        return self.matching(method, path_prefix)[:count]

    async def wait_for_gateway(self, op: int, count: int = 1) -> list[dict[str, Any]]:
        """The first ``count`` payloads with opcode ``op`` the client sent on the gateway."""

        def found() -> list[dict[str, Any]]:
            return [m for m in self.gateway_received if m.get("op") == op]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(found()) >= count), WAIT_S)
        return found()[:count]

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Push a gateway event (op 0) to the connected client."""
        await self._send_event(self._sockets[-1], event, data)

    # --- the gateway --------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        # Plain text frames: discord.py asks for zlib-stream but reads uncompressed text too.
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}, "s": None, "t": None})
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            payload = json.loads(msg.data)
            async with self._changed:
                self.gateway_received.append(payload)
                self._changed.notify_all()
            if payload["op"] == 1:  # HEARTBEAT
                await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
            elif payload["op"] == 2:  # IDENTIFY
                await self._send_event(ws, "READY", self._ready())
                await self._send_event(ws, "GUILD_CREATE", guild_create(self.role_ids))
        return ws

    async def _send_event(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        await ws.send_json({"op": 0, "t": event, "s": next(self._sequence), "d": data})

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "shard": [0, 1],
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
        }

    # --- the API ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body, files = await _read_body(request)
        async with self._changed:
            self.requests.append(Recorded(request.method, path, dict(request.query), body, files))
            self._changed.notify_all()
        for i, (prefix, status, error) in enumerate(self._failures):
            if path.startswith(prefix):
                del self._failures[i]
                return _json(error, status=status)
        answer = self._answer(request.method, path, request.query.get("wait"), body)
        async with self._changed:
            self._changed.notify_all()
        nonce = body.get("nonce") if isinstance(body, dict) else None
        if nonce in self._held and path.endswith("/messages"):
            self._held.discard(nonce)
            await self._closed.wait()
        return answer

    def _answer(self, method: str, path: str, wait: str | None, body: Any) -> web.StreamResponse:
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["users", "@me"]:
                return _json(BOT_USER)
            case "GET", ["oauth2", "applications", "@me"]:
                return _json(APP_INFO)
            case "PUT", ["applications", app_id, *_, "commands"]:
                self.commands = [
                    {
                        **c,
                        "id": str(next(self._ids)),
                        "application_id": app_id,
                        "version": "1",
                        "default_member_permissions": None,
                    }
                    for c in body
                ]
                return _json(self.commands)
            case "GET", ["applications", _, *_, "commands"]:
                return _json(self.commands)
            case "POST", ["interactions", interaction_id, _, "callback"]:
                return _json(
                    {
                        "interaction": {
                            "id": interaction_id,
                            "type": 2,
                            "response_message_loading": body.get("type") == 5,
                            "response_message_ephemeral": False,
                        },
                        "resource": {"type": body.get("type")},
                    }
                )
            case "POST", ["webhooks", _, _]:
                if wait in ("1", "true"):
                    return _json(self._message(CHANNEL_ID, body))
                return web.Response(status=204)
            case "POST", ["channels", channel_id, "messages"]:
                return _json(self._create(int(channel_id), body))
        return _json({"code": 0, "message": "404: Not Found"}, status=404)

    def _create(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """A channel message by the bot, unless its enforced nonce names one it created."""
        nonce = body.get("nonce")
        key = (str(BOT_USER["id"]), str(nonce))
        if nonce is not None and body.get("enforce_nonce") and key in self._by_nonce:
            return self._by_nonce[key]
        message = self._message(channel_id, body)
        self.messages.append(message)
        if nonce is not None:
            message["nonce"] = nonce
            self.created[str(nonce)] += 1
            self._by_nonce[key] = message
        return message

    def _message(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": str(channel_id),
            "type": 0,
            "author": BOT_USER,
            "content": body.get("content", ""),
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                {
                    "id": str(a.get("id", 0)),
                    "filename": a.get("filename", "file"),
                    "size": 1,
                    "url": "https://cdn.invalid/a",
                    "proxy_url": "https://cdn.invalid/a",
                }
                for a in body.get("attachments", [])
            ],
            "embeds": body.get("embeds", []),
            "pinned": False,
            "flags": body.get("flags", 0),
        }


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", as discord.com sends it: discord.py compares the header as is.
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    if request.content_type == "multipart/form-data":
        form = await request.post()
        files = {k: v.file.read() for k, v in form.items() if isinstance(v, web.FileField)}
        payload = form.get("payload_json")
        return (json.loads(payload) if isinstance(payload, str) else {}), files
    if request.can_read_body:
        return await request.json(), {}
    return None, {}


def _user(user_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name.title(),
        "avatar": None,
        "public_flags": 0,
    }


def slash_command(
    name: str,
    options: dict[str, str] | None = None,
    *,
    user_id: int,
    interaction_id: int,
    roles: tuple[int, ...] = (),
    in_guild: bool = True,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload for ``/name option:value ...`` typed by ``user_id``."""
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": 2,
        "token": f"aW50ZXJhY3Rpb246{interaction_id}:fake-interaction-token",
        "version": 1,
        "data": {
            "id": "1250000000000000001",
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()],
        },
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if in_guild:
        payload["data"]["guild_id"] = str(GUILD_ID)
        payload |= {
            "guild_id": str(GUILD_ID),
            "guild_locale": "en-US",
            "guild": {"id": str(GUILD_ID), "locale": "en-US", "features": []},
            "channel_id": str(CHANNEL_ID),
            "channel": {
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "moonbot",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            },
            "member": {
                "user": _user(user_id, f"user{user_id}"),
                "roles": [str(r) for r in roles],
                "joined_at": TIMESTAMP,
                "premium_since": None,
                "deaf": False,
                "mute": False,
                "pending": False,
                "nick": None,
                "avatar": None,
                "flags": 0,
                "permissions": "2248473465835073",
                "communication_disabled_until": None,
            },
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
        }
    else:
        payload |= {
            "channel_id": str(CHANNEL_ID + 1),
            "channel": {"id": str(CHANNEL_ID + 1), "type": 1, "flags": 0, "recipients": []},
            "user": _user(user_id, f"user{user_id}"),
            "authorizing_integration_owners": {"1": str(user_id)},
            "context": 1,
        }
    return payload


def guild_create(role_ids: tuple[int, ...]) -> dict[str, Any]:
    """A GUILD_CREATE payload (the guilds intent) with the given roles, for the role cache."""

    def role(role_id: int, name: str, position: int) -> dict[str, Any]:
        return {
            "id": str(role_id),
            "name": name,
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": "0",
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    return {
        "id": str(GUILD_ID),
        "name": "moonbot testers",
        "icon": None,
        "owner_id": OWNER_ID,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [role(GUILD_ID, "@everyone", 0)]
        + [role(r, f"role{i}", i + 1) for i, r in enumerate(role_ids)],
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "description": None,
        "banner": None,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "joined_at": TIMESTAMP,
        "large": False,
        "unavailable": False,
        "member_count": 3,
        "members": [],
        "channels": [],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }
