"""Walk-forward backtest: would the model's alerts have picked better tokens, week by week?

For each calendar week ``k + 1`` (weeks start Monday 00:00 UTC) a fresh model from
``model_factory`` is trained on the signals of weeks ``<= k`` whose outcome was already known
when week ``k + 1`` began (signal time ``<= week start - label_horizon``: an outcome needs its
horizon, 72 h by default, to be labeled, so the newest signals of week ``k`` are left out), then
it scores every signal of week ``k + 1``. Nothing is shuffled and no week is scored by a model
that saw it.

A signal is *alerted* when its score reaches the threshold. The score is a function of the
six class probabilities; the default, ``ml_boost``, is the conviction score's ML boost of
DESIGN.md, ``10 * P(big_win) + 15 * P(moonshot) + 20 * P(mega_moon)`` (0..20 points);
``p_10x`` (P(>= 10x)) is the other ready one. The threshold is either a fixed number of points
(``threshold``) or, with ``alert_share``, each week's ``1 - alert_share`` quantile of the model's
scores on its own training signals (scores only, no outcomes: it sets the scale, e.g. "alert
the top 20%").

For every week and overall, for all signals ("before ML") and the alerted ones ("after ML"):

- ``n``: signals;
- ``share_2x``: the share that reached >= 2x, with its Wilson 95% interval;
- ``multiple``: the typical max multiple, the *geometric* mean ``exp(mean(log multiple))``, with
  a 95% t interval of the mean log multiple, exponentiated. Max multiples are heavy-tailed (one
  1000x token moves an arithmetic mean more than a hundred rugs), so the mean of the log is
  the stable summary, and its t interval needs no random resampling: the whole backtest is
  deterministic given a deterministic model.

An improvement is claimed (``BacktestResult.improved``) only when the alerted signals' >= 2x
interval lies entirely above the interval of all signals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from ml.classes import N_CLASSES, labels_for_multiples
from ml.metrics import p_at_least, wilson_interval

ScoreFn = Callable[[np.ndarray], np.ndarray]
GROUPS: Final[tuple[str, ...]] = ("all", "alerted")
STAT_COLUMNS: Final[tuple[str, ...]] = (
    "n",
    "hits_2x",
    "share_2x",
    "share_2x_low",
    "share_2x_high",
    "multiple",
    "multiple_low",
    "multiple_high",
)
DEFAULT_THRESHOLD: Final[float] = 2.0  # ML-boost points: P(>= 10x) around 15%, ~3x a typical signal
DEFAULT_HORIZON: Final[pd.Timedelta] = pd.Timedelta(hours=72)
_WEEK: Final[pd.Timedelta] = pd.Timedelta(days=7)


class ProbaModel(Protocol):
    """What the backtest needs of a model (``ml.outcome.OutcomeModel`` is one)."""

    def fit(self, X: pd.DataFrame, y: np.ndarray, *, multiples: np.ndarray) -> Any: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


def ml_boost(probs: np.ndarray) -> np.ndarray:
    """The conviction score's ML boost: ``10*P(3) + 15*P(4) + 20*P(5)`` (0..20 points)."""
    p = np.asarray(probs, dtype=np.float64)
    return np.asarray(10.0 * p[:, 3] + 15.0 * p[:, 4] + 20.0 * p[:, 5])


def p_10x(probs: np.ndarray) -> np.ndarray:
    """P(>= 10x): the sum of the big_win, moonshot and mega_moon probabilities."""
    return p_at_least(probs, 3)


def labels_from_multiples(multiples: np.ndarray) -> np.ndarray:
    """Outcome class per max multiple: the one rule, ``ml.classes.labels_for_multiples``."""
    return labels_for_multiples(multiples)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group of signals: count, >= 2x share and typical (geometric mean) multiple."""

    n: int
    hits_2x: int
    share_2x: float
    share_2x_ci: tuple[float, float]
    multiple: float
    multiple_ci: tuple[float, float]

    @classmethod
    def of(cls, multiples: np.ndarray) -> GroupStats:
        m = np.asarray(multiples, dtype=np.float64)
        n = len(m)
        hits = int((m >= 2.0).sum())
        share = hits / n if n else math.nan
        geo, low, high = geometric_mean_interval(m)
        return cls(n, hits, share, wilson_interval(hits, n), geo, (low, high))

    def as_row(self) -> dict[str, float]:
        return {
            "n": self.n,
            "hits_2x": self.hits_2x,
            "share_2x": self.share_2x,
            "share_2x_low": self.share_2x_ci[0],
            "share_2x_high": self.share_2x_ci[1],
            "multiple": self.multiple,
            "multiple_low": self.multiple_ci[0],
            "multiple_high": self.multiple_ci[1],
        }


def geometric_mean_interval(
    multiples: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float]:
    """``exp(mean(log m))`` and the exponentiated t interval of the mean log multiple.

    NaN for no rows; the interval is NaN for one row (no spread to estimate).
    """
    m = np.asarray(multiples, dtype=np.float64)
    if len(m) == 0:
        return (math.nan, math.nan, math.nan)
    logs = np.log(m)
    centre = float(logs.mean())
    if len(m) < 2:
        return (math.exp(centre), math.nan, math.nan)
    half = float(student_t.ppf(0.5 + confidence / 2, len(m) - 1)) * float(
        logs.std(ddof=1) / math.sqrt(len(m))
    )
    return (math.exp(centre), math.exp(centre - half), math.exp(centre + half))


@dataclass(frozen=True)
class BacktestResult:
    """Per-week and overall before/after-ML statistics of a walk-forward backtest.

    ``weeks``: one row per scored week: ``week`` (its Monday, UTC), ``n_train``, ``threshold``
    and, for each group in ``GROUPS``, the ``STAT_COLUMNS`` prefixed ``all_`` / ``alerted_``.
    ``overall``: the same statistics over every scored signal. ``signals``: every scored signal
    (``ts``, ``week``, ``score``, ``alerted``, ``multiple``).
    """

    weeks: pd.DataFrame
    overall_all: GroupStats
    overall_alerted: GroupStats
    signals: pd.DataFrame
    score_name: str
    threshold: float | None
    alert_share: float | None

    @property
    def improved(self) -> bool:
        """The alerted signals' >= 2x interval lies entirely above that of all signals."""
        low = self.overall_alerted.share_2x_ci[0]
        high = self.overall_all.share_2x_ci[1]
        return bool(self.overall_alerted.n > 0 and low > high)

    def before_after(self) -> pd.DataFrame:
        """The overall table: rows "all signals" (before ML) and "alerted" (after ML)."""
        rows = [self.overall_all.as_row(), self.overall_alerted.as_row()]
        return pd.DataFrame(rows, index=pd.Index(["all signals", "alerted"], name="group"))


def _no_progress(done: int, total: int) -> None:
    return None


def walk_forward(
    frame: pd.DataFrame,
    model_factory: Callable[[], ProbaModel],
    *,
    score: ScoreFn = ml_boost,
    threshold: float | None = DEFAULT_THRESHOLD,
    alert_share: float | None = None,
    features: Sequence[str] | None = None,
    ts_col: str = "ts",
    multiple_col: str = "multiple",
    min_train_rows: int = 200,
    label_horizon: pd.Timedelta = DEFAULT_HORIZON,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Walk-forward backtest of ``model_factory`` on ``frame`` (see the module docstring).

    ``frame`` holds the features, ``ts_col`` (signal time; naive times are taken as UTC) and
    ``multiple_col`` (max multiple; rows without one are dropped). ``features`` defaults to
    every other column. Rows are put in time order (stable). A week is scored only once at least
    ``min_train_rows`` labeled signals are available before it. ``alert_share``, when given,
    replaces ``threshold`` (exactly one of them must be set). ``progress(done, total)`` is
    called before each week and once at the end (a face draws it).
    """
    if (threshold is None) == (alert_share is None):
        raise ValueError("set exactly one of threshold and alert_share")
    if alert_share is not None and not 0.0 < alert_share < 1.0:
        raise ValueError(f"alert_share must be in (0, 1), got {alert_share}")
    if min_train_rows < 1:
        raise ValueError(f"min_train_rows must be >= 1, got {min_train_rows}")
    for col in (ts_col, multiple_col):
        if col not in frame.columns:
            raise ValueError(f"frame has no {col!r} column")
    names = (
        [str(c) for c in frame.columns if c not in (ts_col, multiple_col)]
        if features is None
        else list(features)
    )
    if not names:
        raise ValueError("no feature columns")
    data = frame.loc[np.isfinite(frame[multiple_col].to_numpy(dtype=np.float64))]
    if (data[multiple_col] <= 0).any():
        raise ValueError(f"{multiple_col} must be > 0")
    # naive UTC inside (numpy datetime64); UTC-aware again in what is returned
    ts_values = pd.to_datetime(data[ts_col], utc=True).dt.tz_localize(None).to_numpy()
    order = np.argsort(ts_values, kind="stable")
    data, ts_values = data.iloc[order], ts_values[order]
    week_values = _week_start(ts_values)
    X = data.loc[:, names]
    multiples = data[multiple_col].to_numpy(dtype=np.float64)
    y = labels_from_multiples(multiples)

    rows: list[dict[str, Any]] = []
    scored: list[pd.DataFrame] = []
    weeks_all = np.unique(week_values)
    report = progress or _no_progress
    for done, start in enumerate(weeks_all):
        report(done, len(weeks_all))  # weeks finished so far
        train = ts_values <= start - label_horizon.to_timedelta64()
        n_train = int(train.sum())
        if n_train < min_train_rows:
            continue
        test = week_values == start
        model = model_factory()
        model.fit(X.loc[train], y[train], multiples=multiples[train])
        scores = _scores(model, X.loc[test], score)
        cut = (
            float(threshold)
            if threshold is not None
            else float(
                np.quantile(_scores(model, X.loc[train], score), 1.0 - float(alert_share or 0))
            )
        )
        alerted = scores >= cut
        row: dict[str, Any] = {
            "week": pd.Timestamp(start, tz="UTC"),
            "n_train": n_train,
            "threshold": cut,
        }
        for group, mask in (("all", np.ones(len(scores), dtype=bool)), ("alerted", alerted)):
            stats = GroupStats.of(multiples[test][mask]).as_row()
            row.update({f"{group}_{k}": v for k, v in stats.items()})
        rows.append(row)
        scored.append(
            pd.DataFrame(
                {
                    "ts": pd.DatetimeIndex(ts_values[test], tz="UTC"),
                    "week": pd.DatetimeIndex(week_values[test], tz="UTC"),
                    "score": scores,
                    "alerted": alerted,
                    "multiple": multiples[test],
                }
            )
        )
    report(len(weeks_all), len(weeks_all))
    columns = ["week", "n_train", "threshold"] + [f"{g}_{c}" for g in GROUPS for c in STAT_COLUMNS]
    weeks = pd.DataFrame(rows, columns=columns)
    signals = (
        pd.concat(scored, ignore_index=True)
        if scored
        else pd.DataFrame({"ts": [], "week": [], "score": [], "alerted": [], "multiple": []})
    )
    all_multiples = signals["multiple"].to_numpy(dtype=np.float64)
    alerted_multiples = all_multiples[signals["alerted"].to_numpy(dtype=bool)]
    return BacktestResult(
        weeks=weeks,
        overall_all=GroupStats.of(all_multiples),
        overall_alerted=GroupStats.of(alerted_multiples),
        signals=signals,
        score_name=getattr(score, "__name__", "score"),
        threshold=threshold,
        alert_share=alert_share,
    )


def _scores(model: ProbaModel, X: pd.DataFrame, score: ScoreFn) -> np.ndarray:
    probs = np.asarray(model.predict_proba(X), dtype=np.float64)
    if probs.shape != (len(X), N_CLASSES):
        raise ValueError(
            f"predict_proba must return shape ({len(X)}, {N_CLASSES}), got {probs.shape}"
        )
    values = np.asarray(score(probs), dtype=np.float64)
    if values.shape != (len(X),):
        raise ValueError(f"the score function must return shape ({len(X)},), got {values.shape}")
    return values


def _week_start(ts: np.ndarray) -> np.ndarray:
    """Monday 00:00 of each (naive UTC) timestamp's week."""
    days = ts.astype("datetime64[D]")
    # 1970-01-01 was a Thursday: (days + 3) % 7 is the weekday, Monday = 0
    weekday = (days.astype(np.int64) + 3) % 7
    monday: np.ndarray = (days - weekday.astype("timedelta64[D]")).astype("datetime64[ns]")
    return monday
