"""SHAP explanations of the outcome model.

Two implementations of the same exact TreeSHAP, each where it fits (issue 13):

- ``shap_values`` / ``global_importance`` (the report's global explanation, its beeswarm and
  ``/insights``' top features): the ``shap`` package's ``shap.TreeExplainer`` on the booster,
  the standard tool.
- ``shap_contributions`` (with the bias column) is XGBoost's own ``pred_contribs``; the
  per-request fast path, ``top_reasons``, reads per-leaf tables (``ml.treeshap``) that
  ``tests/ml/test_explain_shap.py`` shows equal to ``shap.TreeExplainer`` within 1e-6.

Units: SHAP values explain the booster's per-class *margin* (log-odds before the softmax), so
``bias + sum(contributions) == margin`` for every row and class. The prior correction of
``OutcomeModel.predict_proba`` subtracts a constant ``log(w_k)`` from each class margin: it moves
only the bias, never a feature's contribution, so these values hold for the calibrated
probabilities too.

For the ``aft`` objective the booster has one output, ``mu`` (the expected log multiple), and
TreeSHAP splits ``mu - bias`` over the features. The class margins are ``log P_k(mu)``, a smooth
function of ``mu`` alone, so each class's change ``log P_k(mu) - log P_k(bias)`` is shared out in
proportion to the features' shares of ``mu - bias`` (the "rescale" rule for a one-dimensional
link; at ``mu == bias`` the derivative). Additivity holds exactly per class, and a feature's sign
toward each class is that of its push on ``mu`` times the class's slope.

A *reason* is one feature's pull toward the big outcomes (>= 10x): the mean, over
``BIG_CLASSES`` (big_win, moonshot, mega_moon), of that feature's per-class SHAP value, in
margin units. Positive pushes toward a big outcome, negative away from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.classes import BIG_CLASSES, CLASSES, N_CLASSES
from ml.outcome import SMALL_BATCH_ROWS, OutcomeModel
from ml.treeshap import PathTables, path_tables

_BIG = list(BIG_CLASSES)


@dataclass(frozen=True)
class Reason:
    """One feature's pull toward the >= 10x classes for one signal.

    ``value`` is the feature's value (NaN when it was missing: the model learned a direction for
    missing values, so a missing feature can still be a reason). ``contribution`` is the mean
    SHAP value over ``BIG_CLASSES``, in log-odds (margin) units.
    """

    feature: str
    value: float
    contribution: float


def contributions_from_matrix(model: OutcomeModel, matrix: np.ndarray) -> np.ndarray:
    """SHAP values with the bias, shape ``(n, 6, n_features + 1)``; the last column is the bias.

    ``matrix`` must already be in ``model.feature_names_`` order (``model.to_matrix``).
    """
    n_features = len(model.feature_names_)
    if matrix.ndim != 2 or matrix.shape[1] != n_features:
        raise ValueError(f"matrix must have shape (n, {n_features}), got {matrix.shape}")
    if matrix.shape[0] == 0:
        return np.zeros((0, N_CLASSES, n_features + 1), dtype=np.float64)
    n_rows = matrix.shape[0]
    nthread = 1 if n_rows <= SMALL_BATCH_ROWS else model.n_jobs
    dmat = xgb.DMatrix(matrix, missing=np.nan, nthread=nthread)
    raw = model.booster_for(n_rows).predict(dmat, pred_contribs=True, validate_features=False)
    raw = np.asarray(raw, dtype=np.float64)
    if model.aft_scale_ is None:
        return raw.reshape(n_rows, N_CLASSES, n_features + 1)
    phi, bias = raw[:, :-1], raw[:, -1]
    slopes = _class_slopes(model, bias + phi.sum(axis=1), bias)
    out = np.empty((n_rows, N_CLASSES, n_features + 1), dtype=np.float64)
    out[:, :, :-1] = slopes[:, :, None] * phi[:, None, :]
    out[:, :, -1] = model.aft_log_probs(bias)
    return out


def _class_slopes(model: OutcomeModel, mu: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``aft``: per row and class, ``(log P_k(mu) - log P_k(bias)) / (mu - bias)``, shape
    ``(n, 6)``; the derivative where ``mu`` and ``bias`` (almost) coincide."""
    step = 1e-4
    near = np.abs(mu - bias) < step
    hi = np.where(near, mu + step, mu)
    lo = np.where(near, mu - step, bias)
    slopes: np.ndarray = (model.aft_log_probs(hi) - model.aft_log_probs(lo)) / (hi - lo)[:, None]
    return slopes


def shap_contributions(model: OutcomeModel, X: pd.DataFrame) -> np.ndarray:
    """SHAP values with the bias column, shape ``(n, 6, n_features + 1)``."""
    return contributions_from_matrix(model, model.to_matrix(X))


def shap_values(model: OutcomeModel, X: pd.DataFrame) -> np.ndarray:
    """Per-class SHAP values in margin units, shape ``(n, 6, n_features)`` (bias dropped), by
    ``shap.TreeExplainer`` on the booster (``aft``: its one output ``mu``, shared out to the
    classes by the rescale rule of the module docstring)."""
    import shap  # heavy: only when a report or /insights explains the model

    matrix = model.to_matrix(X)
    n_rows, n_features = matrix.shape
    if n_rows == 0:
        return np.zeros((0, N_CLASSES, n_features), dtype=np.float64)
    explainer = shap.TreeExplainer(model.booster_)
    raw = np.asarray(explainer.shap_values(matrix), dtype=np.float64)
    if model.aft_scale_ is None:
        return np.ascontiguousarray(raw.reshape(n_rows, n_features, N_CLASSES).transpose(0, 2, 1))
    phi = raw.reshape(n_rows, n_features)
    bias = np.full(n_rows, float(np.asarray(explainer.expected_value).reshape(-1)[0]))
    slopes = _class_slopes(model, bias + phi.sum(axis=1), bias)
    values: np.ndarray = slopes[:, :, None] * phi[:, None, :]
    return values


def _tables(model: OutcomeModel) -> PathTables | None:
    """``top_reasons``' lookup tables: the big classes' trees, or the one ``mu`` output (aft)."""
    if model.aft_scale_ is not None:
        return path_tables(model.booster_, len(model.feature_names_), (0,), 1)
    return path_tables(model.booster_, len(model.feature_names_), BIG_CLASSES, N_CLASSES)


def prepare_reasons(model: OutcomeModel) -> None:
    """Build ``top_reasons``' lookup tables now (~0.5 s for 400 rounds), e.g. right after the
    champion is loaded and off the event loop, so the first explained signal is fast too."""
    _tables(model)


def _big_contributions(model: OutcomeModel, row: np.ndarray) -> np.ndarray:
    """SHAP values of one row (in ``feature_names_`` order) toward each >= 10x class,
    shape ``(3, n_features)``."""
    tables = _tables(model)
    if tables is None:  # trees too deep for lookup tables: xgboost's own TreeSHAP, ~3x slower
        return contributions_from_matrix(model, row[None, :])[0, _BIG, :-1]
    values = tables.contributions(row)
    if model.aft_scale_ is None:
        return values
    phi = values[0]
    margin = model.booster_for(1).inplace_predict(
        row[None, :], predict_type="margin", missing=np.nan
    )
    mu = np.asarray(margin, dtype=np.float64).reshape(1)
    slopes = _class_slopes(model, mu, mu - phi.sum())[0]
    big: np.ndarray = slopes[_BIG, None] * phi[None, :]
    return big


def top_reasons(model: OutcomeModel, X_row: pd.DataFrame, k: int = 3) -> list[Reason]:
    """The ``k`` features that pull this signal hardest toward (or away from) >= 10x.

    Computed from per-leaf TreeSHAP tables cached per booster (``ml.treeshap``: the same values
    as ``pred_contribs``, ~6x faster for one row; the first call on a model builds them).
    Sorted by ``|contribution|`` descending. Features with a contribution of exactly 0 (not used
    by any tree on this row's path) are skipped, so fewer than ``k`` may come back.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    matrix = model.to_matrix(X_row)
    if matrix.shape[0] != 1:
        raise ValueError(f"top_reasons explains one row, got {matrix.shape[0]}")
    toward_big = _big_contributions(model, matrix[0]).mean(axis=0)
    order = np.argsort(-np.abs(toward_big), kind="stable")
    reasons: list[Reason] = []
    names = model.feature_names_
    row = matrix[0]
    for j in order:
        c = float(toward_big[j])
        if c == 0.0:
            break  # sorted by |c|: everything after is 0 too
        reasons.append(Reason(feature=names[j], value=float(row[j]), contribution=c))
        if len(reasons) == k:
            break
    return reasons


def global_importance(model: OutcomeModel, X: pd.DataFrame) -> pd.DataFrame:
    """Mean |SHAP| per feature and class over the rows of ``X``.

    Index: feature names; columns: the six class names plus ``"all"`` (the mean over classes);
    sorted by ``"all"`` descending.
    """
    values = shap_values(model, X)
    if values.shape[0] == 0:
        raise ValueError("global_importance needs at least one row")
    per_class = np.abs(values).mean(axis=0).T  # (n_features, n_classes)
    frame = pd.DataFrame(
        per_class,
        index=pd.Index(model.feature_names_, name="feature"),
        columns=list(CLASSES),
    )
    frame["all"] = per_class.mean(axis=1)
    return frame.sort_values("all", ascending=False, kind="stable")
