"""Follow-ups: an alerted token passing 2x / 5x / 10x is followed up once per multiple, through
the alerts' own delivery loop, only where a channel turned them on.

The world (tests/conftest.py): token X's snapshots every 30 min run 50,000 + 100 * minute USD;
alpha's Diamond Hand buy is at minute 0 (snapshot $50,000), so 2x ($100,000) is first seen at
minute 510 ($101,000), 5x ($250,000) at minute 2,010 ($251,000), and 10x ($500,000) would be
minute 4,500, after the signal's 72 h horizon (its last snapshot inside: minute 4,320, $482,000).
The world's swaps price X at 3e8 USD and more (0.002 SOL a token x $150 x 1e9 tokens), over 10x
the snapshots around them, so the labels' price path leaves them out.
"""

import asyncio
import dataclasses
from datetime import timedelta

from sqlmodel import select

from engine.errors import OutcomeUnknown
from engine.service import MoonbotService
from engine.signals import followups, outbox
from engine.storage import Alert, Database, MarketSnapshot, Signal
from tests.conftest import MINT_X, WALLET_A, at, snapshot, world

CHANNEL = "telegram:42"


async def _sent_alert(svc: MoonbotService, channel: str = CHANNEL) -> None:
    """Subscribe ``channel`` and give it an alert of X's signal already sent (alpha's buy)."""
    await svc.set_alerts(channel, enabled=True)
    async with svc.db.session() as session:
        signal = (await session.exec(select(Signal).where(Signal.mint == MINT_X))).one()
        assert signal.id is not None
        session.add(
            Alert(
                signal_id=signal.id,
                channel=channel,
                kol_wallet=WALLET_A,
                buy_ts=at(0),
                status="sent",
            )
        )


async def _deliver(svc: MoonbotService, minutes: float) -> list[outbox.AlertView]:
    got: list[outbox.AlertView] = []

    async def send(view: outbox.AlertView) -> None:
        got.append(view)

    await outbox.deliver(svc.db, "telegram:", send, now=at(minutes))
    return got


def _shown(views: list[outbox.AlertView]) -> list[tuple[int, float, float, int]]:
    """(multiple, base, market cap, minute seen) of each follow-up sent."""
    out = []
    for v in views:
        assert v.followup is not None and v.channel == CHANNEL
        f = v.followup
        out.append((f.multiple, f.base_mcap, f.mcap_usd, int((f.ts - at(0)).total_seconds() // 60)))
    return out


async def test_each_multiple_is_followed_up_once_across_polls_and_a_restart(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(60))
        await _sent_alert(svc)
        await followups.set_followups(svc.db, CHANNEL, True, at(60))
        await svc.cycle(at(600))
        assert _shown(await _deliver(svc, 600)) == [(2, 50_000.0, 101_000.0, 510)]
        await svc.cycle(at(1200))
        assert await _deliver(svc, 1200) == []
        await svc.cycle(at(73 * 60))
        assert _shown(await _deliver(svc, 73 * 60)) == [(5, 50_000.0, 251_000.0, 2010)]
    finally:
        await svc.close()
    restarted = await MoonbotService.open(tmp_settings, world())
    try:
        await restarted.cycle(at(80 * 60))
        assert await followups.record_due(restarted.db, at(80 * 60), restarted.horizon) == 0
        assert await _deliver(restarted, 80 * 60) == []
        states = {
            k.rsplit("|", 1)[1]: r["status"]
            for k, r in (await followups.stored(restarted.db)).items()
        }
        assert states == {"2": "sent", "5": "sent"}  # no 10x: X stayed under it in the horizon
    finally:
        await restarted.close()


async def test_follow_ups_are_off_by_default(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(60))
        await _sent_alert(svc)
        assert not (await svc.alert_settings(CHANNEL)).followups
        await svc.cycle(at(73 * 60))
        assert await _deliver(svc, 73 * 60) == []
        assert await followups.stored(svc.db) == {}
    finally:
        await svc.close()


async def test_a_multiple_passed_before_they_were_turned_on_is_not_sent(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(600))  # 2x was passed at minute 510
        await _sent_alert(svc)
        await followups.set_followups(svc.db, CHANNEL, True, at(600))
        await svc.cycle(at(73 * 60))
        assert _shown(await _deliver(svc, 73 * 60)) == [(5, 50_000.0, 251_000.0, 2010)]
    finally:
        await svc.close()


async def test_a_channel_with_alerts_off_gets_none(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(60))
        await _sent_alert(svc)
        await followups.set_followups(svc.db, CHANNEL, True, at(60))
        await svc.set_alerts(CHANNEL, enabled=False)
        await svc.cycle(at(73 * 60))
        assert await followups.stored(svc.db) == {}
    finally:
        await svc.close()


async def _one_pending(svc: MoonbotService) -> outbox.AlertView:
    await svc.cycle(at(60))
    await _sent_alert(svc)
    await followups.set_followups(svc.db, CHANNEL, True, at(60))
    await svc.cycle(at(600))  # the 2x follow-up is written, not sent
    (view,) = await followups.FollowUpQueue(svc.db).due("telegram:", at(600))
    return view


async def test_a_failed_send_is_retried_and_one_that_may_have_arrived_says_so(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await _one_pending(svc)
        seen: list[bool] = []

        async def lost(view: outbox.AlertView) -> None:
            seen.append(view.maybe_delivered)
            raise OutcomeUnknown("no answer")

        first = await outbox.deliver(svc.db, "telegram:", lost, now=at(600))
        assert first == outbox.Delivery(retrying=1)
        (record,) = (await followups.stored(svc.db)).values()
        assert record["attempts"] == 1 and record["last_error"] == "OutcomeUnknown: no answer"
        assert record["next_attempt_at"] == (at(600) + timedelta(seconds=30)).isoformat()
        # not due before its backoff; then sent, flagged may-repeat, and only once
        assert await _deliver(svc, 600 + 0.4) == []
        again = await _deliver(svc, 601)
        assert [v.maybe_delivered for v in again] == [True] and seen == [False]
        assert await _deliver(svc, 700) == []
        (record,) = (await followups.stored(svc.db)).values()
        assert (record["status"], record["attempts"], record["claimed_until"]) == ("sent", 2, None)
    finally:
        await svc.close()


async def test_a_sender_stopped_mid_send_leaves_it_for_the_next_flagged_may_repeat(
    tmp_settings,
) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await _one_pending(svc)
        started = asyncio.Event()

        async def hangs(view: outbox.AlertView) -> None:
            started.set()
            await asyncio.Event().wait()

        sender = asyncio.create_task(outbox.deliver(svc.db, "telegram:", hangs, now=at(600)))
        await asyncio.wait_for(started.wait(), 30)
        sender.cancel()
        try:
            await sender
        except asyncio.CancelledError:
            pass
        again = await _deliver(svc, 600)
        assert [(v.followup.multiple if v.followup else 0, v.maybe_delivered) for v in again] == [
            (2, True)
        ]
    finally:
        await svc.close()


async def test_of_two_senders_that_listed_the_same_follow_up_one_claims_it(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    other = Database(tmp_settings.db_url)
    try:
        seen_by_a = await _one_pending(svc)
        (seen_by_b,) = await followups.FollowUpQueue(other).due("telegram:", at(600))
        claims = await asyncio.gather(
            followups.FollowUpQueue(svc.db).claim(seen_by_a, at(600), outbox.CLAIM_LEASE),
            followups.FollowUpQueue(other).claim(seen_by_b, at(600), outbox.CLAIM_LEASE),
        )
        assert sum(claim is not None for claim in claims) == 1
        # and a second settle of the same data (the other process) writes nothing new
        assert await followups.record_due(other, at(600), svc.horizon) == 0
    finally:
        await other.dispose()
        await svc.close()


async def test_a_follow_up_has_its_own_key_beside_its_alerts(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        view = await _one_pending(svc)
        assert await outbox.pending(svc.db) == []  # the alert itself was sent already
        assert view.key == f"moonbot-alert-{view.alert_id}-2x"
    finally:
        await svc.close()


async def _add_snapshot(svc: MoonbotService, minutes: float, mcap: float) -> None:
    async with svc.db.session() as session:
        session.add(MarketSnapshot(**dataclasses.asdict(snapshot(MINT_X, minutes, mcap))))


async def test_only_a_pass_inside_the_labels_horizon_counts(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    """10x ($500,000) seen 10 min after the 72 h horizon (minute 4,330) is not followed up; seen
    half a minute before it ends (minute 4,319.5; 4,320 holds the world's $482,000) it is."""
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(60))
        await _sent_alert(svc)
        await followups.set_followups(svc.db, CHANNEL, True, at(60))
        await svc.cycle(at(73 * 60))
        await _add_snapshot(svc, 72 * 60 + 10, 600_000.0)
        assert await followups.record_due(svc.db, at(73 * 60), svc.horizon) == 0
        await _add_snapshot(svc, 72 * 60 - 0.5, 500_000.0)
        assert await followups.record_due(svc.db, at(73 * 60), svc.horizon) == 1
        tens = [v for v in await _deliver(svc, 73 * 60) if v.followup and v.followup.multiple == 10]
        assert _shown(tens) == [(10, 50_000.0, 500_000.0, 72 * 60 - 1)]
    finally:
        await svc.close()
