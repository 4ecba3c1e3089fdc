"""Scores a signal's features with the champion outcome model: probabilities, boost, reasons."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import ModelUnavailable
from engine.signals.conviction import ml_boost, rule_score
from engine.signals.features import FEATURE_NAMES, feature_vector
from ml.metrics import THREEX_SHARE_OF_SMALL_WIN
from ml.registry import Registry, RegistryError
from ml.schema import feature_schema_hash

if TYPE_CHECKING:  # the model's libraries load with the model, not with this module
    from ml.outcome import OutcomeModel

log = logging.getLogger(__name__)

SCHEMA_HASH = feature_schema_hash(FEATURE_NAMES)
KIND = "outcome"
EXTRA_PREFIX = "x_"  # a data file's own numeric columns that become features (issue 13)


def extra_features(names: Sequence[str]) -> list[str] | None:
    """The ``x_*`` names after FEATURE_NAMES in a model's feature list; None when the list is
    not FEATURE_NAMES followed only by such names (a model of another schema)."""
    base = len(FEATURE_NAMES)
    if tuple(names[:base]) != FEATURE_NAMES:
        return None
    extra = list(names[base:])
    return extra if all(n.startswith(EXTRA_PREFIX) for n in extra) else None


def schema_hash_for(names: Sequence[str]) -> str:
    """The schema hash a model of ``names`` is checked against: its own when it is
    FEATURE_NAMES plus ``x_*`` columns (scored from files that carry them), else the current
    FEATURE_NAMES hash (so that any other list is a mismatch)."""
    return feature_schema_hash(names) if extra_features(names) else SCHEMA_HASH


def usd(v: float | None) -> str:
    """$62.4k-style amounts ("n/a" when unknown)."""
    if v is None or math.isnan(v):
        return "n/a"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= size:
            return f"${v / size:.1f}{unit}"
    return f"${v:.0f}"


def _yes(text: str, negated: str) -> Callable[[float], str]:
    return lambda v: text if v >= 1 else negated


_PHRASES: dict[str, Callable[[float], str]] = {
    "holder_top10_pct": lambda v: f"top-10 holders own {v:.0f}%",
    "holder_top3_pct": lambda v: f"top-3 holders own {v:.0f}%",
    "holder_top1_pct": lambda v: f"largest holder owns {v:.0f}%",
    "holder_count": lambda v: f"{v:.0f} holders",
    "holder_growth_rate": lambda v: f"holders {v:+.0%} in the last hour",
    "holder_gini_coefficient": lambda v: f"holder Gini {v:.2f}",
    "holder_median_balance": lambda v: f"median holder {v:,.0f} tokens",
    "volume_24h": lambda v: f"24h volume {usd(v)}",
    "volume_to_mcap_ratio": lambda v: f"24h volume {v:.2f}x market cap",
    "volume_spike_vs_avg": lambda v: f"last-hour volume {v:.1f}x the 24h average",
    "liquidity_depth": lambda v: f"liquidity {usd(v)}",
    "liquidity_to_mcap": lambda v: f"liquidity {v:.0%} of market cap",
    "kol_count": lambda v: f"{v:.0f} KOLs bought",
    "kol_elite_count": lambda v: f"{v:.0f} elite KOLs",
    "kol_top_count": lambda v: f"{v:.0f} top-tier KOLs",
    "kol_avg_win_rate": lambda v: f"KOL win rate {v:.0%}",
    "kol_total_sol": lambda v: f"KOLs put in {v:.1f} SOL",
    "kol_entry_speed": lambda v: f"first KOL buy {v:.0f} min after launch",
    "price_momentum_5m": lambda v: f"price {v:+.0%} in 5 min",
    "price_momentum_1h": lambda v: f"price {v:+.0%} in 1 h",
    "price_momentum_24h": lambda v: f"price {v:+.0%} in 24 h",
    "unique_buyers_first_hour": lambda v: f"{v:.0f} buys in the first hour",
    "avg_buy_size": lambda v: f"average trade {usd(v)}",
    "token_age_hours": lambda v: f"{v:.1f} h old",
    "narrative_match": _yes("rides a narrative", "no narrative"),
    "narrative_count": lambda v: f"{v:.0f} same-narrative signals in 24 h",
    "narrative_weight": lambda v: f"narrative weight {v:.1f}",
    "narrative_fresh": _yes("a fresh narrative", "not a fresh narrative"),
    "sol_price": lambda v: f"SOL at {usd(v)}",
    "overall_market_sentiment": lambda v: f"market sentiment {v:+.2f}",
    "bundle_detected": _yes("bundled at launch", "no launch bundle"),
    "bundle_severity": lambda v: f"launch bundle {v:.0%} of supply",
    "dev_sell_detected": _yes("dev already sold", "dev has not sold"),
    "top_holder_is_dev": _yes("dev is the top holder", "dev is not the top holder"),
}


def describe(feature: str, value: float) -> str:
    """A feature value in words ("3 elite KOLs")."""
    if math.isnan(value):
        return f"{feature} unknown"
    phrase = _PHRASES.get(feature)
    return phrase(value) if phrase is not None else f"{feature} = {value:.3g}"


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


def outcome_p_threex(probabilities: Sequence[float] | None) -> float | None:
    """The outcome model's own P(3x+) from its six class probabilities (``ml.metrics.p_threex``
    of one row); None without them."""
    if probabilities is None:
        return None
    p = probabilities
    return float(sum(p[2:]) + THREEX_SHARE_OF_SMALL_WIN * p[1])


@dataclass(frozen=True, slots=True)
class Score:
    rule: int
    boost: int = 0
    probabilities: tuple[float, ...] | None = None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    model_version: str | None = None
    # The promoted 3x+ net (engine.learning.threex): its calibrated P(3x+), whether its score
    # passes its validation-chosen threshold, and its version; None without a promoted net.
    threex_p: float | None = None
    threex_flag: bool | None = None
    threex_threshold: float | None = None
    threex_version: str | None = None

    def threex_json(self) -> dict[str, Any] | None:
        """The 3x+ net's part as stored with a signal or an alert (``Signal.threex``); None
        without a promoted net."""
        if self.threex_p is None:
            return None
        return {
            "p": self.threex_p,
            "flag": self.threex_flag,
            "threshold": self.threex_threshold,
            "version": self.threex_version,
        }

    @staticmethod
    def threex_fields(stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """``threex_json`` read back as keyword arguments of ``Score`` (empty for None)."""
        if not stored:
            return {}
        return {
            "threex_p": float(stored["p"]),
            "threex_flag": None if stored.get("flag") is None else bool(stored["flag"]),
            "threex_threshold": (
                None if stored.get("threshold") is None else float(stored["threshold"])
            ),
            "threex_version": stored.get("version"),
        }

    @property
    def outcome_p_threex(self) -> float | None:
        """The outcome model's own P(3x+) (``outcome_p_threex`` of its probabilities)."""
        return outcome_p_threex(self.probabilities)

    @property
    def total(self) -> int:
        return self.rule + self.boost

    @property
    def predicted(self) -> int | None:
        if self.probabilities is None:
            return None
        return int(np.argmax(self.probabilities))


class Scorer:
    """Holds the champion outcome model: loaded on first use (an answer that needs no model never
    loads xgboost), dropped by ``reload`` after a promotion and loaded again when next needed.

    A champion that cannot be used (damaged, swapped, trained on other features) is not fatal:
    the newest earlier model that loads takes its place, and ``note`` says so (``/status``)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._model: OutcomeModel | None = None
        self._version: str | None = None
        self._loaded = False
        self.note: str | None = None
        self._threex: tuple[str, Any] | None = None
        self._threex_loaded = False

    def reload(self) -> None:
        self._model, self._version, self._loaded, self.note = None, None, False, None
        self._threex, self._threex_loaded = None, False

    def loaded(self) -> Scorer:
        """A new scorer over the same registry with the champion and the 3x+ net already
        loaded: call it in a worker thread (``asyncio.to_thread``), then ``adopt`` it on the
        loop, so that a promotion never makes a chat reply wait for the models to load."""
        from ml.explain import prepare_reasons

        fresh = Scorer(self.registry)
        fresh._load()
        if fresh._model is not None:
            prepare_reasons(fresh._model)  # the reasons' lookup tables, ~0.5 s, built lazily
        fresh.threex()
        return fresh

    def adopt(self, other: Scorer) -> None:
        """Score with ``other``'s loaded models from now on, in one step (no reply ever sees
        half of them)."""
        self._model, self._version, self._loaded, self.note = (
            other._model,
            other._version,
            other._loaded,
            other.note,
        )
        self._threex, self._threex_loaded = other._threex, other._threex_loaded

    def threex(self) -> tuple[str, Any] | None:
        """The promoted 3x+ net and its version (loaded on first use), or None."""
        if not self._threex_loaded:
            from engine.learning.threex import load_threex_champion

            self._threex = load_threex_champion(self.registry)
            self._threex_loaded = True
        return self._threex

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            champion = self.registry.champion(KIND)
            if champion is None:
                return
            self._model = self.registry.load(None, kind=KIND, expected_schema_hash=SCHEMA_HASH)
            self._version = champion.version
        except RegistryError as exc:
            log.warning("champion model not usable: %s", exc)
            self._fall_back(str(exc))

    def _fall_back(self, why: str) -> None:
        """Score with the newest earlier model that loads, the champion being unusable."""
        for info in self.registry.list(KIND):  # newest first
            if info.champion or info.metrics.get("beats_prior") is False:
                continue  # a candidate that lost to the class-frequency prior is never used
            try:
                self._model = self.registry.load(
                    info.version, kind=KIND, expected_schema_hash=SCHEMA_HASH
                )
            except RegistryError:
                continue
            self._version = info.version
            self.note = f"the champion is not usable ({why}); scoring with {info.version}"
            log.warning("%s", self.note)
            return
        self.note = f"the champion is not usable ({why}) and no earlier model loads"

    @property
    def version(self) -> str | None:
        self._load()
        return self._version

    @property
    def model(self) -> OutcomeModel | None:
        self._load()
        return self._model

    def require_model(self) -> OutcomeModel:
        model = self.model
        if model is None:
            raise ModelUnavailable(self.no_model_text())
        return model

    def no_model_text(self) -> str:
        """Why there is no model to score with, in one line for the faces."""
        if self.note:
            return f"no usable model: {self.note}"
        if self.registry.champion(KIND) is None and self.registry.list(KIND):
            return (
                "no promoted model: no trained candidate has beaten the class-frequency prior "
                "on its holdout yet (scores are rule scores only; /retrain when more signals "
                "are labeled)"
            )
        return "no trained model yet: run /retrain (or `moonbot train`) first"

    def score(self, features: Mapping[str, float], *, k_reasons: int = 3) -> Score:
        rule = rule_score(features)
        model = self.model
        if model is None:
            return Score(rule=rule)
        import pandas as pd

        from ml.explain import top_reasons

        row = pd.DataFrame([feature_vector(features)], columns=list(FEATURE_NAMES))
        probs = model.predict_proba(row)[0]
        # A missing value moves the odds too, but "X unknown" tells a trader nothing: the reasons
        # shown are the strongest among the facts known.
        known = [r for r in top_reasons(model, row, k=k_reasons + 6) if not math.isnan(r.value)]
        reasons = tuple(Reason(r.feature, r.value, r.contribution) for r in known[:k_reasons])
        threex = self.threex()
        extra: dict[str, Any] = {}
        if threex is not None:
            version, net = threex
            extra = {
                "threex_p": float(net.calibrated_proba(row)[0]),
                "threex_flag": bool(net.predict(row)[0]),
                "threex_threshold": float(net.threshold_),
                "threex_version": version,
            }
        return Score(
            rule=rule,
            boost=ml_boost(probs),
            probabilities=tuple(float(p) for p in probs),
            reasons=reasons,
            model_version=self._version,
            **extra,
        )
