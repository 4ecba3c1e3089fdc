"""Outcome model: XGBoost over the six outcome classes, with calibrated probabilities.

Two objectives, the same interface (six class probabilities, per-class SHAP values), and a
third setting that chooses between them on data:

- ``objective="auto"`` (the default, issue 13): the shape is not assumed. On the training rows'
  own time-ordered validation split (the newest ``validation_fraction``) it fits ``aft`` and
  ``softprob`` with early stopping; ``aft`` is read two ways, through its normal link and
  through a link learned on validation rows (``ml.link``: the class curves of ``mu`` for
  outcomes that are not normal in log space). Each candidate is blended with the training
  class-frequency prior (``p = (1 - a) * p_model + a * prior``, ``a`` in [0, 1] fitted on the
  same validation rows: the prior itself is ``a = 1``), and the blend with the lowest validation
  log-loss is kept. The older half of the validation rows stops the boosting, the newer half
  chooses; while the choosing rows are few (``POOL_BELOW``) the choice pools ``POOLED_FOLDS``
  folds that roll back in time (each fold's choosing rows are the next newer fold's stopping
  rows), so that a few dozen rows do not decide alone. A winner whose gain over the prior on
  those rows is within ``CLEAR_GAIN_SE`` standard errors of zero (paired per-row log-loss) is
  replaced by the prior itself (``a = 1``). The winner is then refitted on *all* training rows
  with the chosen number of rounds (the folds' mean, scaled by the ratio of all rows to the
  fold's training rows), its loss scale, ``s`` and link (``aft``) and its ``a``. On a large
  file the candidates train on each fold's newest ``CHOOSE_ROWS`` rows only (the stopping and
  judging rows stay whole): the choice of a shape needs far fewer rows than the final fit (at
  1M rows: 49 s for the whole training instead of 105 s, the same holdout log-loss;
  ``BENCHMARKS.md``). On data whose features carry no signal the model is
  the prior; where the outcome is log-normal it picks ``aft``; with a rug point mass and a heavy
  tail ``aft`` with the learned link or ``softprob`` (``bench/bench_quality.py``).
  ``selection_`` keeps every candidate's log-loss on those rows and its ``a``.

- ``objective="aft"``: a distributional model of the max multiple itself. XGBoost ``survival:aft`` with normal errors fits
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
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
from ml.link import SplineLink, fit_link
from ml.metrics import log_loss
from ml.params import Params
from ml.prior import class_frequencies
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
Objective = Literal["auto", "aft", "softprob"]
FittedObjective = Literal["aft", "softprob"]
OBJECTIVES: tuple[FittedObjective, ...] = ("aft", "softprob")

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
    """XGBoost over ``ml.classes.CLASSES`` (``aft``, ``multi:softprob`` or the one of them chosen
    on validation rows, ``auto``; always 6 columns).

    Follows scikit-learn's conventions: ``__init__`` stores parameters, ``fit`` learns the
    attributes ending in ``_`` and returns ``self``, ``predict_proba`` columns follow ``classes_``.

    Fitted attributes: ``feature_names_`` (training column order), ``booster_`` (cut at the best
    iteration), ``classes_`` (``np.arange(6)``), ``best_iteration_``, ``best_score_`` (validation
    log loss at the best iteration, or None without a validation split), ``class_weights_`` (shape
    ``(6,)``; ones for ``aft``), ``aft_scale_`` (the fitted ``s``; None for ``softprob``),
    ``n_train_`` / ``n_valid_`` (rows in each split), ``evals_result_``; ``objective_`` (the fitted
    objective, ``aft`` or ``softprob``), ``prior_`` (training class frequencies), ``blend_`` (the
    prior's weight ``a`` in the probabilities; 0 for ``aft`` / ``softprob``), ``selection_`` (for
    ``auto``: validation log-loss per candidate, ``{}`` otherwise). With ``auto`` ``n_train_`` is
    every row (the refit) and ``n_valid_`` the validation rows the choice was made on.
    """

    param_names = _PARAM_NAMES

    def __init__(
        self,
        *,
        objective: Objective = "auto",
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
        if self.objective not in ("auto", "aft", "softprob"):
            raise ValueError(
                f"objective must be 'auto', 'aft' or 'softprob', got {self.objective!r}"
            )
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

    def _xgb_params(self, objective: FittedObjective | None = None) -> dict[str, Any]:
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
        if (objective or self.objective) == "aft":
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
        progress: Callable[[int, int], None] | None = None,
    ) -> OutcomeModel:
        """Train on ``X`` (rows sorted by time) and integer labels ``y`` in ``0..5``.

        ``multiples`` (max_mcap / entry_mcap, NaN where unknown) sharpen the ``aft`` model: a row
        without one is known only to lie between its class boundaries. ``softprob`` ignores them.

        Without ``eval_set`` the last ``validation_fraction`` of the rows is held out for early
        stopping (``validation_fraction=0`` or ``early_stopping_rounds=None`` trains on all rows
        for ``n_estimators`` rounds). With ``eval_set=(X_val, y_val)`` or
        ``(X_val, y_val, multiples_val)`` all of ``X`` is trained on and ``X_val`` validates.

        ``progress(round, rounds)`` is called after each boosting round of each fit this makes
        (objective candidates, the refit): a face draws it.
        """
        self._check_params()
        self._progress = progress
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
            wants_valid = self.early_stopping_rounds is not None or self.objective == "auto"
            if wants_valid and self.validation_fraction > 0:
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

        self.selection_: dict[str, Any] = {}
        self.blend_: float = 0.0
        self.prior_: np.ndarray = class_frequencies(train.y)
        if self.objective == "auto":
            whole = _Split(x_all, labels, mults) if eval_set is None else None
            fitted, objective = self._fit_auto(names, train, valid, whole)
            x_train = x_all if eval_set is None else x_train
            self.prior_ = class_frequencies(labels)
        else:
            objective = self.objective
            fitted = self._fit_one(objective, names, train, valid)
        booster, best_iteration, best_score = (
            fitted.booster,
            fitted.best_iteration,
            fitted.best_score,
        )
        evals_result, weights, scale = fitted.evals_result, fitted.weights, fitted.scale
        self.aft_link_: SplineLink | None = fitted.link
        self.objective_: FittedObjective = objective
        self.training_window_: tuple[str, str] | None = None  # set by load (the sidecar's)

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
        # with auto: every validation row of its folds (more than ``valid``'s when pooled)
        self.n_valid_: int = int(
            self.selection_.get("n_valid", 0 if x_valid is None else len(x_valid))
        )
        self.evals_result_: dict[str, Any] = evals_result
        log.info(
            "outcome model (%s, prior weight %.3f): %d train / %d valid rows, %d features, "
            "best iteration %d, valid log-loss %s",
            self.objective_,
            self.blend_,
            self.n_train_,
            self.n_valid_,
            len(names),
            best_iteration,
            "n/a" if best_score is None else f"{best_score:.4f}",
        )
        return self

    def _fit_one(
        self,
        objective: FittedObjective,
        names: list[str],
        train: _Split,
        valid: _Split | None,
        rounds: int | None = None,
        loss_scale: float | None = None,
    ) -> _Fitted:
        if objective == "aft":
            return self._fit_aft(names, train, valid, rounds, loss_scale)
        return self._fit_softprob(names, train, valid, rounds)

    def _fit_auto(
        self, names: list[str], train: _Split, valid: _Split | None, whole: _Split | None
    ) -> tuple[_Fitted, FittedObjective]:
        """Choose the objective, the link and the prior's weight on validation rows; refit on
        ``whole``.

        In each fold the older half of its validation rows stops the boosting and the newer half
        judges: early stopping tunes the boosters on the rows it watches (their class
        frequencies above all), so the same rows would flatter every booster against the prior.
        The first fold's rows are ``valid``; while they are few (fewer than ``POOL_BELOW``
        judging rows) ``POOLED_FOLDS`` folds roll back in time by half of ``valid`` each, and
        the choice is made on all their judging rows together."""
        if valid is None or len(valid.y) < 2:
            log.warning("no validation rows to choose the objective on: softprob, no prior blend")
            return self._fit_softprob(names, train, None), "softprob"
        folds = _folds(train, valid, whole)
        # the candidates train on each fold's newest CHOOSE_ROWS rows (all of them below that)
        sampled = [(_newest(t, CHOOSE_ROWS), stop) for t, stop, _ in folds]
        judged = np.concatenate([judge.y for _, _, judge in folds])
        # each judging row's prior: the class frequencies of the rows its fold trained on
        priors = np.concatenate(
            [
                np.tile(class_frequencies(np.concatenate([t.y, stop.y])), (len(judge.y), 1))
                for (t, stop), (_, _, judge) in zip(sampled, folds, strict=True)
            ]
        )
        self.selection_ = {
            "prior": log_loss(priors, judged),
            "folds": len(folds),
            "n_choose": len(sampled[0][0].y),
            "n_valid": len(valid.y) + (len(folds) - 1) * (len(valid.y) // 2),
        }
        candidates: dict[str, tuple[FittedObjective, list[_Fitted]]] = {}
        for objective in OBJECTIVES:
            # the older folds keep the newest fold's aft loss scale (one fit each, not three)
            fitted = [self._fit_one(objective, names, *sampled[0])]
            fitted += [
                self._fit_one(objective, names, t, stop, loss_scale=fitted[0].loss_scale)
                for t, stop in sampled[1:]
            ]
            candidates[objective] = (objective, fitted)
            if objective == "aft":
                linked = [
                    _with_link(f, stop) for f, (_, stop, _) in zip(fitted, folds, strict=True)
                ]
                if all(f.link is not None for f in linked):  # else too few distinct mu for knots
                    candidates["aft+link"] = ("aft", linked)
        best: tuple[float, str, float, np.ndarray] | None = None
        for name, (_, fitted) in candidates.items():
            probs = np.concatenate(
                [_probs_of(f, judge.x) for f, (_, _, judge) in zip(fitted, folds, strict=True)]
            )
            blend, loss = best_blend(probs, priors, judged)
            self.selection_[name] = log_loss(probs, judged)
            self.selection_[f"{name}+prior"] = loss
            self.selection_[f"{name}_prior_weight"] = blend
            if best is None or loss < best[0]:
                best = (loss, name, blend, probs)
        assert best is not None
        loss, name, blend, probs = best
        gain, se = _paired_gain(_blended(probs, priors, blend), priors, judged)
        self.selection_["gain_over_prior"], self.selection_["gain_se"] = gain, se
        if gain <= CLEAR_GAIN_SE * se:
            # not clearly better than the prior on rows it never saw: the prior it is
            blend, loss = 1.0, self.selection_["prior"]
        self.blend_ = blend
        self.selection_["chosen"] = name
        objective, fitted = candidates[name]
        newest = fitted[0]  # the fold that trained on the most rows
        if whole is None:
            return newest, objective
        rounds = int(self.n_estimators)
        if self.early_stopping_rounds is not None:
            scaled = [
                (f.best_iteration + 1) * len(whole.y) / len(t.y)
                for f, (t, _, _) in zip(fitted, folds, strict=True)
            ]
            rounds = max(1, int(round(float(np.mean(scaled)))))
        self.selection_["rounds"] = rounds
        refit = self._fit_one(objective, names, whole, None, rounds, newest.loss_scale)
        # the refit keeps the validation choices: the aft scale s, the link, the validation loss
        refit.best_score, refit.scale = loss, newest.scale
        if newest.link is not None:
            # the link of the final model: learned on every validation row of every fold, each
            # read by its fold's booster (which never trained on it)
            mu = [
                _margin_of(f.booster, np.concatenate([s.x, j.x]))
                for f, (_, s, j) in zip(fitted, folds, strict=True)
            ]
            ys = [np.concatenate([s.y, j.y]) for _, s, j in folds]
            refit.link = fit_link(np.concatenate(mu), np.concatenate(ys)) or newest.link
        return refit, objective

    def _boost(
        self,
        params: dict[str, Any],
        dtrain: xgb.DMatrix,
        dvalid: xgb.DMatrix | None,
        custom_metric: Any = None,
        metric_name: str | None = None,
        rounds: int | None = None,
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
        n_rounds = int(self.n_estimators if rounds is None else rounds)
        progress = getattr(self, "_progress", None)  # set by fit
        if progress is not None:
            callbacks.append(_Rounds(progress, n_rounds))
        evals_result: dict[str, Any] = {}
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=n_rounds,
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

    def _fit_softprob(
        self, names: list[str], train: _Split, valid: _Split | None, rounds: int | None = None
    ) -> _Fitted:
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
            self._xgb_params("softprob"),
            dtrain,
            dvalid,
            calibrated_mlogloss,
            _VALID_METRIC,
            rounds,
        )
        curve = evals_result.get("valid", {}).get(_VALID_METRIC)
        best_score = float(curve[best_iteration]) if curve else None
        return _Fitted(booster, best_iteration, best_score, evals_result, weights)

    def _fit_aft(
        self,
        names: list[str],
        train: _Split,
        valid: _Split | None,
        rounds: int | None = None,
        loss_scale: float | None = None,
    ) -> _Fitted:
        dtrain = _aft_matrix(train, names, self.n_jobs)
        if valid is None:
            # nothing to choose on: the given (else the middle) loss scale, and s equal to it
            scale = AFT_SCALES[len(AFT_SCALES) // 2] if loss_scale is None else loss_scale
            params = {**self._xgb_params("aft"), "aft_loss_distribution_scale": scale}
            booster, best_iteration, evals_result = self._boost(params, dtrain, None, rounds=rounds)
            return _Fitted(
                booster, best_iteration, None, evals_result, np.ones(N_CLASSES), scale, scale
            )
        dvalid = _aft_matrix(valid, names, self.n_jobs)
        best: _Fitted | None = None
        for tried in AFT_SCALES if loss_scale is None else (loss_scale,):
            params = {**self._xgb_params("aft"), "aft_loss_distribution_scale": tried}
            booster, best_iteration, evals_result = self._boost(params, dtrain, dvalid)
            mu = booster.predict(dvalid, output_margin=True).astype(np.float64)
            fit = minimize_scalar(
                lambda s, mu=mu: log_loss(aft_class_probs(mu, s), valid.y),
                bounds=(0.2, 5.0),
                method="bounded",
            )
            scale, score = float(fit.x), float(fit.fun)
            if best is None or score < (best.best_score or math.inf):
                best = _Fitted(
                    booster,
                    best_iteration,
                    score,
                    evals_result,
                    np.ones(N_CLASSES),
                    scale,
                    tried,
                )
        assert best is not None
        return best

    @property
    def shape_(self) -> str:
        """The shape fitted, by ``selection_``'s names: ``aft``, ``aft+link`` or ``softprob``."""
        self._check_fitted()
        return "aft+link" if self.aft_link_ is not None else self.objective_

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
        if self.aft_link_ is not None:
            return self.aft_link_.log_probs(np.atleast_1d(mu))
        log_probs: np.ndarray = np.log(aft_class_probs(np.atleast_1d(mu), self.aft_scale_))
        return log_probs

    def proba_from_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """``predict_proba`` for a matrix already in ``feature_names_`` order."""
        self._check_fitted()
        probs = _softmax(self._margin(matrix) - self._log_w)
        if self.blend_ > 0.0:
            probs = (1.0 - self.blend_) * probs + self.blend_ * self.prior_
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
            kind_of_model=f"xgboost-{self.objective_}",
            feature_names=self.feature_names_,
            fields={
                "classes": list(CLASSES),
                "params": self.get_params(),
                "class_weights": self.class_weights_,
                "aft_scale": self.aft_scale_,
                "aft_link": None if self.aft_link_ is None else self.aft_link_.to_json(),
                "best_iteration": self.best_iteration_,
                "best_score": self.best_score_,
                "n_train": self.n_train_,
                "n_valid": self.n_valid_,
                "fitted_objective": self.objective_,
                "prior": self.prior_,
                "prior_weight": self.blend_,
                "selection": self.selection_,
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
        _restore_choice(model, sidecar, path)
        window = sidecar.get("training_window")
        model.training_window_ = (str(window[0]), str(window[1])) if window else None
        model.n_train_ = int(sidecar.get("n_train", 0))
        model.n_valid_ = int(sidecar.get("n_valid", 0))
        model.evals_result_ = {}
        return model


# --------------------------------------------------------------------- helpers


def _restore_choice(model: OutcomeModel, sidecar: Mapping[str, Any], path: Path) -> None:
    """The fitted objective, AFT scale, prior and prior weight of a saved model (sidecars from
    before ``auto`` have neither: their objective is the parameter, the weight 0)."""
    objective = sidecar.get("fitted_objective", model.objective)
    if objective not in OBJECTIVES:
        raise ValueError(f"{path}: fitted objective must be 'aft' or 'softprob', got {objective!r}")
    model.objective_ = objective
    scale = sidecar.get("aft_scale")
    model.aft_scale_ = None if scale is None else float(scale)
    if (model.aft_scale_ is not None) != (objective == "aft"):
        raise ValueError(f"{path}: aft_scale must be set exactly for objective 'aft'")
    link = sidecar.get("aft_link")  # absent from sidecars before the learned link
    try:
        model.aft_link_ = None if link is None else SplineLink.from_json(link)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: aft_link: {exc}") from None
    if model.aft_link_ is not None and objective != "aft":
        raise ValueError(f"{path}: aft_link is for objective 'aft' only")
    prior = np.asarray(sidecar.get("prior", np.full(N_CLASSES, 1.0 / N_CLASSES)), dtype=np.float64)
    blend = float(sidecar.get("prior_weight", 0.0))
    if prior.shape != (N_CLASSES,) or not np.all(prior > 0) or not 0.0 <= blend <= 1.0:
        raise ValueError(
            f"{path}: prior must be {N_CLASSES} positive numbers, its weight in [0, 1]"
        )
    model.prior_, model.blend_ = prior, blend
    model.selection_ = dict(sidecar.get("selection", {}))


@dataclass(frozen=True, slots=True)
class _Split:
    x: np.ndarray
    y: np.ndarray
    multiples: np.ndarray

    def rows(self, start: int, stop: int) -> _Split:
        return _Split(self.x[start:stop], self.y[start:stop], self.multiples[start:stop])


@dataclass(slots=True)
class _Fitted:
    """One fitted booster and what was chosen with it on its validation rows."""

    booster: xgb.Booster
    best_iteration: int
    best_score: float | None  # validation log-loss at the best iteration
    evals_result: dict[str, Any]
    weights: np.ndarray  # class weights (ones for aft)
    scale: float | None = None  # aft: the fitted s of the normal link
    loss_scale: float | None = None  # aft: the loss scale it was trained with
    link: SplineLink | None = None  # aft: the learned link, when chosen over the normal one


# A winner whose mean gain over the prior on the judging rows is within this many standard errors
# of zero is not clearly better than it (the best of four candidates, each with a prior weight
# fitted on those rows, is flattered by them): the prior is kept. 2 is a one-sided test at ~2.3%.
CLEAR_GAIN_SE = 2.0
# Judging rows in one fold below which the choice pools rolling folds, and how many.
POOL_BELOW = 5_000
POOLED_FOLDS = 3

# Training rows per fold the candidates are fitted on: a fold with more trains them on its newest
# this many (the rows nearest its stopping and judging rows, which stay whole). At 1M rows this
# keeps the choice to a fraction of its cost; it is the refit on every row that uses the rest.
CHOOSE_ROWS = 200_000

_Fold = tuple[_Split, _Split, _Split]  # train, stop, judge


def _newest(split: _Split, n: int) -> _Split:
    """The newest ``n`` rows of ``split`` (all of them when it has no more)."""
    return split if len(split.y) <= n else split.rows(len(split.y) - n, len(split.y))


def _folds(train: _Split, valid: _Split, whole: _Split | None) -> list[_Fold]:
    """The time-ordered folds the choice is made on, newest first. The first: ``train``, then
    the older half of ``valid`` (stop) and its newer half (judge). With ``whole`` (= train then
    valid) and fewer than ``POOL_BELOW`` judging rows, each further fold ends where the one
    before it starts judging: its judging rows are that fold's stopping rows."""
    half = len(valid.y) // 2
    folds = [(train, valid.rows(0, half), valid.rows(half, len(valid.y)))]
    if whole is None or len(valid.y) - half >= POOL_BELOW or half == 0:
        return folds
    start = len(train.y)  # where the newest fold's validation rows begin in ``whole``
    for i in range(1, POOLED_FOLDS):
        judge_at = start - (i - 1) * half
        stop_at = judge_at - half
        if stop_at < 2 * half:  # keep at least as many training rows as validation rows
            break
        folds.append(
            (
                whole.rows(0, stop_at),
                whole.rows(stop_at, judge_at),
                whole.rows(judge_at, judge_at + half),
            )
        )
    return folds


def _with_link(fitted: _Fitted, stop: _Split) -> _Fitted:
    """``fitted`` (aft) with a link learned on its stopping rows (``link`` None if it cannot)."""
    return replace(fitted, link=fit_link(_margin_of(fitted.booster, stop.x), stop.y))


class _Rounds(xgb.callback.TrainingCallback):
    """Reports each boosting round to a ``progress(round, rounds)`` callback."""

    def __init__(self, progress: Callable[[int, int], None], rounds: int) -> None:
        super().__init__()
        self.progress = progress
        self.rounds = rounds

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.progress(epoch + 1, self.rounds)
        return False  # never stops training


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs: np.ndarray = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def _margin_of(booster: xgb.Booster, matrix: np.ndarray) -> np.ndarray:
    return np.asarray(
        booster.inplace_predict(matrix, predict_type="margin", missing=np.nan), dtype=np.float64
    )


def _probs_of(fitted: _Fitted, matrix: np.ndarray) -> np.ndarray:
    """The class probabilities of a fitted booster (before any prior blend)."""
    margin = _margin_of(fitted.booster, matrix)
    if fitted.link is not None:
        probs: np.ndarray = np.exp(fitted.link.log_probs(margin))
        return probs
    if fitted.scale is not None:
        return aft_class_probs(margin, fitted.scale)
    return _softmax(margin.reshape(-1, N_CLASSES) - np.log(fitted.weights))


def _blended(probs: np.ndarray, prior: np.ndarray, blend: float) -> np.ndarray:
    return (1.0 - blend) * probs + blend * prior


def _paired_gain(probs: np.ndarray, prior: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean per-row log-loss gain of ``probs`` over ``prior`` on ``y``, and its standard error."""
    rows = np.arange(len(y))
    prior_rows = np.broadcast_to(prior, probs.shape)
    gain = np.log(np.clip(probs[rows, y], 1e-15, 1.0)) - np.log(prior_rows[rows, y])
    if len(y) < 2:
        return float(gain.mean()), math.inf
    return float(gain.mean()), float(gain.std(ddof=1) / math.sqrt(len(y)))


def best_blend(probs: np.ndarray, prior: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The prior's weight ``a`` in ``(1 - a) * probs + a * prior`` with the lowest log-loss on
    ``y``, and that log-loss (``a`` = 0 when the model alone is as good). ``prior``: one row of
    class frequencies, or one per row of ``probs``."""
    pure = log_loss(probs, y)
    fit = minimize_scalar(
        lambda a: log_loss((1.0 - a) * probs + a * prior, y),
        bounds=(0.0, 1.0),
        method="bounded",
        options={"xatol": 1e-4},
    )
    ends = [(0.0, pure), (1.0, log_loss(np.broadcast_to(prior, probs.shape), y))]
    blend, loss = min([(float(fit.x), float(fit.fun)), *ends], key=lambda t: t[1])
    return blend, loss


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
