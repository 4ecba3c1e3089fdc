"""The alert sender: failures are retried with backoff, never lost, never sent twice."""

from datetime import timedelta

from conftest import MINT_X, WALLET_A, at, world
from sqlmodel import select

from engine import alerts as outbox
from engine.service import MoonbotService
from engine.storage import Alert, Signal


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
