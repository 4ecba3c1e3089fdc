"""The 3x+ net (``ml.threex``) in the product: trained with the outcome model, compared with its
prior and its champion on the same holdout, registered as kind ``threex``, promoted by the same
rules (issue 13).

The holdout is the outcome model's (the most recent ``holdout_fraction`` of labeled signals).
On it, P(3x+) is scored three ways: the net's calibrated probability, the training base rate
(the net's prior: one probability for every signal), and the outcome model's own P(3x+)
(``ml.metrics.p_threex``). The net is promoted only when its binary log-loss beats the prior's
and, when there is a usable champion net, the champion's, each by ``min_gain``. Precision and
recall at the net's validation-chosen threshold (``ml.binary.evaluate``) come with their counts
and Wilson intervals, for ``/retrain``'s answer.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Final

import numpy as np

from engine.learning.training import Dataset, time_split
from engine.signals.features import FEATURE_NAMES
from engine.views import ThreeXReport
from ml.binary import evaluate
from ml.metrics import binary_log_loss, p_threex
from ml.registry import Registry, RegistryError
from ml.schema import feature_schema_hash

log = logging.getLogger(__name__)

THREEX_KIND: Final = "threex"
THREEX_SCHEMA_HASH: Final = feature_schema_hash(FEATURE_NAMES)


def train_threex(
    ds: Dataset,
    registry: Registry,
    *,
    holdout_fraction: float,
    min_gain: float,
    outcome_probs: np.ndarray | None = None,
    params: dict[str, Any] | None = None,
) -> ThreeXReport:
    """Fit a 3x+ net on the older signals, score it on the holdout, register, promote or not.

    ``outcome_probs``: the outcome candidate's class probabilities on the same holdout, for the
    comparison with its own P(3x+)."""
    from ml.threex import ThreeXNet, threex_labels

    train, holdout = time_split(ds, holdout_fraction)
    truth_train = threex_labels(train.multiples)
    truth = threex_labels(holdout.multiples)
    base_rate = float(truth_train.mean()) if len(truth_train) else math.nan
    if not 0.0 < base_rate < 1.0 or len(holdout) == 0:
        return ThreeXReport(
            version=None,
            promoted=False,
            reason="3x+ net not trained: the training signals need both 3x+ and not",
        )
    X_train, X_hold = train.X[list(FEATURE_NAMES)], holdout.X[list(FEATURE_NAMES)]
    try:
        net = ThreeXNet(**(params or {})).fit(X_train, truth_train)
    except ValueError as exc:  # e.g. one class only in the net's own training part
        return ThreeXReport(version=None, promoted=False, reason=f"3x+ net not trained: {exc}")
    calibrated = net.calibrated_proba(X_hold)
    at_threshold = evaluate(truth, net.predict_proba(X_hold), net.threshold_)
    metrics: dict[str, Any] = {
        "log_loss": binary_log_loss(calibrated, truth),
        "auc": at_threshold["auc"],
        "precision": at_threshold["precision"],
        "precision_low": at_threshold["precision_low"],
        "precision_high": at_threshold["precision_high"],
        "recall": at_threshold["recall"],
        "recall_low": at_threshold["recall_low"],
        "recall_high": at_threshold["recall_high"],
        "n_flagged": at_threshold["n_flagged"],
        "true_positives": at_threshold["true_positives"],
        "n_pos": at_threshold["n_pos"],
        "n": at_threshold["n"],
        "threshold": net.threshold_,
        "prior_log_loss": binary_log_loss(np.full(len(truth), base_rate), truth),
        "base_rate": base_rate,
    }
    if outcome_probs is not None and len(outcome_probs) == len(truth):
        mine = p_threex(outcome_probs)
        metrics["outcome_log_loss"] = binary_log_loss(mine, truth)
        metrics["outcome_auc"] = evaluate(truth, mine, 0.5)["auc"]
    champion_loss = _champion_loss(registry, X_hold, truth)
    if champion_loss is not None:
        metrics["champion_log_loss"] = champion_loss
    promoted, reason = _decide(metrics, champion_loss, min_gain)
    window = (train.ts[0].isoformat(), train.ts[-1].isoformat())
    try:
        info = registry.save(
            net,
            kind=THREEX_KIND,
            metrics={
                **metrics,
                "beats_prior": metrics["log_loss"] <= metrics["prior_log_loss"] - min_gain,
            },
            training_window=window,
            n_samples=len(train),
            promote_first=False,
        )
        if promoted:
            registry.promote(info.version)
    except RegistryError as exc:
        return ThreeXReport(version=None, promoted=False, reason=f"3x+ net not saved: {exc}")
    return ThreeXReport(version=info.version, promoted=promoted, reason=reason, metrics=metrics)


def load_threex_champion(registry: Registry) -> tuple[str, Any] | None:
    """The promoted 3x+ net and its version, or None (none yet, or it does not load)."""
    from ml.threex import ThreeXNet

    info = registry.champion(THREEX_KIND)
    if info is None or info.feature_schema_hash != THREEX_SCHEMA_HASH:
        return None
    try:
        return info.version, ThreeXNet.load(info.path)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        log.warning("3x+ champion %s not usable: %s", info.version, exc)
        return None


def _champion_loss(registry: Registry, X: Any, truth: np.ndarray) -> float | None:
    champion = load_threex_champion(registry)
    if champion is None:
        return None
    return binary_log_loss(champion[1].calibrated_proba(X), truth)


def _decide(
    metrics: dict[str, Any], champion_loss: float | None, min_gain: float
) -> tuple[bool, str]:
    loss, prior = float(metrics["log_loss"]), float(metrics["prior_log_loss"])
    versus = f"3x+ log-loss {loss:.4f} vs the base rate's {prior:.4f}"
    if loss > prior - min_gain:
        return False, f"3x+ net not promoted: it does not beat the base rate ({versus})"
    if champion_loss is not None and loss > champion_loss - min_gain:
        return False, f"3x+ net kept the champion: {loss:.4f} vs {champion_loss:.4f}"
    return True, f"3x+ net promoted ({versus})"
