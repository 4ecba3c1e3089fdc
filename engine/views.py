"""What the service facade returns: plain records the faces format."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# Records defined next to the code that computes them, re-exported here: the faces import them
# from this module only (``make lint`` enforces it). None of these modules loads the ML stack.
from engine.learning.labels import CLASS_SHORT, CLASSES
from engine.signals.opening import SignalEvent
from engine.signals.outbox import AlertView, ChannelAlerts, Delivery, SendAlert
from engine.signals.recent import AlertSummary, ModelRun, SignalSummary
from engine.signals.scoring import Reason, Score, usd
from engine.tracking.kols import BackfillReport, TrackChange, TrackedKol
from engine.tracking.kolstats import KolStats
from engine.tracking.positions import PositionState

__all__ = [
    "CLASSES",
    "CLASS_SHORT",
    "AlertSummary",
    "AlertPerformance",
    "AlertView",
    "BacktestGroup",
    "BacktestSummary",
    "BackfillReport",
    "ChannelAlerts",
    "ClassRate",
    "CycleReport",
    "Delivery",
    "DashboardView",
    "DemoWorld",
    "Evaluation",
    "FeedStatus",
    "FileTrainReport",
    "InsightsReport",
    "JobStatus",
    "KolForecast",
    "KolProfile",
    "KolStats",
    "ModelRun",
    "ModelView",
    "ParsedTx",
    "PatternView",
    "PerformanceGroup",
    "PositionState",
    "Prediction",
    "PredictionFile",
    "PruneReport",
    "RankedKol",
    "Reason",
    "RecentSignal",
    "RuleStats",
    "ReportCharts",
    "Score",
    "SendAlert",
    "SignalEvent",
    "BandRate",
    "Question",
    "ThreeXReport",
    "ThreeXRecap",
    "SignalSummary",
    "StatusReport",
    "TrackChange",
    "TrackedKol",
    "TrainReport",
    "WeeklyExtras",
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
    score: Score  # re-scored now, from the data as of ``as_of``
    signal_ts: datetime | None
    outcome_label: int | None
    # The score, odds and reasons stored when the signal was scored (None: no signal yet), and
    # the max multiple it reached once labeled.
    at_signal: Score | None = None
    outcome_multiple: float | None = None


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
    forecasts: list[KolForecast]  # empty for a removed KOL and one without closed positions
    tracked: bool = True  # False: removed with /track remove (its history is kept)


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A scheduled job as /status shows it."""

    name: str
    last_run: datetime | None
    last_result: str | None
    ok: bool | None
    next_run: datetime | None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """How trades come in, for /status: the push source, the poll behind it, the RPC budget."""

    push_mode: str  # "none", "logs", "helius", "webhook"
    push_state: str  # "off", "idle", "connected", "reconnecting", "down", "stopped"
    down_since: datetime | None
    last_notification: datetime | None
    notifications: int  # notifications received (duplicates and failed ones included)
    stored: int  # notified transactions read and stored
    left_to_poll: int  # notified transactions the poll has to repair
    fallback: bool  # the push source is down: the poll runs every push_fallback_poll_seconds
    reconciliation_lag_s: float | None  # how far behind now the last completed poll reached
    calls_per_hour: dict[str, float]  # JSON-RPC calls by method over the last hour
    credits_per_hour: dict[str, float]  # estimated provider credits by method (Helius prices)
    credit_budget_per_month: float  # 0: none set


@dataclass(frozen=True, slots=True)
class StatusReport:
    source: str
    as_of: datetime | None
    counts: dict[str, int]
    model_version: str | None
    model_metrics: dict[str, Any]
    jobs: list[JobStatus]
    model_note: str | None = None  # e.g. the champion is damaged and an earlier model scores
    feed: FeedStatus | None = None  # the live source's intake (None for the simulated market)


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
class ReportCharts:
    """The newest weekly report's charts (PNG files), by name."""

    week: str
    charts: dict[str, Path]


@dataclass(frozen=True, slots=True)
class DashboardView:
    """Everything ``moonbot dashboard`` shows, read in one call."""

    status: StatusReport
    signals: list[SignalSummary]
    leaderboard: list[RankedKol]
    tracked: list[TrackedKol]
    models: list[ModelRun]
    report: ReportCharts | None
    # the scheduler's jobs: live when this process runs them, else as `moonbot run` recorded
    jobs: list[JobStatus]
    jobs_live: bool


@dataclass(frozen=True, slots=True)
class RecentSignal:
    mint: str
    symbol: str
    ts: datetime
    score: int


# --- learning results -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThreeXReport:
    """The 3x+ net trained beside the outcome model (engine.learning.threex): its version (None
    when it could not be trained), whether it was promoted and why, and its holdout metrics
    (binary log-loss, AUC, precision/recall at its threshold with intervals, the base rate's
    and the outcome model's log-loss)."""

    version: str | None
    promoted: bool
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)


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
    # the class-frequency prior of the training rows on the same holdout (issue 13)
    prior_metrics: dict[str, float] = field(default_factory=dict)
    objective: str | None = None  # the shape chosen on validation rows: aft, aft+link, softprob
    prior_weight: float = 0.0  # the prior's weight in the candidate's probabilities
    threex: ThreeXReport | None = None  # the 3x+ net trained with it (/retrain, weekly job)

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
            "prior_metrics": self.prior_metrics,
            "objective": self.objective,
            "prior_weight": self.prior_weight,
            "threex": None
            if self.threex is None
            else {
                "version": self.threex.version,
                "promoted": self.threex.promoted,
                "reason": self.threex.reason,
                "metrics": self.threex.metrics,
            },
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
    # issue 13: "too small to tell" below the configured labeled count (then no drivers and no
    # patterns are claimed), and how many held-out signals (after the model's training window)
    # the drivers were tested on
    note: str | None = None
    n_heldout: int = 0
    questions: list[Question] = field(default_factory=list)  # the five questions (issue 13)
    # one chart per question that can tell, by name (engine.learning.questions.CHART_NAMES)
    question_charts: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BandRate:
    """One band of signals in an answer: its label, how many, how many hit the event, and the
    rate's 95% Wilson interval."""

    label: str
    n: int
    hits: int
    ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Question:
    """One of the five questions (engine.learning.questions) answered from the data: the event's
    rate per band (``rows``; a second breakdown in ``extra``), or ``note`` saying why the data
    cannot tell yet."""

    title: str
    event: str
    rows: list[BandRate]
    note: str | None = None
    extra_event: str | None = None
    extra: list[BandRate] = field(default_factory=list)

    @property
    def charted(self) -> bool:
        """Whether the answer gets a chart (``engine.learning.questions``): two bands or more
        to compare; a question the data cannot tell yet gets none."""
        return len(self.rows) >= 2


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    week: str
    directory: Path
    insights: InsightsReport
    charts: dict[str, Path]


@dataclass(frozen=True, slots=True)
class WeeklyExtras:
    """What the weekly post adds to the insights: last week's (None: no earlier report), this
    week's alerts and how they did, the latest backtest of the alert rule (empty: none run)."""

    previous: InsightsReport | None
    recap: AlertPerformance
    rules: list[RuleStats]
    threex: ThreeXRecap | None = None  # stored P(3x+) vs outcomes (engine.learning.weekly)


@dataclass(frozen=True, slots=True)
class ThreeXRecap:
    """P(3x+) as stored with the signals labeled in the last ``days`` days, against what
    happened: ``n`` signals had both the 3x+ net's and the outcome model's (of ``labeled`` with a
    multiple), ``hits`` reached 3x (``hit_ci``: 95% Wilson interval); the mean of each P(3x+)
    and each one's binary log-loss (lower is better)."""

    days: int
    labeled: int
    n: int
    hits: int = 0
    hit_ci: tuple[float, float] = (math.nan, math.nan)
    net_mean: float = math.nan
    outcome_mean: float = math.nan
    net_log_loss: float = math.nan
    outcome_log_loss: float = math.nan


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
class PerformanceGroup:
    """Sent alerts of one channel (or all): how many, how many labeled, and of the labeled the
    2x / 10x / rug counts with Wilson 95% intervals, the best and worst (symbol, multiple)."""

    name: str
    alerts: int
    labeled: int
    hits_2x: int
    share_2x_ci: tuple[float, float]
    hits_10x: int
    share_10x_ci: tuple[float, float]
    rugs: int
    rug_ci: tuple[float, float]
    best: tuple[str, float] | None
    worst: tuple[str, float] | None


@dataclass(frozen=True, slots=True)
class AlertPerformance:
    days: int
    as_of: datetime
    overall: PerformanceGroup
    channels: list[PerformanceGroup]


@dataclass(frozen=True, slots=True)
class RuleStats:
    """One alert set of the backtest: counts, per-day rate, and shares with 95% intervals."""

    name: str
    alerts: int
    per_day: float
    hits_2x: int
    share_2x: float
    share_2x_ci: tuple[float, float]
    hits_10x: int
    share_10x: float
    share_10x_ci: tuple[float, float]
    rugs: int
    rug_share: float
    rug_share_ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class BacktestSummary:
    score_name: str
    threshold: float | None
    n_weeks: int
    all_signals: BacktestGroup
    alerted: BacktestGroup
    chart: Path
    # The alert rule that runs against the rule alone, the model alone and all signals
    # (engine.learning.backtest), at the conviction threshold ``alert_threshold``.
    rules: tuple[RuleStats, ...] = ()
    alert_threshold: int | None = None


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
    # the model's training class frequencies (its prior) scored on the same rows (issue 13)
    prior_metrics: dict[str, float] = field(default_factory=dict)


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
