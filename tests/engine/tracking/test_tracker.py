"""Idempotent ingestion: the same records twice, or a replay after a lost cursor, change nothing."""

from datetime import timedelta

import pytest
from sqlmodel import func, select

from engine.errors import StorageUnavailable
from engine.records import WalletTrades
from engine.service import MoonbotService
from engine.storage import (
    Kol,
    MarketContext,
    MarketSnapshot,
    Outcome,
    Position,
    Signal,
    Token,
    Trade,
)
from engine.tracking.tracker import Tracker
from tests.conftest import MINT_X, WALLET_A, WALLET_B, ScriptedSource, at, world

TABLES = (Kol, Token, Trade, MarketSnapshot, MarketContext, Signal, Position, Outcome)


async def counts(service: MoonbotService) -> dict[str, int]:
    async with service.db.session() as session:
        return {
            t.__name__: (await session.exec(select(func.count()).select_from(t))).one()
            for t in TABLES
        }


async def test_ingesting_twice_changes_nothing(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    service = await MoonbotService.open(tmp_settings, world())
    try:
        first = await service.cycle(at(73 * 60))
        assert first.new_trades == 4 and first.new_signals == 2 and first.labeled == 1
        once = await counts(service)
        assert once["Trade"] == 5  # 4 KOL trades + 1 creator trade
        assert once["Signal"] == 2 and once["Outcome"] == 1

        again = await service.cycle(at(73 * 60))
        assert again.new_trades == 0 and again.new_signals == 0
        assert await counts(service) == once

        # A crash after storing trades but before the cursor moved: the replay is a no-op.
        async with service.db.session() as session:
            for kol in (await session.exec(select(Kol))).all():
                kol.cursor_signature = None
                session.add(kol)
        replay = await service.cycle(at(73 * 60))
        assert replay.new_trades == 0
        assert await counts(service) == once
    finally:
        await service.close()


async def test_signal_time_is_the_first_kol_buy(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    service = await MoonbotService.open(tmp_settings, world())
    try:
        await service.cycle(at(10))  # only WALLET_A's buy exists yet
        await service.cycle(at(73 * 60))
        async with service.db.session() as session:
            signal = (await session.exec(select(Signal).where(Signal.mint == MINT_X))).one()
            outcome = await session.get(Outcome, signal.id)
        assert signal.ts == at(0) and signal.trigger_wallet == WALLET_A
        assert signal.features["kol_count"] == 1  # WALLET_B joined 30 minutes later
        assert signal.entry_mcap == 50_000.0  # the snapshot at t
        # max mcap in (t, t+72h]: the snapshot at 72h = 4320 min -> 50_000 + 432_000
        assert outcome is not None and outcome.max_mcap == 482_000.0
        assert outcome.label == 2  # 482_000 / 50_000 = 9.64x: medium_win (5x..10x)
    finally:
        await service.close()


async def test_cursor_moves_past_transactions_without_trades(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    class TransfersToo(ScriptedSource):
        async def wallet_trades(self, wallet, after_signature, until):  # type: ignore[no-untyped-def]
            got = await super().wallet_trades(wallet, after_signature, until)
            # The wallet's newest transaction is a plain transfer: no trade, but it was read.
            return WalletTrades(got.trades, f"transfer-of-{wallet[:6]}")

    service = await MoonbotService.open(tmp_settings, world(TransfersToo))
    try:
        await service.cycle(at(73 * 60))
        async with service.db.session() as session:
            kols = (await session.exec(select(Kol))).all()
        assert {k.cursor_signature for k in kols} == {f"transfer-of-{k.wallet[:6]}" for k in kols}
        assert (await counts(service))["Trade"] == 5
    finally:
        await service.close()


async def test_buys_stored_before_a_crash_still_open_their_signal(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    service = await MoonbotService.open(tmp_settings, world())
    try:
        await service.tracker.sync_kols()
        stored = await service.tracker.poll(at(10))  # trades and cursor stored, then "crash"
        assert [t.wallet for t in stored.new_kol_buys] == [WALLET_A]
        assert (await counts(service))["Signal"] == 0
        report = await service.cycle(at(11))  # nothing new from the source
        assert report.new_trades == 0 and report.new_signals == 1
        async with service.db.session() as session:
            signal = (await session.exec(select(Signal))).one()
        assert (signal.mint, signal.ts, signal.trigger_wallet) == (MINT_X, at(0), WALLET_A)
    finally:
        await service.close()


async def test_concurrent_wallet_reads_report_failures_in_order_and_stop_on_storage(
    tmp_settings,  # type: ignore[no-untyped-def]
) -> None:
    class Flaky(ScriptedSource):
        fail: type[Exception] = RuntimeError

        async def wallet_trades(self, wallet, after_signature, until):  # type: ignore[no-untyped-def]
            if wallet == WALLET_A:
                raise self.fail("the node fell over")
            return await super().wallet_trades(wallet, after_signature, until)

    service = await MoonbotService.open(tmp_settings, world(Flaky))
    try:
        source = service.tracker.source
        tracker = Tracker(service.db, source, horizon=timedelta(hours=72), concurrency=4)
        stored: list[str] = []

        async def on_stored(trades):  # type: ignore[no-untyped-def]
            stored.extend(t.wallet for t in trades)

        tracker.on_stored = on_stored
        await tracker.sync_kols()
        result = await tracker.poll(at(73 * 60))
        assert result.failed_wallets == [WALLET_A]  # the other wallet went on
        assert {t.wallet for t in result.new_trades} == {WALLET_B} and set(stored) == {WALLET_B}
        Flaky.fail = StorageUnavailable  # the database itself: the whole poll stops, unwrapped
        with pytest.raises(StorageUnavailable):
            await tracker.poll(at(74 * 60))
    finally:
        Flaky.fail = RuntimeError
        await service.close()
