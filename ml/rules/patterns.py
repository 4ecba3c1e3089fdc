"""Patterns mined from labeled signals: conditions on features, with counts and intervals.

A ``Condition`` is one test on one feature (``>=`` / ``<`` a threshold, or ``==`` 1 / 0 for a
yes/no feature); a missing value (NaN) never matches a condition. A ``Pattern`` is a conjunction
of one to three conditions on different features, with its support (how many signals match),
how many of them reached >= 2x and >= 10x, the Wilson 95% interval of each rate, and the lift over
the base rate. Thresholds are the rows' own quantiles. Nothing here is written by hand.

``mine_single`` / ``winning`` / ``losing`` are the one-condition miner; ``ml.rules.miner.mine_patterns``
finds conjunctions (every pair, triples by a beam), tests each, and drops near-duplicates and
proxies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from ml.metrics import wilson_interval as wilson

OPS: Final[tuple[str, ...]] = (">=", "<", "==")
QUANTILES: Final[tuple[float, ...]] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# A feature with at most this many distinct values is discrete: every value is a threshold.
MAX_DISCRETE_VALUES: Final[int] = 10


@dataclass(frozen=True, slots=True)
class Condition:
    """``feature op threshold``; ``==`` only for yes/no features (threshold 1.0 or 0.0)."""

    feature: str
    op: str  # ">=", "<", "=="
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"op must be one of {OPS}, got {self.op!r}")

    def mask(self, values: np.ndarray) -> np.ndarray:
        """Which of ``values`` match; NaN never matches (every comparison with NaN is False)."""
        v = np.asarray(values, dtype=np.float64)
        if self.op == "==":
            return np.asarray(v == self.threshold)
        if self.op == ">=":
            return np.asarray(v >= self.threshold)
        return np.asarray(v < self.threshold)

    @property
    def text(self) -> str:
        if self.op == "==":
            return f"{self.feature} is {'yes' if self.threshold >= 1 else 'no'}"
        return f"{self.feature} {self.op} {self.threshold:.3g}"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A conjunction of conditions with its counts.

    ``feature`` / ``op`` / ``threshold`` are the first condition; ``more`` holds the others of a
    conjunction (all AND-ed; each on a different feature). ``base_2x`` / ``base_10x`` are the
    rates over all the rows the pattern was mined from.
    """

    feature: str
    op: str  # ">=", "<", "==" (booleans)
    threshold: float
    n: int
    wins_2x: int
    wins_10x: int
    base_2x: float
    base_10x: float
    more: tuple[Condition, ...] = ()

    @classmethod
    def of(
        cls,
        conditions: Sequence[Condition],
        n: int,
        wins_2x: int,
        wins_10x: int,
        base_2x: float,
        base_10x: float,
    ) -> Pattern:
        """A pattern from its conditions (at least one) and counts."""
        if not conditions:
            raise ValueError("a pattern needs at least one condition")
        first, *rest = conditions
        return cls(
            first.feature,
            first.op,
            first.threshold,
            n,
            wins_2x,
            wins_10x,
            base_2x,
            base_10x,
            tuple(rest),
        )

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return (Condition(self.feature, self.op, self.threshold), *self.more)

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(c.feature for c in self.conditions)

    @property
    def size(self) -> int:
        """Number of conditions."""
        return 1 + len(self.more)

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
    def lift_10x(self) -> float:
        return self.rate_10x / self.base_10x if self.base_10x > 0 else math.nan

    @property
    def condition(self) -> str:
        return " AND ".join(c.text for c in self.conditions)

    def matches(self, X: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``X`` that match every condition."""
        mask = np.ones(len(X), dtype=bool)
        for c in self.conditions:
            mask &= c.mask(X[c.feature].to_numpy(dtype=np.float64, na_value=np.nan))
        return mask


def feature_values(X: pd.DataFrame, feature: str) -> np.ndarray:
    """Column ``feature`` as float64 with NaN for missing; ValueError if it is not numeric."""
    try:
        return X[feature].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError(f"feature column {feature!r} is not numeric") from None


def candidate_conditions(
    feature: str, values: np.ndarray, quantiles: Sequence[float] = QUANTILES
) -> list[Condition]:
    """The conditions the miners try on one feature.

    Yes/no features (values in {0, 1}): ``== 1`` and ``== 0``. Discrete features (at most
    ``MAX_DISCRETE_VALUES`` distinct values, e.g. KOL counts): ``>= v`` and ``< v`` for each value
    but the smallest. Others: ``>= q`` and ``< q`` for the ``quantiles`` of the known values,
    rounded to 3 significant digits (so the threshold shown is the threshold used). Conditions
    that every known row (or no row) would match are left out.
    """
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return []
    uniques = np.unique(finite)
    if len(uniques) < 2:
        return []
    if len(uniques) == 2 and set(uniques.tolist()) == {0.0, 1.0}:
        return [Condition(feature, "==", 1.0), Condition(feature, "==", 0.0)]
    if len(uniques) <= MAX_DISCRETE_VALUES:
        thresholds = uniques[1:]
    else:
        qs = np.quantile(finite, np.asarray(quantiles, dtype=np.float64))
        thresholds = np.unique([_round_sig(float(q)) for q in qs])
        thresholds = thresholds[(thresholds > uniques[0]) & (thresholds <= uniques[-1])]
    return [Condition(feature, op, float(t)) for t in thresholds for op in (">=", "<")]


def _round_sig(x: float, digits: int = 3) -> float:
    if x == 0.0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def mine_single(X: pd.DataFrame, multiples: np.ndarray, *, min_support: int = 30) -> list[Pattern]:
    """Every one-feature condition with at least ``min_support`` rows (and not all of them).

    ``winning`` / ``losing`` pick the best threshold per feature from these.
    """
    multiples = np.asarray(multiples, dtype=np.float64)
    if len(multiples) != len(X):
        raise ValueError(f"{len(multiples)} multiples for {len(X)} rows")
    ok = np.isfinite(multiples)
    X, multiples = X.loc[ok], multiples[ok]
    if len(X) == 0:
        return []
    hit2 = multiples >= 2.0
    hit10 = multiples >= 10.0
    base2, base10 = float(hit2.mean()), float(hit10.mean())
    found: list[Pattern] = []
    for feature in X.columns:
        col = feature_values(X, str(feature))
        for cond in candidate_conditions(str(feature), col):
            mask = cond.mask(col)
            n = int(mask.sum())
            if n < min_support or n == len(col):
                continue
            found.append(
                Pattern.of([cond], n, int(hit2[mask].sum()), int(hit10[mask].sum()), base2, base10)
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
