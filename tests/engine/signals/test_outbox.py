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
    finally:
        await svc.close()
    reopened = await MoonbotService.open(tmp_settings, world())
    try:
        (view,) = await reopened.pending_alerts("telegram:")
        assert not view.maybe_delivered
    finally:
        await reopened.close()
