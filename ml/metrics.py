"""Metrics for class-probability predictions: log loss, accuracy, ROC AUC, Wilson intervals.

All functions take plain arrays and return plain Python floats, ready for JSON sidecars and
reports. ``probs`` is always ``(n, n_classes)`` with columns in class order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from ml.classes import BIG_CLASSES

EPS = 1e-15
_BIG_MIN_CLASS = min(BIG_CLASSES)


def _check(probs: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(y)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (n, n_classes), got shape {p.shape}")
    if labels.ndim != 1 or len(labels) != len(p):
        raise ValueError(f"y must be 1-D with {len(p)} labels, got shape {labels.shape}")
    if len(p) == 0:
        raise ValueError("no rows to score")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= p.shape[1]:
        raise ValueError(f"labels must be in 0..{p.shape[1] - 1}")
    return p, labels


def log_loss(probs: Any, y: Any) -> float:
    """Mean of ``-log p[i, y_i]`` with ``p`` clipped to ``[1e-15, 1]``."""
    p, labels = _check(probs, y)
    picked = np.clip(p[np.arange(len(p)), labels], EPS, 1.0)
    return float(-np.mean(np.log(picked)))


def accuracy(probs: Any, y: Any) -> float:
    """Share of rows whose most probable class is the true one."""
    p, labels = _check(probs, y)
    return float(np.mean(np.argmax(p, axis=1) == labels))


def auc(scores: Any, truth: Any) -> float:
    """ROC AUC of ``scores`` for the boolean ``truth`` (ties count one half), by scikit-learn's
    ``roc_auc_score``.

    Equals the probability that a random positive scores above a random negative (Mann-Whitney
    U / (n_pos * n_neg)). NaN when only one class is present.
    """
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(truth, dtype=bool)
    if s.ndim != 1 or s.shape != t.shape:
        raise ValueError(f"scores and truth must be 1-D of equal length: {s.shape} vs {t.shape}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == len(t):
        return math.nan
    from sklearn.metrics import roc_auc_score  # loaded with the first score, not at import

    return float(roc_auc_score(t, s))


def p_at_least(probs: Any, min_class: int) -> np.ndarray:
    """Probability that the class is ``>= min_class``: the sum of those columns, shape ``(n,)``."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (n, n_classes), got shape {p.shape}")
    if not 0 <= min_class < p.shape[1]:
        raise ValueError(f"min_class must be in 0..{p.shape[1] - 1}, got {min_class}")
    return np.asarray(p[:, min_class:].sum(axis=1))


def evaluate_probs(
    probs: Any, y: Any, multiples: Sequence[float] | np.ndarray | None = None
) -> dict[str, float]:
    """The standard report for class probabilities.

    - ``log_loss``, ``accuracy``: over the six classes.
    - ``auc_2x``: score ``P(class >= small_win)`` (i.e. >= 1.5x); truth ``multiple >= 2`` when
      ``multiples`` (max multiple per row) is given, else ``y >= 1``.
    - ``auc_10x``: score ``P(class >= big_win)``; truth ``y >= 3``.
    - ``n``: number of rows.
    AUCs are NaN when the holdout holds only one side.
    """
    p, labels = _check(probs, y)
    if multiples is not None:
        mult = np.asarray(multiples, dtype=np.float64)
        if mult.shape != labels.shape:
            raise ValueError(f"multiples must have shape {labels.shape}, got {mult.shape}")
        truth_2x = mult >= 2.0
    else:
        truth_2x = labels >= 1
    return {
        "log_loss": log_loss(p, labels),
        "accuracy": accuracy(p, labels),
        "auc_2x": auc(p_at_least(p, 1), truth_2x),
        "auc_10x": auc(p_at_least(p, _BIG_MIN_CLASS), labels >= _BIG_MIN_CLASS),
        "n": len(labels),
    }


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a rate ``successes / n``; ``(nan, nan)`` when ``n == 0``."""
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    rate = successes / n
    denom = 1.0 + z * z / n
    centre = (rate + z * z / (2 * n)) / denom
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / denom
    lower = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the edges
    upper = 1.0 if successes == n else min(1.0, centre + half)
    return (lower, upper)


# Share of small_win's log-interval [ln 1.5, ln 5) at or above ln 3: P(3x+) from class
# probabilities assumes the multiple is log-uniform inside that class (the classes do not split
# at 3x). The 3x+ net predicts it directly.
THREEX_SHARE_OF_SMALL_WIN = (math.log(5.0) - math.log(3.0)) / (math.log(5.0) - math.log(1.5))


def p_threex(probs: Any) -> np.ndarray:
    """P(max multiple >= 3) from six class probabilities: P(>= 5x) plus the share of small_win
    above 3x (``THREEX_SHARE_OF_SMALL_WIN``), shape ``(n,)``."""
    p = np.asarray(probs, dtype=np.float64)
    return np.asarray(p_at_least(p, 2) + THREEX_SHARE_OF_SMALL_WIN * p[:, 1])


def binary_log_loss(p: Any, truth: Any) -> float:
    """Mean binary log-loss of probabilities ``p`` for the boolean ``truth`` (clipped at 1e-15)."""
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    t = np.asarray(truth, dtype=bool)
    if q.shape != t.shape or q.ndim != 1 or len(q) == 0:
        raise ValueError(
            f"p and truth must be 1-D of equal, non-zero length: {q.shape} vs {t.shape}"
        )
    return float(-np.mean(np.where(t, np.log(q), np.log1p(-q))))
