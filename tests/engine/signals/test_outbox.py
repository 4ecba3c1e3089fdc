"""The alert sender: failures are retried with backoff, never lost, never sent twice; a send cut
off midway is known after a restart."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from engine.service import MoonbotService
from engine.signals import outbox
from engine.storage import Alert, Signal
from tests.conftest import MINT_X, WALLET_A, at, world


async def _queue(svc: MoonbotService, channels: list[str]) -> None:
    async with svc.db.session() as session:
        signal = (await session.exec(select(Signal).where(Signal.mint == MINT_X))).one()
        assert signal.id is not None
        for channel in channels:
            session.add(
                Alert(signal_id=signal.id, channel=channel, kol_wallet=WALLET_A, buy_ts=at(0))
            )


async def _alert(svc: MoonbotService, channel: str) -> Alert:
    async with svc.db.session() as session:
        return (await session.exec(select(Alert).where(Alert.channel == channel))).one()


def test_backoff_doubles_up_to_the_cap() -> None:
    base, cap = timedelta(seconds=30), timedelta(minutes=3)
    waits = [outbox.backoff(n, base, cap) for n in range(1, 6)]
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 180, 180)]


async def test_a_failed_send_is_retried_after_its_backoff_then_given_up(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))
        await _queue(svc, ["telegram:1", "telegram:2"])
        sent: list[str] = []

        async def flaky(view: outbox.AlertView) -> None:
            if view.channel == "telegram:2":
                raise ConnectionError("chat unreachable")
            sent.append(view.channel)

        now = at(0)
        first = await outbox.deliver(svc.db, "telegram:", flaky, now=now, max_attempts=3)
        assert (first.sent, first.retrying, first.failed) == (1, 1, 0)
        waiting = await _alert(svc, "telegram:2")
        assert waiting.attempts == 1 and waiting.next_attempt_at == now + timedelta(seconds=30)
        assert waiting.last_error == "ConnectionError: chat unreachable"

        # Not due yet: nothing is sent, and the delivered one is not sent again.
        early = await outbox.deliver(
            svc.db, "telegram:", flaky, now=now + timedelta(seconds=29), max_attempts=3
        )
        assert early == outbox.Delivery(0, 0, 0)
        second = await outbox.deliver(
            svc.db, "telegram:", flaky, now=now + timedelta(seconds=30), max_attempts=3
        )
        assert second == outbox.Delivery(0, 1, 0)
        assert (await _alert(svc, "telegram:2")).next_attempt_at == now + timedelta(seconds=90)
        third = await outbox.deliver(
            svc.db, "telegram:", flaky, now=now + timedelta(hours=1), max_attempts=3
        )
        assert third == outbox.Delivery(0, 0, 1)
        gave_up = await _alert(svc, "telegram:2")
        assert gave_up.status == "failed" and gave_up.attempts == 3
        assert sent == ["telegram:1"]
        assert (await _alert(svc, "telegram:1")).status == "sent"
    finally:
        await svc.close()


async def test_a_send_is_marked_in_flight_until_its_outcome_is_recorded(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))
        await _queue(svc, ["telegram:1", "telegram:2"])
        marks: dict[str, object] = {}

        async def send(view: outbox.AlertView) -> None:
            marks[view.channel] = (await _alert(svc, view.channel)).attempt_started_at
            if view.channel == "telegram:2":
                raise ConnectionError("chat unreachable")

        now = at(0)
        assert await outbox.deliver(svc.db, "telegram:", send, now=now) == outbox.Delivery(1, 1, 0)
        assert marks == {"telegram:1": now, "telegram:2": now}  # marked before each send
        sent, failed = await _alert(svc, "telegram:1"), await _alert(svc, "telegram:2")
        assert (sent.status, sent.attempt_started_at) == ("sent", None)
        assert (failed.status, failed.attempt_started_at, failed.attempts) == ("pending", None, 1)
        # A recorded failure is not a send in flight: its retry is not flagged.
        (retry,) = await svc.pending_alerts("telegram:")
        assert not retry.maybe_delivered
    finally:
        await svc.close()


async def test_a_send_whose_outcome_is_unknown_is_retried_flagged(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))
        await _queue(svc, ["telegram:1"])

        async def timed_out(view: outbox.AlertView) -> None:
            raise outbox.OutcomeUnknown("no answer in time")

        now = at(0)
        assert await outbox.deliver(svc.db, "telegram:", timed_out, now=now) == outbox.Delivery(
            0, 1, 0
        )
        row = await _alert(svc, "telegram:1")
        assert (row.status, row.attempts, row.attempt_started_at) == ("pending", 1, now)
        (retry,) = await svc.pending_alerts("telegram:")
        assert retry.maybe_delivered
    finally:
        await svc.close()


async def test_a_send_cut_off_midway_is_sent_again_flagged_maybe_delivered(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))
        await _queue(svc, ["telegram:1", "telegram:2"])

        async def killed(view: outbox.AlertView) -> None:
            raise asyncio.CancelledError  # the sender dies inside the send

        now = at(0)
        with pytest.raises(asyncio.CancelledError):
            await outbox.deliver(svc.db, "telegram:", killed, now=now)
        cut = await _alert(svc, "telegram:1")
        assert (cut.status, cut.attempt_started_at, cut.attempts) == ("pending", now, 0)
        assert cut.last_error is None

        seen: list[tuple[str, str, bool]] = []

        async def send(view: outbox.AlertView) -> None:
            seen.append((view.channel, view.key, view.maybe_delivered))

        later = now + timedelta(minutes=1)
        assert await outbox.deliver(svc.db, "telegram:", send, now=later) == outbox.Delivery(2)
        assert cut.id is not None
        assert seen == [
            ("telegram:1", f"moonbot-alert-{cut.id}", True),
            ("telegram:2", f"moonbot-alert-{cut.id + 1}", False),
        ]
        done = await _alert(svc, "telegram:1")
        assert (done.status, done.attempt_started_at, done.attempts) == ("sent", None, 1)
    finally:
        await svc.close()


async def test_a_database_from_before_the_marker_gets_its_column(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))
        await _queue(svc, ["telegram:1"])
        async with svc.db.engine.begin() as conn:  # the table as an earlier version made it
            await conn.execute(text("ALTER TABLE alert DROP COLUMN attempt_started_at"))
            # ... with create_all, before migrations: no alembic_version table either
            await conn.execute(text("DROP TABLE alembic_version"))
    finally:
        await svc.close()
    reopened = await MoonbotService.open(tmp_settings, world())
    try:
        (view,) = await reopened.pending_alerts("telegram:")
        assert not view.maybe_delivered
    finally:
        await reopened.close()


async def test_two_senders_on_one_database_send_each_alert_once(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    """Two senders (each with its own engine on the same database file, as two processes would
    be) run at once: sender A is held inside its first send until sender B has finished. B must
    skip the alert A holds; A must skip the ones B sent. Every alert goes out exactly once."""
    from engine.storage import Database

    svc = await MoonbotService.open(tmp_settings, world())
    other = Database(tmp_settings.db_url)
    try:
        await svc.cycle(at(73 * 60))
        channels = [f"telegram:{i}" for i in range(1, 7)]
        await _queue(svc, channels)
        sends: list[tuple[str, str, bool]] = []
        a_inside, b_finished = asyncio.Event(), asyncio.Event()

        async def send_a(view: outbox.AlertView) -> None:
            if not sends:
                a_inside.set()  # A has claimed its first alert and is sending it...
                await b_finished.wait()  # ...while B runs
            sends.append(("A", view.channel, view.maybe_delivered))

        async def send_b(view: outbox.AlertView) -> None:
            sends.append(("B", view.channel, view.maybe_delivered))

        async def run_b() -> outbox.Delivery:
            await a_inside.wait()
            try:
                return await outbox.deliver(other, "telegram:", send_b, now=at(0))
            finally:
                b_finished.set()

        a_task = asyncio.create_task(outbox.deliver(svc.db, "telegram:", send_a, now=at(0)))
        b = await asyncio.wait_for(run_b(), timeout=60)
        a = await asyncio.wait_for(a_task, timeout=60)
        assert sorted(channel for _, channel, _ in sends) == channels  # each exactly once
        assert a.sent + b.sent == len(channels) and a.sent >= 1 and b.sent >= 1
        assert not any(maybe for _, _, maybe in sends)
        assert {row.status for row in await _alerts(svc)} == {"sent"}
    finally:
        await other.dispose()
        await svc.close()


async def test_a_killed_senders_claim_holds_until_its_lease_runs_out(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    """A sender killed outright (no chance to release) keeps its claim: another sender skips the
    alert until the lease has run out, then sends it flagged may-repeat."""
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))
        await _queue(svc, ["telegram:1"])
        (listed,) = await outbox.pending(svc.db, "telegram:")
        now = at(0)
        assert (
            await outbox._claim(svc.db, listed, now, outbox.CLAIM_LEASE) is not None
        )  # then: kill
        seen: list[bool] = []

        async def send(view: outbox.AlertView) -> None:
            seen.append(view.maybe_delivered)

        early = now + outbox.CLAIM_LEASE - timedelta(seconds=1)
        assert await outbox.deliver(svc.db, "telegram:", send, now=early) == outbox.Delivery()
        after = now + outbox.CLAIM_LEASE
        assert await outbox.deliver(svc.db, "telegram:", send, now=after) == outbox.Delivery(1)
        assert seen == [True]
        row = await _alert(svc, "telegram:1")
        assert (row.status, row.claimed_until, row.attempt_started_at) == ("sent", None, None)
    finally:
        await svc.close()


async def _alerts(svc: MoonbotService) -> list[Alert]:
    async with svc.db.session() as session:
        return list((await session.exec(select(Alert))).all())


async def test_of_two_senders_that_listed_the_same_alert_one_claims_it(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    """The race the claim exists for: both senders listed the alert before either claimed it."""
    from engine.storage import Database

    svc = await MoonbotService.open(tmp_settings, world())
    other = Database(tmp_settings.db_url)
    try:
        await svc.cycle(at(73 * 60))
        await _queue(svc, ["telegram:1"])
        (seen_by_a,) = await outbox.pending(svc.db, "telegram:", due_by=at(0))
        (seen_by_b,) = await outbox.pending(other, "telegram:", due_by=at(0))
        claims = await asyncio.gather(
            outbox._claim(svc.db, seen_by_a, at(0), outbox.CLAIM_LEASE),
            outbox._claim(other, seen_by_b, at(0), outbox.CLAIM_LEASE),
        )
        assert sum(claim is not None for claim in claims) == 1
    finally:
        await other.dispose()
        await svc.close()
