"""Signals: the first KOL buy of a token opens its signal; features and score at that instant.

A later KOL buy of the same token joins the signal (it may trigger an alert when the buyer is a
Diamond Hand KOL) but the signal's features stay those of the signal time: that row is what the
model learns from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.features import compute_features, json_features
from engine.featurestore import kol_tiers, load_inputs
from engine.records import TradeRecord
from engine.scoring import Scorer
from engine.storage import Database, MarketSnapshot, Signal, Trade

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignalEvent:
    """A KOL buy that opened or joined a signal."""

    signal_id: int
    mint: str
    wallet: str
    ts: datetime
    opened: bool  # True for the buy that opened the signal


async def first_kol_buy(session: AsyncSession, mint: str) -> tuple[datetime, str] | None:
    row = (
        await session.exec(
            select(Trade.block_time, Trade.wallet)
            .where(Trade.mint == mint, Trade.side == "buy", Trade.is_kol)
            .order_by(col(Trade.block_time), col(Trade.slot), col(Trade.signature))
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def entry_mcap(session: AsyncSession, mint: str, t: datetime) -> float | None:
    return (
        await session.exec(
            select(MarketSnapshot.mcap_usd)
            .where(MarketSnapshot.mint == mint, MarketSnapshot.ts <= t)
            .order_by(col(MarketSnapshot.ts).desc())
            .limit(1)
        )
    ).first()


async def process_buys(
    db: Database, scorer: Scorer, buys: Iterable[TradeRecord]
) -> list[SignalEvent]:
    """Open signals for tokens bought by a KOL for the first time; report every buy as an event."""
    events: list[SignalEvent] = []
    by_mint: dict[str, list[TradeRecord]] = {}
    for buy in buys:
        by_mint.setdefault(buy.mint, []).append(buy)
    async with db.session() as session:
        tiers = await kol_tiers(session)
    for mint in sorted(by_mint, key=lambda m: min(b.block_time for b in by_mint[m])):
        async with db.session() as session:
            signal = (await session.exec(select(Signal).where(Signal.mint == mint))).first()
            opened = signal is None
            if signal is None:
                first = await first_kol_buy(session, mint)
                if first is None:
                    continue
                t, trigger = first
                features = compute_features(await load_inputs(session, mint, t, tiers))
                score = scorer.score(features)
                signal = Signal(
                    mint=mint,
                    ts=t,
                    trigger_wallet=trigger,
                    features=json_features(features),
                    entry_mcap=await entry_mcap(session, mint, t),
                    rule_score=score.rule,
                    score=score.total,
                    probabilities=list(score.probabilities) if score.probabilities else None,
                    model_version=score.model_version,
                    reasons=[r.as_dict() for r in score.reasons],
                )
                session.add(signal)
                await session.flush()
            assert signal.id is not None
            for buy in sorted(by_mint[mint], key=lambda b: (b.block_time, b.slot, b.signature)):
                events.append(
                    SignalEvent(
                        signal.id,
                        mint,
                        buy.wallet,
                        buy.block_time,
                        opened and buy.block_time == signal.ts,
                    )
                )
    return events


async def count_signals(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Signal))).one()
