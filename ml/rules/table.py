"""The rule miner's row sets (``ml.rules.miner``): every candidate condition as a bit mask.

A ``Table`` holds, for the rows being mined, each candidate condition with enough support as
packed bits (one uint64 word per 64 rows), with its row and success counts; a pattern's rows are
the AND of its conditions' bits. It also keeps each feature's *levels* (the bins its candidate
thresholds cut it into, NaN a bin of its own), which ``ml.rules.select`` holds fixed.
``Found`` is one pattern that passed the search's tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.rules.patterns import Condition, candidate_conditions, feature_values
from ml.rules.stats import Counts, LogisticFit, fit_logistic

Key = tuple[int, ...]  # sorted condition indices of a pattern


@dataclass(frozen=True, slots=True)
class Found:
    """A significant pattern: its conditions (``Table`` indices) and counts."""

    key: Key
    n: int
    hits: int
    low: float  # Wilson 95% interval of the target rate
    high: float
    z_crit: float  # the significance threshold of its level


def pack(mask: np.ndarray) -> np.ndarray:
    """Boolean rows (last axis) as uint64 words."""
    packed = np.packbits(mask, axis=-1, bitorder="little")
    pad = (-packed.shape[-1]) % 8
    if pad:
        packed = np.pad(packed, [(0, 0)] * (packed.ndim - 1) + [(0, pad)])
    return np.ascontiguousarray(packed).view(np.uint64)


def popcount(bits: np.ndarray) -> np.ndarray:
    """Set bits along the last axis."""
    return np.asarray(np.bitwise_count(bits).sum(axis=-1, dtype=np.int64))


class Table:
    """Every candidate condition with enough support, as a bit mask, with row and hit counts."""

    def __init__(
        self, X: pd.DataFrame, hit: np.ndarray, quantiles: Sequence[float], min_support: int
    ) -> None:
        conditions: list[Condition] = []
        masks: list[np.ndarray] = []
        self._levels: dict[str, tuple[np.ndarray, int]] = {}
        for name in X.columns:
            values = feature_values(X, str(name))
            candidates = candidate_conditions(str(name), values, quantiles)
            self._levels[str(name)] = _levels(values, candidates)
            for cond in candidates:
                mask = cond.mask(values)
                if int(mask.sum()) >= min_support:
                    conditions.append(cond)
                    masks.append(mask)
        n_rows = len(hit)
        feature_ids: dict[str, int] = {}
        self.conditions = conditions
        self.feature_of = np.array(
            [feature_ids.setdefault(c.feature, len(feature_ids)) for c in conditions],
            dtype=np.int64,
        )
        self.bits = pack(np.array(masks, dtype=bool).reshape(len(masks), n_rows))
        self.hit = np.asarray(hit, dtype=bool)
        self.hit_bits = pack(self.hit)
        self.all_bits = pack(np.ones(n_rows, dtype=bool))
        self.n = popcount(self.bits)
        self.hits = popcount(self.bits & self.hit_bits)
        self.total = (n_rows, int(self.hit.sum()))
        self._with: dict[Key, Counts] = {}

    def __len__(self) -> int:
        return len(self.conditions)

    def bits_of(self, key: Key) -> np.ndarray:
        bits = self.all_bits.copy()
        for i in key:
            bits &= self.bits[i]
        return bits

    def rows(self, bits: np.ndarray) -> np.ndarray:
        """Packed bits back to one bool per row."""
        return np.unpackbits(bits.view(np.uint8), bitorder="little", count=self.total[0]).astype(
            bool
        )

    def counts(self, key: Key) -> tuple[int, int]:
        """Rows and hits of one pattern (all rows for the empty one)."""
        if not key:
            return self.total
        bits = self.bits_of(key)
        return int(popcount(bits)), int(popcount(bits & self.hit_bits))

    def with_each(self, key: Key) -> Counts:
        """Rows and hits of ``key AND c`` for every condition ``c`` (cached)."""
        if not key:
            return self.n, self.hits
        if key not in self._with:
            joint = self.bits & self.bits_of(key)
            self._with[key] = (popcount(joint), popcount(joint & self.hit_bits))
        return self._with[key]

    def features(self, key: Key) -> frozenset[str]:
        return frozenset(self.conditions[i].feature for i in key)

    def shape(self, key: Key, family: dict[str, int]) -> tuple[tuple[int, bool], ...]:
        """The family and direction of each of the pattern's conditions, sorted (thresholds
        left out; "a AND a's proxy" has two conditions of a's family, "a" one)."""
        return tuple(
            sorted((family[self.conditions[i].feature], upward(self.conditions[i])) for i in key)
        )

    def model(self, features: Sequence[str], row_sets: Sequence[np.ndarray] = ()) -> LogisticFit:
        """The logistic model of success on the levels of ``features`` (additive: a weight per
        level of each) and on membership of each of ``row_sets`` (a weight each)."""
        parts = [self._levels[g] for g in features]
        parts += [(np.asarray(rows, dtype=np.int64), 2) for rows in row_sets]
        cell = np.zeros(self.total[0], dtype=np.int64)
        for digit, k in parts:
            cell = _renumber(cell * k + digit)
        some_row = np.empty(int(cell.max()) + 1, dtype=np.int64)
        some_row[cell] = np.arange(len(cell))  # the rows of a cell share their covariates
        # one column per level but the first (the intercept stands for it)
        columns = [np.ones((len(some_row), 1))]
        columns += [np.eye(k)[digit[some_row], 1:] for digit, k in parts]
        return fit_logistic(np.hstack(columns), cell, self.hit)


def _levels(values: np.ndarray, conditions: list[Condition]) -> tuple[np.ndarray, int]:
    """Bin per row between the conditions' thresholds, NaN a bin of its own, numbered 0..k-1
    over the bins some row is in, and k: every candidate condition on the feature is constant
    inside a bin."""
    thresholds = np.unique([c.threshold for c in conditions])
    codes = np.searchsorted(thresholds, np.nan_to_num(values), side="right")
    codes = np.where(np.isnan(values), len(thresholds) + 1, codes)
    present, numbered = np.unique(codes, return_inverse=True)
    return numbered.ravel(), len(present)


def upward(cond: Condition) -> bool:
    """``>= t`` and ``== 1`` select high values; ``< t`` and ``== 0`` low ones."""
    return cond.op == ">=" or (cond.op == "==" and cond.threshold >= 1)


def _renumber(codes: np.ndarray) -> np.ndarray:
    """The codes renumbered 0..k-1 (k distinct codes), in their order."""
    present = np.bincount(codes) > 0
    renumbered: np.ndarray = (np.cumsum(present) - 1)[codes]
    return renumbered
