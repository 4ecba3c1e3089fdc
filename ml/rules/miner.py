"""Winning and losing patterns: conjunctions of 1-3 conditions, with the tests each must pass.

What is searched
    Conditions come from ``ml.rules.patterns.candidate_conditions`` (quantile thresholds, ``>=`` / ``<``;
    discrete counts by value; yes/no features ``== 1`` / ``== 0``; NaN never matches). A pattern
    ANDs 1 to ``max_conditions`` (<= 3) conditions on different features. Level 1 scores every
    condition, level 2 every pair of conditions: a pure interaction ("a narrative that 2+ KOLs
    back": a narrative alone does nothing) gives its parts no rank that a beam would keep.
    Level 3 extends each of the ``beam_width`` best kept pairs (one beam per direction, winning
    and losing; at most ``BEAM_PER_FEATURE_SET`` per set of features, so the beam is not spent
    on thresholds of one feature) by every condition on another feature. Row sets are bit
    masks (``ml.rules.table``): scoring one pattern against all conditions is a few vectorized
    AND + popcount passes.

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
       the interaction, ``ml.rules.stats.interaction_z``). Rule 2 alone is not enough: with
       several real, independent effects "elite KOL AND low top-10 share" beats both its parts
       although nothing links them, and the ranking fills up with the strongest condition ANDed
       with each other real effect, which the one-condition patterns already show.
    4. And more than the sum of its features: its rows do better (worse) than a logistic model
       with a weight for every level of each of its features says (the levels are the bins
       between the candidate thresholds; ``ml.rules.stats.score_z``). Rule 3 sees each condition
       as yes/no, so "1+ elite KOLs AND top-10 share < 42" passes it only because 2+ elite KOLs
       do even better; rule 4 keeps conjunctions whose conditions work *together* ("a narrative
       that 2+ KOLs back", "bundled AND concentrated"). It runs on the survivors of rules 1-3.
    The z threshold of rules 2-4 is Bonferroni-corrected for the number ``m`` of candidates
    tested at that level, both directions: ``z >= Phi^-1(1 - alpha / (2 m))`` (about 4.0 for the
    ~850 single conditions of 54 features, 5.3 for their ~350,000 pairs). An uncorrected 5% test
    would let hundreds of chance patterns through; on pure noise this finds none.

How they are ranked
    Winning: by the lower end of the Wilson 95% interval of the target rate (>= 2x by default),
    so a high rate on a few rows does not beat a solid one on many. Losing: by the upper end,
    lowest first. Ties: more rows first, then the conditions' order.

What is shown (``ml.rules.select``: walking down the ranking, a pattern is skipped when)
    * its Wilson interval does not lie above (winning) / below (losing) the base rate: rule 2
      compares with the *other* rows, and a pattern that covers nearly all rows can pass it with
      what is, for all its interval can tell, the base rate;
    * it is a *slice* of a bigger significant pattern: >= 90% of its rows lie inside that
      pattern, and its rate is not significantly better (winning) / worse (losing) than the
      rest of that pattern's rows (same z threshold). "2+ KOLs AND narrative heat >= 2" is
      "2+ KOLs AND narrative" seen through a proxy;
    * its rows are nearly those of a shown pattern: Jaccard index of the row sets >=
      ``max_jaccard`` (0.9);
    * it has the same feature families and directions as a shown pattern, only other
      thresholds or proxy features, and their rows overlap (Jaccard >= ``SAME_SHAPE_JACCARD``,
      0.5): "top-3 share >= 31 AND bundle severity >= 0.2" after "top-10 share >= 52 AND
      bundled". Families are groups of strongly rank-correlated features
      (``ml.rules.stats.feature_families``);
    * it is a *proxy* of the shown patterns of its feature families: once a logistic model holds
      their features' levels (one-condition patterns) and their rows (conjunctions) fixed, it
      no longer clears the z threshold. "Total KOL SOL >= 16" after "2+ elite KOLs" is elite
      KOLs buying big; "elite KOLs >= 1" is another cut of a feature already shown.
    A shown pattern can also be a proxy of patterns shown *below* it: "total KOL SOL >= 11.5"
    ranks above "4 KOLs", and only "2+ elite KOLs" and "4 KOLs" together explain it. So every
    shown pattern is checked against all the others; the proxies are dropped (all those the
    rest explain, or else the weakest), with the other cuts of them that would take their
    place, and the walk runs again, until each holds its own.
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
from threadpoolctl import threadpool_limits

from ml.rules.patterns import QUANTILES, Pattern
from ml.rules.select import LOSE, WIN, select
from ml.rules.stats import (
    LogisticFit,
    feature_families,
    interaction_z,
    score_z,
    two_proportion_z,
    wilson_bounds,
)
from ml.rules.table import Found, Key, Table, pack, popcount

Target = Literal["2x", "10x"]
TARGET_MULTIPLE: Final[dict[str, float]] = {"2x": 2.0, "10x": 10.0}
MAX_CONDITIONS: Final[int] = 3
BEAM_PER_FEATURE_SET: Final[int] = 2


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
    quantiles: Sequence[float] = QUANTILES,
) -> MinedPatterns:
    """Winning and losing patterns of the features ``X`` for the outcome ``multiples``.

    ``multiples`` is the max multiple per row; rows where it is not finite are dropped.
    ``target`` is the success the patterns are tested and ranked on, reaching >= 2x or >= 10x
    (every ``Pattern`` reports both rates). See the module docstring for the search, the rules
    a pattern must pass and which of them are shown. Deterministic.
    """
    if not 1 <= max_conditions <= MAX_CONDITIONS:
        raise ValueError(f"max_conditions must be in 1..{MAX_CONDITIONS}, got {max_conditions}")
    if target not in TARGET_MULTIPLE:
        raise ValueError(f"target must be one of {sorted(TARGET_MULTIPLE)}, got {target!r}")
    if min(min_support, top_k, beam_width) < 1:
        raise ValueError("min_support, top_k and beam_width must be >= 1")
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

    table = Table(X, hit, quantiles, min_support)
    hit2_bits, hit10_bits = pack(hit2), pack(hit10)

    def to_pattern(f: Found) -> Pattern:
        bits = table.bits_of(f.key)
        return Pattern.of(
            [table.conditions[i] for i in f.key],
            f.n,
            int(popcount(bits & hit2_bits)),
            int(popcount(bits & hit10_bits)),
            base2,
            base10,
        )

    # hundreds of small model fits: BLAS threads would only wait on one another (and, on a
    # busy machine, spin for many times the work)
    with threadpool_limits(limits=1, user_api="blas"):
        found, tested = _search(table, max_conditions, min_support, beam_width, alpha)
        used = sorted({table.conditions[i].feature for f in (*found[0], *found[1]) for i in f.key})
        family = feature_families(X.loc[:, used]) if used else {}
        lists = [
            [to_pattern(f) for f in select(table, found[d], d, top_k, max_jaccard, family)]
            for d in (WIN, LOSE)
        ]
    return MinedPatterns(
        winning=lists[WIN],
        losing=lists[LOSE],
        n_rows=n_rows,
        base_2x=base2,
        base_10x=base10,
        target=target,
        min_support=min_support,
        tested=tested,
    )


# --------------------------------------------------------------------------- search


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


def _extend(table: Table, parent: Key, min_support: int) -> _Extensions:
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
    # (for a one-condition parent, splitting off the parent is the same test as splitting off c)
    if parent:
        take(interaction_z((n, hits), table.counts(parent), (table.n, table.hits), table.total))
    for i in parent if len(parent) > 1 else ():
        rest = tuple(j for j in parent if j != i)
        single = (int(table.n[i]), int(table.hits[i]))
        take(interaction_z((n, hits), table.with_each(rest), single, table.total))
    used = np.isin(table.feature_of, table.feature_of[list(parent)])
    return _Extensions(parent, n, hits, z_up, z_down, (n >= min_support) & ~used)


def _rank_key(direction: int) -> Callable[[Found], tuple[float, int, Key]]:
    if direction == WIN:
        return lambda f: (-f.low, -f.n, f.key)
    return lambda f: (f.high, -f.n, f.key)


def _search(
    table: Table, max_conditions: int, min_support: int, beam_width: int, alpha: float
) -> tuple[tuple[list[Found], list[Found]], tuple[int, ...]]:
    """Every significant pattern, per direction, ranked; and the candidates tested per level."""
    found: tuple[dict[Key, Found], dict[Key, Found]] = ({}, {})
    models: dict[frozenset[str], LogisticFit] = {}
    beams: tuple[list[Key], list[Key]] = ([()], [()])
    tested: list[int] = []
    for level in range(max_conditions):
        # level 2 (pairs) is exhaustive, a pair once, from its first condition; the other
        # levels extend the beams, and a pattern two parents reach is tested once
        parents = [(i,) for i in range(len(table))] if level == 1 else beams[WIN] + beams[LOSE]
        seen: set[Key] = set()
        tests: list[tuple[_Extensions, np.ndarray]] = []
        for parent in dict.fromkeys(parents):
            ext = _extend(table, parent, min_support)
            cs = np.flatnonzero(ext.valid)
            if level == 1:
                cs = cs[cs > parent[0]]
            else:
                keys = [tuple(sorted((*parent, c))) for c in cs.tolist()]
                new = [k not in seen for k in keys]
                seen.update(keys)
                cs = cs[np.array(new, dtype=bool)]
            tests.append((ext, cs))
        tested.append(sum(len(cs) for _, cs in tests))
        if not tested[-1]:
            break
        z_crit = NormalDist().inv_cdf(1.0 - alpha / (2 * tested[-1]))
        level_found: tuple[list[Found], list[Found]] = ([], [])
        for ext, cs in tests:
            up, down = ext.z_up[cs] >= z_crit, ext.z_down[cs] <= -z_crit
            for c, is_up in zip(cs[up | down].tolist(), up[up | down].tolist(), strict=True):
                n, h = int(ext.n[c]), int(ext.hits[c])
                low, high = wilson_bounds(np.array(h), np.array(n))
                key = tuple(sorted((*ext.parent, c)))
                item = Found(key, n, h, float(low), float(high), z_crit)
                level_found[WIN if is_up else LOSE].append(item)
        if level:
            level_found = (
                _interacting(table, level_found[WIN], WIN, models),
                _interacting(table, level_found[LOSE], LOSE, models),
            )
        for d in (WIN, LOSE):
            level_found[d].sort(key=_rank_key(d))
            found[d].update((f.key, f) for f in level_found[d])
        beams = (
            _beam(table, level_found[WIN], beam_width),
            _beam(table, level_found[LOSE], beam_width),
        )
        if level >= 1 and not beams[WIN] and not beams[LOSE]:
            break
    ranked = (
        sorted(found[WIN].values(), key=_rank_key(WIN)),
        sorted(found[LOSE].values(), key=_rank_key(LOSE)),
    )
    return ranked, tuple(tested)


def _interacting(
    table: Table, level: list[Found], direction: int, models: dict[frozenset[str], LogisticFit]
) -> list[Found]:
    """The conjunctions that do better (worse) than a logistic model with a weight for each
    level of each of their features says (rule 4 of the module docstring)."""
    kept = []
    for f in level:
        features = table.features(f.key)
        if features not in models:
            models[features] = table.model(sorted(features))
        z = score_z(models[features], table.rows(table.bits_of(f.key)))
        if (z if direction == WIN else -z) >= f.z_crit:
            kept.append(f)
    return kept


def _beam(table: Table, ranked: list[Found], width: int) -> list[Key]:
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
