"""Settling a poll: the steps after the tracker (positions, signals and their alerts, labels),
driven by durable state so that a cycle killed anywhere is completed by the next one.

The steps work on the KOL trades above the trade mark the last settled poll reached
(``PIPELINE_SETTLED``), the buys of tokens without a signal, and the signals without an
outcome. A token's alerts are written in the transaction of its signal step, and the tokens a
killed settle finished (``PIPELINE_DONE``) are not done twice. After the labels, the follow-ups
the stored price path shows (``engine.signals.followups``) are written, once each.

``settle_trades`` runs the same steps at once for trades just stored by the push path (or by a
poll, wallet by wallet): positions of their wallets, their tokens' signals and alerts. It keeps
no mark of its own: the settle after the next poll goes over those trades again, and changes
nothing (a signal is opened once, (signal, channel) alerts are unique), so a crash in between
loses nothing either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.config import Settings
from engine.records import TradeRecord
from engine.signals import followups, outbox
from engine.signals.opening import SignalEvent, process_buys, unsignaled_buys
from engine.signals.scoring import Scorer
from engine.storage import AppState, Database, Trade
from engine.storage.convert import trade_record
from engine.tracking.positionstore import all_stats, refresh_positions
from engine.tracking.tracker import last_poll, trade_mark

if TYPE_CHECKING:
    from engine.sources.candles import MintCandles

# The settle's own durable state: the poll whose later steps are done, as {"until", "mark"} (the
# tracker's last poll and trade mark), and per token whose signal step a settle in progress has
# done, that settle's {"until", "mark"}.
PIPELINE_SETTLED = "pipeline.settled"
PIPELINE_DONE = "pipeline.done:"  # + mint


@dataclass(slots=True)
class Settled:
    events: list[SignalEvent] = field(default_factory=list)
    alerts: int = 0
    labeled: int = 0
    failed: list[str] = field(default_factory=list)


async def settle(
    db: Database,
    scorer: Scorer,
    settings: Settings,
    horizon: timedelta,
    candles: MintCandles | None,
) -> Settled | None:
    """The steps after the last poll (positions, signals and their alerts, labels), unless
    they were done already; None when there was nothing to do."""
    from engine.learning.labels import label_due

    polled, top = await last_poll(db), await trade_mark(db)
    batch = {"until": polled.isoformat() if polled else "", "mark": top}
    async with db.session() as session:
        row = await session.get(AppState, PIPELINE_SETTLED)
        if row is None:  # a new database, or one from before the mark: nothing is owed
            session.add(AppState(key=PIPELINE_SETTLED, value=json.dumps(batch)))
            return None
        settled = json.loads(row.value)
        if polled is None or settled == batch:
            return None
        done = set(
            (
                await session.exec(
                    select(AppState.key).where(
                        col(AppState.key).startswith(PIPELINE_DONE),
                        AppState.value == json.dumps(batch),
                    )
                )
            ).all()
        )
        rows = (
            await session.exec(
                select(Trade).where(
                    Trade.is_kol, col(Trade.id) > int(settled["mark"]), col(Trade.id) <= top
                )
            )
        ).all()
    trades = sorted((trade_record(r) for r in rows), key=lambda t: t.chain_order)
    await refresh_positions(db, {t.wallet for t in trades})
    window = timedelta(hours=settings.signal_window_hours)
    buys = [t for t in trades if t.side == "buy"]
    seen = {(t.signature, t.wallet, t.mint) for t in buys}
    buys += [
        t
        for t in await unsignaled_buys(db, polled - window)
        if (t.signature, t.wallet, t.mint) not in seen
    ]
    rule = outbox.AlertRule(
        await all_stats(db) if buys else {},
        settings.diamond_hand_threshold,
        settings.diamond_hand_min_positions,
    )

    async def record(session: AsyncSession, mint: str, events: Sequence[SignalEvent]) -> int:
        """The token's alerts, and that it is done, in its signal step's transaction."""
        await session.merge(AppState(key=PIPELINE_DONE + mint, value=json.dumps(batch)))
        return await outbox.write_alerts(session, events, rule)

    run = await process_buys(
        db,
        scorer,
        buys,
        window=window,
        sink=record,
        done={key.removeprefix(PIPELINE_DONE) for key in done},
    )
    labels = await label_due(db, polled, horizon, candles=candles)
    await followups.record_due(db, polled, horizon)  # idempotent: a rerun writes nothing new
    async with db.session() as session:
        await session.merge(AppState(key=PIPELINE_SETTLED, value=json.dumps(batch)))
        await session.exec(delete(AppState).where(col(AppState.key).startswith(PIPELINE_DONE)))
    return Settled(run.events, run.recorded, labels.labeled, run.failed)


async def settle_trades(
    db: Database, scorer: Scorer, settings: Settings, trades: Sequence[TradeRecord]
) -> Settled:
    """Positions, signals and alerts for ``trades`` now (see the module doc)."""
    if not trades:
        return Settled()
    await refresh_positions(db, {t.wallet for t in trades})
    buys = [t for t in trades if t.side == "buy"]
    if not buys:
        return Settled()
    rule = outbox.AlertRule(
        await all_stats(db), settings.diamond_hand_threshold, settings.diamond_hand_min_positions
    )

    async def record(session: AsyncSession, mint: str, events: Sequence[SignalEvent]) -> int:
        return await outbox.write_alerts(session, events, rule)

    window = timedelta(hours=settings.signal_window_hours)
    run = await process_buys(db, scorer, buys, window=window, sink=record)
    return Settled(run.events, run.recorded, 0, run.failed)
