"""A token's market tape (market cap, volume and trade counts on a time grid) and its snapshots.

The grid runs every 5 minutes from creation to 6 h after the signal time t, then every
30 minutes to t + 72 h, plus the ticks t, the peak and t + 72 h. Volume flows at a rate of
``turnover * mcap * (0.3 + 2.5 exp(-age_h / 3))`` USD per hour (x1.8 between t and the peak) and
is integrated with the trapezoid rule; buys are 56% of trades before t, 60% on the rise, 42% after
the peak. Windowed values (volume_5m/1h/6h/24h, buys/sells, price changes) come from the
integrated series, so every snapshot is consistent with one volume process.

Snapshot detail: "full" emits every grid tick; "lean" emits only the ticks the features and the
label read: t, the latest tick at or before t - 1 h, the latest at or before created_at + 1 h,
the peak and t + 72 h. Both come from the same tape, so a lean snapshot equals the full one at
the same tick. The part of the tape up to t is built before the outcome is drawn (phase A) and
never recomputed: the signal snapshot that f reads is the one emitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from engine.records import SnapshotRecord
from engine.sim.config import SnapshotDetail
from engine.sim.path import FloatArray, PrePath, PricePath

SUPPLY_TOKENS = 1_000_000_000.0
FIVE_MIN_S = 300
HALF_HOUR_S = 1800
HOUR_S = 3600
DAY_S = 86_400
DETAIL_S = 6 * HOUR_S
HORIZON_S = 72 * HOUR_S
_WINDOWS_S = (FIVE_MIN_S, HOUR_S, 6 * HOUR_S, DAY_S)


@dataclass(frozen=True, slots=True)
class MarketParams:
    """A token's static market parameters. Times are seconds relative to t."""

    mint: str
    age_s: int  # t - created_at
    entry_mcap: float
    top10_at_signal: float
    top3_ratio: float
    top1_ratio: float
    dev_pct: float
    dev_sell_s: int | None
    liquidity_frac: float
    turnover: float
    avg_trade_usd: float
    holder_coef: float


@dataclass(frozen=True, slots=True)
class Tape:
    s: FloatArray  # grid, seconds relative to t, increasing; s[0] is the creation
    mcap: FloatArray
    cum: FloatArray  # 3 x len(s): cumulative volume (USD), buys and sells since creation


def _integrate(s: FloatArray, rates_per_h: FloatArray, start: FloatArray) -> FloatArray:
    """Trapezoid running integrals of the rows of ``rates_per_h`` over ``s``, from ``start``."""
    steps = 0.5 * (rates_per_h[:, 1:] + rates_per_h[:, :-1]) * (np.diff(s) / HOUR_S)
    return np.concatenate((start[:, None], start[:, None] + np.cumsum(steps, axis=1)), axis=1)


def _flows(
    p: MarketParams, s: FloatArray, mcap: FloatArray, boost: FloatArray, buy_share: FloatArray
) -> FloatArray:
    """Rows: USD volume, buys and sells per hour at the grid points."""
    age_h = (s + p.age_s) / HOUR_S
    volume = p.turnover * mcap * (0.3 + 2.5 * np.exp(-age_h / 3.0)) * boost
    trades = volume / p.avg_trade_usd
    return np.array((volume, buy_share * trades, (1.0 - buy_share) * trades))


def pre_tape(p: MarketParams, pre: PrePath) -> Tape:
    """The tape from creation to t (phase A)."""
    s = np.concatenate((np.arange(-p.age_s, 0, FIVE_MIN_S, dtype=np.float64), [0.0]))
    mcap = np.exp(pre.log_mcap(s))
    mcap[-1] = p.entry_mcap
    flows = _flows(p, s, mcap, np.ones(len(s)), np.full(len(s), 0.56))
    return Tape(s=s, mcap=mcap, cum=_integrate(s, flows, np.zeros(3)))


def post_grid(age_s: int, peak_s: int) -> FloatArray:
    """Grid ticks after t: 5-minute ticks of the creation grid to t + 6 h, 30-minute ones to
    t + 72 h, the peak and t + 72 h."""
    first = (age_s // FIVE_MIN_S + 1) * FIVE_MIN_S - age_s  # first 5-minute tick after t
    fine = np.arange(first, DETAIL_S + 1, FIVE_MIN_S)
    first_coarse = ((age_s + DETAIL_S) // HALF_HOUR_S + 1) * HALF_HOUR_S - age_s
    coarse = np.arange(first_coarse, HORIZON_S + 1, HALF_HOUR_S)
    return np.unique(np.concatenate((fine, coarse, [peak_s, HORIZON_S]))).astype(np.float64)


def full_tape(p: MarketParams, pre: Tape, path: PricePath, peak_mcap: float) -> Tape:
    """The whole tape: phase A's tape with the part after t appended (phase B). The peak tick
    gets exactly ``peak_mcap``; every other tick after t stays below it."""
    peak_s = path.post.peak_s
    s = post_grid(p.age_s, int(peak_s))
    mcap = np.minimum(np.exp(path.log_mcap(s)), peak_mcap * (1.0 - 1e-9))
    mcap[s == peak_s] = peak_mcap
    rising = s <= peak_s
    # The segment from t to the first tick after it, integrated from t's values.
    grid = np.concatenate(([0.0], s))
    flows = _flows(
        p,
        grid,
        np.concatenate(([p.entry_mcap], mcap)),
        np.concatenate(([1.0], np.where(rising, 1.8, 1.0))),
        np.concatenate(([0.56], np.where(rising, 0.6, 0.42))),
    )
    cum = _integrate(grid, flows, pre.cum[:, -1])[:, 1:]
    return Tape(
        s=np.concatenate((pre.s, s)),
        mcap=np.concatenate((pre.mcap, mcap)),
        cum=np.concatenate((pre.cum, cum), axis=1),
    )


def pre_ticks(tape: Tape, age_s: int, detail: SnapshotDetail) -> list[int]:
    """Indices of the snapshots up to t (``tape`` is phase A's)."""
    last = len(tape.s) - 1
    if detail == "full":
        return list(range(last + 1))
    picks = {last}
    for moment in (-float(HOUR_S), min(0.0, HOUR_S - float(age_s))):
        i = int(np.searchsorted(tape.s, moment, side="right")) - 1
        if i >= 0:
            picks.add(i)
    return sorted(picks)


def post_ticks(tape: Tape, n_pre: int, peak_s: float, detail: SnapshotDetail) -> list[int]:
    """Indices of the snapshots after t (``tape`` is the full one)."""
    if detail == "full":
        return list(range(n_pre, len(tape.s)))
    after = tape.s[n_pre:]
    return (n_pre + np.flatnonzero((after == peak_s) | (after == HORIZON_S))).tolist()


def _window_sums(tape: Tape, s: FloatArray) -> FloatArray:
    """Rows (volume, buys, sells) x windows (5m, 1h, 6h, 24h) x ticks: flows over the window
    ending at each tick ``s`` (linear interpolation between grid points, 0 before creation)."""
    back = (s[None, :] - np.asarray(_WINDOWS_S, dtype=np.float64)[:, None]).ravel()
    j = np.minimum(np.maximum(np.searchsorted(tape.s, back, side="right") - 1, 0), len(tape.s) - 2)
    left, right = tape.s[j], tape.s[j + 1]
    frac = np.minimum(np.maximum((back - left) / (right - left), 0.0), 1.0)
    before = tape.cum[:, j] + frac * (tape.cum[:, j + 1] - tape.cum[:, j])
    before[:, back < tape.s[0]] = 0.0
    now = tape.cum[:, np.searchsorted(tape.s, s)]
    sums: FloatArray = now[:, None, :] - before.reshape(3, len(_WINDOWS_S), len(s))
    return sums


def snapshots(
    p: MarketParams,
    tape: Tape,
    ticks: Sequence[int],
    log_mcap: Callable[[FloatArray], FloatArray],
    t: datetime,
) -> list[SnapshotRecord]:
    """SnapshotRecords at the tape indices ``ticks``; ``log_mcap`` is the path (for changes)."""
    if not ticks:
        return []
    idx = np.asarray(ticks)
    s = tape.s[idx]
    mcap = tape.mcap[idx]
    n = len(s)
    flows = _window_sums(tape, s)
    changes_back = np.concatenate((s - FIVE_MIN_S, s - HOUR_S, s - DAY_S))
    changes = (np.concatenate((mcap, mcap, mcap)) / np.exp(log_mcap(changes_back)) - 1.0) * 100.0
    age_h = (s + p.age_s) / HOUR_S
    drift = 35.0 * (np.exp(-age_h / 1.5) - math.exp(-p.age_s / HOUR_S / 1.5))
    top10 = np.minimum(np.maximum(p.top10_at_signal + drift, 3.0), 99.0).round(2)
    top10[s == 0.0] = p.top10_at_signal
    top3 = (top10 * p.top3_ratio).round(2)
    top1_other = (top3 * p.top1_ratio).round(2)
    dev_holds = s < p.dev_sell_s if p.dev_sell_s is not None else np.ones(n, dtype=bool)
    dev_top = dev_holds & (p.dev_pct > top1_other)
    top1 = np.where(dev_top, np.minimum(p.dev_pct, top3 * 0.85).round(2), top1_other)
    holders = np.floor(10.0 + p.holder_coef * tape.cum[1, idx] ** 0.85)
    gini = np.minimum(0.98, 0.5 + 0.0045 * top10 + 0.05 * np.exp(-holders / 200.0)).round(4)
    rounded = np.concatenate(
        (
            (mcap * p.liquidity_frac)[None, :],
            flows[0],
            changes.reshape(3, n),
            (SUPPLY_TOKENS * (1.0 - top10 / 100.0) / holders * 0.2)[None, :],
        )
    ).round(2)
    counts = np.rint(flows[1:, [1, 3], :]).reshape(4, n)  # buys 1h, 24h; sells 1h, 24h
    ints = np.concatenate((counts, holders[None, :])).astype(np.int64)
    columns = zip(
        s.tolist(), mcap.tolist(), *rounded.tolist(), *ints.tolist(), top1.tolist(),
        top3.tolist(), top10.tolist(), gini.tolist(), dev_top.tolist(),
        strict=True,
    )  # fmt: skip
    out: list[SnapshotRecord] = []
    for (
        sec,
        m,
        liq,
        v5,
        v1,
        v6,
        v24,
        c5,
        c1,
        c24,
        med,
        b1,
        b24,
        s1,
        s24,
        h,
        t1,
        t3,
        t10,
        g,
        dev,
    ) in columns:
        out.append(
            SnapshotRecord(
                mint=p.mint,
                ts=t + timedelta(seconds=sec),
                price_usd=m / SUPPLY_TOKENS,
                mcap_usd=m,
                liquidity_usd=liq,
                volume_5m=v5,
                volume_1h=v1,
                volume_6h=v6,
                volume_24h=v24,
                buys_1h=b1,
                sells_1h=s1,
                buys_24h=b24,
                sells_24h=s24,
                price_change_5m=c5,
                price_change_1h=c1,
                price_change_24h=c24,
                holder_count=h,
                top1_pct=t1,
                top3_pct=t3,
                top10_pct=t10,
                holder_gini=g,
                holder_median_balance=med,
                top_holder_is_dev=dev,
            )
        )
    return out
