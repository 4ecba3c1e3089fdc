"""The Discord face, end to end: a real discord.py client logs in to a local fake of Discord's
REST API, syncs its slash commands, connects to the fake gateway and gets INTERACTION_CREATE
events from it; a real MoonbotService answers. The tests read the JSON bodies the client sent:
the deferral, the follow-ups, webhook and channel messages."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from pydantic import SecretStr

from bot import discord_face
from bot.commands import COMMANDS, Reply
from bot.discord_face import (
    FAILED,
    STAMP_NAME,
    MoonbotClient,
    deliver_alerts,
    send_reply,
    start_discord,
    stop_discord,
)
from bot.format import MAY_REPEAT
from bot.render import DISCORD_EMBED_LIMIT
from engine.config import Settings
from engine.service import MoonbotService
from tests.bot.chat_world import (
    HOSTILE,
    PNG,
    add_hostile_alert,
    alert_states,
    chart,
    discord_plain,
    open_service,
    reopen_service,
)
from tests.bot.fake_discord import (
    APP_ID,
    CHANNEL_ID,
    TOKEN,
    WEBHOOK_ID,
    WEBHOOK_URL,
    FakeDiscord,
    Recorded,
    slash_command,
)

ADMIN = 1400000000000000042  # an admin by user id
ADMIN_ROLE = 1400000000000000777
USER = 1400000000000000007
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
_interaction_ids = count(1500000000000000001)


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = await FakeDiscord().start()
    fake.role_ids = (ADMIN_ROLE,)
    fake.point_at(monkeypatch)
    # Whether an answer is quick enough to go out undeferred must not depend on this machine's
    # speed: every answer here counts as quick (a real Discord needs the first within 3 s).
    monkeypatch.setattr(discord_face, "ANSWER_AT_ONCE_S", 20.0)
    yield fake
    await fake.close()


@pytest.fixture
def settings(tmp_settings: Settings) -> Settings:
    return tmp_settings.model_copy(
        update={"discord_token": SecretStr(TOKEN), "admin_user_ids": [str(ADMIN)]}
    )


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[MoonbotService]:
    svc = await open_service(settings)
    yield svc
    await svc.close()


@pytest.fixture
async def start(
    service: MoonbotService, settings: Settings, api: FakeDiscord
) -> AsyncIterator[Callable[[], Any]]:
    """Start the bot the way `moonbot run` will; returns once it has identified on the gateway."""
    clients: list[MoonbotClient] = []

    async def _start() -> MoonbotClient:
        client = await start_discord(service, settings, admin_role_ids=[ADMIN_ROLE])
        clients.append(client)
        await api.wait_for_gateway(2, count=len(clients))  # IDENTIFY
        return client

    yield _start
    for client in clients:
        await stop_discord(client)


@pytest.fixture
async def running(start: Callable[[], Any]) -> MoonbotClient:
    client: MoonbotClient = await start()
    return client


async def run_slash(api: FakeDiscord, name: str, **kw: Any) -> tuple[Recorded, Recorded]:
    """Send a slash command through the gateway; the (deferral, first follow-up) it caused."""
    interaction_id = next(_interaction_ids)
    payload = slash_command(name, interaction_id=interaction_id, **kw)
    await api.dispatch("INTERACTION_CREATE", payload)
    (deferral,) = await api.wait_for("POST", f"/interactions/{interaction_id}/")
    (followup,) = await api.wait_for("POST", f"/webhooks/{APP_ID}/{payload['token']}")
    return deferral, followup


async def run_refused(api: FakeDiscord, name: str, **kw: Any) -> Recorded:
    """Send a slash command that is refused or fails on its input: the interaction's answer."""
    interaction_id = next(_interaction_ids)
    payload = slash_command(name, interaction_id=interaction_id, **kw)
    await api.dispatch("INTERACTION_CREATE", payload)
    (answer,) = await api.wait_for("POST", f"/interactions/{interaction_id}/")
    return answer


def description(message: Recorded) -> str:
    (embed,) = message.body["embeds"]
    return str(embed["description"])


def refusal(answer: Recorded) -> str:
    """The text of an ephemeral answer (CHANNEL_MESSAGE_WITH_SOURCE with flag 64, Discord's
    interaction response type 4 and the EPHEMERAL message flag 1 << 6)."""
    assert answer.body["type"] == 4 and answer.body["data"]["flags"] == 64
    assert answer.body["data"]["allowed_mentions"] == NO_MENTIONS
    (embed,) = answer.body["data"]["embeds"]
    return str(embed["description"])


async def test_commands_sync_once_until_the_table_changes(
    start: Callable[[], Any], api: FakeDiscord, settings: Settings
) -> None:
    first = await start()
    (put,) = api.matching("PUT", f"/applications/{APP_ID}/commands")
    assert [c["name"] for c in put.body] == [c.name for c in COMMANDS]
    kol = next(c for c in put.body if c["name"] == "kol")
    assert kol["options"] == [
        {
            "type": 3,  # string
            "name": "wallet_or_name",
            "description": "the KOL's wallet address or name",
            "required": True,
        }
    ]
    assert first.synced is True
    (identify,) = await api.wait_for_gateway(2)
    assert identify["d"]["intents"] == discord.Intents(guilds=True).value  # nothing privileged
    assert identify["d"]["token"] == TOKEN

    second = await start()  # same command table: no second PUT
    assert second.synced is False
    assert len(api.matching("PUT", f"/applications/{APP_ID}/commands")) == 1

    (settings.data_dir / STAMP_NAME).write_text("a different command table\n")
    third = await start()
    assert third.synced is True
    assert len(api.matching("PUT", f"/applications/{APP_ID}/commands")) == 2


async def test_slash_status_defers_then_follows_up_with_an_embed(
    running: MoonbotClient, api: FakeDiscord
) -> None:
    deferral, followup = await run_slash(api, "status", user_id=USER)
    assert deferral.body["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("thinking")
    assert api.requests.index(deferral) < api.requests.index(followup)
    assert followup.body["allowed_mentions"] == NO_MENTIONS
    assert description(followup).startswith("**Source sim · data as of 2026-03-04 13:00 UTC**")


async def test_an_error_answer_is_ephemeral(running: MoonbotClient, api: FakeDiscord) -> None:
    answer = await run_refused(api, "predict", options={"mint": "abc"}, user_id=USER)
    assert refusal(answer) == (
        "'abc' is not a valid Solana mint: expected 32-44 base58 characters, got 3"
    )


async def test_hostile_option_is_escaped_and_pings_nobody(
    running: MoonbotClient, api: FakeDiscord
) -> None:
    answer = await run_refused(api, "kol", options={"wallet_or_name": HOSTILE}, user_id=USER)
    assert refusal(answer) == (
        "'<b>@\u200beveryone</b> \\*\\_\\[x\\](http://evil)' is not a valid Solana wallet: "
        "'<' is not a base58 character"
    )


async def test_admin_by_role_or_by_user_id(running: MoonbotClient, api: FakeDiscord) -> None:
    plain = await run_refused(api, "retrain", user_id=USER)
    by_role = await run_refused(api, "retrain", user_id=USER + 1, roles=(ADMIN_ROLE,))
    by_id = await run_refused(api, "retrain", user_id=ADMIN, in_guild=False)  # a DM
    assert refusal(plain) == "/retrain is for admins only"
    assert refusal(by_role) == "not enough labeled signals to train: 1 (need about 72)"
    assert refusal(by_id) == "not enough labeled signals to train: 1 (need about 72)"


async def test_a_failure_goes_through_on_error_as_one_line(
    running: MoonbotClient, api: FakeDiscord
) -> None:
    api.fail_next(f"/webhooks/{APP_ID}/", 400, "Invalid Form Body")
    interaction_id = next(_interaction_ids)
    payload = slash_command("status", user_id=USER, interaction_id=interaction_id)
    await api.dispatch("INTERACTION_CREATE", payload)
    failed, notice = await api.wait_for("POST", f"/webhooks/{APP_ID}/{payload['token']}", 2)
    assert description(failed).startswith("**Source sim · data as of 2026-03-04 13:00 UTC**")
    assert notice.body["content"] == FAILED
    assert notice.body["flags"] == 64  # ephemeral
    assert notice.body["allowed_mentions"] == NO_MENTIONS


async def test_long_reply_with_chart_through_a_webhook(api: FakeDiscord, tmp_path: Path) -> None:
    text = "\n".join(f"{i:04d} {HOSTILE} @here" for i in range(220))  # 10,119 characters
    assert len(text) > 10_000
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.from_url(WEBHOOK_URL, session=session)
        await send_reply(webhook, Reply(text, chart(tmp_path)), title=False)
    sent = api.matching("POST", f"/webhooks/{WEBHOOK_ID}/")
    assert len(sent) == 3
    assert all(m.body["allowed_mentions"] == NO_MENTIONS for m in sent)
    chunks = [description(m) for m in sent]
    assert all(len(c) <= DISCORD_EMBED_LIMIT for c in chunks)
    assert not any("@everyone" in c or "@here" in c for c in chunks)
    assert "\n".join(discord_plain(c) for c in chunks) == text
    assert sent[-1].files == {"files[0]": PNG}
    assert sent[-1].body["embeds"][0]["image"] == {"url": "attachment://chart.png"}
    assert sent[-1].body["attachments"] == [{"id": 0, "filename": "chart.png"}]


async def test_pending_alerts_go_to_a_channel_escaped_and_are_marked_sent(
    running: MoonbotClient, api: FakeDiscord, service: MoonbotService
) -> None:
    await add_hostile_alert(service, f"discord:{CHANNEL_ID}")
    assert await deliver_alerts(service, running.get_partial_messageable) == 1
    (message,) = api.matching("POST", f"/channels/{CHANNEL_ID}/messages")
    assert message.body["allowed_mentions"] == NO_MENTIONS
    lines = description(message).split("\n")
    assert lines[0] == (
        "**ALERT $EVIL (<b>@\u200beveryone</b> \\*\\_\\[x\\](http://evil))  "
        "conviction 55 (rules 55 + ML 0)**"
    )
    assert lines[1] == "Diamond Hand KOL alpha \\[elite\\] bought 2.00 SOL · DH score 48"
    assert (message.body["nonce"], message.body["enforce_nonce"]) == ("moonbot-alert-1", True)
    assert await service.pending_alerts("discord:") == []


async def test_each_part_of_a_long_reply_has_its_own_nonce(
    running: MoonbotClient, api: FakeDiscord
) -> None:
    text = "\n".join(f"{i:04d} {HOSTILE}" for i in range(220))  # three embeds
    channel = running.get_partial_messageable(CHANNEL_ID)
    await send_reply(channel, Reply(text), title=False, key="moonbot-alert-7")
    await send_reply(channel, Reply(text), title=False, key="moonbot-alert-7")  # a retry
    nonces = [m.body["nonce"] for m in api.matching("POST", f"/channels/{CHANNEL_ID}/messages")]
    assert nonces == ["moonbot-alert-7", "moonbot-alert-7-1", "moonbot-alert-7-2"] * 2
    assert api.created == Counter(nonces[:3])  # each part once: the retry created nothing
    assert "\n".join(discord_plain(m["embeds"][0]["description"]) for m in api.messages) == text


async def test_a_sender_killed_after_discord_posted_does_not_post_twice(
    running: MoonbotClient, api: FakeDiscord, service: MoonbotService, settings: Settings
) -> None:
    channels = [f"discord:{CHANNEL_ID + i}" for i in range(3)]
    for channel in channels:
        await add_hostile_alert(service, channel)
    keys = [view.key for view in await service.pending_alerts("discord:")]
    assert keys == ["moonbot-alert-1", "moonbot-alert-2", "moonbot-alert-3"]
    # Discord creates the second alert's message; the bot dies before it hears back.
    api.hold_answer(keys[1])
    sender = asyncio.create_task(deliver_alerts(service, running.get_partial_messageable))
    await api.wait_created(keys[1])
    sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sender
    assert await alert_states(service) == {
        channels[0]: ("sent", False),
        channels[1]: ("pending", True),
        channels[2]: ("pending", False),
    }

    restarted = await reopen_service(settings)
    client = await start_discord(restarted, settings, admin_role_ids=[ADMIN_ROLE])
    try:
        assert await deliver_alerts(restarted, client.get_partial_messageable) == 2
        assert await alert_states(restarted) == {c: ("sent", False) for c in channels}
    finally:
        await stop_discord(client)
        await restarted.close()
    posts = api.matching("POST", "/channels/")
    assert [m.body["nonce"] for m in posts] == [keys[0], keys[1], keys[1], keys[2]]
    assert all(m.body["enforce_nonce"] is True for m in posts)
    # The resend says it may repeat, and Discord answered it with the message it already had.
    assert description(posts[2]).split("\n")[0] == f"**{MAY_REPEAT}**"
    assert api.created == Counter(keys)
    assert [m["nonce"] for m in api.messages] == keys
    assert not any(MAY_REPEAT in m["embeds"][0]["description"] for m in api.messages)


async def test_several_charts_are_attached_with_captions(api: FakeDiscord, tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        path = tmp_path / f"c{i}.png"
        path.write_bytes(PNG)
        paths.append(path)
    reply = Reply(
        "weekly", paths[0], caption="first", more=((paths[1], "second"), (paths[2], "third"))
    )
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.from_url(WEBHOOK_URL, session=session)
        await send_reply(webhook, reply)
    text, charts = api.matching("POST", f"/webhooks/{WEBHOOK_ID}/")
    assert text.body["embeds"][0]["footer"] == {"text": "first"}
    assert text.files == {"files[0]": PNG}
    assert [e["description"] for e in charts.body["embeds"]] == ["second", "third"]
    assert [e["image"]["url"] for e in charts.body["embeds"]] == [
        "attachment://chart-1.png",
        "attachment://chart-2.png",
    ]
    assert charts.files == {"files[0]": PNG, "files[1]": PNG}
