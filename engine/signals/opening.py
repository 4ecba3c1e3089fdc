"""Signals: the first KOL buy of a token opens its signal; features and score at that instant.

A later KOL buy of the same token joins the signal (it may trigger an alert when the buyer is a
Diamond Hand KOL) but the signal's features stay those of the signal time: that row is what the
model learns from.

Each token is processed in its own transaction, and whatever the caller records for its events
(the alerts, ``EventSink``) is written in that same transaction: a crash leaves a token either
wholly done or not started. A token that fails (its token facts are missing, its data is bad) is
logged and reported, and the others go on; its buys are tried again on the next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import StorageUnavailable
from engine.records import Tier, TradeRecord
from engine.signals.features import compute_features, json_features, signal_snapshot
from engine.signals.inputs import kol_tiers, load_inputs
from engine.signals.scoring import Score, Scorer
from engine.storage import Database, Signal, Trade
from engine.storage.convert import trade_record

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignalEvent:
    """A KOL buy that opened or joined a signal, with the token's score at that buy: the
    signal's own score for the buys that opened it, a live score (features recomputed at the buy)
    for a later buy inside the signal window, None for a buy after the window."""

    signal_id: int
    mint: str
    wallet: str
    ts: datetime
    opened: bool  # True for the buys that opened the signal (the first block)
    score: Score | None


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


async def signals_triggered(db: Database, wallet: str) -> int:
    """How many signals ``wallet``'s buy opened."""
    return await db.count(Signal, col(Signal.trigger_wallet) == wallet)


EventSink = Callable[[AsyncSession, str, Sequence[SignalEvent]], Awaitable[int]]
"""Records a token's events (``mint``, its events) in the token's own transaction; returns how
many rows it wrote (the alerts)."""


@dataclass(slots=True)
class BuysRun:
    events: list[SignalEvent] = field(default_factory=list)
    recorded: int = 0  # what the sink wrote
    failed: list[str] = field(default_factory=list)  # mints left for the next cycle


async def process_buys(
    db: Database,
    scorer: Scorer,
    buys: Iterable[TradeRecord],
    *,
    window: timedelta,
    sink: EventSink | None = None,
    done: Set[str] = frozenset(),
) -> BuysRun:
    """Open signals for tokens bought by a KOL for the first time; report every buy as an event,
    recorded by ``sink`` in the token's transaction. Mints in ``done`` are skipped."""
    run = BuysRun()
    by_mint: dict[str, list[TradeRecord]] = {}
    for buy in buys:
        if buy.mint not in done:
            by_mint.setdefault(buy.mint, []).append(buy)
    async with db.session() as session:
        tiers = await kol_tiers(session)
    for mint in sorted(by_mint, key=lambda m: min(b.block_time for b in by_mint[m])):
        try:
            async with db.session() as session:
                events = await _process_mint(session, scorer, mint, by_mint[mint], tiers, window)
                if sink is not None:
                    run.recorded += await sink(session, mint, events)
        except StorageUnavailable:
            raise
        except Exception as exc:  # one bad token never blocks the others
            log.warning("signal of %s not processed, left for the next cycle: %s", mint, exc)
            run.failed.append(mint)
            continue
        run.events.extend(events)
    return run


async def _process_mint(
    session: AsyncSession,
    scorer: Scorer,
    mint: str,
    buys: list[TradeRecord],
    tiers: dict[str, Tier],
    window: timedelta,
) -> list[SignalEvent]:
    signal = (await session.exec(select(Signal).where(Signal.mint == mint))).first()
    opened = signal is None
    if signal is None:
        first = await first_kol_buy(session, mint)
        if first is None:
            return []
        signal, opening_score = await _open_signal(session, scorer, mint, *first, tiers)
    else:
        opening_score = None
    assert signal.id is not None
    events: list[SignalEvent] = []
    live: dict[datetime, Score] = {}
    for buy in sorted(buys, key=lambda b: b.chain_order):
        at_open = opened and buy.block_time == signal.ts
        score: Score | None = opening_score if at_open else None
        if not at_open and buy.block_time - signal.ts <= window:
            if buy.block_time not in live:
                inputs = await load_inputs(session, mint, buy.block_time, tiers)
                live[buy.block_time] = scorer.score(compute_features(inputs))
            score = live[buy.block_time]
        events.append(SignalEvent(signal.id, mint, buy.wallet, buy.block_time, at_open, score))
    return events


async def _open_signal(
    session: AsyncSession,
    scorer: Scorer,
    mint: str,
    t: datetime,
    trigger: str,
    tiers: dict[str, Tier],
) -> tuple[Signal, Score]:
    inputs = await load_inputs(session, mint, t, tiers)
    features = compute_features(inputs)
    score = scorer.score(features)
    entry = signal_snapshot(inputs.snapshots, mint, t)
    signal = Signal(
        mint=mint,
        ts=t,
        trigger_wallet=trigger,
        features=json_features(features),
        entry_mcap=entry.mcap_usd if entry is not None else None,
        rule_score=score.rule,
        score=score.total,
        probabilities=list(score.probabilities) if score.probabilities else None,
        model_version=score.model_version,
        reasons=[r.as_dict() for r in score.reasons],
        threex=score.threex_json(),
    )
    session.add(signal)
    await session.flush()
    return signal, score


async def unsignaled_buys(db: Database, since: datetime) -> list[TradeRecord]:
    """KOL buys since ``since`` whose token has no signal: after a crash between storing trades
    and opening signals, the next cycle opens them (older history stays as backfilled)."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Trade).where(
                    Trade.is_kol,
                    Trade.side == "buy",
                    Trade.block_time >= since,
                    col(Trade.mint).not_in(select(Signal.mint)),
                )
            )
        ).all()
    return [trade_record(r) for r in rows]
