"""Labels from the price path: how far a max read from 5-minute polls falls short of the true max.

    .venv/bin/python bench/bench_labels.py [--seeds 7 8 9] [--poll-minutes 5]

On the simulated market (engine.sim, default config per seed: 30 days x 30 tokens), each token's
true market-cap path is known. The bench captures it while the market is generated (it wraps
``engine.sim.market.full_tape``, which receives the token's ``PricePath``; the simulator itself
is unchanged), then, per signal:

* true max: the path's highest point in (t, t + 72 h]. For a run (multiple >= 1) that is the
  peak (the path's unique maximum, engine.sim.path); for a token that only falls (multiple < 1)
  the path is highest just after t, so its max is taken on a 1-second grid up to the first tick.
* poll max: the highest of snapshots every ``--poll-minutes`` on the simulator's 5-minute grid
  (aligned to the token's creation, as a poller's clock would be) -- *without* the peak tick
  that the simulator's own snapshots add. Snapshot values follow ``full_tape`` exactly.
* poll + swaps: the same, plus every simulated swap of the mint (KOL and creator) in the
  window, priced exactly as ``engine.learning.labels.label_due`` prices a stored trade
  (``swap_points``: price_sol x SOL/USD of the latest hourly context x supply from the
  snapshots, with the same 10x plausibility bound), and the peak picked by ``path_peak``.

Reports the shortfall true_max / max (median, p90, p99, max), how many labels change class
against the true path's, and how much of the shortfall (in log terms) the swaps recover. The
simulator has no candles. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.learning.labels import (  # noqa: E402
    PriceContext,
    PricePoint,
    label_for_multiple,
    path_peak,
    swap_points,
)
from engine.sim import SimConfig, generate, market  # noqa: E402
from engine.sim.path import PricePath  # noqa: E402

HORIZON = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Row:
    true_multiple: float
    poll_multiple: float
    swap_multiple: float
    swap_set_max: bool


def capture_paths(config: SimConfig) -> tuple[Any, dict[str, tuple[Any, PricePath, float]]]:
    """The world of ``config`` and, per mint, (MarketParams, PricePath, peak mcap)."""
    captured: dict[str, tuple[Any, PricePath, float]] = {}
    original = market.full_tape

    def full_tape(p: Any, pre: Any, path: PricePath, peak_mcap: float) -> Any:
        captured[p.mint] = (p, path, peak_mcap)
        return original(p, pre, path, peak_mcap)

    market.full_tape = full_tape  # type: ignore[assignment]
    try:
        world = generate(config)
    finally:
        market.full_tape = original  # type: ignore[assignment]
    return world, captured


def true_max(path: PricePath, peak_mcap: float) -> float:
    if path.post.l_mult >= 0:
        return peak_mcap
    first = np.arange(1.0, path.post.peak_s + 1.0)
    return max(peak_mcap, float(np.exp(path.log_mcap(first)).max()))


def poll_snapshots(p: Any, path: PricePath, peak_mcap: float, poll_s: int) -> tuple[Any, Any]:
    """Seconds after t and market caps of the polls in (t, t + 72 h], as full_tape makes them."""
    first = (p.age_s // market.FIVE_MIN_S + 1) * market.FIVE_MIN_S - p.age_s
    s = np.arange(first, market.HORIZON_S + 1, poll_s, dtype=np.float64)
    mcap = np.minimum(np.exp(path.log_mcap(s)), peak_mcap * (1.0 - 1e-9))
    mcap[s == path.post.peak_s] = peak_mcap
    return s, mcap


def measure(seed: int, poll_s: int) -> list[Row]:
    world, paths = capture_paths(SimConfig(seed=seed))
    ctx_rows = [(c.ts, c.sol_price_usd) for c in world.contexts]
    trades_by_mint: dict[str, list[tuple[Any, float]]] = {}
    for tr in world.trades:
        trades_by_mint.setdefault(tr.mint, []).append((tr.block_time, tr.price_sol))
    rows = []
    for truth in world.truths:
        p, path, peak_mcap = paths[truth.mint]
        t, entry = truth.signal_time, truth.entry_mcap_usd
        s, mcap = poll_snapshots(p, path, peak_mcap, poll_s)
        snaps = [(t + timedelta(seconds=float(x)), float(m)) for x, m in zip(s, mcap, strict=True)]
        polls = [PricePoint(ts, m, "snapshot") for ts, m in snaps]
        ctx = PriceContext(
            [(t, entry / market.SUPPLY_TOKENS, entry)]
            + [(ts, m / market.SUPPLY_TOKENS, m) for ts, m in snaps],
            ctx_rows,
        )
        swaps = swap_points(
            [
                (ts, price)
                for ts, price in trades_by_mint.get(truth.mint, [])
                if t < ts <= t + HORIZON
            ],
            ctx,
        )
        poll_peak = path_peak(t, HORIZON, polls)
        both = path_peak(t, HORIZON, polls, swaps)
        assert poll_peak is not None and both is not None
        rows.append(
            Row(
                true_multiple=true_max(path, peak_mcap) / entry,
                poll_multiple=poll_peak.mcap_usd / entry,
                swap_multiple=both.mcap_usd / entry,
                swap_set_max=both.source == "swap",
            )
        )
    return rows


def quantiles(values: np.ndarray) -> str:
    q = np.quantile(values, [0.5, 0.9, 0.99])
    return f"median {q[0]:.3f}  p90 {q[1]:.3f}  p99 {q[2]:.3f}  max {values.max():.3f}"


def report(rows: list[Row], poll_minutes: int) -> None:
    true = np.array([r.true_multiple for r in rows])
    poll = np.array([r.poll_multiple for r in rows])
    swap = np.array([r.swap_multiple for r in rows])
    runs = true >= 1.0
    label = np.vectorize(label_for_multiple)
    true_cls, poll_cls, swap_cls = label(true), label(poll), label(swap)
    n = len(rows)
    print(f"signals: {n} ({int(runs.sum())} with a multiple >= 1)")
    for name, got in (
        (f"{poll_minutes}-min polls", poll),
        (f"{poll_minutes}-min polls + swaps", swap),
    ):
        short = true / got
        print(f"\n{name}: true_max / max")
        print(f"  all signals   {quantiles(short)}")
        print(f"  multiple >= 1 {quantiles(short[runs])}")
        print(
            f"  short by > 1%: {int((short > 1.01).sum())}/{n}, by > 10%: {int((short > 1.1).sum())}/{n}"
        )
    for name, cls in (("polls", poll_cls), ("polls + swaps", swap_cls)):
        changed = cls != true_cls
        lower = int((cls[changed] < true_cls[changed]).sum())
        print(
            f"labels that differ from the true path's ({name}): {int(changed.sum())}/{n} "
            f"= {changed.mean():.1%} ({lower} of them a class lower)"
        )
    gap = np.log(true / poll)
    some = gap > 1e-6
    recovered = np.log(swap[some] / poll[some]) / gap[some]
    print(
        f"\nswaps: set the max for {sum(r.swap_set_max for r in rows)}/{n} signals; of the "
        f"{int(some.sum())} whose poll max is short, median share of the log shortfall recovered "
        f"{np.median(recovered):.1%}, mean {recovered.mean():.1%}; labels fixed "
        f"{int(((poll_cls != true_cls) & (swap_cls == true_cls)).sum())}, broken "
        f"{int(((poll_cls == true_cls) & (swap_cls != true_cls)).sum())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--poll-minutes", type=int, default=5)
    args = parser.parse_args()
    if args.poll_minutes * 60 % market.FIVE_MIN_S:
        parser.error("--poll-minutes must be a multiple of 5 (the simulator's grid)")
    started = time.perf_counter()
    rows = [r for seed in args.seeds for r in measure(seed, args.poll_minutes * 60)]
    print(f"bench_labels: seeds {args.seeds}, python {platform.python_version()}")
    report(rows, args.poll_minutes)
    print(f"\n({time.perf_counter() - started:.1f} s)")
    if any(math.isnan(r.swap_multiple) for r in rows):
        print("warning: NaN multiples")


if __name__ == "__main__":
    main()
