"""Follow-ups through the real faces: ``/alerts followups on|off`` and ``/alerts status``, and
a follow-up of an alert on a hostile token name sent by the Telegram and Discord senders,
escaped like the alert itself.

The world (tests/conftest.py, as tests/engine/signals/test_followups.py reads it): alpha's buy at
2026-03-01 12:00 UTC, X's market cap then $50.0k; 2x first seen at minute 510 ($101.0k, 8.5 h
later, 20:30 UTC), 5x at minute 2,010 ($251.0k, 33.5 h later, 2026-03-02 21:30 UTC); its last
snapshot by the 73rd hour: $485.0k at 2026-03-04 12:30 UTC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot import discord_face, telegram_face
from bot.commands import dispatch
from engine.config import Settings
from engine.service import MoonbotService
from engine.signals import followups
from tests.bot.chat_world import add_hostile_alert, open_service
from tests.bot.fake_discord import CHANNEL_ID, TOKEN, FakeDiscord
from tests.bot.fake_telegram import FakeTelegram
from tests.conftest import MINT_X, WALLET_A, at

FOLLOW_UP_LINES = [
    (
        "passed 2x since the alert",
        "Market cap $101.0k: 2.0x the $50.0k at the alert, 8.5 h after it "
        "(seen 2026-03-01 20:30 UTC in a market snapshot)",
    ),
    (
        "passed 5x since the alert",
        "Market cap $251.0k: 5.0x the $50.0k at the alert, 33.5 h after it "
        "(seen 2026-03-02 21:30 UTC in a market snapshot)",
    ),
]
ALERTED = "Alerted 2026-03-01 12:00 UTC: Diamond Hand KOL alpha {tier} bought · conviction 55"
NOW = "Market cap now $485.0k (2026-03-04 12:30 UTC)"


async def _followed_up(svc: MoonbotService, channel: str) -> None:
    """An alert of X (renamed hostile) on ``channel``, sent; follow-ups on since before the buy;
    the follow-ups the stored path shows by the 73rd hour written (2x and 5x)."""
    await svc.set_alerts(channel, enabled=True)
    await add_hostile_alert(svc, channel)

    async def nothing(view: object) -> None:
        return None

    assert (await svc.deliver_alerts(channel, nothing)).sent == 1  # the alert itself
    await followups.set_followups(svc.db, channel, True, at(-60))
    assert await followups.record_due(svc.db, at(73 * 60), svc.horizon) == 2


async def test_alerts_followups_on_off_and_status(tmp_settings: Settings) -> None:
    svc = await open_service(tmp_settings)
    try:
        status = await dispatch(svc, "/alerts status", channel="telegram:9")
        assert status.text.splitlines()[1] == (
            "follow-ups off (/alerts followups on: one message each time an alerted token "
            "passes 2x, 5x and 10x)"
        )
        refused = await dispatch(svc, "/alerts followups on", channel="telegram:9")
        assert (refused.text, refused.error) == ("/alerts is for admins only", True)
        bad = await dispatch(svc, "/alerts followups maybe", is_admin=True, channel="telegram:9")
        assert (bad.text, bad.error) == (
            "usage: /alerts followups on · /alerts followups off",
            True,
        )
        on = await dispatch(svc, "/alerts followups on", is_admin=True, channel="telegram:9")
        assert on.text.startswith("follow-ups on: one message each time")
        status = await dispatch(svc, "/alerts status", channel="telegram:9")
        assert status.text.splitlines()[1] == (
            "follow-ups on: one message each time an alerted token passes 2x, 5x and 10x its "
            "market cap at the alert (within the labels' horizon)"
        )
        other = await dispatch(svc, "/alerts status", channel="telegram:10")
        assert other.text.splitlines()[1].startswith("follow-ups off")  # per channel
        await dispatch(svc, "/alerts followups off", is_admin=True, channel="telegram:9")
        assert not (await svc.alert_settings("telegram:9")).followups
    finally:
        await svc.close()


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegram]:
    fake = await FakeTelegram().start()
    yield fake
    await fake.close()


async def test_telegram_follow_ups_are_escaped_and_sent_once(
    tmp_settings: Settings, telegram_api: FakeTelegram
) -> None:
    settings = tmp_settings.model_copy(update={"telegram_token": SecretStr(telegram_api.token)})
    svc = await open_service(settings)
    app = await telegram_face.start_telegram(
        svc,
        settings,
        base_url=telegram_api.base_url,
        base_file_url=telegram_api.base_file_url,
    )
    try:
        await _followed_up(svc, "telegram:555")
        assert await telegram_face.deliver_alerts(svc, app.bot) == 2
        assert await telegram_face.deliver_alerts(svc, app.bot) == 0  # once each
        sent = telegram_api.sent("sendMessage")
        assert len(sent) == 2 and {m.params["chat_id"] for m in sent} == {"555"}
        for message, (passed, seen) in zip(sent, FOLLOW_UP_LINES, strict=True):
            lines = message.params["text"].split("\n")
            assert lines[:5] == [
                "<b>FOLLOW-UP $EVIL (&lt;b&gt;@everyone&lt;/b&gt; *_[x](http://evil)) "
                f"{passed}</b>",
                seen,
                ALERTED.format(tier="[elite]"),
                NOW,
                f"Mint {MINT_X}",
            ]
            assert "Solscan https://solscan.io/token/" + MINT_X in lines
            assert "KOL wallet https://solscan.io/account/" + WALLET_A in lines
    finally:
        await telegram_face.stop_telegram(app)
        await svc.close()


@pytest.fixture
async def discord_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = await FakeDiscord().start()
    fake.point_at(monkeypatch)
    yield fake
    await fake.close()


async def test_discord_follow_ups_are_escaped_ping_nobody_and_carry_their_own_nonce(
    tmp_settings: Settings, discord_api: FakeDiscord
) -> None:
    settings = tmp_settings.model_copy(update={"discord_token": SecretStr(TOKEN)})
    svc = await open_service(settings)
    client = await discord_face.start_discord(svc, settings, admin_role_ids=[])
    try:
        await discord_api.wait_for_gateway(2)  # IDENTIFY
        channel = f"discord:{CHANNEL_ID}"
        await _followed_up(svc, channel)
        assert await discord_face.deliver_alerts(svc, client.get_partial_messageable) == 2
        assert await discord_face.deliver_alerts(svc, client.get_partial_messageable) == 0
        sent = discord_api.matching("POST", f"/channels/{CHANNEL_ID}/messages")
        assert [m.body["nonce"] for m in sent] == ["moonbot-alert-1-2x", "moonbot-alert-1-5x"]
        for message, (passed, seen) in zip(sent, FOLLOW_UP_LINES, strict=True):
            assert message.body["allowed_mentions"] == {"parse": []}
            (embed,) = message.body["embeds"]
            lines = str(embed["description"]).split("\n")
            assert lines[:4] == [
                f"**FOLLOW-UP $EVIL (<b>@\u200beveryone</b> \\*\\_\\[x\\](http://evil)) {passed}**",
                seen,
                ALERTED.format(tier="\\[elite\\]"),
                NOW,
            ]
    finally:
        await discord_face.stop_discord(client)
        await svc.close()
