"""What the service facade returns: plain records the faces format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Records defined next to the code that computes them, re-exported here: the faces import them
# from this module only (``make lint`` enforces it). None of these modules loads the ML stack.
from engine.learning.labels import CLASS_SHORT, CLASSES
from engine.signals.opening import SignalEvent
from engine.signals.outbox import AlertView, ChannelAlerts, Delivery, SendAlert
from engine.signals.scoring import Reason, Score, usd
from engine.tracking.kols import BackfillReport, TrackChange, TrackedKol
from engine.tracking.kolstats import KolStats
from engine.tracking.positions import PositionState

__all__ = [
    "CLASSES",
    "CLASS_SHORT",
    "AlertView",
    "BacktestGroup",
    "BacktestSummary",
    "BackfillReport",
    "ChannelAlerts",
    "ClassRate",
    "CycleReport",
    "Delivery",
    "DemoWorld",
    "Evaluation",
    "FileTrainReport",
    "InsightsReport",
    "JobStatus",
    "KolForecast",
    "KolProfile",
    "KolStats",
    "ModelView",
    "ParsedTx",
    "PatternView",
    "PositionState",
    "Prediction",
    "PredictionFile",
    "PruneReport",
    "RankedKol",
    "Reason",
    "RecentSignal",
    "Score",
    "SendAlert",
    "SignalEvent",
    "StatusReport",
    "TrackChange",
    "TrackedKol",
    "TrainReport",
    "WeeklyReport",
    "usd",
]


@dataclass(frozen=True, slots=True)
class CycleReport:
    until: datetime
    new_trades: int
    events: list[SignalEvent]
    new_signals: int
    new_alerts: int
    labeled: int
    # Wallets (source failed, poll budget spent) and mints (signal step failed) left for the
    # next cycle.
    left_for_next: tuple[str, ...] = ()


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
    model_note: str | None = None  # e.g. the champion is damaged and an earlier model scores


@dataclass(frozen=True, slots=True)
class ParsedTx:
    """One transaction read by ``moonbot parse-tx``: its swaps (one dict per trade, the fields of
    the parser's record) or none, and whether it failed on chain."""

    signature: str
    failed: bool
    trades: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DemoWorld:
    """The simulated market ``moonbot demo`` runs on."""

    seed: int
    start: datetime
    n_days: int
    n_kols: int
    n_tokens: int
    n_trades: int
    n_snapshots: int


@dataclass(frozen=True, slots=True)
class RankedKol:
    """A KOL in the Diamond Hand ranking."""

    name: str
    wallet: str
    stats: KolStats


@dataclass(frozen=True, slots=True)
class RecentSignal:
    mint: str
    symbol: str
    ts: datetime
    score: int


# --- learning results -----------------------------------------------------------------------


@dataclass(slots=True)
class TrainReport:
    version: str
    n_train: int
    n_holdout: int
    window: tuple[str, str]
    metrics: dict[str, float]
    promoted: bool
    reason: str
    champion_version: str | None = None
    champion_metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "n_train": self.n_train,
            "n_holdout": self.n_holdout,
            "window": list(self.window),
            "metrics": self.metrics,
            "promoted": self.promoted,
            "reason": self.reason,
            "champion_version": self.champion_version,
            "champion_metrics": self.champion_metrics,
        }


@dataclass(frozen=True, slots=True)
class ClassRate:
    name: str
    count: int
    ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class PatternView:
    """A mined pattern as the faces show it: its conditions (``feature op threshold``, AND-ed),
    how many signals matched and how many of them reached 2x and 10x, against the base rates."""

    conditions: tuple[tuple[str, str, float], ...]
    condition: str  # the conditions in words
    n: int
    wins_2x: int
    wins_10x: int
    base_2x: float
    base_10x: float
    ci_2x: tuple[float, float]  # 95% Wilson intervals of the 2x and 10x rates
    ci_10x: tuple[float, float]

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(feature for feature, _, _ in self.conditions)

    @property
    def rate_2x(self) -> float:
        return self.wins_2x / self.n

    @property
    def rate_10x(self) -> float:
        return self.wins_10x / self.n

    @property
    def lift_2x(self) -> float:
        return self.rate_2x / self.base_2x if self.base_2x > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class InsightsReport:
    n_signals: int
    model_version: str | None
    top_features: list[tuple[str, float]]
    class_rates: list[ClassRate]
    winning: list[PatternView]
    losing: list[PatternView]
    chart_path: Path | None
    week: str | None = None  # the weekly report these come from; None: computed just now


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    week: str
    directory: Path
    insights: InsightsReport
    charts: dict[str, Path]


@dataclass(frozen=True, slots=True)
class BacktestGroup:
    """One group of backtested signals: count, share reaching 2x (95% interval) and the
    typical (geometric mean) max multiple with its interval."""

    n: int
    share_2x: float
    share_2x_ci: tuple[float, float]
    multiple: float
    multiple_ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class BacktestSummary:
    score_name: str
    threshold: float | None
    n_weeks: int
    all_signals: BacktestGroup
    alerted: BacktestGroup
    chart: Path


@dataclass(slots=True)
class FileTrainReport:
    report: TrainReport
    n_rows: int
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Evaluation:
    version: str
    metrics: dict[str, float]  # log_loss, accuracy, auc_2x, auc_10x, n
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PredictionFile:
    version: str
    n_rows: int
    out_path: Path
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PruneReport:
    deleted: list[str]
    kept: list[str]


@dataclass(frozen=True, slots=True)
class ModelView:
    """A saved model as ``models list`` shows it."""

    version: str
    kind: str
    trained_at: str  # ISO-8601, UTC
    n_samples: int
    metrics: dict[str, Any]
    champion: bool
    schema_ok: bool  # trained on the feature list this version of moonbot scores
