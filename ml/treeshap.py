"""Fast exact TreeSHAP for one row, from per-leaf lookup tables.

XGBoost's ``pred_contribs`` costs about 1.2 µs per tree per row on a laptop core, ~3 ms for one
row of a 400-round, 6-class model: too slow for a chat reply that explains every signal. This
module computes *the same* path-dependent TreeSHAP values (Lundberg et al. 2020, the algorithm
behind ``pred_contribs``) from tables precomputed once per booster, in the spirit of
"Fast TreeSHAP v2" (Yang 2021):

For one leaf with value ``v``, let ``U`` be the distinct features split on along its path
(``d = |U|`` <= max_depth), ``z_j`` the product of cover ratios ``cover(child) / cover(node)`` of
the path's splits on feature ``j``, and ``o_j`` = 1 when the row satisfies all of them (missing
values follow the default direction), else 0. The leaf adds

    phi_i = v * (o_i - z_i) * sum over S in (M minus i) of
            |S|! (d-|S|-1)! / d! * prod over j in (U minus S minus i) of z_j

to feature ``i``, where ``M = {j : o_j = 1}``. Everything but ``M`` is fixed by the booster, so each
leaf gets a ``(2**d, d)`` table and a row costs one comparison per path step plus one lookup per
(leaf, feature) pair, all vectorised over the leaves of every tree. Tests check the result equals
``pred_contribs`` to float32 precision.
"""

from __future__ import annotations

import json
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xgboost as xgb

# A leaf with d distinct path features needs a 2**d * d table; beyond this, use pred_contribs.
MAX_TABLE_DEPTH = 8

_cache: weakref.WeakKeyDictionary[xgb.Booster, dict[tuple[int, ...], PathTables | None]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


@dataclass(frozen=True)
class _Leaf:
    cls: int  # index into the requested classes
    value: float
    features: list[int]  # distinct path features, in order of first appearance
    zero_fractions: list[float]
    steps: list[tuple[int, float, bool, bool, int]]  # feature, threshold, left?, default_left, slot


class PathTables:
    """Per-leaf TreeSHAP tables for the trees of some classes of a booster."""

    def __init__(self, leaves: list[_Leaf], n_features: int, n_classes: int) -> None:
        self.n_features = n_features
        self.n_classes = n_classes
        # path steps, grouped by leaf
        steps = [s for leaf in leaves for s in leaf.steps]
        self._step_feature = np.array([s[0] for s in steps], dtype=np.int64)
        self._step_threshold = np.array([s[1] for s in steps], dtype=np.float32)
        self._step_left = np.array([s[2] for s in steps], dtype=bool)
        self._step_default_left = np.array([s[3] for s in steps], dtype=bool)
        self._step_bit = np.array([1 << s[4] for s in steps], dtype=np.int64)
        lengths = np.array([len(leaf.steps) for leaf in leaves], dtype=np.int64)
        self._leaf_step_start = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        depth = np.array([len(leaf.features) for leaf in leaves], dtype=np.int64)
        self._leaf_full = (np.int64(1) << depth) - 1
        # one (leaf, slot) pair per distinct path feature
        table_size = (1 << depth) * depth
        table_offset = np.concatenate(([0], np.cumsum(table_size)[:-1])).astype(np.int64)
        pair_leaf = np.repeat(np.arange(len(leaves)), depth)
        self._pair_leaf = pair_leaf
        self._pair_base = table_offset[pair_leaf] + np.concatenate(
            [np.arange(d) for d in depth.tolist()] or [np.zeros(0, dtype=np.int64)]
        ).astype(np.int64)
        self._pair_depth = depth[pair_leaf]
        pair_feature = np.array([f for leaf in leaves for f in leaf.features], dtype=np.int64)
        pair_cls = np.repeat(np.array([leaf.cls for leaf in leaves], dtype=np.int64), depth)
        self._pair_bin = pair_cls * n_features + pair_feature
        self._table = _build_tables(leaves, depth, table_offset, int(table_size.sum()))

    def contributions(self, row: np.ndarray) -> np.ndarray:
        """SHAP values of one row (float32, in feature order), shape ``(n_classes, n_features)``.

        The bias is not included.
        """
        if len(self._step_feature) == 0:
            return np.zeros((self.n_classes, self.n_features), dtype=np.float64)
        values = row[self._step_feature]
        goes_left = np.where(
            np.isnan(values), self._step_default_left, values < self._step_threshold
        )
        fail_bits = np.where(goes_left != self._step_left, self._step_bit, 0)
        leaf_fail = np.bitwise_or.reduceat(fail_bits, self._leaf_step_start)
        leaf_mask = self._leaf_full ^ leaf_fail
        index = self._pair_base + leaf_mask[self._pair_leaf] * self._pair_depth
        sums = np.bincount(
            self._pair_bin, weights=self._table[index], minlength=self.n_classes * self.n_features
        )
        return sums.reshape(self.n_classes, self.n_features)


def path_tables(
    booster: xgb.Booster, n_features: int, classes: Sequence[int], n_model_classes: int
) -> PathTables | None:
    """Cached tables for the trees of ``classes``; None when the trees are too deep for tables."""
    key = tuple(classes)
    with _lock:
        per_booster = _cache.setdefault(booster, {})
        if key in per_booster:
            return per_booster[key]
    tables = _build(booster, n_features, key, n_model_classes)
    with _lock:
        _cache.setdefault(booster, {})[key] = tables
    return tables


def _build(
    booster: xgb.Booster, n_features: int, classes: tuple[int, ...], n_model_classes: int
) -> PathTables | None:
    model = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    if model.get("name") != "gbtree":
        return None
    trees = model["model"]["trees"]
    tree_info = model["model"]["tree_info"]
    if len(set(tree_info)) > n_model_classes:
        raise ValueError("booster has more output groups than classes")
    position = {c: i for i, c in enumerate(classes)}
    leaves: list[_Leaf] = []
    for tree, group in zip(trees, tree_info, strict=True):
        if group not in position:
            continue
        if any(tree["split_type"]):
            return None  # categorical splits: not handled here
        for leaf in _tree_leaves(tree, position[group]):
            if len(leaf.features) > MAX_TABLE_DEPTH:
                return None
            if leaf.features:
                leaves.append(leaf)
    return PathTables(leaves, n_features, len(classes))


def _tree_leaves(tree: dict[str, list[float]], cls: int) -> list[_Leaf]:
    left = tree["left_children"]
    right = tree["right_children"]
    feature = tree["split_indices"]
    threshold = tree["split_conditions"]
    default_left = tree["default_left"]
    cover = tree["sum_hessian"]
    out: list[_Leaf] = []
    # (node, path steps as (feature, threshold, went_left, default_left, cover ratio))
    stack: list[tuple[int, list[tuple[int, float, bool, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if left[node] == -1:
            out.append(_make_leaf(cls, float(threshold[node]), path))
            continue
        f, thr, dl = int(feature[node]), float(threshold[node]), bool(default_left[node])
        for child, went_left in ((int(left[node]), True), (int(right[node]), False)):
            ratio = cover[child] / cover[node] if cover[node] > 0 else 0.0
            stack.append((child, [*path, (f, thr, went_left, dl, ratio)]))
    return out


def _make_leaf(cls: int, value: float, path: list[tuple[int, float, bool, bool, float]]) -> _Leaf:
    features: list[int] = []
    zero: list[float] = []
    steps: list[tuple[int, float, bool, bool, int]] = []
    for f, thr, went_left, dl, ratio in path:
        if f in features:
            slot = features.index(f)
            zero[slot] *= ratio
        else:
            slot = len(features)
            features.append(f)
            zero.append(ratio)
        steps.append((f, thr, went_left, dl, slot))
    return _Leaf(cls, value, features, zero, steps)


def _build_tables(
    leaves: list[_Leaf], depth: np.ndarray, offset: np.ndarray, size: int
) -> np.ndarray:
    table = np.zeros(size, dtype=np.float64)
    for d in sorted(set(depth.tolist())):
        idx = np.flatnonzero(depth == d)
        z = np.array([leaves[i].zero_fractions for i in idx], dtype=np.float64)  # (L, d)
        v = np.array([leaves[i].value for i in idx], dtype=np.float64)  # (L,)
        n_masks = 1 << d
        masks = np.arange(n_masks)
        popcount = np.array([bin(m).count("1") for m in range(n_masks)])
        weight = np.array(
            [math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)]
        )
        block = np.zeros((len(idx), n_masks, d), dtype=np.float64)
        for i in range(d):
            bit_i = 1 << i
            # coef[S] = w(|S|) * prod_{j not in S, j != i} z_j, for S not containing i
            coef = np.zeros((n_masks, len(idx)), dtype=np.float64)
            for s in range(n_masks):
                if s & bit_i:
                    continue
                others = [j for j in range(d) if j != i and not (s >> j) & 1]
                prod = np.prod(z[:, others], axis=1) if others else np.ones(len(idx))
                coef[s] = weight[popcount[s]] * prod
            # subset sums: coef[R] = sum over S subset of R of coef[S]
            for b in range(d):
                has_b = masks[(masks >> b) & 1 == 1]
                coef[has_b] += coef[has_b ^ (1 << b)]
            o_i = ((masks >> i) & 1).astype(np.float64)  # (n_masks,)
            rest = masks & ~bit_i
            block[:, :, i] = v[:, None] * (o_i[None, :] - z[:, i : i + 1]) * coef[rest].T
        for row, leaf_index in enumerate(idx):
            start = int(offset[leaf_index])
            table[start : start + n_masks * d] = block[row].reshape(-1)
    return table
