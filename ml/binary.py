"""Binary decisions: a threshold chosen on validation, metrics at a threshold, Platt scaling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ml.metrics import auc, wilson_interval


def choose_threshold(
    y_true: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray, min_recall: float
) -> tuple[float, str]:
    """The decision threshold (flag ``score >= threshold``) and the rule that chose it.

    Candidates are the distinct scores. Among candidates with recall >= ``min_recall`` the one
    with the highest F1 wins (rule ``"max_f1_at_min_recall"``); ties go to the highest threshold
    (fewer flags). If no candidate reaches ``min_recall``, the highest-F1 candidate wins (rule
    ``"max_f1"``); since the lowest score flags every row (recall 1), that only happens for
    ``min_recall > 1``, which is rejected, so with positives present the recall floor always
    holds. Without positives (or rows) there is nothing to choose on: 0.5, rule ``"default"``.
    """
    truth = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.shape != truth.shape:
        raise ValueError(
            f"scores and labels must be 1-D of equal length: {s.shape} vs {truth.shape}"
        )
    if not 0.0 <= min_recall <= 1.0:
        raise ValueError(f"min_recall must be in [0, 1], got {min_recall}")
    n_pos = int(truth.sum())
    if n_pos == 0:
        return 0.5, "default"
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    tp_cum = np.cumsum(truth[order])
    group_end = np.r_[np.nonzero(np.diff(s_sorted))[0], len(s_sorted) - 1]
    tp = tp_cum[group_end]
    flagged = group_end + 1
    recall = tp / n_pos
    f1 = 2.0 * tp / (flagged + n_pos)
    feasible = recall >= min_recall
    rule = "max_f1_at_min_recall" if feasible.any() else "max_f1"
    candidate_f1 = np.where(feasible, f1, -1.0) if feasible.any() else f1
    best = int(np.argmax(candidate_f1))  # first maximum = highest threshold
    return float(s_sorted[group_end[best]]), rule


def evaluate(
    y_true: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float
) -> dict[str, Any]:
    """AUC, and precision / recall / F1 when flagging ``score >= threshold``, with counts.

    Precision and recall carry 95% Wilson intervals (``*_low``/``*_high``); a rate with no
    denominator (nothing flagged, no positives) is NaN. ``base_rate`` is the positive share.
    """
    truth = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.shape != truth.shape:
        raise ValueError(
            f"scores and labels must be 1-D of equal length: {s.shape} vs {truth.shape}"
        )
    flags = s >= threshold
    n = len(truth)
    n_pos = int(truth.sum())
    n_flagged = int(flags.sum())
    tp = int((flags & truth).sum())
    precision = tp / n_flagged if n_flagged else math.nan
    recall = tp / n_pos if n_pos else math.nan
    f1 = 2.0 * tp / (n_flagged + n_pos) if n_flagged + n_pos else math.nan
    p_low, p_high = wilson_interval(tp, n_flagged)
    r_low, r_high = wilson_interval(tp, n_pos)
    return {
        "n": n,
        "n_pos": n_pos,
        "base_rate": n_pos / n if n else math.nan,
        "auc": auc(s, truth) if n else math.nan,
        "threshold": float(threshold),
        "n_flagged": n_flagged,
        "true_positives": tp,
        "precision": precision,
        "precision_low": p_low,
        "precision_high": p_high,
        "recall": recall,
        "recall_low": r_low,
        "recall_high": r_high,
        "f1": f1,
    }


def fit_platt(logits: np.ndarray, y_true: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` minimizing the log loss of ``sigmoid(a * logit + b)`` (Platt's smoothed targets)."""
    z = np.asarray(logits, dtype=np.float64)
    truth = np.asarray(y_true, dtype=bool)
    n_pos = int(truth.sum())
    n_neg = len(truth) - n_pos
    target = np.where(truth, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        m = params[0] * z + params[1]
        # log(1 + e^m) - t*m, stable
        value = np.logaddexp(0.0, m) - target * m
        resid = 1.0 / (1.0 + np.exp(-m)) - target
        return float(value.mean()), np.array([(resid * z).mean(), resid.mean()])

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])
