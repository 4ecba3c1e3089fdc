"""Outcome model: XGBoost over the six outcome classes, with calibrated probabilities.

Two objectives, the same interface (six class probabilities, per-class SHAP values):

- ``objective="aft"`` (the default, chosen by measurement: ``bench/bench_quality.py``): a
  distributional model of the max multiple itself. XGBoost ``survival:aft`` with normal errors fits
  ``log(max multiple) ~ Normal(mu(x), s)``; a multiple under 1x is left-censored ("somewhere below
  1x"), a row with a label but no multiple is interval-censored between its class boundaries. The
  class probabilities are ``Phi((log b_k - mu) / s) - Phi((log b_(k-1) - mu) / s)``. The loss
  scale is picked from ``AFT_SCALES`` and ``s`` is fitted, both on the validation rows. One
  ordered outcome instead of six separate scores: on the simulated market it is within 0.01 of the
  oracle's log-loss where the six-score model stays 0.03 away. No class weights: the model fits
  the whole distribution, so the rare big classes are tail probabilities of one curve, not a
  minority to up-weight.
- ``objective="softprob"``: ``multi:softprob`` over the six classes, described below.

Training follows the honesty rules of DESIGN.md:

- Rows arrive sorted by signal time. The last ``validation_fraction`` of them is the validation
  split used for early stopping; nothing is ever shuffled. The booster is cut at the best
  iteration, never refit on all rows.
- Class imbalance is handled with softened "balanced" weights
  ``w_k = (n / (K * n_k)) ** weight_power`` over the training split (``K`` = classes present,
  a class absent from training gets ``w_k = 1``).
- Weighted training fits the *weighted* class distribution ``q_k ∝ w_k * p_k``. ``predict_proba``
  undoes that exactly with a prior correction, ``p_k ∝ q_k / w_k``, i.e. ``margin_k - log(w_k)``
  before the softmax, so the probabilities stay calibrated. The correction only moves the
  per-class bias: SHAP contributions of the features (``ml.explain``) are unchanged by it.
- Early stopping watches the validation log loss of the *corrected* probabilities on unweighted
  validation rows: the same number ``ml.metrics.log_loss`` reports.
- Missing values stay NaN; XGBoost learns a default direction for them.

For ``aft`` the booster's margin is ``mu`` and ``predict_margin`` returns the class
log-probabilities ``log P_k(mu)``; early stopping watches the AFT negative log-likelihood.

The model is saved as ``model.ubj`` (``Booster.save_model``) plus a ``model.json`` sidecar; it is
never pickled.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from ml.classes import BOUNDARIES, CLASSES, N_CLASSES
from ml.frame import as_labels, feature_names_of
from ml.frame import to_matrix as frame_to_matrix
from ml.metrics import log_loss
from ml.params import Params
from ml.sidecar import (
    MODEL_FILE,
    library_versions,
    load_model_dir,
    save_model_dir,
)

log = logging.getLogger(__name__)

_VALID_METRIC = "calibrated_mlogloss"
# Up to this many rows, predict on one thread: waking OpenMP threads costs more than the work,
# and on a busy machine a 2-thread one-row predict was measured 3-40x slower than 1 thread.
SMALL_BATCH_ROWS = 512

ClassWeighting = Literal["balanced"] | None
Objective = Literal["aft", "softprob"]

# AFT: loss scales tried (the one with the best validation log-loss is kept), and the class
# boundaries on the log scale with their open ends.
AFT_SCALES: tuple[float, ...] = (0.8, 1.0, 1.25)
_LOG_EDGES = np.array([-np.inf, *np.log(BOUNDARIES), np.inf])
# Each class's interval of multiples: [lower[k], upper[k]) (0 and inf are the open ends).
_CLASS_LOWER = np.array([0.0, *BOUNDARIES])
_CLASS_UPPER = np.array([*BOUNDARIES, np.inf])
_LEFT_CENSOR = 1.0  # multiples below 1x are "somewhere below 1x"
_MIN_PROB = 1e-15

_PARAM_NAMES: tuple[str, ...] = (
    "objective",
    "n_estimators",
    "max_depth",
    "learning_rate",
    "min_child_weight",
    "subsample",
    "colsample_bytree",
    "reg_lambda",
    "class_weighting",
    "weight_power",
    "early_stopping_rounds",
    "validation_fraction",
    "n_jobs",
    "random_state",
)


class OutcomeModel(Params):
    """XGBoost over ``ml.classes.CLASSES`` (``aft`` or ``multi:softprob``, always 6 columns).

    Follows scikit-learn's conventions: ``__init__`` stores parameters, ``fit`` learns the
    attributes ending in ``_`` and returns ``self``, ``predict_proba`` columns follow ``classes_``.

    Fitted attributes: ``feature_names_`` (training column order), ``booster_`` (cut at the best
    iteration), ``classes_`` (``np.arange(6)``), ``best_iteration_``, ``best_score_`` (validation
    log loss at the best iteration, or None without a validation split), ``class_weights_`` (shape
    ``(6,)``; ones for ``aft``), ``aft_scale_`` (the fitted ``s``; None for ``softprob``),
    ``n_train_`` / ``n_valid_`` (rows in each split), ``evals_result_``.
    """

    param_names = _PARAM_NAMES

    def __init__(
        self,
        *,
        objective: Objective = "aft",
        n_estimators: int = 400,
        max_depth: int = 4,
        learning_rate: float = 0.05,
        min_child_weight: float = 1.0,
        subsample: float = 0.9,
        colsample_bytree: float = 0.9,
        reg_lambda: float = 1.0,
        class_weighting: ClassWeighting = "balanced",
        weight_power: float = 0.5,
        early_stopping_rounds: int | None = 50,
        validation_fraction: float = 0.15,
        n_jobs: int = 2,
        random_state: int = 0,
    ) -> None:
        self.objective = objective
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.class_weighting = class_weighting
        self.weight_power = weight_power
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ----------------------------------------------------------------- parameters

    def _check_params(self) -> None:
        if self.objective not in ("aft", "softprob"):
            raise ValueError(f"objective must be 'aft' or 'softprob', got {self.objective!r}")
        if self.n_estimators < 1:
            raise ValueError(f"n_estimators must be >= 1, got {self.n_estimators}")
        if self.class_weighting not in ("balanced", None):
            raise ValueError(
                f"class_weighting must be 'balanced' or None, got {self.class_weighting!r}"
            )
        if self.weight_power < 0:
            raise ValueError(f"weight_power must be >= 0, got {self.weight_power}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if self.early_stopping_rounds is not None and self.early_stopping_rounds < 1:
            raise ValueError(
                f"early_stopping_rounds must be >= 1 or None, got {self.early_stopping_rounds}"
            )

    def _xgb_params(self) -> dict[str, Any]:
        common = {
            "tree_method": "hist",
            "max_depth": int(self.max_depth),
            "eta": float(self.learning_rate),
            "min_child_weight": float(self.min_child_weight),
            "subsample": float(self.subsample),
            "colsample_bytree": float(self.colsample_bytree),
            "lambda": float(self.reg_lambda),
            "nthread": int(self.n_jobs),
            "seed": int(self.random_state),
        }
        if self.objective == "aft":
            return {
                "objective": "survival:aft",
                "eval_metric": "aft-nloglik",
                "aft_loss_distribution": "normal",
                **common,
            }
        return {
            "objective": "multi:softprob",
            "num_class": N_CLASSES,
            "eval_metric": "mlogloss",
            **common,
        }

    # ----------------------------------------------------------------- training

    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[int] | np.ndarray | pd.Series,
        *,
        multiples: Sequence[float] | np.ndarray | None = None,
        eval_set: tuple[Any, ...] | None = None,
    ) -> OutcomeModel:
        """Train on ``X`` (rows sorted by time) and integer labels ``y`` in ``0..5``.

        ``multiples`` (max_mcap / entry_mcap, NaN where unknown) sharpen the ``aft`` model: a row
        without one is known only to lie between its class boundaries. ``softprob`` ignores them.

        Without ``eval_set`` the last ``validation_fraction`` of the rows is held out for early
        stopping (``validation_fraction=0`` or ``early_stopping_rounds=None`` trains on all rows
        for ``n_estimators`` rounds). With ``eval_set=(X_val, y_val)`` or
        ``(X_val, y_val, multiples_val)`` all of ``X`` is trained on and ``X_val`` validates.
        """
        self._check_params()
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        names = feature_names_of(X)
        labels = as_labels(y, len(X))
        if len(X) == 0:
            raise ValueError("cannot fit on an empty DataFrame")
        mults = _as_multiples(multiples, len(X))

        x_all = frame_to_matrix(X, names)
        if eval_set is not None:
            x_train, y_train, m_train = x_all, labels, mults
            X_val, y_val_raw, *m_val = eval_set
            x_valid: np.ndarray | None = frame_to_matrix(X_val, names)
            y_valid: np.ndarray | None = as_labels(y_val_raw, len(X_val))
            m_valid: np.ndarray | None = _as_multiples(m_val[0] if m_val else None, len(X_val))
        else:
            n_valid = 0
            if self.early_stopping_rounds is not None and self.validation_fraction > 0:
                n_valid = int(round(len(X) * self.validation_fraction))
                if n_valid == 0 or n_valid >= len(X):
                    log.warning(
                        "%d rows are too few for a %.0f%% validation split; "
                        "training without early stopping",
                        len(X),
                        100 * self.validation_fraction,
                    )
                    n_valid = 0
            n_train = len(X) - n_valid
            x_train, y_train, m_train = x_all[:n_train], labels[:n_train], mults[:n_train]
            x_valid = x_all[n_train:] if n_valid else None
            y_valid = labels[n_train:] if n_valid else None
            m_valid = mults[n_train:] if n_valid else None
        if x_valid is not None and len(x_valid) == 0:
            x_valid = y_valid = m_valid = None
        train = _Split(x_train, y_train, m_train)
        valid = None if x_valid is None else _Split(x_valid, y_valid, m_valid)  # type: ignore[arg-type]

        if self.objective == "aft":
            fitted = self._fit_aft(names, train, valid)
        else:
            fitted = self._fit_softprob(names, train, valid)
        booster, best_iteration, best_score, evals_result, weights, scale = fitted

        self.feature_names_: list[str] = names
        self.booster_: xgb.Booster = booster
        self._single_thread = _single_thread_copy(booster)
        self.classes_: np.ndarray = np.arange(N_CLASSES)
        self.best_iteration_: int = best_iteration
        self.best_score_: float | None = best_score
        self.class_weights_: np.ndarray = weights
        self._log_w = np.log(weights)
        self.aft_scale_: float | None = scale
        self.n_train_: int = len(x_train)
        self.n_valid_: int = 0 if x_valid is None else len(x_valid)
        self.evals_result_: dict[str, Any] = evals_result
        log.info(
            "outcome model (%s): %d train / %d valid rows, %d features, best iteration %d, "
            "valid log-loss %s",
            self.objective,
            self.n_train_,
            self.n_valid_,
            len(names),
            best_iteration,
            "n/a" if best_score is None else f"{best_score:.4f}",
        )
        return self

    def _boost(
        self,
        params: dict[str, Any],
        dtrain: xgb.DMatrix,
        dvalid: xgb.DMatrix | None,
        custom_metric: Any = None,
        metric_name: str | None = None,
    ) -> tuple[xgb.Booster, int, dict[str, Any]]:
        """Boost with early stopping on ``dvalid`` when there is one; cut at the best round."""
        evals = [] if dvalid is None else [(dvalid, "valid")]
        callbacks: list[xgb.callback.TrainingCallback] = []
        early_stopping = dvalid is not None and self.early_stopping_rounds is not None
        if early_stopping:
            assert self.early_stopping_rounds is not None
            callbacks.append(
                xgb.callback.EarlyStopping(
                    rounds=int(self.early_stopping_rounds),
                    metric_name=metric_name,
                    data_name="valid",
                    maximize=False,
                    save_best=False,
                )
            )
        evals_result: dict[str, Any] = {}
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=int(self.n_estimators),
            evals=evals,
            custom_metric=custom_metric if evals else None,
            callbacks=callbacks,
            evals_result=evals_result,
            verbose_eval=False,
        )
        if early_stopping:
            best_iteration = int(booster.best_iteration)
            booster = booster[: best_iteration + 1]
        else:
            best_iteration = booster.num_boosted_rounds() - 1
        return booster, best_iteration, evals_result

    def _fit_softprob(self, names: list[str], train: _Split, valid: _Split | None) -> _Fitted:
        weights = _class_weights(train.y, self.class_weighting, self.weight_power)
        dtrain = xgb.DMatrix(
            train.x,
            label=train.y,
            weight=weights[train.y],
            missing=np.nan,
            feature_names=names,
            nthread=self.n_jobs,
        )

        def calibrated_mlogloss(preds: np.ndarray, dmat: xgb.DMatrix) -> tuple[str, float]:
            # preds are the weighted softprob outputs; score them after the prior correction
            weighted = np.asarray(preds, dtype=np.float64).reshape(-1, N_CLASSES)
            probs = weighted / weights
            probs /= probs.sum(axis=1, keepdims=True)
            return _VALID_METRIC, log_loss(probs, dmat.get_label().astype(np.int64))

        dvalid = None
        if valid is not None:
            dvalid = xgb.DMatrix(
                valid.x, label=valid.y, missing=np.nan, feature_names=names, nthread=self.n_jobs
            )
        booster, best_iteration, evals_result = self._boost(
            self._xgb_params(), dtrain, dvalid, calibrated_mlogloss, _VALID_METRIC
        )
        curve = evals_result.get("valid", {}).get(_VALID_METRIC)
        best_score = float(curve[best_iteration]) if curve else None
        return booster, best_iteration, best_score, evals_result, weights, None

    def _fit_aft(self, names: list[str], train: _Split, valid: _Split | None) -> _Fitted:
        dtrain = _aft_matrix(train, names, self.n_jobs)
        if valid is None:
            # nothing to choose on: the middle loss scale, and s equal to it
            scale = AFT_SCALES[len(AFT_SCALES) // 2]
            params = {**self._xgb_params(), "aft_loss_distribution_scale": scale}
            booster, best_iteration, evals_result = self._boost(params, dtrain, None)
            return booster, best_iteration, None, evals_result, np.ones(N_CLASSES), scale
        dvalid = _aft_matrix(valid, names, self.n_jobs)
        best: _Fitted | None = None
        for loss_scale in AFT_SCALES:
            params = {**self._xgb_params(), "aft_loss_distribution_scale": loss_scale}
            booster, best_iteration, evals_result = self._boost(params, dtrain, dvalid)
            mu = booster.predict(dvalid, output_margin=True).astype(np.float64)
            fit = minimize_scalar(
                lambda s, mu=mu: log_loss(aft_class_probs(mu, s), valid.y),
                bounds=(0.2, 5.0),
                method="bounded",
            )
            scale, score = float(fit.x), float(fit.fun)
            if best is None or score < (best[2] or math.inf):
                best = (booster, best_iteration, score, evals_result, np.ones(N_CLASSES), scale)
        assert best is not None
        return best

    # ----------------------------------------------------------------- prediction

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise RuntimeError("this OutcomeModel is not fitted yet; call fit() or load()")

    def to_matrix(self, X: pd.DataFrame) -> np.ndarray:
        """``X``'s feature columns, in ``feature_names_`` order, as float32 (NaN = missing).

        Columns are matched by name; extra columns are ignored; a missing one raises ValueError.
        """
        self._check_fitted()
        return frame_to_matrix(X, self.feature_names_)

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Per-class margins, shape ``(n, 6)``: what SHAP explains (``bias + sum(contributions)
        == margin``, ``ml.explain``).

        ``softprob``: the raw margins of the (weighted) booster, class-weight distortion
        included (``predict_proba`` removes it). ``aft``: the class log-probabilities.
        """
        return self._margin(self.to_matrix(X))

    def booster_for(self, n_rows: int) -> xgb.Booster:
        """``booster_`` for large batches; a single-threaded copy of it for small ones."""
        self._check_fitted()
        return self._single_thread if n_rows <= SMALL_BATCH_ROWS else self.booster_

    def _margin(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.shape[0] == 0:
            return np.zeros((0, N_CLASSES), dtype=np.float64)
        booster = self.booster_for(matrix.shape[0])
        margin = booster.inplace_predict(matrix, predict_type="margin", missing=np.nan)
        if self.aft_scale_ is not None:
            return self.aft_log_probs(np.asarray(margin, dtype=np.float64))
        return np.asarray(margin, dtype=np.float64).reshape(-1, N_CLASSES)

    def aft_log_probs(self, mu: np.ndarray) -> np.ndarray:
        """``aft``: the class log-probabilities for location(s) ``mu`` (log multiple)."""
        assert self.aft_scale_ is not None, "aft_log_probs is for objective='aft'"
        log_probs: np.ndarray = np.log(aft_class_probs(np.atleast_1d(mu), self.aft_scale_))
        return log_probs

    def proba_from_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """``predict_proba`` for a matrix already in ``feature_names_`` order."""
        self._check_fitted()
        logits = self._margin(matrix) - self._log_w
        logits -= logits.max(axis=1, keepdims=True)
        probs: np.ndarray = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities, shape ``(n, 6)``, columns follow ``classes_``."""
        return self.proba_from_matrix(self.to_matrix(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable class index per row."""
        return np.asarray(np.argmax(self.predict_proba(X), axis=1), dtype=np.int64)

    # ----------------------------------------------------------------- persistence

    def save(self, directory: str | os.PathLike[str], *, metadata: Mapping[str, Any]) -> Path:
        """Write ``model.ubj`` and the ``model.json`` sidecar into ``directory``; return it.

        ``metadata`` (metrics, training window, n_samples, ...) is merged into the sidecar; it may
        not reuse the sidecar's own keys. numpy values are converted to plain JSON types.
        """
        self._check_fitted()
        booster = self.booster_
        return save_model_dir(
            directory,
            model_file=MODEL_FILE,
            write_model=lambda tmp: booster.save_model(str(tmp)),
            kind_of_model=f"xgboost-{self.objective}",
            feature_names=self.feature_names_,
            fields={
                "classes": list(CLASSES),
                "params": self.get_params(),
                "class_weights": self.class_weights_,
                "aft_scale": self.aft_scale_,
                "best_iteration": self.best_iteration_,
                "best_score": self.best_score_,
                "n_train": self.n_train_,
                "n_valid": self.n_valid_,
            },
            versions=library_versions(),
            metadata=metadata,
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> OutcomeModel:
        """Restore a model written by ``save``."""
        saved = load_model_dir(directory, model_file=MODEL_FILE, classes=CLASSES)
        path, sidecar, names = saved.directory, saved.sidecar, saved.feature_names
        params = {k: v for k, v in sidecar["params"].items() if k in _PARAM_NAMES}
        params.setdefault("objective", "softprob")  # sidecars from before the AFT objective
        model = cls(**params)
        booster = xgb.Booster()
        booster.load_model(str(saved.model_path))
        booster.set_param({"nthread": int(model.n_jobs)})
        if booster.feature_names is not None and list(booster.feature_names) != names:
            raise ValueError(f"{path}: booster feature names differ from the sidecar")
        weights = np.asarray(sidecar["class_weights"], dtype=np.float64)
        if weights.shape != (N_CLASSES,) or not np.all(weights > 0):
            raise ValueError(f"{path}: class_weights must be {N_CLASSES} positive numbers")
        model.feature_names_ = names
        model.booster_ = booster
        model._single_thread = _single_thread_copy(booster)
        model.classes_ = np.arange(N_CLASSES)
        model.best_iteration_ = int(sidecar["best_iteration"])
        best_score = sidecar.get("best_score")
        model.best_score_ = None if best_score is None else float(best_score)
        model.class_weights_ = weights
        model._log_w = np.log(weights)
        scale = sidecar.get("aft_scale")
        model.aft_scale_ = None if scale is None else float(scale)
        if (model.aft_scale_ is not None) != (model.objective == "aft"):
            raise ValueError(f"{path}: aft_scale must be set exactly for objective 'aft'")
        model.n_train_ = int(sidecar.get("n_train", 0))
        model.n_valid_ = int(sidecar.get("n_valid", 0))
        model.evals_result_ = {}
        return model


# --------------------------------------------------------------------- helpers


@dataclass(frozen=True, slots=True)
class _Split:
    x: np.ndarray
    y: np.ndarray
    multiples: np.ndarray


# booster, best iteration, best validation log-loss, eval curves, class weights, AFT scale
_Fitted = tuple[xgb.Booster, int, float | None, dict[str, Any], np.ndarray, float | None]


def aft_class_probs(mu: np.ndarray, scale: float) -> np.ndarray:
    """Class probabilities of ``log(multiple) ~ Normal(mu, scale)``, shape ``(n, 6)``."""
    cdf = ndtr((_LOG_EDGES[None, :] - np.asarray(mu, dtype=np.float64)[:, None]) / scale)
    probs: np.ndarray = np.clip(np.diff(cdf, axis=1), _MIN_PROB, 1.0)
    return probs


def _as_multiples(multiples: Sequence[float] | np.ndarray | None, n_rows: int) -> np.ndarray:
    if multiples is None:
        return np.full(n_rows, np.nan)
    values = np.asarray(multiples, dtype=np.float64).reshape(-1)
    if len(values) != n_rows:
        raise ValueError(f"multiples has {len(values)} values for {n_rows} rows")
    return values


def _aft_matrix(split: _Split, names: list[str], nthread: int) -> xgb.DMatrix:
    """The AFT training matrix: an exact multiple, "below 1x", or the row's class interval."""
    lower, upper = _CLASS_LOWER[split.y], _CLASS_UPPER[split.y]
    known = np.isfinite(split.multiples) & (split.multiples > 0)
    exact = known & (split.multiples >= _LEFT_CENSOR)
    below = known & ~exact
    lower[exact] = upper[exact] = split.multiples[exact]
    lower[below], upper[below] = 0.0, _LEFT_CENSOR
    dmat = xgb.DMatrix(split.x, missing=np.nan, feature_names=names, nthread=nthread)
    dmat.set_float_info("label_lower_bound", lower)
    dmat.set_float_info("label_upper_bound", upper)
    return dmat


def _single_thread_copy(booster: xgb.Booster) -> xgb.Booster:
    copy = booster.copy()
    copy.set_param({"nthread": 1})
    return copy


def _class_weights(y: np.ndarray, weighting: ClassWeighting, power: float) -> np.ndarray:
    """``(n / (K * n_k)) ** power`` for present classes, 1 for absent ones (or no weighting)."""
    weights = np.ones(N_CLASSES, dtype=np.float64)
    if weighting is None:
        return weights
    counts = np.bincount(y, minlength=N_CLASSES).astype(np.float64)
    present = counts > 0
    k_present = int(present.sum())
    weights[present] = (len(y) / (k_present * counts[present])) ** power
    return weights
