"""Synthetic, time-ordered signals whose true class probabilities are known.

An ordered-logit market: latent score ``s = 1.6*kol_elite_count - 1.1*holder_top10_pct
+ 0.7*volume_spike_vs_avg`` (the last one missing for 15% of rows, then it adds 0), and
``P(class <= k) = sigmoid(CUTS[k] - s)``. The classes are imbalanced like real outcomes (about half
rugs, a few percent 100x+). ``noise_a``/``noise_b`` carry no signal; ``const_zero`` is always 0,
so no tree can split on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = [
    "kol_elite_count",
    "holder_top10_pct",
    "volume_spike_vs_avg",
    "noise_a",
    "noise_b",
    "const_zero",
]
CUTS = np.array([0.0, 2.2, 3.4, 5.0, 5.8])


@dataclass(frozen=True)
class Synth:
    X: pd.DataFrame
    y: np.ndarray
    true_probs: np.ndarray  # (n, 6), the generating probabilities


def make_synth(n: int, seed: int) -> Synth:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "kol_elite_count": rng.normal(size=n),
            "holder_top10_pct": rng.normal(size=n),
            "volume_spike_vs_avg": rng.normal(size=n),
            "noise_a": rng.normal(size=n),
            "noise_b": rng.uniform(size=n),
            "const_zero": np.zeros(n),
        }
    )
    X.loc[rng.random(n) < 0.15, "volume_spike_vs_avg"] = np.nan
    s = (
        1.6 * X["kol_elite_count"]
        - 1.1 * X["holder_top10_pct"]
        + 0.7 * X["volume_spike_vs_avg"].fillna(0.0)
    ).to_numpy()
    cdf = 1.0 / (1.0 + np.exp(-(CUTS[None, :] - s[:, None])))  # P(class <= k), k = 0..4
    cdf = np.hstack([cdf, np.ones((n, 1))])
    probs = np.diff(np.hstack([np.zeros((n, 1)), cdf]), axis=1)
    y = (rng.random(n)[:, None] > cdf).sum(axis=1)
    return Synth(X=X, y=y.astype(np.int64), true_probs=probs)
