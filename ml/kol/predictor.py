"""KOL predictor: each KOL's future 7-day and 30-day 3x+ rate, from their history.

Input is an event table with one row per KOL position: ``kol`` (str), ``ts`` (UTC, timezone-aware)
and ``hit`` (bool: the position reached >= 3x). The rate predicted is the share of a KOL's
positions opened in ``(as_of, as_of + horizon]`` that will reach 3x.

Two estimators:

- ``BetaBinomialPrior`` (empirical Bayes, always available): a Beta(alpha, beta) prior over KOLs
  fitted by maximum likelihood of the beta-binomial on every KOL's (hits, events); each KOL's
  estimate is the posterior mean ``(alpha + k) / (alpha + beta + n)`` with an equal-tailed
  credible interval. Small samples shrink toward the population.
- A learned model (``BinomialGLM``: logistic regression in PyTorch, fitted by L-BFGS on the
  binomial log likelihood of the future hits, one per horizon) on features of a KOL's history as
  of a cutoff (``history_features`` -> ``glm_inputs``: log-odds of smoothed 7/30/90-day and
  all-time rates, log counts, recency, the shrunk estimate), predicting the realized rate in the
  next ``horizon`` days. Chosen over ``HistGradientBoostingClassifier`` (same history, binomial
  loss via hit/miss rows weighted by counts) by measurement on the synthetic KOLs of
  tests/ml/test_kol_predictor.py, walk-forward over weekly windows, 4 data seeds: with drifting
  skill the GLM had the lower log loss on every seed and horizon (7d: 0.537/0.513/0.525/0.518
  vs trees 0.543/0.521/0.539/0.533, EB 0.592/0.571/0.572/0.564); with stable skill both lose to
  EB, the GLM by less (7d 0.424 vs trees 0.430, EB 0.422); a fit took ~0.012 s against ~0.23 s.

``KolPredictor.fit`` compares both walk-forward on held-out later windows and keeps the learned
model for a horizon only if it beats empirical Bayes there (``comparison_`` holds the numbers);
with too little data it keeps empirical Bayes, so ``predict`` answers from the first event on.

Leakage: an event joins a KOL's history only once its outcome is known, at ``ts + label_delay``
(set it to the labelling horizon when ``hit`` is decided after a window). Training rows of a cutoff
``c`` are used to score a later cutoff ``c'`` only when ``c + horizon + label_delay <= c'``.

The fitted predictor is not saved to disk: refitting takes seconds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.special import betaincinv  # the Beta quantile; see ml.kol.betabinom

from ml.kol.betabinom import BetaBinomialPrior, as_counts
from ml.kol.history import (
    history_features,
    normalize_events,
    to_utc,
    weekly_cutoffs,
    with_future_counts,
)
from ml.threex import torch_threads

log = logging.getLogger(__name__)

EMPIRICAL_BAYES = "empirical_bayes"
LEARNED = "learned"
_P_CLIP = 1e-6
L2 = 1e-2
CLIP_Z = 5.0  # standardized GLM inputs are clipped: later windows must not extrapolate wildly


# --------------------------------------------------------------------- learned model


def glm_input_names(windows_days: Sequence[int] = (7, 30, 90)) -> list[str]:
    """Names of the ``glm_inputs`` columns."""
    names = ["logit_rate_all", "log_n_all"]
    for w in windows_days:
        names += [f"logit_rate_{w}d", f"log_n_{w}d"]
    return names + [
        "logit_eb_mean",
        "log_days_since_last",
        "log_days_since_last_hit",
        "never_hit",
        "log_tenure_days",
    ]


def glm_inputs(feats: pd.DataFrame, windows_days: Sequence[int] = (7, 30, 90)) -> np.ndarray:
    """The learned model's inputs from ``history_features`` rows (columns ``glm_input_names``).

    Rates enter as log-odds smoothed by half a hit and half a miss, ``log((k+.5)/(n-k+.5))``, so
    an empty window is 0 (even odds) with ``log1p(n) = 0`` beside it; a KOL who never hit gets
    ``days_since_last_hit = 365`` and ``never_hit = 1``.
    """
    cols: list[np.ndarray] = []
    for suffix in ["all"] + [f"{w}d" for w in windows_days]:
        k = feats[f"k_{suffix}"].to_numpy(np.float64)
        n = feats[f"n_{suffix}"].to_numpy(np.float64)
        cols += [np.log((k + 0.5) / (n - k + 0.5)), np.log1p(n)]
    eb = np.clip(feats["eb_mean"].to_numpy(np.float64), _P_CLIP, 1 - _P_CLIP)
    last_hit = feats["days_since_last_hit"].to_numpy(np.float64)
    cols += [
        np.log(eb / (1 - eb)),
        np.log1p(np.nan_to_num(feats["days_since_last"].to_numpy(np.float64), nan=365.0)),
        np.log1p(np.nan_to_num(last_hit, nan=365.0)),
        np.isnan(last_hit).astype(np.float64),
        np.log1p(np.nan_to_num(feats["tenure_days"].to_numpy(np.float64), nan=0.0)),
    ]
    return np.column_stack(cols)


class BinomialGLM:
    """Logistic regression on counts: maximizes ``sum k log p + (n - k) log(1 - p)`` per row.

    Inputs are standardized with the training means/stds; the weights (not the intercept) carry
    an L2 penalty ``l2 * |w|^2``. Fitted in float64 by full-batch L-BFGS from zero weights: the
    problem is convex, so the result is deterministic. Fitted attributes: ``means_``, ``stds_``,
    ``weights_`` (per standardized input), ``intercept_``.
    """

    def __init__(self, *, l2: float = L2, max_iter: int = 200) -> None:
        self.l2 = l2
        self.max_iter = max_iter

    def fit(self, x: np.ndarray, hits: np.ndarray, trials: np.ndarray) -> BinomialGLM:
        k, n = as_counts(hits, trials)
        if x.ndim != 2 or len(x) != len(k):
            raise ValueError(f"x must be 2-D with {len(k)} rows, got shape {x.shape}")
        if n.sum() <= 0:
            raise ValueError("no events to fit on")
        means, stds = x.mean(axis=0), x.std(axis=0)
        stds[stds < 1e-12] = 1.0
        inputs = torch.tensor(self._standardize(x, means, stds))
        k_t, n_t = torch.tensor(k), torch.tensor(n)
        weights = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
        intercept = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        with torch_threads(1):
            optimizer = torch.optim.LBFGS(
                [weights, intercept], max_iter=self.max_iter, line_search_fn="strong_wolfe"
            )

            def closure() -> torch.Tensor:
                optimizer.zero_grad()
                z = inputs @ weights + intercept
                nll = -(k_t * torch.nn.functional.logsigmoid(z))
                nll = nll - (n_t - k_t) * torch.nn.functional.logsigmoid(-z)
                loss = nll.sum() / n_t.sum() + self.l2 * (weights**2).sum()
                loss.backward()  # type: ignore[no-untyped-call]
                return loss

            optimizer.step(closure)  # type: ignore[no-untyped-call]
        self.means_: np.ndarray = means
        self.stds_: np.ndarray = stds
        self.weights_: np.ndarray = weights.detach().numpy().copy()
        self.intercept_: float = float(intercept.detach()[0])
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The predicted rate per row."""
        if not hasattr(self, "weights_"):
            raise RuntimeError("this BinomialGLM is not fitted yet; call fit()")
        z = self._standardize(x, self.means_, self.stds_) @ self.weights_ + self.intercept_
        rates: np.ndarray = np.asarray(1.0 / (1.0 + np.exp(-z)))
        return rates

    @staticmethod
    def _standardize(x: np.ndarray, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
        z: np.ndarray = np.clip((np.asarray(x, dtype=np.float64) - means) / stds, -CLIP_Z, CLIP_Z)
        return z


class KolPredictor:
    """Future 3x+ rate per KOL and horizon: empirical Bayes, or a learned model that beat it.

    Fitted attributes: ``methods_`` (horizon days -> ``"empirical_bayes"`` or ``"learned"``),
    ``models_`` (horizon -> fitted ``BinomialGLM``, only for learned horizons), ``feature_names_``,
    ``comparison_`` (horizon -> the walk-forward numbers, JSON-ready), ``data_end_``.

    The learned model wins a horizon when, over the scored windows, it has the lower binomial log
    loss per future event and the KOL-clustered paired z-score of the improvement is at least
    ``min_z`` (KOLs are the independent units: one KOL's overlapping windows are correlated), with
    at least ``min_eval_windows`` windows and ``min_eval_events`` future events scored.
    """

    def __init__(
        self,
        *,
        horizons_days: Sequence[int] = (7, 30),
        windows_days: Sequence[int] = (7, 30, 90),
        label_delay: timedelta = timedelta(0),
        confidence: float = 0.95,
        min_train_rows: int = 50,
        min_eval_windows: int = 3,
        min_eval_events: int = 200,
        max_eval_windows: int = 12,
        min_z: float = 2.0,
        l2: float = L2,
    ) -> None:
        self.horizons_days = horizons_days
        self.windows_days = windows_days
        self.label_delay = label_delay
        self.confidence = confidence
        self.min_train_rows = min_train_rows
        self.min_eval_windows = min_eval_windows
        self.min_eval_events = min_eval_events
        self.max_eval_windows = max_eval_windows
        self.min_z = min_z
        self.l2 = l2

    def _features(
        self,
        events: pd.DataFrame,
        as_of: pd.Timestamp,
        kols: Sequence[str] | None = None,
        prior: BetaBinomialPrior | None = None,
    ) -> pd.DataFrame:
        return history_features(
            events,
            as_of,
            BetaBinomialPrior(confidence=self.confidence) if prior is None else prior,
            windows_days=self.windows_days,
            label_delay=self.label_delay,
            kols=kols,
        )

    # ----------------------------------------------------------------- fitting

    def fit(
        self,
        events: pd.DataFrame,
        cutoffs: Sequence[datetime] | None = None,
        *,
        data_end: datetime | None = None,
    ) -> KolPredictor:
        """Compare empirical Bayes and the learned model walk-forward, per horizon.

        ``cutoffs`` default to ``weekly_cutoffs(events)``. ``data_end`` (when the table was built;
        default the last event's ``ts + label_delay``) limits the cutoffs whose future window is
        complete: ``cutoff + horizon + label_delay <= data_end``.
        """
        ev = normalize_events(events)
        delay = pd.Timedelta(self.label_delay)
        if data_end is not None:
            end = to_utc(data_end)
        elif ev.empty:
            end = pd.Timestamp.min.tz_localize("UTC")
        else:
            end = ev["ts"].iloc[-1] + delay
        stamps = sorted({to_utc(c) for c in (weekly_cutoffs(ev) if cutoffs is None else cutoffs)})
        tables = {c: self._features(ev, c) for c in stamps}
        self.feature_names_: list[str] = glm_input_names(self.windows_days)
        self.methods_: dict[int, str] = {}
        self.models_: dict[int, BinomialGLM] = {}
        self.comparison_: dict[int, dict[str, Any]] = {}
        self.data_end_: pd.Timestamp = end
        for h in self.horizons_days:
            span = pd.Timedelta(days=int(h))
            rows = {
                c: with_future_counts(tables[c], ev, c, span)
                for c in stamps
                if c + span + delay <= end
            }
            comparison = self._walk_forward(rows, span + delay)
            self.comparison_[int(h)] = comparison
            self.methods_[int(h)] = comparison["method"]
            if comparison["method"] == LEARNED:
                self.models_[int(h)] = self._fit_model(pd.concat(rows.values()))
            log.info(
                "KOL %dd rate: %s (%s; %d windows, %d future events)",
                h,
                comparison["method"],
                comparison["reason"],
                comparison["n_windows"],
                comparison["n_events"],
            )
        return self

    def _fit_model(self, table: pd.DataFrame) -> BinomialGLM:
        return BinomialGLM(l2=self.l2).fit(
            glm_inputs(table, self.windows_days),
            table["future_k"].to_numpy(np.float64),
            table["future_n"].to_numpy(np.float64),
        )

    def _walk_forward(
        self, rows: dict[pd.Timestamp, pd.DataFrame], resolve: pd.Timedelta
    ) -> dict[str, Any]:
        eligible = []
        for c in sorted(rows):
            train = [t for t in rows if t + resolve <= c]
            n_train = sum(len(rows[t]) for t in train)
            if n_train >= self.min_train_rows and len(rows[c]):
                eligible.append((c, train))
        eligible = eligible[-self.max_eval_windows :] if self.max_eval_windows else eligible
        units, windows = [], []
        for c, train in eligible:
            model = self._fit_model(pd.concat([rows[t] for t in train]))
            test = rows[c]
            learned = model.predict(glm_inputs(test, self.windows_days))
            k, n = test["future_k"].to_numpy(), test["future_n"].to_numpy()
            eb_nll = _binomial_nll(k, n, test["eb_mean"].to_numpy())
            learned_nll = _binomial_nll(k, n, learned)
            units.append(
                pd.DataFrame(
                    {
                        "kol": test.index,
                        "n": n,
                        "eb": eb_nll,
                        "learned": learned_nll,
                        "eb_brier": _brier(k, n, test["eb_mean"].to_numpy()),
                        "learned_brier": _brier(k, n, learned),
                    }
                )
            )
            windows.append(
                {
                    "cutoff": c.isoformat(),
                    "n_kols": len(test),
                    "n_events": int(n.sum()),
                    "eb_log_loss": float(eb_nll.sum() / n.sum()),
                    "learned_log_loss": float(learned_nll.sum() / n.sum()),
                }
            )
        return self._decide(units, windows)

    def _decide(self, units: list[pd.DataFrame], windows: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "method": EMPIRICAL_BAYES,
            "n_windows": len(windows),
            "n_events": 0,
            "windows": windows,
        }
        if not units:
            result["reason"] = "no held-out windows yet"
            return result
        scored = pd.concat(units)
        n_events = float(scored["n"].sum())
        per_kol = scored.groupby("kol")[["eb", "learned"]].sum()
        diff = (per_kol["eb"] - per_kol["learned"]).to_numpy()
        spread = float(diff.std(ddof=1)) if len(diff) > 1 else math.nan
        z = float(diff.mean() / (spread / math.sqrt(len(diff)))) if spread > 0 else math.nan
        improvement = float(diff.sum() / n_events)
        result.update(
            {
                "n_events": int(n_events),
                "n_kols": len(per_kol),
                "eb": {
                    "log_loss": float(scored["eb"].sum() / n_events),
                    "brier": float(scored["eb_brier"].sum() / n_events),
                },
                "learned": {
                    "log_loss": float(scored["learned"].sum() / n_events),
                    "brier": float(scored["learned_brier"].sum() / n_events),
                },
                "improvement_per_event": improvement,
                "z": z,
            }
        )
        if len(windows) < self.min_eval_windows or n_events < self.min_eval_events:
            result["reason"] = (
                f"too little held-out data ({len(windows)} windows, {int(n_events)} events; "
                f"need {self.min_eval_windows} and {self.min_eval_events})"
            )
        elif improvement > 0 and math.isfinite(z) and z >= self.min_z:
            result["method"] = LEARNED
            result["reason"] = f"learned beats empirical Bayes (z = {z:.1f})"
        else:
            result["reason"] = f"learned does not beat empirical Bayes (z = {z:.1f})"
        return result

    # ----------------------------------------------------------------- prediction

    def predict(
        self, events: pd.DataFrame, as_of: datetime, *, kols: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One row per KOL and horizon: ``kol, horizon, estimate, low, high, n_events, n_hits,
        method``.

        Only events known by ``as_of`` are used. ``kols`` defaults to every KOL with an event at
        or before ``as_of``; a KOL without known events gets the population prior (n_events 0).
        ``horizon`` is in days. ``low``/``high`` are the ``confidence`` credible interval; for the
        learned model they are approximate: the Beta with the empirical-Bayes posterior's
        concentration ``alpha + beta + n``, re-centred on the learned estimate.
        """
        if not hasattr(self, "methods_"):
            raise RuntimeError("this KolPredictor is not fitted yet; call fit()")
        ev = normalize_events(events)
        stamp = to_utc(as_of)
        kols = (
            sorted(set(ev.loc[ev["ts"] <= stamp, "kol"]))
            if kols is None
            else list(dict.fromkeys(kols))
        )
        prior = BetaBinomialPrior(confidence=self.confidence)
        feats = self._features(ev, stamp, kols=kols, prior=prior)
        n = feats["n_all"].to_numpy()
        concentration = prior.alpha_ + prior.beta_ + n
        tail = (1.0 - self.confidence) / 2.0
        frames = []
        for h in self.horizons_days:
            estimate = feats["eb_mean"].to_numpy().copy()
            low, high = feats["eb_low"].to_numpy().copy(), feats["eb_high"].to_numpy().copy()
            method = np.full(len(feats), EMPIRICAL_BAYES, dtype=object)
            model = self.models_.get(int(h))
            learned_rows = n > 0
            if model is not None and learned_rows.any():
                x = glm_inputs(feats.loc[learned_rows], self.windows_days)
                p = np.clip(model.predict(x), _P_CLIP, 1 - _P_CLIP)
                a = p * concentration[learned_rows]
                b = (1 - p) * concentration[learned_rows]
                estimate[learned_rows] = p
                low[learned_rows] = betaincinv(a, b, tail)
                high[learned_rows] = betaincinv(a, b, 1 - tail)
                method[learned_rows] = LEARNED
            frames.append(
                pd.DataFrame(
                    {
                        "kol": feats.index.to_numpy(),
                        "horizon": int(h),
                        "estimate": estimate,
                        "low": low,
                        "high": high,
                        "n_events": n.astype(np.int64),
                        "n_hits": feats["k_all"].to_numpy().astype(np.int64),
                        "method": method,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["kol", "horizon"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------- helpers


def _binomial_nll(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row ``-(k log p + (n - k) log(1 - p))``: the log loss summed over the row's events."""
    q = np.clip(np.asarray(p, dtype=np.float64), _P_CLIP, 1 - _P_CLIP)
    return np.asarray(-(k * np.log(q) + (n - k) * np.log1p(-q)))


def _brier(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row squared error summed over the row's events: ``k (1-p)^2 + (n-k) p^2``."""
    q = np.asarray(p, dtype=np.float64)
    return np.asarray(k * (1 - q) ** 2 + (n - k) * q**2)
