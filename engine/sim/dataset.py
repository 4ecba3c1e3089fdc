"""Labeled signal datasets built in memory from the simulated market (no database).

The features are computed by ``engine.signals.features.compute_features`` from the same records the
tracker would store, so a row here equals the row the database pipeline stores for the same
signal (``tests/engine/test_dataset.py`` checks it); only the lookups are indexed, so that tens of
thousands of signals take seconds. Used by benchmarks and model-quality measurements, where the
simulator's oracle gives the best possible probabilities for every row.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.learning.training import Dataset
from engine.signals.features import (
    FEATURE_NAMES,
    NARRATIVE_FRESH_LOOKBACK,
    NARRATIVE_HEAT_WINDOW,
    FeatureInputs,
    PriorSignal,
    compute_features,
    feature_vector,
)
from engine.signals.narratives import match_narratives
from engine.sim import SimConfig, SimWorld, generate
from engine.sim.config import NoiseKind
from engine.tracking.kolstats import WinRateIndex


@dataclass(slots=True)
class OracleDataset:
    data: Dataset
    oracle: np.ndarray  # (n, 6) true class probabilities of each row


def world_dataset(
    world: SimWorld, progress: Callable[[int, int], None] | None = None
) -> OracleDataset:
    """Every signal of ``world`` with its signal-time features, label, multiple and oracle."""
    idx = world.index
    truths = sorted(world.truths, key=lambda t: (t.signal_time, t.mint))
    win_rates = WinRateIndex(t for t in world.trades if t.wallet in idx.tier_by_wallet)
    prior = [
        PriorSignal(
            t.mint,
            t.signal_time,
            frozenset(
                n.name
                for n in match_narratives(
                    idx.token_by_mint[t.mint].name, idx.token_by_mint[t.mint].symbol
                )
            ),
        )
        for t in truths
    ]
    prior_ts = [p.ts for p in prior]
    lookback = NARRATIVE_HEAT_WINDOW + NARRATIVE_FRESH_LOOKBACK
    rows = []
    for i, truth in enumerate(truths):
        mint, t = truth.mint, truth.signal_time
        snaps = idx.snapshots_by_mint.get(mint, [])
        snaps = snaps[: bisect.bisect_right(idx.snapshot_ts_by_mint.get(mint, []), t)]
        buys = [b for b in idx.kol_buys_by_mint.get(mint, []) if b.block_time <= t]
        creator = idx.creator_trades_by_mint.get(mint, [])
        creator = creator[: bisect.bisect_right(idx.creator_ts_by_mint.get(mint, []), t)]
        ctx_end = bisect.bisect_right(idx.context_ts, t)
        window = prior[bisect.bisect_left(prior_ts, t - lookback) : bisect.bisect_left(prior_ts, t)]
        inputs = FeatureInputs(
            token=idx.token_by_mint[mint],
            t=t,
            snapshots=snaps,
            kol_tiers={b.wallet: idx.tier_by_wallet[b.wallet] for b in buys},
            kol_trades=buys,
            creator_trades=creator,
            context=world.contexts[max(0, ctx_end - 1) : ctx_end],
            prior_signals=[p for p in window if p.narratives],
            win_rates=win_rates,
        )
        rows.append(feature_vector(compute_features(inputs)))
        if progress is not None and (i + 1) % 1000 == 0:
            progress(i + 1, len(truths))
    data = Dataset(
        X=pd.DataFrame(rows, columns=list(FEATURE_NAMES), dtype=float),
        y=np.array([t.label for t in truths], dtype=int),
        multiples=np.array([t.max_multiple for t in truths], dtype=float),
        ts=[t.signal_time for t in truths],
        mints=[t.mint for t in truths],
    )
    return OracleDataset(data, np.array([t.class_probs for t in truths], dtype=float))


__all__ = ["OracleDataset", "world_dataset"]


def simulated_signals(
    n_signals: int, seed: int, per_day: int = 100, noise_kind: NoiseKind = "normal"
) -> OracleDataset:
    """At least ``n_signals`` signals of a fresh simulated market (lean snapshots), for the
    benchmarks: ``per_day`` launches a day, as many days as that takes."""
    config = SimConfig(
        seed=seed,
        n_days=-(-n_signals // per_day),
        tokens_per_day=per_day,
        snapshot_detail="lean",
        noise_kind=noise_kind,
    )
    return world_dataset(generate(config))
