"""The Telegram face, end to end: a real PTB Application long-polls a local Bot API fake, a real
MoonbotService answers, and the test reads the sendMessage/sendPhoto requests the bot made."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Bot

from bot.commands import COMMANDS, Reply, help_text
from bot.format import MAY_REPEAT
from bot.render import TELEGRAM_LIMIT
from bot.telegram_face import (
    FAILED,
    NOT_ALLOWED,
    TelegramApp,
    deliver_alerts,
    send_reply,
    start_telegram,
    stop_telegram,
)
from engine.config import Settings
from engine.service import MoonbotService
from tests.bot.chat_world import (
    HOSTILE,
    PNG,
    add_hostile_alert,
    alert_states,
    chart,
    open_service,
    reopen_service,
)
from tests.bot.fake_telegram import FakeTelegram, command_update
from tests.conftest import MINT_X, WALLET_A

ADMIN = 42
USER = 7
STATUS_HTML = (
    "<b>Source sim · data as of 2026-03-04 13:00 UTC</b>\n"
    "kols 2 · tokens 2 · trades 5 · signals 2 · labeled 1 · alerts_pending 0\n"
    "Model none (run /retrain)"
)

Start = Callable[..., Awaitable[TelegramApp]]


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    yield fake
    await fake.close()


@pytest.fixture
def settings(tmp_settings: Settings, api: FakeTelegram) -> Settings:
    return tmp_settings.model_copy(
        update={"telegram_token": SecretStr(api.token), "admin_user_ids": [str(ADMIN)]}
    )


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[MoonbotService]:
    svc = await open_service(settings)
    yield svc
    await svc.close()


@pytest.fixture
async def start(
    service: MoonbotService, settings: Settings, api: FakeTelegram
) -> AsyncIterator[Start]:
    """Start the bot the way `moonbot run` will, pointed at the fake; stopped after the test."""
    apps: list[TelegramApp] = []

    async def _start(**kw: Any) -> TelegramApp:
        app = await start_telegram(
            service, settings, base_url=api.base_url, base_file_url=api.base_file_url, **kw
        )
        apps.append(app)
        return app

    yield _start
    for app in apps:
        await stop_telegram(app)


async def test_startup_registers_the_command_table_and_logs_no_token(
    start: Start, api: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await start()
    assert app.bot.username == "moonbot_test_bot"  # from getMe
    (menu,) = await api.wait_for("setMyCommands")
    assert [c["command"] for c in json.loads(menu.params["commands"])] == [c.name for c in COMMANDS]
    await api.wait_for("getUpdates")
    methods = [c.method for c in api.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    # httpx logs every request URL at INFO and the token is in the URL: redacted, not logged.
    bot_side = [r for r in caplog.records if not r.name.startswith("aiohttp")]  # not the fake's
    assert any("<telegram-token>/getMe" in r.getMessage() for r in bot_side)
    assert not any(api.token in r.getMessage() for r in bot_side)


async def test_predict_update_gets_an_html_sendmessage(start: Start, api: FakeTelegram) -> None:
    await start()
    await api.push(command_update(f"/predict {MINT_X}", chat_id=555, user_id=USER))
    (sent,) = await api.wait_for("sendMessage")
    assert sent.params["chat_id"] == "555"
    assert sent.params["parse_mode"] == "HTML"
    assert sent.params["text"].splitlines()[0] == f"<b>$DROCK (Doge Rocket) · {MINT_X}</b>"
    assert json.loads(sent.params["link_preview_options"]) == {"is_disabled": True}


async def test_multiline_reply_has_a_bold_title(start: Start, api: FakeTelegram) -> None:
    await start()
    await api.push(
        command_update("/status@moonbot_test_bot", chat_id=-100, user_id=USER, chat_type="group")
    )
    (sent,) = await api.wait_for("sendMessage")
    assert (sent.params["chat_id"], sent.params["text"]) == ("-100", STATUS_HTML)


async def test_hostile_text_is_escaped(start: Start, api: FakeTelegram) -> None:
    await start()
    await api.push(command_update(f"/kol {HOSTILE}", chat_id=555, user_id=USER))
    (sent,) = await api.wait_for("sendMessage")
    assert sent.params["text"] == (
        "'&lt;b&gt;@everyone&lt;/b&gt; *_[x](http://evil)' is not a valid Solana wallet: "
        "'&lt;' is not a base58 character"
    )


async def test_start_answers_with_help_and_admin_comes_from_settings(
    start: Start, api: FakeTelegram
) -> None:
    await start()
    await api.push(command_update("/start", chat_id=1, user_id=USER))
    await api.wait_for("sendMessage", 1)
    await api.push(command_update("/retrain", chat_id=1, user_id=USER))
    await api.wait_for("sendMessage", 2)
    await api.push(command_update("/retrain", chat_id=2, user_id=ADMIN))
    texts = [c.params["text"] for c in await api.wait_for("sendMessage", 3)]
    title, rest = help_text().split("\n", 1)
    assert texts == [
        f"<b>{title}</b>\n{rest.replace('<', '&lt;').replace('>', '&gt;')}",
        "/retrain is for admins only",
        "not enough labeled signals to train: 1 (need about 72)",
    ]


async def test_slow_retrain_does_not_hold_up_other_users(
    start: Start, api: FakeTelegram, service: MoonbotService
) -> None:
    await start()
    async with service._train_lock:  # a retrain is running: the next /retrain waits on it
        await api.push(command_update("/retrain", chat_id=1, user_id=ADMIN))
        await api.push(command_update(f"/predict {MINT_X}", chat_id=2, user_id=USER))
        (first,) = await api.wait_for("sendMessage")
        assert first.params["chat_id"] == "2"  # answered while /retrain is still waiting
    first, second = await api.wait_for("sendMessage", 2)
    assert second.params["chat_id"] == "1"
    assert second.params["text"] == "not enough labeled signals to train: 1 (need about 72)"


async def test_other_chats_get_one_line_and_nothing_else(start: Start, api: FakeTelegram) -> None:
    await start(allowed_chat_ids={555})
    await api.push(command_update("/status", chat_id=999, user_id=USER))
    await api.push(command_update("/status", chat_id=555, user_id=USER))
    sent = await api.wait_for("sendMessage", 2)
    by_chat = {c.params["chat_id"]: c.params["text"] for c in sent}
    assert by_chat == {"999": NOT_ALLOWED, "555": STATUS_HTML}
    assert len(api.sent("sendMessage")) == 2


async def test_unknown_command_answered_in_private_not_in_groups(
    start: Start, api: FakeTelegram
) -> None:
    await start()
    await api.push(command_update("/frobnicate", chat_id=-100, user_id=USER, chat_type="group"))
    await api.push(command_update("/frobnicate", chat_id=555, user_id=USER))
    (sent,) = await api.wait_for("sendMessage")
    assert (sent.params["chat_id"], sent.params["text"]) == (
        "555",
        "unknown command /frobnicate: try /help",
    )
    await api.push(command_update("/help", chat_id=-100, user_id=USER, chat_type="group"))
    await api.wait_for("sendMessage", 2)
    assert [c.params["chat_id"] for c in api.sent("sendMessage")] == ["555", "-100"]


async def test_a_failed_send_reaches_the_error_handler_and_the_user(
    start: Start, api: FakeTelegram
) -> None:
    await start()
    api.fail_next("sendMessage", "Bad Request: can't parse entities: unsupported start tag")
    await api.push(command_update("/status", chat_id=555, user_id=USER))
    failed, notice = await api.wait_for("sendMessage", 2)
    assert failed.params["text"] == STATUS_HTML
    assert (notice.params["chat_id"], notice.params["text"]) == ("555", FAILED)


async def test_long_reply_is_split_and_the_chart_sent_as_a_photo(
    start: Start, api: FakeTelegram, tmp_path: Path
) -> None:
    app = await start()
    text = "\n".join(f"{i:04d} <{HOSTILE}>" for i in range(250))  # 10,499 characters
    assert len(text) > 10_000
    await send_reply(app.bot, 555, Reply(text, chart(tmp_path)), title=False)
    (photo,) = await api.wait_for("sendPhoto")
    messages = api.sent("sendMessage")
    assert len(messages) == 4
    assert all(len(m.params["text"]) <= TELEGRAM_LIMIT for m in messages)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert "\n".join(m.params["text"] for m in messages) == escaped
    assert photo.params["chat_id"] == "555" and photo.files["photo"] == PNG


async def test_pending_alerts_are_delivered_escaped_and_marked_sent(
    start: Start, api: FakeTelegram, service: MoonbotService
) -> None:
    app = await start()
    await add_hostile_alert(service, "telegram:555")
    await add_hostile_alert(service, "telegram:556")
    assert await deliver_alerts(service, app.bot) == 2
    sent = await api.wait_for("sendMessage", 2)
    assert sorted(m.params["chat_id"] for m in sent) == ["555", "556"]
    lines = sent[0].params["text"].split("\n")
    assert lines[0] == (
        "<b>ALERT $EVIL (&lt;b&gt;@everyone&lt;/b&gt; *_[x](http://evil))  "
        "conviction 55 (rules 55 + ML 0)</b>"
    )
    # the world (tests/conftest.py): alpha bought 1,000 X for 2.0 SOL at minute 0, X was created
    # 60 min before; its last snapshot by the 73rd hour is minute 4,350: mcap 50,000 + 100 * 4,350
    # = $485.0k, liquidity a fifth of it
    assert lines[1:4] == [
        "Diamond Hand KOL alpha [elite] bought 2.00 SOL · DH score 48",
        "Bought 2026-03-01 12:00 UTC · token 1.0 h old · signal opened 2026-03-01 12:00 UTC at "
        "$50.0k mcap",
        "Market cap now $485.0k (2026-03-04 12:30 UTC) · liquidity $97.0k",
    ]
    assert "Solscan https://solscan.io/token/" + MINT_X in lines
    assert "KOL wallet https://solscan.io/account/" + WALLET_A in lines
    assert await service.pending_alerts("telegram:") == []


async def test_a_sender_killed_after_telegram_posted_resends_saying_it_may_repeat(
    start: Start, api: FakeTelegram, service: MoonbotService, settings: Settings
) -> None:
    app = await start()
    channels = ["telegram:555", "telegram:556", "telegram:557"]
    for channel in channels:
        await add_hostile_alert(service, channel)
    # Telegram posts the second alert; the bot dies before it hears back.
    api.hold_answer("sendMessage", 2)
    sender = asyncio.create_task(deliver_alerts(service, app.bot))
    await api.wait_posted(2)
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert await alert_states(service) == {
        channels[0]: ("sent", False),
        channels[1]: ("pending", True),
        channels[2]: ("pending", False),
    }

    restarted = await reopen_service(settings)
    try:
        async with Bot(api.token, base_url=api.base_url) as bot:
            assert await deliver_alerts(restarted, bot) == 2
        assert await alert_states(restarted) == {c: ("sent", False) for c in channels}
    finally:
        await restarted.close()
    posted = api.posted
    assert [m["chat"]["id"] for m in posted] == [555, 556, 556, 557]
    first, again = posted[1]["text"].split("\n"), posted[2]["text"].split("\n")
    assert first[0].startswith("<b>ALERT $EVIL") and first[0].endswith("</b>")
    # No idempotency key on Telegram: the one in flight arrives twice, the copy saying so.
    assert again == [f"<b>{MAY_REPEAT}</b>", first[0][3:-4], *first[1:]]
    assert posted[0]["text"] == posted[1]["text"] == posted[3]["text"]


async def test_a_command_in_a_group_is_answered_threaded_to_it(
    start: Start, api: FakeTelegram
) -> None:
    await start()
    await api.push(command_update("/help", chat_id=-100777, user_id=USER, chat_type="group"))
    (answer,) = await api.wait_for("sendMessage")
    # command_update gives the command message_id 10; Bot API ReplyParameters as JSON
    assert json.loads(answer.params["reply_parameters"]) == {
        "message_id": 10,
        "allow_sending_without_reply": True,
    }
    await api.push(command_update("/help", chat_id=555, user_id=USER))  # private: not threaded
    _, private = await api.wait_for("sendMessage", 2)
    assert "reply_parameters" not in private.params


async def test_several_charts_go_as_one_captioned_album(
    start: Start, api: FakeTelegram, tmp_path: Path
) -> None:
    app = await start()
    paths = []
    for i in range(3):
        path = tmp_path / f"c{i}.png"
        path.write_bytes(PNG)
        paths.append(path)
    reply = Reply(
        "weekly", paths[0], caption="first", more=((paths[1], "second"), (paths[2], "third"))
    )
    await send_reply(app.bot, 555, reply)
    (album,) = await api.wait_for("sendMediaGroup")
    media = json.loads(album.params["media"])
    assert [m["type"] for m in media] == ["photo"] * 3
    assert [m["caption"] for m in media] == ["first", "second", "third"]
    assert all(album.files[m["media"].removeprefix("attach://")] == PNG for m in media)
    assert not api.sent("sendPhoto")


async def test_a_single_chart_has_its_caption(
    start: Start, api: FakeTelegram, tmp_path: Path
) -> None:
    app = await start()
    await send_reply(
        app.bot, 555, Reply("insights", chart(tmp_path), caption="What moves the odds")
    )
    (photo,) = await api.wait_for("sendPhoto")
    assert photo.params["caption"] == "What moves the odds"


async def test_a_failed_poll_is_one_line_and_polling_goes_on(
    start: Start, api: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    caplog.set_level(logging.WARNING)
    api.fail_next("getUpdates", "Bad Gateway", 502)  # the Bot API's answer when it is down
    await start()
    lost = []
    deadline = asyncio.get_running_loop().time() + 60  # bounded, generously: until it is logged
    while asyncio.get_running_loop().time() < deadline:
        lost = [r for r in caplog.records if "lost its connection" in r.getMessage()]
        if lost:
            break
        await asyncio.sleep(0.05)
    host = api.base_url.split("://", 1)[1].split("/", 1)[0]
    assert [r.getMessage() for r in lost] == [
        f"telegram lost its connection, retrying: cannot reach the Bot API at {host}: check "
        "the network or MOONBOT_TELEGRAM_API_URL"
    ]
    assert lost[0].exc_info is None  # one line, no traceback
    await api.wait_for("getUpdates", 2)  # and it polls again
