"""Which of the significant patterns the miner shows (``ml.rules.miner``, "What is shown").

Walking down the ranking, a pattern is skipped when its interval does not clear the base rate,
when it is a slice of a bigger significant pattern, a near-duplicate of a pattern already
shown, or a proxy of the patterns already shown (nothing left once their features are held
fixed). Then each shown pattern is checked against all the others, those below it included: a
pattern shown early can be a proxy of two effects that only come later ("total KOL SOL >= 11.5"
is "elite KOLs" plus "more KOLs"). The proxies are dropped, with the patterns above the last one
left that the ones left explain (other cuts of a proxy, which would only take its place), and
the walk runs again from the first proxy, until every shown pattern holds its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from ml.rules.stats import LogisticFit, score_z, two_proportion_z
from ml.rules.table import Found, Table, popcount

SLICE_CONTAINMENT: Final[float] = 0.9
SAME_SHAPE_JACCARD: Final[float] = 0.5
WIN, LOSE = 0, 1


def select(
    table: Table,
    ranked: list[Found],
    direction: int,
    top_k: int,
    max_jaccard: float,
    family: dict[str, int],
) -> list[Found]:
    """The first ``top_k`` patterns of ``ranked`` that pass the rules of the module docstring."""
    if not ranked:
        return []
    walk = _Walk(table, ranked, direction, max_jaccard, family)
    banned: set[int] = set()
    kept: list[int] = []
    while True:  # each round bans at least one more pattern, so this ends
        kept = walk.run(top_k, banned, kept)
        proxies = walk.proxies(kept)
        if not proxies:
            return [ranked[i] for i in kept]
        banned.update(proxies)
        # patterns above the last one left that the ones left explain would only step into
        # the proxies' places (another cut of a proxy): they are proxies too
        left = [i for i in kept if i not in proxies]
        banned.update(
            i
            for i in range(max(left, default=0))
            if i not in banned and i not in kept and walk.margin(i, left) < 0
        )
        kept = [i for i in kept if i < min(proxies)]  # the walk up to there stands


class _Walk:
    def __init__(
        self,
        table: Table,
        ranked: list[Found],
        direction: int,
        max_jaccard: float,
        family: dict[str, int],
    ) -> None:
        self.table = table
        self.ranked = ranked
        self.direction = direction
        self.max_jaccard = max_jaccard
        self.family = family
        self.bits = np.stack([table.bits_of(f.key) for f in ranked])
        self.n = np.array([f.n for f in ranked])
        self.hits = np.array([f.hits for f in ranked])
        self._inter: dict[int, np.ndarray] = {}
        self._slice: dict[int, bool] = {}
        self._rows: dict[int, np.ndarray] = {}
        self._z: dict[tuple[int, tuple[str, ...], tuple[int, ...]], float] = {}
        self._fits: dict[tuple[tuple[str, ...], tuple[int, ...]], LogisticFit] = {}

    def run(self, top_k: int, banned: set[int], kept: list[int]) -> list[int]:
        """Walk down the ranking from where ``kept`` (the walk so far) stops."""
        kept = list(kept)
        for i in range(kept[-1] + 1 if kept else 0, len(self.ranked)):
            if i in banned or not self.clears_base(i) or self.is_slice(i):
                continue
            if self.near_duplicate(i, kept) or self.margin(i, kept) < 0:
                continue
            kept.append(i)
            if len(kept) == top_k:
                break
        return kept

    def proxies(self, kept: list[int]) -> list[int]:
        """The shown patterns that the other shown ones explain: all those that the patterns
        left without them still explain, or else (they explain one another) the weakest."""
        explained = {i: m for i in kept if (m := self.margin(i, [j for j in kept if j != i])) < 0}
        if not explained:
            return []
        left = [j for j in kept if j not in explained]
        together = [i for i in explained if self.margin(i, left) < 0]
        return together or [min(explained, key=lambda i: (explained[i], -i))]

    def clears_base(self, i: int) -> bool:
        """Its Wilson 95% interval lies above (below) the base rate. Rule 2 compares a pattern
        with the *other* rows, so one that covers nearly all rows can pass it with a rate that
        is the base rate for all that can be told."""
        f, base = self.ranked[i], self.table.total[1] / self.table.total[0]
        return f.low > base if self.direction == WIN else f.high < base

    def inter(self, i: int) -> np.ndarray:
        """Rows shared by pattern ``i`` and each ranked pattern."""
        if i not in self._inter:
            self._inter[i] = popcount(self.bits & self.bits[i])
        return self._inter[i]

    def is_slice(self, i: int) -> bool:
        """Nearly inside a bigger significant pattern, and no better (worse) than its other rows."""
        if i not in self._slice:
            f, inter = self.ranked[i], self.inter(i)
            inside = np.flatnonzero((self.n > f.n) & (inter >= SLICE_CONTAINMENT * f.n))
            beats = True
            if len(inside):
                inter_hits = popcount(self.bits[inside] & self.bits[i] & self.table.hit_bits)
                z = two_proportion_z(inter[inside], inter_hits, self.n[inside], self.hits[inside])
                beats = bool((z >= f.z_crit if self.direction == WIN else z <= -f.z_crit).all())
            self._slice[i] = not beats
        return self._slice[i]

    def near_duplicate(self, i: int, kept: list[int]) -> bool:
        """Nearly the rows of a kept pattern, or the same feature families in the same
        directions (other thresholds or proxies) with overlapping rows."""
        if not kept:
            return False
        shared = self.inter(i)[kept].astype(np.float64)
        jaccard = shared / (self.n[i] + self.n[kept] - shared)
        if bool((jaccard >= self.max_jaccard).any()):
            return True
        shape = self.table.shape(self.ranked[i].key, self.family)
        return any(
            self.table.shape(self.ranked[j].key, self.family) == shape
            for j in np.asarray(kept)[jaccard >= SAME_SHAPE_JACCARD].tolist()
        )

    def margin(self, i: int, others: Sequence[int]) -> float:
        """How far pattern ``i`` clears its significance threshold once what the ``others``
        sharing a feature family with it say is held fixed: its score z in a logistic model
        of success on the levels of each such one-condition pattern's feature (additive) and
        the rows of each such conjunction, signed for the direction, minus its threshold.
        Negative: a proxy of the others. +inf when no other shares a family."""
        f = self.ranked[i]
        families = {self.family[g] for g in self.table.features(f.key)}
        related = [
            j
            for j in others
            if families & {self.family[g] for g in self.table.features(self.ranked[j].key)}
        ]
        if not related:
            return np.inf
        singles = tuple(
            sorted(
                {
                    self.table.conditions[self.ranked[j].key[0]].feature
                    for j in related
                    if len(self.ranked[j].key) == 1
                }
            )
        )
        conjunctions = tuple(sorted(j for j in related if len(self.ranked[j].key) > 1))
        if (i, singles, conjunctions) not in self._z:
            z = score_z(self.fit(singles, conjunctions), self.rows(i))
            self._z[i, singles, conjunctions] = z if self.direction == WIN else -z
        return self._z[i, singles, conjunctions] - f.z_crit

    def fit(self, singles: tuple[str, ...], conjunctions: tuple[int, ...]) -> LogisticFit:
        """The logistic model of success on those features' levels and conjunctions' rows."""
        if (singles, conjunctions) not in self._fits:
            row_sets = [self.rows(j) for j in conjunctions]
            self._fits[singles, conjunctions] = self.table.model(singles, row_sets)
        return self._fits[singles, conjunctions]

    def rows(self, i: int) -> np.ndarray:
        """Pattern ``i``'s rows, one bool per row."""
        if i not in self._rows:
            self._rows[i] = self.table.rows(self.bits[i])
        return self._rows[i]
