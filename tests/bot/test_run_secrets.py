"""No secret in any output: `moonbot run` with a token the Bot API rejects, as a real process.

The Bot API is the local fake (``tests.bot.fake_telegram``), reached through
``MOONBOT_TELEGRAM_API_URL`` (python-telegram-bot's ``base_url``); it answers a token it does
not know the way api.telegram.org does (HTTP 401, ``{"ok": false, "error_code": 401,
"description": "Unauthorized"}``), which python-telegram-bot turns into ``InvalidToken``, whose
message quotes the token in full.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import discord
import pytest

from bot import discord_face as dc
from bot import telegram_face as tg
from bot.redact import RedactingFormatter, protect, scrub
from engine.config import Settings
from engine.errors import FaceUnavailable
from tests.bot.fake_discord import FakeDiscord
from tests.bot.fake_telegram import FakeTelegram

REJECTED = "987654321:AAH-rejected-token-that-must-never-show"
RUN_BOUND_S = 90.0  # a generous bound on the whole process (start-up imports included)


async def run_moonbot(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str, str]:
    """Run ``moonbot <args>`` in ``tmp_path`` (no .env there); exit status, stdout, stderr and
    every file the data directory's logs folder holds."""
    data = tmp_path / "data"
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "MOONBOT_DATA_DIR": str(data),
        **env,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        *args,
        cwd=tmp_path,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), RUN_BOUND_S)
    logs = "".join(
        p.read_text(errors="replace") for p in sorted(data.rglob("*.log*")) if p.is_file()
    )
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode(), logs


@pytest.mark.parametrize("debug", [False, True], ids=["default", "debug"])
async def test_run_with_a_rejected_telegram_token_prints_one_line_and_no_token(
    tmp_path: Path, debug: bool
) -> None:
    api = await FakeTelegram().start()  # knows only its own token: ours is rejected
    try:
        status, out, err, logs = await run_moonbot(
            tmp_path,
            {"MOONBOT_TELEGRAM_TOKEN": REJECTED, "MOONBOT_TELEGRAM_API_URL": api.base_url},
            *(["--debug"] if debug else []),
            "run",
        )
    finally:
        await api.close()
    secret_part = REJECTED.split(":", 1)[1]
    for name, text in (("stdout", out), ("stderr", err), ("log", logs)):
        assert secret_part not in text, f"the token is in {name}"
    assert status == 1
    errors = [line for line in (out + err).splitlines() if line.startswith("error:")]
    assert errors == [
        "error: telegram: the Bot API rejected MOONBOT_TELEGRAM_TOKEN: copy the token again "
        "from @BotFather (or unset the token to run without Telegram)"
    ]
    assert "Traceback" not in out + err
    if debug:  # the request URL (which holds the token) was logged, redacted, in both places
        assert "/getMe" in err and "/getMe" in logs


async def test_telegram_start_failures_name_the_face_and_what_to_do(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    from telegram.error import Forbidden, InvalidToken, NetworkError

    url = "http://127.0.0.1:9/bot"
    lines = [
        str(tg.start_failure(exc, url))
        for exc in (InvalidToken(f"The token `{REJECTED}` was rejected"), NetworkError("x"))
    ]
    assert lines == [
        "telegram: the Bot API rejected MOONBOT_TELEGRAM_TOKEN: copy the token again from "
        "@BotFather (or unset the token to run without Telegram)",
        "telegram: cannot reach the Bot API at 127.0.0.1:9: check the network or "
        "MOONBOT_TELEGRAM_API_URL (or unset the token to run without Telegram)",
    ]
    assert "missing permission" in str(tg.start_failure(Forbidden("no"), url))


async def test_a_telegram_face_that_cannot_connect_raises_one_line(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    from engine.service import MoonbotService

    settings = Settings.model_validate(
        tmp_settings.model_dump()
        | {"telegram_token": REJECTED, "telegram_api_url": "http://127.0.0.1:9/bot"}
    )
    service = await MoonbotService.open(settings)
    try:
        with pytest.raises(FaceUnavailable) as caught:
            await tg.start_telegram(service, settings)
    finally:
        await service.close()
    assert REJECTED not in str(caught.value) and caught.value.__cause__ is None
    assert str(caught.value).startswith("telegram: cannot reach the Bot API at 127.0.0.1:9")


async def test_a_rejected_discord_token_is_one_line_without_the_token(
    tmp_settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from engine.service import MoonbotService

    api = await FakeDiscord().start()
    api.point_at(monkeypatch)
    api.fail_next("/users/@me", 401, "401: Unauthorized")  # discord.com's answer to a bad token
    bad = "MTIzNDU2Nzg5MDEyMzQ1Njc4.rejected.discord-token-never-shown"
    settings = Settings.model_validate(tmp_settings.model_dump() | {"discord_token": bad})
    service = await MoonbotService.open(settings)
    try:
        with pytest.raises(FaceUnavailable) as caught:
            await dc.start_discord(service, settings)
    finally:
        await service.close()
        await api.close()
    assert str(caught.value) == (
        "discord could not start: Discord rejected MOONBOT_DISCORD_TOKEN: reset the bot token "
        "in the Developer Portal (or unset the token to run without Discord)"
    )
    assert caught.value.__cause__ is None


def test_a_lost_discord_gateway_is_one_line() -> None:
    line = str(dc.face_failure(discord.PrivilegedIntentsRequired(None), lost=True))
    assert line == (
        "discord lost its connection: Discord refused the gateway intents: enable them for the "
        "bot in the Developer Portal (or unset the token to run without Discord)"
    )


def test_every_log_line_and_traceback_is_scrubbed(tmp_settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import logging
    import threading

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # protect() replaces both hooks
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)

    rpc = "https://mainnet.helius-rpc.com/?api-key=0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    settings = Settings.model_validate(
        tmp_settings.model_dump()
        | {"telegram_token": REJECTED, "rpc_url": rpc, "webhook_auth": "hook-secret-42"}
    )
    protect(settings)
    formatter = RedactingFormatter(logging.Formatter("%(message)s"))
    try:
        raise RuntimeError(f"POST {rpc} failed; bot{REJECTED}; auth hook-secret-42")
    except RuntimeError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "calling %s", (rpc,), sys.exc_info()
        )
    text = formatter.format(record)
    for secret in (REJECTED, "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "hook-secret-42"):
        assert secret not in text
    assert "Traceback" in text and "<redacted>" in text
    assert scrub(f"token {REJECTED}") == "token <redacted>"


async def test_discord_without_the_commands_scope_is_one_line(tmp_settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from engine.service import MoonbotService
    from tests.bot.fake_discord import TOKEN

    api = await FakeDiscord().start()
    api.point_at(monkeypatch)
    # what discord.com answers a command sync of a bot invited without applications.commands
    api.fail_next("/applications/", 403, "Missing Access")
    settings = Settings.model_validate(tmp_settings.model_dump() | {"discord_token": TOKEN})
    service = await MoonbotService.open(settings)
    try:
        with pytest.raises(FaceUnavailable) as caught:
            await dc.start_discord(service, settings)
    finally:
        await service.close()
        await api.close()
    assert str(caught.value) == (
        "discord could not start: missing permission: invite the bot with the bot and "
        "applications.commands scopes (or unset the token to run without Discord)"
    )
