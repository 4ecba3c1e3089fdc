"""Outcome labels: once a signal's horizon has passed, how far its market cap ran.

ratio = max market cap of the snapshots with t < ts <= t + horizon over the entry market cap
(the latest snapshot at or before t); the class follows engine.labels. A signal without an entry
market cap or without any snapshot in its window stays unlabeled (and is reported).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from engine.labels import label_for_multiple
from engine.storage import Database, MarketSnapshot, Outcome, Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LabelRun:
    labeled: int
    skipped: int


async def label_due(db: Database, now: datetime, horizon: timedelta) -> LabelRun:
    labeled = skipped = 0
    async with db.session() as session:
        due = (
            await session.exec(
                select(Signal)
                .outerjoin(Outcome, col(Outcome.signal_id) == col(Signal.id))
                .where(col(Outcome.signal_id).is_(None), Signal.ts <= now - horizon)
            )
        ).all()
        for signal in due:
            assert signal.id is not None
            window = (
                await session.exec(
                    select(MarketSnapshot.ts, MarketSnapshot.mcap_usd).where(
                        MarketSnapshot.mint == signal.mint,
                        MarketSnapshot.ts > signal.ts,
                        MarketSnapshot.ts <= signal.ts + horizon,
                    )
                )
            ).all()
            if not window or not signal.entry_mcap:
                skipped += 1
                continue
            peak_ts, peak = max(window, key=lambda row: (row[1], -row[0].timestamp()))
            ratio = peak / signal.entry_mcap
            session.add(
                Outcome(
                    signal_id=signal.id,
                    max_mcap=peak,
                    max_roi=ratio - 1.0,
                    time_to_peak_hours=(peak_ts - signal.ts).total_seconds() / 3600.0,
                    label=label_for_multiple(ratio),
                )
            )
            labeled += 1
    if skipped:
        log.info("%d signals past their horizon could not be labeled (no market data)", skipped)
    return LabelRun(labeled, skipped)
