"""Outcome labels: once a signal's horizon has passed, how far its market cap ran.

ratio = max market cap of the snapshots with t < ts <= t + horizon over the entry market cap
(the latest snapshot at or before t). A signal without an entry market cap or without any
snapshot in its window stays unlabeled (and is reported).

Classes: ratio < 1.5 rug(0) · < 5 small_win(1) · < 10 medium_win(2) · < 50 big_win(3)
· < 100 moonshot(4) · otherwise mega_moon(5). A boundary belongs to the class above it (exactly
5.0 is medium_win). This is the one labelling rule: ``ml.classes`` holds the class table and
``label_for_multiple`` (ml cannot import engine; ``labels_for_multiples`` is its array form), and
everything that labels a multiple calls it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlmodel import col, select

from engine.storage import Database, MarketSnapshot, Outcome, Signal
from ml.classes import (
    BIG_CLASSES,
    BOUNDARIES,
    CLASSES,
    N_CLASSES,
    label_for_multiple,
    labels_for_multiples,
)

__all__ = [
    "BIG_CLASSES",
    "BOUNDARIES",
    "CLASSES",
    "CLASS_SHORT",
    "LOG_BOUNDARIES",
    "N_CLASSES",
    "LabelRun",
    "label_due",
    "label_for_multiple",
    "labels_for_multiples",
]

LOG_BOUNDARIES: Final[tuple[float, ...]] = tuple(math.log(b) for b in BOUNDARIES)
# Short names used in reasons and charts ("toward 10x+").
CLASS_SHORT: Final[dict[str, str]] = {
    "rug": "<1.5x",
    "small_win": "1.5-5x",
    "medium_win": "5-10x",
    "big_win": "10-50x",
    "moonshot": "50-100x",
    "mega_moon": "100x+",
}


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
