"""Scores a signal's features with the champion outcome model: probabilities, boost, reasons."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.conviction import ml_boost, rule_score
from engine.errors import ModelUnavailable
from engine.features import FEATURE_NAMES, feature_vector
from ml.explain import top_reasons
from ml.outcome import OutcomeModel
from ml.registry import ModelNotFound, Registry, RegistryError
from ml.schema import feature_schema_hash

log = logging.getLogger(__name__)

SCHEMA_HASH = feature_schema_hash(FEATURE_NAMES)
KIND = "outcome"

_PHRASES: dict[str, str] = {
    "kol_count": "{v:.0f} KOLs bought",
    "kol_elite_count": "{v:.0f} elite KOLs",
    "kol_top_count": "{v:.0f} top-tier KOLs",
    "holder_top10_pct": "top-10 holders own {v:.0f}%",
    "holder_top1_pct": "largest holder owns {v:.0f}%",
    "volume_to_mcap_ratio": "24h volume {v:.2f}x market cap",
    "narrative_match": "{b} a narrative",
    "bundle_detected": "{b} bundled at launch",
    "dev_sell_detected": "{b} dev already sold",
    "token_age_hours": "{v:.1f} h old",
    "kol_avg_win_rate": "KOL win rate {p:.0f}%",
    "liquidity_to_mcap": "liquidity {p:.0f}% of market cap",
}


def describe(feature: str, value: float) -> str:
    """A feature value in words ("3 elite KOLs")."""
    if math.isnan(value):
        return f"{feature} unknown"
    template = _PHRASES.get(feature)
    if template is None:
        return f"{feature} = {value:.3g}"
    yes = "matches" if feature == "narrative_match" else "yes:"
    no = "no" if feature != "narrative_match" else "matches no"
    return template.format(v=value, p=100 * value, b=yes if value >= 1 else no)


@dataclass(frozen=True, slots=True)
class Reason:
    feature: str
    value: float
    contribution: float  # log-odds toward the >= 10x classes

    @property
    def text(self) -> str:
        return f"{describe(self.feature, self.value)}: {self.contribution:+.2f} toward 10x+"

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": self.value, "contribution": self.contribution}


@dataclass(frozen=True, slots=True)
class Score:
    rule: int
    boost: int = 0
    probabilities: tuple[float, ...] | None = None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    model_version: str | None = None

    @property
    def total(self) -> int:
        return self.rule + self.boost

    @property
    def predicted(self) -> int | None:
        if self.probabilities is None:
            return None
        return int(np.argmax(self.probabilities))


class Scorer:
    """Holds the champion outcome model (loaded lazily, reloaded after a promotion)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._model: OutcomeModel | None = None
        self._version: str | None = None

    def reload(self) -> None:
        self._model, self._version = None, None
        champion = self.registry.champion(KIND)
        if champion is None:
            return
        try:
            self._model = self.registry.load(None, kind=KIND, expected_schema_hash=SCHEMA_HASH)
            self._version = champion.version
        except RegistryError as exc:
            log.warning("champion model not usable: %s", exc)

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def model(self) -> OutcomeModel | None:
        return self._model

    def require_model(self) -> OutcomeModel:
        if self._model is None:
            raise ModelUnavailable("no trained model yet: run /retrain (or `moonbot train`) first")
        return self._model

    def score(self, features: Mapping[str, float], *, k_reasons: int = 3) -> Score:
        rule = rule_score(features)
        if self._model is None:
            return Score(rule=rule)
        row = pd.DataFrame([feature_vector(features)], columns=list(FEATURE_NAMES))
        probs = self._model.predict_proba(row)[0]
        reasons = tuple(
            Reason(r.feature, r.value, r.contribution)
            for r in top_reasons(self._model, row, k=k_reasons)
        )
        return Score(
            rule=rule,
            boost=ml_boost(probs),
            probabilities=tuple(float(p) for p in probs),
            reasons=reasons,
            model_version=self._version,
        )


__all__ = ["KIND", "SCHEMA_HASH", "ModelNotFound", "Reason", "Score", "Scorer", "describe"]
