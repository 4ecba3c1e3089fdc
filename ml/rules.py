"""Winning and losing patterns: conjunctions of 1-3 conditions, found by a beam search.

What is searched
    Conditions come from ``ml.patterns.candidate_conditions`` (quantile thresholds, ``>=`` / ``<``;
    discrete counts by value; yes/no features ``== 1`` / ``== 0``; NaN never matches). A pattern
    ANDs 1 to ``max_conditions`` (<= 3) conditions on different features. Level 1 scores every
    condition; level ``L + 1`` extends each of the ``beam_width`` best kept patterns of level
    ``L`` (one beam per direction, winning and losing; at most ``BEAM_PER_FEATURE_SET`` per set of
    features, so the beam is not spent on thresholds of one feature) by every condition on
    another feature. Row sets are bit masks: scoring one pattern against all conditions is a few
    vectorized AND + popcount passes, so 20,000 rows x 54 features take about a second.

What is kept (a pattern must be earned by the data)
    1. Support: at least ``min_support`` rows.
    2. It beats every proper sub-pattern, the empty one (all rows) included: for each
       sub-pattern S (for ``a AND b``: ``a``, ``b`` and all rows) the pattern's success rate
       differs from the rate of S's *other* rows in the pattern's direction (higher for winning,
       lower for losing): a two-proportion z test between two disjoint row sets. A one-condition
       pattern is thus tested against all other rows, i.e. against the base rate.
    3. A conjunction must be more than the sum of its parts: for every way of splitting off one
       condition, that condition's effect (log odds ratio of success) inside the rest of the
       pattern differs from its effect outside it, in the pattern's direction (Woolf's test of
       the interaction, ``ml.rule_stats.interaction_z``). Rule 2 alone is not enough: with
       several real, independent effects "elite KOL AND low top-10 share" beats both its parts
       although nothing links them, and the ranking fills up with the strongest condition ANDed
       with each other real effect, which the one-condition patterns already show. Rule 3 keeps
       conjunctions whose conditions work *together* ("a narrative that 2+ KOLs back",
       "bundled AND concentrated").
    The z threshold of rules 2 and 3 is Bonferroni-corrected for the number ``m`` of candidates
    tested at that level, both directions: ``z >= Phi^-1(1 - alpha / (2 m))`` (about 4.0 for the
    ~850 single conditions of 54 features, 4.9 for ~45,000 pairs). An uncorrected 5% test
    would let hundreds of chance patterns through; on pure noise this finds none.

How they are ranked
    Winning: by the lower end of the Wilson 95% interval of the target rate (>= 2x by default),
    so a high rate on a few rows does not beat a solid one on many. Losing: by the upper end,
    lowest first. Ties: more rows first, then the conditions' order.

Near-duplicates (walking down the ranking, a pattern is skipped when)
    * it is a *slice* of a bigger significant pattern: >= 90% of its rows lie inside that
      pattern, and its rate is not significantly better (winning) / worse (losing) than the
      rest of that pattern's rows (same z threshold). "2+ KOLs AND narrative heat >= 2" is
      "2+ KOLs AND narrative" seen through a proxy;
    * its rows are nearly those of a kept pattern: Jaccard index of the row sets >=
      ``max_jaccard`` (0.9);
    * it has the same feature families and directions as a kept pattern, only other thresholds
      or proxy features, and their rows overlap (Jaccard >= ``SAME_SHAPE_JACCARD``, 0.5):
      "top-3 share >= 31 AND bundle severity >= 0.2" after "top-10 share >= 52 AND bundled";
    * a feature family already appears in ``max_per_family`` (3) kept patterns. Families are
      groups of strongly rank-correlated features (``ml.rule_stats.feature_families``): without
      this one strong effect and its proxies fill the list and hide the next effect.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final, Literal

import numpy as np
import pandas as pd

from ml.patterns import QUANTILES, Condition, Pattern, candidate_conditions, feature_values
from ml.rule_stats import (
    Counts,
    feature_families,
    interaction_z,
    two_proportion_z,
    wilson_bounds,
)

Target = Literal["2x", "10x"]
TARGET_MULTIPLE: Final[dict[str, float]] = {"2x": 2.0, "10x": 10.0}
MAX_CONDITIONS: Final[int] = 3
BEAM_PER_FEATURE_SET: Final[int] = 2
SLICE_CONTAINMENT: Final[float] = 0.9
SAME_SHAPE_JACCARD: Final[float] = 0.5
_WIN, _LOSE = 0, 1

Key = tuple[int, ...]  # sorted condition indices of a pattern


@dataclass(frozen=True, slots=True)
class MinedPatterns:
    """What ``mine_patterns`` found: each list best first, at most ``top_k`` long."""

    winning: list[Pattern]
    losing: list[Pattern]
    n_rows: int
    base_2x: float
    base_10x: float
    target: Target
    min_support: int
    tested: tuple[int, ...]  # candidates tested at each level (the Bonferroni m)


def mine_patterns(
    X: pd.DataFrame,
    multiples: np.ndarray | Sequence[float],
    *,
    target: Target = "2x",
    max_conditions: int = MAX_CONDITIONS,
    min_support: int = 30,
    top_k: int = 10,
    beam_width: int = 40,
    alpha: float = 0.05,
    max_jaccard: float = 0.9,
    max_per_family: int = 3,
    quantiles: Sequence[float] = QUANTILES,
) -> MinedPatterns:
    """Winning and losing patterns of the features ``X`` for the outcome ``multiples``.

    ``multiples`` is the max multiple per row; rows where it is not finite are dropped.
    ``target`` is the success the patterns are tested and ranked on, reaching >= 2x or >= 10x
    (every ``Pattern`` reports both rates). See the module docstring for the search, the rules
    a pattern must pass and the near-duplicate rules. Deterministic.
    """
    if not 1 <= max_conditions <= MAX_CONDITIONS:
        raise ValueError(f"max_conditions must be in 1..{MAX_CONDITIONS}, got {max_conditions}")
    if target not in TARGET_MULTIPLE:
        raise ValueError(f"target must be one of {sorted(TARGET_MULTIPLE)}, got {target!r}")
    if min(min_support, top_k, beam_width, max_per_family) < 1:
        raise ValueError("min_support, top_k, beam_width and max_per_family must be >= 1")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    mult = np.asarray(multiples, dtype=np.float64)
    if mult.ndim != 1 or len(mult) != len(X):
        raise ValueError(f"multiples must be 1-D with {len(X)} values, got shape {mult.shape}")
    ok = np.isfinite(mult)
    X, mult = X.loc[ok], mult[ok]
    n_rows = len(mult)
    hit2, hit10 = mult >= 2.0, mult >= 10.0
    base2 = float(hit2.mean()) if n_rows else math.nan
    base10 = float(hit10.mean()) if n_rows else math.nan
    hit = mult >= TARGET_MULTIPLE[target]
    if n_rows < 2 * min_support or hit.all() or not hit.any():
        return MinedPatterns([], [], n_rows, base2, base10, target, min_support, ())

    table = _Table(X, hit, quantiles, min_support)
    found, tested = _search(table, max_conditions, min_support, beam_width, alpha)
    used = sorted({table.conditions[i].feature for f in (*found[0], *found[1]) for i in f.key})
    family = feature_families(X.loc[:, used]) if used else {}
    hit2_bits, hit10_bits = _pack(hit2), _pack(hit10)

    def to_pattern(f: _Found) -> Pattern:
        bits = table.bits_of(f.key)
        return Pattern.of(
            [table.conditions[i] for i in f.key],
            f.n,
            int(_count(bits & hit2_bits)),
            int(_count(bits & hit10_bits)),
            base2,
            base10,
        )

    lists = [
        [
            to_pattern(f)
            for f in _select(table, found[d], d, top_k, max_jaccard, max_per_family, family)
        ]
        for d in (_WIN, _LOSE)
    ]
    return MinedPatterns(
        winning=lists[_WIN],
        losing=lists[_LOSE],
        n_rows=n_rows,
        base_2x=base2,
        base_10x=base10,
        target=target,
        min_support=min_support,
        tested=tested,
    )


# --------------------------------------------------------------------------- row sets as bits


def _pack(mask: np.ndarray) -> np.ndarray:
    """Boolean rows (last axis) as uint64 words."""
    packed = np.packbits(mask, axis=-1, bitorder="little")
    pad = (-packed.shape[-1]) % 8
    if pad:
        packed = np.pad(packed, [(0, 0)] * (packed.ndim - 1) + [(0, pad)])
    return np.ascontiguousarray(packed).view(np.uint64)


def _count(bits: np.ndarray) -> np.ndarray:
    """Set bits along the last axis."""
    return np.asarray(np.bitwise_count(bits).sum(axis=-1, dtype=np.int64))


class _Table:
    """Every candidate condition with enough support, as a bit mask, with row and hit counts."""

    def __init__(
        self, X: pd.DataFrame, hit: np.ndarray, quantiles: Sequence[float], min_support: int
    ) -> None:
        conditions: list[Condition] = []
        masks: list[np.ndarray] = []
        for name in X.columns:
            values = feature_values(X, str(name))
            for cond in candidate_conditions(str(name), values, quantiles):
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
        self.bits = _pack(np.array(masks, dtype=bool).reshape(len(masks), n_rows))
        self.hit_bits = _pack(hit)
        self.all_bits = _pack(np.ones(n_rows, dtype=bool))
        self.n = _count(self.bits)
        self.hits = _count(self.bits & self.hit_bits)
        self.total = (n_rows, int(hit.sum()))
        self._with: dict[Key, Counts] = {}

    def __len__(self) -> int:
        return len(self.conditions)

    def bits_of(self, key: Key) -> np.ndarray:
        bits = self.all_bits.copy()
        for i in key:
            bits &= self.bits[i]
        return bits

    def counts(self, key: Key) -> tuple[int, int]:
        """Rows and hits of one pattern (all rows for the empty one)."""
        if not key:
            return self.total
        bits = self.bits_of(key)
        return int(_count(bits)), int(_count(bits & self.hit_bits))

    def with_each(self, key: Key) -> Counts:
        """Rows and hits of ``key AND c`` for every condition ``c`` (cached)."""
        if not key:
            return self.n, self.hits
        if key not in self._with:
            joint = self.bits & self.bits_of(key)
            self._with[key] = (_count(joint), _count(joint & self.hit_bits))
        return self._with[key]

    def features(self, key: Key) -> frozenset[str]:
        return frozenset(self.conditions[i].feature for i in key)

    def shape(self, key: Key, family: dict[str, int]) -> frozenset[tuple[int, bool]]:
        """The pattern's feature families, each with its direction (thresholds left out)."""
        return frozenset(
            (family[self.conditions[i].feature], _upward(self.conditions[i])) for i in key
        )


def _upward(cond: Condition) -> bool:
    """``>= t`` and ``== 1`` select high values; ``< t`` and ``== 0`` low ones."""
    return cond.op == ">=" or (cond.op == "==" and cond.threshold >= 1)


# --------------------------------------------------------------------------- search


@dataclass(frozen=True, slots=True)
class _Found:
    key: Key
    n: int
    hits: int
    low: float  # Wilson 95% interval of the target rate
    high: float
    z_crit: float  # the significance threshold of its level


@dataclass(slots=True)
class _Extensions:
    """``parent AND c`` for every condition ``c``, with the weakest evidence over the tests."""

    parent: Key
    n: np.ndarray
    hits: np.ndarray
    z_up: np.ndarray  # min over the tests: evidence that the pattern does better (winning)
    z_down: np.ndarray  # max over the tests: evidence that it does worse (losing)
    valid: np.ndarray


def _subsets(key: Key) -> Iterator[Key]:
    for size in range(len(key) + 1):
        yield from itertools.combinations(key, size)


def _extend(table: _Table, parent: Key, min_support: int) -> _Extensions:
    """Test ``parent AND c`` for every condition ``c`` (rules 2 and 3 of the module docstring)."""
    n, hits = table.with_each(parent)
    z_up = np.full(len(table), np.inf)
    z_down = np.full(len(table), -np.inf)

    def take(z: np.ndarray) -> None:
        nonlocal z_up, z_down
        z_up, z_down = np.minimum(z_up, z), np.maximum(z_down, z)

    # rule 2: against every proper sub-pattern: S (without c) and S AND c
    for sub in _subsets(parent):
        take(two_proportion_z(n, hits, *table.counts(sub)))
        if sub != parent:
            take(two_proportion_z(n, hits, *table.with_each(sub)))
    # rule 3: split off each condition; its effect inside the rest vs outside the rest
    if parent:
        take(interaction_z((n, hits), table.counts(parent), (table.n, table.hits), table.total))
        for i in parent:
            rest = tuple(j for j in parent if j != i)
            single = (int(table.n[i]), int(table.hits[i]))
            take(interaction_z((n, hits), table.with_each(rest), single, table.total))
    used = np.isin(table.feature_of, table.feature_of[list(parent)])
    return _Extensions(parent, n, hits, z_up, z_down, (n >= min_support) & ~used)


def _rank_key(direction: int) -> Callable[[_Found], tuple[float, int, Key]]:
    if direction == _WIN:
        return lambda f: (-f.low, -f.n, f.key)
    return lambda f: (f.high, -f.n, f.key)


def _search(
    table: _Table, max_conditions: int, min_support: int, beam_width: int, alpha: float
) -> tuple[tuple[list[_Found], list[_Found]], tuple[int, ...]]:
    """Every significant pattern, per direction, ranked; and the candidates tested per level."""
    found: tuple[dict[Key, _Found], dict[Key, _Found]] = ({}, {})
    beams: tuple[list[Key], list[Key]] = ([()], [()])
    tested: list[int] = []
    for _level in range(max_conditions):
        candidates: dict[Key, tuple[_Extensions, int]] = {}
        for parent in dict.fromkeys(beams[_WIN] + beams[_LOSE]):
            ext = _extend(table, parent, min_support)
            for c in np.flatnonzero(ext.valid).tolist():
                candidates.setdefault(tuple(sorted((*parent, c))), (ext, c))
        tested.append(len(candidates))
        if not candidates:
            break
        z_crit = NormalDist().inv_cdf(1.0 - alpha / (2 * len(candidates)))
        level: tuple[list[_Found], list[_Found]] = ([], [])
        for key, (ext, c) in candidates.items():
            up, down = bool(ext.z_up[c] >= z_crit), bool(ext.z_down[c] <= -z_crit)
            if up or down:
                n, h = int(ext.n[c]), int(ext.hits[c])
                low, high = wilson_bounds(np.array(h), np.array(n))
                item = _Found(key, n, h, float(low), float(high), z_crit)
                level[_WIN if up else _LOSE].append(item)
        for d in (_WIN, _LOSE):
            level[d].sort(key=_rank_key(d))
            found[d].update((f.key, f) for f in level[d])
        beams = (_beam(table, level[_WIN], beam_width), _beam(table, level[_LOSE], beam_width))
        if not beams[_WIN] and not beams[_LOSE]:
            break
    ranked = (
        sorted(found[_WIN].values(), key=_rank_key(_WIN)),
        sorted(found[_LOSE].values(), key=_rank_key(_LOSE)),
    )
    return ranked, tuple(tested)


def _beam(table: _Table, ranked: list[_Found], width: int) -> list[Key]:
    """The best ``width`` patterns, at most ``BEAM_PER_FEATURE_SET`` per set of features."""
    per_set: dict[frozenset[str], int] = {}
    beam: list[Key] = []
    for f in ranked:
        features = table.features(f.key)
        if per_set.get(features, 0) < BEAM_PER_FEATURE_SET:
            per_set[features] = per_set.get(features, 0) + 1
            beam.append(f.key)
            if len(beam) == width:
                break
    return beam


# --------------------------------------------------------------------------- selection


def _select(
    table: _Table,
    ranked: list[_Found],
    direction: int,
    top_k: int,
    max_jaccard: float,
    max_per_family: int,
    family: dict[str, int],
) -> list[_Found]:
    """Walk down the ranking, skipping slices and near-duplicates (module docstring)."""
    if not ranked:
        return []
    bits = np.stack([table.bits_of(f.key) for f in ranked])
    n_all = np.array([f.n for f in ranked])
    hits_all = np.array([f.hits for f in ranked])
    kept: list[int] = []
    uses: dict[int, int] = {}
    for i, f in enumerate(ranked):
        families = {family[table.conditions[c].feature] for c in f.key}
        if any(uses.get(fam, 0) >= max_per_family for fam in families):
            continue
        inter = _count(bits & bits[i])
        if _is_slice(table, f, direction, bits, i, inter, n_all, hits_all):
            continue
        shape = table.shape(f.key, family)
        if any(
            (jaccard := inter[j] / (f.n + ranked[j].n - inter[j])) >= max_jaccard
            or (jaccard >= SAME_SHAPE_JACCARD and shape == table.shape(ranked[j].key, family))
            for j in kept
        ):
            continue
        kept.append(i)
        for fam in families:
            uses[fam] = uses.get(fam, 0) + 1
        if len(kept) == top_k:
            break
    return [ranked[i] for i in kept]


def _is_slice(
    table: _Table,
    f: _Found,
    direction: int,
    bits: np.ndarray,
    i: int,
    inter: np.ndarray,
    n_all: np.ndarray,
    hits_all: np.ndarray,
) -> bool:
    """Nearly inside a bigger significant pattern, and no better (worse) than its other rows."""
    inside = np.flatnonzero((n_all > f.n) & (inter >= SLICE_CONTAINMENT * f.n))
    if not len(inside):
        return False
    inter_hits = _count(bits[inside] & bits[i] & table.hit_bits)
    z = two_proportion_z(inter[inside], inter_hits, n_all[inside], hits_all[inside])
    beats = z >= f.z_crit if direction == _WIN else z <= -f.z_crit
    return not bool(beats.all())
