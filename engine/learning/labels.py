"""Outcome labels: once a signal's horizon has passed, how far its market cap ran.

ratio = max market cap over the signal's window (t < ts <= t + horizon) over the entry market cap
(``Signal.entry_mcap``, the latest snapshot at or before t). The max is taken over every price
moonbot has for the mint in the window, and ``Outcome.max_source`` says which kind gave it:

* ``snapshot``: each stored ``MarketSnapshot``'s ``mcap_usd``.
* ``swap``: each stored ``Trade`` of the mint (KOL or creator), ``price_sol`` (the settled SOL
  over the token amount) x SOL/USD x supply. SOL/USD: the latest ``MarketContext`` at or before
  the swap, at most ``SOL_USD_MAX_AGE`` old (the simulator writes one an hour; the live source one
  a poll, from DexScreener's WSOL pair); no snapshot carries SOL/USD. Supply: ``mcap_usd /
  price_usd`` of the mint's latest snapshot at or before the swap, else its first one after, so
  a swap's market cap has the same basis (circulating or fully diluted) as the snapshots'. A swap
  whose SOL/USD or supply is unknown is left out, never priced with 0.
* ``candle``: where a candle feed is configured (``engine.sources.candles``, off on the
  simulator), each candle lying wholly inside the window: ``high_usd`` x supply (as for a swap,
  at the candle's start). Its time is the candle's start, the earliest the high can have been.

A swap or candle above ``MAX_JUMP`` times the higher of the snapshots around it (the latest at
or before it, the first at or after it) is left out and logged: no real move runs 10x and back
between two polls, while a misread amount or decimals (or a one-trade wick in a thin pool) does.
Ties go to the earliest point, then to a snapshot over a swap over a candle.

A signal without an entry market cap or without any snapshot in its window stays unlabeled (and
is reported). With candles configured, a mint whose candles cannot be read (the source is down,
or the payload is malformed: ``MalformedPayload``) is skipped and logged, and the others are
labeled; it is tried again on the next run, and labeled without candles once ``candle_grace``
has passed after its horizon. Runs are idempotent and resumable: outcomes are written in small
batches with INSERT .. ON CONFLICT DO NOTHING on the signal id, so a crash loses only the batch in
flight and a rerun labels what is left with the same values.

Classes: ratio < 1.5 rug(0) · < 5 small_win(1) · < 10 medium_win(2) · < 50 big_win(3)
· < 100 moonshot(4) · otherwise mega_moon(5). A boundary belongs to the class above it (exactly
5.0 is medium_win). This is the one labelling rule: ``ml.classes`` holds the class table and
``label_for_multiple`` (ml cannot import engine; ``labels_for_multiples`` is its array form), and
everything that labels a multiple calls it.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import SourceError
from engine.storage import Database, MarketContext, MarketSnapshot, Outcome, Signal, Trade
from engine.storage.db import insert_ignore
from engine.storage.models import utcnow
from ml.classes import (
    BIG_CLASSES,
    BOUNDARIES,
    CLASSES,
    N_CLASSES,
    label_for_multiple,
    labels_for_multiples,
)

if TYPE_CHECKING:
    from engine.sources.candles import Candle

__all__ = [
    "BIG_CLASSES",
    "BOUNDARIES",
    "CLASSES",
    "CLASS_SHORT",
    "LOG_BOUNDARIES",
    "MAX_JUMP",
    "N_CLASSES",
    "SOL_USD_MAX_AGE",
    "CandleFeed",
    "DueSignal",
    "LabelRun",
    "PriceContext",
    "PricePoint",
    "StoredPath",
    "candle_points",
    "label_due",
    "label_for_multiple",
    "labels_for_multiples",
    "path_peak",
    "stored_path",
    "swap_points",
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

MAX_JUMP: Final = 10.0
SOL_USD_MAX_AGE: Final = timedelta(hours=2)
# Snapshots this long before t still give a supply and the snapshot around the first points.
_LOOKBACK: Final = timedelta(days=1)
_BATCH: Final = 50

PriceSource = Literal["snapshot", "swap", "candle"]
_RANK: Final[dict[str, int]] = {"snapshot": 0, "swap": 1, "candle": 2}

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LabelRun:
    labeled: int
    skipped: int  # no entry market cap or no snapshot in the window
    failed: int = 0  # candles unreadable this run: left for the next one


@dataclass(frozen=True, slots=True)
class PricePoint:
    ts: datetime
    mcap_usd: float
    source: PriceSource


class CandleFeed(Protocol):
    """Candles of a mint lying wholly inside ``(start, end]`` (``engine.sources.candles``)."""

    async def candles(self, mint: str, start: datetime, end: datetime) -> Sequence[Candle]: ...


class PriceContext:
    """What converts a swap or candle price into a market cap: the mint's snapshots
    (ts, price_usd, mcap_usd), any order, and SOL/USD (ts, sol_price_usd)."""

    def __init__(
        self,
        snapshots: Iterable[tuple[datetime, float, float]],
        sol_usd: Iterable[tuple[datetime, float]] = (),
    ) -> None:
        snaps = sorted(snapshots)
        self._snap_ts = [s[0] for s in snaps]
        self._mcap = [s[2] for s in snaps]
        self._supply = [_supply(price, mcap) for _, price, mcap in snaps]
        sol = sorted((ts, p) for ts, p in sol_usd if math.isfinite(p) and p > 0)
        self._sol_ts = [s[0] for s in sol]
        self._sol = [s[1] for s in sol]

    def supply_at(self, ts: datetime) -> float | None:
        """Supply from the latest snapshot at or before ``ts`` that gives one, else the first
        one after."""
        i = bisect.bisect_right(self._snap_ts, ts)
        before = (s for s in reversed(self._supply[:i]) if s is not None)
        after = (s for s in self._supply[i:] if s is not None)
        return next(before, None) or next(after, None)

    def sol_usd_at(self, ts: datetime) -> float | None:
        i = bisect.bisect_right(self._sol_ts, ts) - 1
        if i < 0 or ts - self._sol_ts[i] > SOL_USD_MAX_AGE:
            return None
        return self._sol[i]

    def ceiling(self, start: datetime, end: datetime) -> float | None:
        """``MAX_JUMP`` x the higher of the snapshots around ``[start, end]``."""
        i = bisect.bisect_right(self._snap_ts, start) - 1
        j = bisect.bisect_left(self._snap_ts, end)
        around = [self._mcap[k] for k in (i, j) if 0 <= k < len(self._mcap)]
        return MAX_JUMP * max(around) if around else None


def _supply(price_usd: float, mcap_usd: float) -> float | None:
    if not (math.isfinite(price_usd) and math.isfinite(mcap_usd)) or price_usd <= 0:
        return None
    return mcap_usd / price_usd if mcap_usd > 0 else None


def swap_points(swaps: Iterable[tuple[datetime, float]], ctx: PriceContext) -> list[PricePoint]:
    """Market caps of swaps (block_time, price_sol) whose SOL/USD and supply are known."""
    out: list[PricePoint] = []
    for ts, price_sol in swaps:
        sol_usd, supply = ctx.sol_usd_at(ts), ctx.supply_at(ts)
        if sol_usd is None or supply is None or not (math.isfinite(price_sol) and price_sol > 0):
            continue
        point = PricePoint(ts, price_sol * sol_usd * supply, "swap")
        if _plausible(point, ts, ctx):
            out.append(point)
    return out


def candle_points(candles: Iterable[Candle], ctx: PriceContext) -> list[PricePoint]:
    """Market caps of candle highs whose supply is known."""
    out: list[PricePoint] = []
    for candle in candles:
        supply = ctx.supply_at(candle.ts)
        if supply is None:
            continue
        point = PricePoint(candle.ts, candle.high_usd * supply, "candle")
        if _plausible(point, candle.end, ctx):
            out.append(point)
    return out


def _plausible(point: PricePoint, end: datetime, ctx: PriceContext) -> bool:
    ceiling = ctx.ceiling(point.ts, end)
    if ceiling is not None and point.mcap_usd <= ceiling:
        return True
    log.info(
        "left out a %s price at %s: mcap %.4g is over %gx the snapshots around it (%s)",
        point.source,
        point.ts.isoformat(),
        point.mcap_usd,
        MAX_JUMP,
        "none" if ceiling is None else f"{ceiling / MAX_JUMP:.4g}",
    )
    return False


def path_peak(t: datetime, horizon: timedelta, *sources: Iterable[PricePoint]) -> PricePoint | None:
    """The highest point with t < ts <= t + horizon; ties: earliest, then snapshot first."""
    end = t + horizon
    window = [p for points in sources for p in points if t < p.ts <= end]
    if not window:
        return None
    return max(window, key=lambda p: (p.mcap_usd, -p.ts.timestamp(), -_RANK[p.source]))


@dataclass(frozen=True, slots=True)
class DueSignal:
    """A signal whose price path is read (by the labels, and by the follow-up alerts)."""

    signal_id: int
    mint: str
    ts: datetime
    entry_mcap: float | None


@dataclass(slots=True)
class StoredPath:
    """A due signal's stored price path: snapshot and swap points, and their context."""

    snapshots: list[PricePoint]
    swaps: list[PricePoint]
    ctx: PriceContext


def _labelled(
    signal: DueSignal, horizon: timedelta, path: StoredPath, extra: list[PricePoint]
) -> dict[str, object] | None:
    """The outcome row of one signal, or None (logged) when its data cannot give one: one bad
    signal never stops the labels of the others."""
    try:
        peak = path_peak(signal.ts, horizon, path.snapshots, path.swaps, extra)
        assert peak is not None  # the window holds a snapshot
        assert signal.entry_mcap
        return _outcome_row(signal, signal.entry_mcap, peak)
    except (ValueError, ArithmeticError) as exc:  # e.g. a multiple that is not finite
        log.warning("signal %d (%s) cannot be labeled: %s", signal.signal_id, signal.mint, exc)
        return None


async def label_due(
    db: Database,
    now: datetime,
    horizon: timedelta,
    *,
    candles: CandleFeed | None = None,
    candle_grace: timedelta = timedelta(days=1),
) -> LabelRun:
    """Label every signal whose horizon has passed by ``now`` and that has no outcome yet."""
    async with db.session() as session:
        due = [
            DueSignal(s.id, s.mint, s.ts, s.entry_mcap)
            for s in (
                await session.exec(
                    select(Signal)
                    .outerjoin(Outcome, col(Outcome.signal_id) == col(Signal.id))
                    .where(col(Outcome.signal_id).is_(None), Signal.ts <= now - horizon)
                    .order_by(col(Signal.ts), col(Signal.id))
                )
            ).all()
            if s.id is not None
        ]
    labeled = skipped = failed = 0
    for k in range(0, len(due), _BATCH):
        rows: list[dict[str, object]] = []
        async with db.session() as session:
            stored = [await stored_path(session, d, horizon) for d in due[k : k + _BATCH]]
        for signal, path in zip(due[k : k + _BATCH], stored, strict=True):
            if path is None or not signal.entry_mcap:
                skipped += 1
                continue
            extra: list[PricePoint] = []
            if candles is not None:
                try:
                    got = await candles.candles(signal.mint, signal.ts, signal.ts + horizon)
                except SourceError as exc:
                    if now < signal.ts + horizon + candle_grace:
                        log.warning(
                            "signal %d (%s) not labeled yet: %s", signal.signal_id, signal.mint, exc
                        )
                        failed += 1
                        continue
                    log.warning(
                        "signal %d (%s) labeled without candles: %s",
                        signal.signal_id,
                        signal.mint,
                        exc,
                    )
                    got = []
                extra = candle_points(got, path.ctx)
            row = _labelled(signal, horizon, path, extra)
            if row is None:
                failed += 1
                continue
            rows.append(row)
        if rows:
            async with db.session() as session:
                done = await insert_ignore(session, Outcome, rows, returning=Outcome.signal_id)
            labeled += len(done)
    if skipped:
        log.info("%d signals past their horizon could not be labeled (no market data)", skipped)
    return LabelRun(labeled, skipped, failed)


def _outcome_row(signal: DueSignal, entry_mcap: float, peak: PricePoint) -> dict[str, object]:
    ratio = peak.mcap_usd / entry_mcap
    return {
        "signal_id": signal.signal_id,
        "max_mcap": peak.mcap_usd,
        "max_roi": ratio - 1.0,
        "time_to_peak_hours": (peak.ts - signal.ts).total_seconds() / 3600.0,
        "label": label_for_multiple(ratio),
        "labeled_at": utcnow(),
        "max_source": peak.source,
    }


async def stored_path(
    session: AsyncSession, signal: DueSignal, horizon: timedelta
) -> StoredPath | None:
    """The signal's snapshots, swaps and SOL/USD from the database; None without a snapshot in
    its window."""
    end = signal.ts + horizon
    snaps = (
        await session.exec(
            select(MarketSnapshot.ts, MarketSnapshot.price_usd, MarketSnapshot.mcap_usd).where(
                MarketSnapshot.mint == signal.mint,
                MarketSnapshot.ts > signal.ts - _LOOKBACK,
                MarketSnapshot.ts <= end,
            )
        )
    ).all()
    in_window = [PricePoint(ts, mcap, "snapshot") for ts, _, mcap in snaps if ts > signal.ts]
    if not in_window:
        return None
    swaps = (
        await session.exec(
            select(Trade.block_time, Trade.price_sol).where(
                Trade.mint == signal.mint, Trade.block_time > signal.ts, Trade.block_time <= end
            )
        )
    ).all()
    sol_usd = (
        await session.exec(
            select(MarketContext.ts, MarketContext.sol_price_usd).where(
                MarketContext.ts > signal.ts - SOL_USD_MAX_AGE, MarketContext.ts <= end
            )
        )
    ).all()
    ctx = PriceContext([(ts, p, m) for ts, p, m in snaps], [(ts, p) for ts, p in sol_usd])
    return StoredPath(in_window, swap_points(swaps, ctx), ctx)
