"""A poll that did not finish is completed by the next one, and a poll has a budget.

Trades stored before a poll died (here: the source fails after the wallets' commits) get their
token, snapshots and creator trades from the next poll and open their signal; a token the source
does not know is isolated (logged, reported) while the others go on; a poll whose budget is spent
leaves the remaining wallets, cursors untouched, for the next one (an injected clock, no sleep).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlmodel import func, select

from engine.errors import SourceUnavailable
from engine.records import TokenRecord
from engine.service import MoonbotService
from engine.storage import Kol, Signal, Token, Trade
from engine.tracking.tracker import Tracker
from tests.conftest import CREATOR, MINT_X, MINT_Y, WALLET_A, WALLET_B, ScriptedSource, at, world


class FailingTokens(ScriptedSource):
    """The token lookup fails while ``failing`` holds; some mints it never knows."""

    failing = True
    unknown: frozenset[str] = frozenset()

    async def tokens(self, mints: Sequence[str]) -> list[TokenRecord]:  # type: ignore[override]
        if self.failing:
            raise SourceUnavailable("token lookup down")
        return [t for t in await super().tokens(mints) if t.mint not in self.unknown]


async def test_trades_of_a_poll_that_died_get_their_token_and_signal(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    source = world(FailingTokens)
    service = await MoonbotService.open(tmp_settings, source)
    try:
        with pytest.raises(SourceUnavailable):
            await service.cycle(at(10))  # WALLET_A's buy stored, then the poll dies
        assert await service.db.count(Trade) == 1 and await service.db.count(Token) == 0
        source.failing = False
        report = await service.cycle(at(11))  # nothing new from the wallets
        assert report.new_trades == 1 and report.new_signals == 1
        async with service.db.session() as session:
            signal = (await session.exec(select(Signal))).one()
            creator = (await session.exec(select(Trade).where(Trade.wallet == CREATOR))).all()
        assert (signal.mint, signal.ts, signal.trigger_wallet) == (MINT_X, at(0), WALLET_A)
        assert signal.entry_mcap == 50_000.0  # the snapshots came with the token
        assert creator == []  # the creator sells at 60 min: not yet
        await service.cycle(at(73 * 60))
        assert await service.db.count(Trade, Trade.wallet == CREATOR) == 1
    finally:
        await service.close()


async def test_an_unknown_token_is_isolated_and_the_others_go_on(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    source = world(FailingTokens)
    source.failing, source.unknown = False, frozenset({MINT_X})
    service = await MoonbotService.open(tmp_settings, source)
    try:
        report = await service.cycle(at(300))
        assert MINT_X in report.left_for_next  # no token facts: no signal, reported
        async with service.db.session() as session:
            mints = (await session.exec(select(Signal.mint))).all()
        assert mints == [MINT_Y]  # Y's signal was not blocked by X
        source.unknown = frozenset()  # the source knows X now: the next cycle opens it
        again = await service.cycle(at(301))
        assert again.new_signals == 1 and again.left_for_next == ()
        assert await service.db.count(Signal) == 2
    finally:
        await service.close()


class FakeClock:
    def __init__(self, step_s: float) -> None:
        self.now, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        self.now += self.step_s  # every reading is one wallet's worth of time later
        return self.now


async def test_a_spent_budget_leaves_the_other_wallets_for_the_next_poll(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    service = await MoonbotService.open(tmp_settings, world())
    try:
        await service.tracker.sync_kols()
        # Readings: 10 s at the start, 20 s before WALLET_A (spent: 10), 30 s before WALLET_B
        # (spent: 20 >= the budget of 15 s).
        tracker = Tracker(
            service.db, service.tracker.source, horizon=service.horizon,
            budget=timedelta(seconds=15), clock=FakeClock(10.0),
        )  # fmt: skip
        async with service.db.session() as session:
            order = [k.wallet for k in (await session.exec(select(Kol).where(Kol.active))).all()]
        first = await tracker.poll(at(300))
        assert first.unfinished_wallets == order[1:] and len(order) == 2
        async with service.db.session() as session:
            cursors = dict((await session.exec(select(Kol.wallet, Kol.cursor_signature))).all())
            stored = (
                await session.exec(select(Trade.wallet, func.count()).group_by(Trade.wallet))
            ).all()
        assert cursors[order[1]] is None  # untouched: nothing skipped
        assert {w for w, _ in stored} == {order[0], CREATOR}
        second = await tracker.poll(at(300))  # a fresh budget: the wallet left goes first
        assert second.unfinished_wallets == [order[0]]  # still one wallet per poll
        assert {t.wallet for t in second.new_trades} == {order[1]}
        unbudgeted = Tracker(service.db, service.tracker.source, horizon=service.horizon)
        everything = await unbudgeted.poll(at(300))
        assert everything.unfinished_wallets == [] and everything.new_trades == []
        assert await service.db.count(Trade, Trade.is_kol) == 4  # A: 2, B: 2, each once
        assert {WALLET_A, WALLET_B} == set(order)
    finally:
        await service.close()
