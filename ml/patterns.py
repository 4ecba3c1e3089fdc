"""Patterns mined from labeled signals: conditions on one feature, with counts and intervals.

Every pattern is computed from the rows given: its support (how many signals match), how many of
them reached >= 2x and >= 10x, the Wilson 95% interval of each rate, and the lift over the base
rate. Thresholds are the rows' own quantiles. Nothing here is written by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.metrics import wilson_interval as wilson


@dataclass(frozen=True, slots=True)
class Pattern:
    feature: str
    op: str  # ">=", "<", "==" (booleans)
    threshold: float
    n: int
    wins_2x: int
    wins_10x: int
    base_2x: float
    base_10x: float

    @property
    def rate_2x(self) -> float:
        return self.wins_2x / self.n

    @property
    def rate_10x(self) -> float:
        return self.wins_10x / self.n

    @property
    def ci_2x(self) -> tuple[float, float]:
        return wilson(self.wins_2x, self.n)

    @property
    def ci_10x(self) -> tuple[float, float]:
        return wilson(self.wins_10x, self.n)

    @property
    def lift_2x(self) -> float:
        return self.rate_2x / self.base_2x if self.base_2x > 0 else math.nan

    @property
    def condition(self) -> str:
        if self.op == "==":
            return f"{self.feature} is {'yes' if self.threshold >= 1 else 'no'}"
        return f"{self.feature} {self.op} {self.threshold:.3g}"


def _candidates(values: pd.Series) -> list[tuple[str, float]]:
    finite = values.dropna()
    if finite.empty:
        return []
    uniques = np.unique(finite.to_numpy())
    if len(uniques) <= 2 and set(uniques.tolist()) <= {0.0, 1.0}:
        return [("==", 1.0), ("==", 0.0)]
    qs = np.unique(np.quantile(finite, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]))
    return [(op, float(q)) for q in qs for op in (">=", "<")]


def mine_single(X: pd.DataFrame, multiples: np.ndarray, *, min_support: int = 30) -> list[Pattern]:
    """Every one-feature condition with at least ``min_support`` rows, best threshold per
    (feature, direction) by the lower Wilson bound of its >= 2x rate (winning) and the upper
    bound (losing) both kept."""
    ok = np.isfinite(multiples)
    X, multiples = X.loc[ok], multiples[ok]
    hit2 = multiples >= 2.0
    hit10 = multiples >= 10.0
    base2, base10 = float(hit2.mean()), float(hit10.mean())
    found: list[Pattern] = []
    for feature in X.columns:
        col = X[feature].to_numpy(dtype=float)
        for op, thr in _candidates(X[feature]):
            mask = (col == thr) if op == "==" else (col >= thr) if op == ">=" else (col < thr)
            n = int(mask.sum())
            if n < min_support or n == len(col):
                continue
            found.append(
                Pattern(
                    feature,
                    op,
                    thr,
                    n,
                    int(hit2[mask].sum()),
                    int(hit10[mask].sum()),
                    base2,
                    base10,
                )
            )
    return found


def winning(patterns: list[Pattern], k: int = 5) -> list[Pattern]:
    """Patterns whose >= 2x rate is above the base rate with 95% confidence, best first, one
    per feature (near-duplicates: other thresholds of the same feature)."""
    good = [p for p in patterns if p.ci_2x[0] > p.base_2x]
    return _one_per_feature(sorted(good, key=lambda p: -p.ci_2x[0]), k)


def losing(patterns: list[Pattern], k: int = 5) -> list[Pattern]:
    """Patterns whose >= 2x rate is below the base rate with 95% confidence, worst first."""
    bad = [p for p in patterns if p.ci_2x[1] < p.base_2x]
    return _one_per_feature(sorted(bad, key=lambda p: p.ci_2x[1]), k)


def _one_per_feature(ranked: list[Pattern], k: int) -> list[Pattern]:
    seen: set[str] = set()
    out: list[Pattern] = []
    for p in ranked:
        if p.feature in seen:
            continue
        seen.add(p.feature)
        out.append(p)
        if len(out) == k:
            break
    return out
