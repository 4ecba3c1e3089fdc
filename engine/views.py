"""What the service facade returns: plain records the faces format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.signals.opening import SignalEvent
from engine.signals.scoring import Score
from engine.tracking.kolstats import KolStats
from engine.tracking.positions import PositionState


@dataclass(frozen=True, slots=True)
class CycleReport:
    until: datetime
    new_trades: int
    events: list[SignalEvent]
    new_signals: int
    new_alerts: int
    labeled: int


@dataclass(frozen=True, slots=True)
class Prediction:
    mint: str
    symbol: str
    name: str
    as_of: datetime
    features: dict[str, float]
    score: Score
    signal_ts: datetime | None
    outcome_label: int | None


@dataclass(frozen=True, slots=True)
class KolForecast:
    """A KOL's predicted share of positions closing at 3x+ over the next ``horizon_days``."""

    horizon_days: int
    estimate: float
    low: float
    high: float
    method: str  # "empirical_bayes" or "learned"


@dataclass(frozen=True, slots=True)
class KolProfile:
    wallet: str
    name: str
    tier: str
    stats: KolStats
    is_diamond_hand: bool
    recent: list[PositionState]
    signals_triggered: int
    forecasts: list[KolForecast]


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A scheduled job as /status shows it."""

    name: str
    last_run: datetime | None
    last_result: str | None
    ok: bool | None
    next_run: datetime | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    source: str
    as_of: datetime | None
    counts: dict[str, int]
    model_version: str | None
    model_metrics: dict[str, Any]
    jobs: list[JobStatus]
