"""What the model and the data say: feature importance, patterns with intervals, a chart.

``build_insights`` computes them from the labeled signals and the champion model; nothing is
hand-written. The weekly report (``engine.learning.report``) stores what it computed as
``<reports>/<week>/insights.json`` with what it was computed from (the labeled signals and the
model version); ``latest_insights`` gives that back as long as both are still current, so
``/insights`` answers from the week's report instead of mining again, and says so (``week``).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.learning.labels import CLASSES
from engine.learning.questions import answer_questions, write_question_charts
from engine.learning.training import Dataset
from engine.views import BandRate, ClassRate, InsightsReport, PatternView, Question
from ml.charts.base import feature_importance_figure, figure_to_png
from ml.explain import global_importance
from ml.metrics import wilson_interval
from ml.outcome import OutcomeModel
from ml.rules.miner import mine_patterns
from ml.rules.patterns import Condition, Pattern
from ml.sidecar import write_json_atomic

RECENT_ROWS = 3000  # the latest labeled signals that insights and the weekly report describe
# Below this many labeled signals insights say the sample is too small to tell (issue 13: on 150
# signals the report had ranked sol_price, a feature with no effect, as a top driver).
MIN_LABELED = 300
INSIGHTS_FILE = "insights.json"
CHART_FILE = "feature_importance.png"
_FORMAT = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LabeledData:
    """Which labeled signals insights were computed from: how many, and the latest signal."""

    count: int
    latest_signal: datetime | None

    @classmethod
    def of(cls, ds: Dataset) -> LabeledData:
        return cls(len(ds), max(ds.ts) if len(ds) else None)


def heldout_rows(ds: Dataset, model: OutcomeModel | None) -> Dataset:
    """The signals after the model's training window (``training_window_``, set when it was
    loaded from the registry): the only ones its calibration and its drivers are judged on.
    Empty without a model or a known window."""
    window = getattr(model, "training_window_", None)
    if model is None or not window:
        return ds.rows(slice(0, 0))
    try:
        end = datetime.fromisoformat(window[1])
    except ValueError:
        return ds.rows(slice(0, 0))
    first = next((i for i, t in enumerate(ds.ts) if t > end), len(ds))
    return ds.rows(slice(first, len(ds)))


def drivers(model: OutcomeModel, heldout: Dataset, features: list[str], seed: int = 0) -> list[str]:
    """The ``features`` whose permutation on held-out signals raises the log-loss with a 95%
    interval (paired per-row differences) above zero: the ones shown to matter."""
    if len(heldout) < 30:
        return []
    rng = np.random.default_rng(seed)
    rows = np.arange(len(heldout))
    base = -np.log(np.clip(model.predict_proba(heldout.X)[rows, heldout.y], 1e-15, 1.0))
    kept: list[str] = []
    for name in features:
        shuffled = heldout.X.copy()
        shuffled[name] = rng.permutation(shuffled[name].to_numpy())
        loss = -np.log(np.clip(model.predict_proba(shuffled)[rows, heldout.y], 1e-15, 1.0))
        diff = loss - base
        if diff.mean() - 1.96 * diff.std(ddof=1) / math.sqrt(len(diff)) > 0:
            kept.append(name)
    return kept


def build_insights(
    ds: Dataset,
    model: OutcomeModel | None,
    model_version: str | None,
    reports_dir: Path,
    min_labeled: int = MIN_LABELED,
) -> InsightsReport:
    recent = ds.rows(slice(max(0, len(ds) - RECENT_ROWS), len(ds)))
    n = len(recent)
    rates = [
        ClassRate(name, int((recent.y == k).sum()), wilson_interval(int((recent.y == k).sum()), n))
        for k, name in enumerate(CLASSES)
    ]
    small = len(ds) < min_labeled
    note = (
        f"the sample is too small to tell: {len(ds)} labeled signals "
        f"(drivers and patterns need at least {min_labeled})"
        if small
        else None
    )
    mined = (
        None if small else mine_patterns(recent.X, recent.multiples, min_support=max(20, n // 40))
    )
    top: list[tuple[str, float]] = []
    chart: Path | None = None
    heldout = heldout_rows(ds, model)
    if model is not None and n:
        importance = global_importance(model, recent.X)
        shown = [] if small else drivers(model, heldout, [str(f) for f in importance.index[:8]])
        pulls = {str(f): float(v) for f, v in importance["all"].items()}
        top = [(f, pulls[f]) for f in shown]
        reports_dir.mkdir(parents=True, exist_ok=True)
        chart = reports_dir / CHART_FILE
        title = f"What drives outcomes ({n} signals)"
        if small:
            title = f"Mean |SHAP| on {n} signals: too few to tell drivers"
        fig = feature_importance_figure(importance, title=title)
        chart.write_bytes(figure_to_png(fig))
    questions = answer_questions(recent)
    return InsightsReport(
        n_signals=n,
        model_version=model_version,
        top_features=top,
        class_rates=rates,
        winning=[] if mined is None else [pattern_view(p) for p in mined.winning[:3]],
        losing=[] if mined is None else [pattern_view(p) for p in mined.losing[:3]],
        chart_path=chart,
        note=note,
        n_heldout=len(heldout),
        questions=questions,
        question_charts=write_question_charts(questions, reports_dir),
    )


# --------------------------------------------------------------------------- the week's file


def save_insights(report: InsightsReport, labeled: LabeledData, directory: Path) -> Path:
    """Write ``report`` (computed from ``labeled``) to ``directory/insights.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / INSIGHTS_FILE
    data = {
        "format": _FORMAT,
        "labeled": {
            "count": labeled.count,
            "latest_signal": labeled.latest_signal.isoformat() if labeled.latest_signal else None,
        },
        "insights": {
            "n_signals": report.n_signals,
            "model_version": report.model_version,
            "top_features": report.top_features,
            "class_rates": [asdict(c) for c in report.class_rates],
            "winning": [_pattern_json(p) for p in report.winning],
            "losing": [_pattern_json(p) for p in report.losing],
            "chart": report.chart_path.name if report.chart_path else None,
            "week": report.week,
            "note": report.note,
            "n_heldout": report.n_heldout,
            "questions": [asdict(q) for q in report.questions],
            "question_charts": {name: p.name for name, p in report.question_charts.items()},
        },
    }
    write_json_atomic(path, data)  # a reader never sees half a file
    return path


def latest_insights(
    reports_dir: Path, labeled: LabeledData, model_version: str | None
) -> InsightsReport | None:
    """The insights of the latest weekly report, if they were computed from these labeled
    signals with this model; None when there is no report, or it is older than the data."""
    weeks = sorted(p.parent for p in reports_dir.glob(f"*/{INSIGHTS_FILE}"))
    if not weeks:
        return None
    directory = weeks[-1]  # week names (2026-W07) sort in time order
    try:
        data = json.loads((directory / INSIGHTS_FILE).read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            return None
        stored = LabeledData(
            int(data["labeled"]["count"]),
            _datetime(data["labeled"]["latest_signal"]),
        )
        report = _report_from_json(data["insights"], directory)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged file: mine again
        log.warning("ignoring %s: %s", directory / INSIGHTS_FILE, exc)
        return None
    if stored != labeled or report.model_version != model_version:
        return None
    return replace(report, week=report.week or directory.name)


def pattern_view(p: Pattern) -> PatternView:
    """A mined pattern as the faces show it."""
    return PatternView(
        conditions=tuple((c.feature, c.op, c.threshold) for c in p.conditions),
        condition=p.condition,
        n=p.n,
        wins_2x=p.wins_2x,
        wins_10x=p.wins_10x,
        base_2x=p.base_2x,
        base_10x=p.base_10x,
        ci_2x=p.ci_2x,
        ci_10x=p.ci_10x,
    )


def _pattern_json(p: PatternView) -> dict[str, Any]:
    return {
        "conditions": [list(c) for c in p.conditions],
        "n": p.n,
        "wins_2x": p.wins_2x,
        "wins_10x": p.wins_10x,
        "base_2x": p.base_2x,
        "base_10x": p.base_10x,
    }


def _pattern(data: dict[str, Any]) -> PatternView:
    return pattern_view(
        Pattern.of(
            [Condition(str(f), str(op), float(t)) for f, op, t in data["conditions"]],
            int(data["n"]),
            int(data["wins_2x"]),
            int(data["wins_10x"]),
            float(data["base_2x"]),
            float(data["base_10x"]),
        )
    )


def _report_from_json(data: dict[str, Any], directory: Path) -> InsightsReport:
    chart = directory / data["chart"] if data["chart"] else None
    return InsightsReport(
        n_signals=int(data["n_signals"]),
        model_version=data["model_version"],
        top_features=[(str(name), float(value)) for name, value in data["top_features"]],
        class_rates=[
            ClassRate(str(c["name"]), int(c["count"]), (float(c["ci"][0]), float(c["ci"][1])))
            for c in data["class_rates"]
        ],
        winning=[_pattern(p) for p in data["winning"]],
        losing=[_pattern(p) for p in data["losing"]],
        chart_path=chart if chart is not None and chart.is_file() else None,
        week=data["week"],
        note=data.get("note"),
        n_heldout=int(data.get("n_heldout", 0)),
        questions=[_question(q) for q in data.get("questions", [])],
        question_charts={
            str(name): directory / str(file)
            for name, file in data.get("question_charts", {}).items()
            if (directory / str(file)).is_file()
        },
    )


def _band(data: dict[str, Any]) -> BandRate:
    return BandRate(
        str(data["label"]), int(data["n"]), int(data["hits"]), (data["ci"][0], data["ci"][1])
    )


def _question(data: dict[str, Any]) -> Question:
    return Question(
        title=str(data["title"]),
        event=str(data["event"]),
        rows=[_band(b) for b in data["rows"]],
        note=data.get("note"),
        extra_event=data.get("extra_event"),
        extra=[_band(b) for b in data.get("extra", [])],
    )


def _datetime(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
