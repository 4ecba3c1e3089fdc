"""Positions and KOL stats kept in the database, rebuilt from trades and snapshots."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, delete, select

from engine.records import TradeRecord
from engine.storage import Database, MarketSnapshot, Position, Trade
from engine.storage.convert import position_row, position_state, trade_record
from engine.tracking.kolstats import KolStats, compute_stats
from engine.tracking.positions import PEAK_WINDOW, PositionState, build_positions, peak_of


class PriceSeries:
    """A token's snapshot prices, for peak lookups."""

    def __init__(self, points: Iterable[tuple[datetime, float]]) -> None:
        ordered = sorted(points)
        self.ts = [p[0] for p in ordered]
        self.price = [p[1] for p in ordered]

    def peak_multiple(self, opened_at: datetime) -> float | None:
        """Highest price in (opened_at, opened_at + PEAK_WINDOW] over the price at opening."""
        i = bisect.bisect_right(self.ts, opened_at)
        if i == 0 or i == len(self.ts):
            return None
        entry = self.price[i - 1]
        j = bisect.bisect_right(self.ts, opened_at + PEAK_WINDOW)
        if entry <= 0 or j <= i:
            return None
        return max(self.price[i:j]) / entry


async def refresh_positions(db: Database, wallets: Iterable[str]) -> int:
    """Rebuild the Position rows of ``wallets``; returns how many rows were written."""
    wallets = sorted(set(wallets))
    if not wallets:
        return 0
    async with db.session() as session:
        trades = (
            await session.exec(select(Trade).where(col(Trade.wallet).in_(wallets), Trade.is_kol))
        ).all()
        records = [trade_record(t) for t in trades]
        states = build_positions(records)
        swaps: dict[str, list[TradeRecord]] = {}
        for record in sorted(records, key=lambda t: t.chain_order):
            swaps.setdefault(record.mint, []).append(record)
        mints = sorted({p.mint for p in states})
        points: dict[str, list[tuple[datetime, float]]] = {}
        for mint, ts, price in (
            await session.exec(
                select(MarketSnapshot.mint, MarketSnapshot.ts, MarketSnapshot.price_usd).where(
                    col(MarketSnapshot.mint).in_(mints)
                )
            )
        ).all():
            points.setdefault(mint, []).append((ts, price))
        series = {mint: PriceSeries(p) for mint, p in points.items()}
        await session.exec(delete(Position).where(col(Position.wallet).in_(wallets)))
        for state in states:
            market = (
                series[state.mint].peak_multiple(state.opened_at) if state.mint in series else None
            )
            peak = peak_of(state, market, swaps.get(state.mint, ()))
            session.add(Position(**position_row(state.with_peak(peak))))
    return len(states)


async def positions_of(db: Database, wallet: str) -> list[PositionState]:
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Position).where(Position.wallet == wallet).order_by(col(Position.opened_at))
            )
        ).all()
    return [position_state(r) for r in rows]


async def all_closed_positions(db: Database) -> list[PositionState]:
    async with db.session() as session:
        rows = (
            await session.exec(select(Position).where(col(Position.closed_at).is_not(None)))
        ).all()
    return [position_state(r) for r in rows]


async def all_stats(db: Database) -> dict[str, KolStats]:
    async with db.session() as session:
        rows = (await session.exec(select(Position))).all()
    by_wallet: dict[str, list[PositionState]] = {}
    for row in rows:
        by_wallet.setdefault(row.wallet, []).append(position_state(row))
    return {wallet: compute_stats(states) for wallet, states in by_wallet.items()}
