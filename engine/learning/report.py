"""The weekly report: what the model and the data say this week, as charts in one folder.

``write_report`` renders, from the labeled signals and the champion model, into
``<reports>/<ISO week>/``: feature importance, the SHAP summary (what pushes a signal toward 10x+),
winning and losing patterns with their intervals, a calibration diagram of P(10x+) on held-out
signals only (those after the model's training window, with their count; issue 13), the KOL
leaderboard of 30-day 3x+ forecasts, one chart per question the data can answer (the five
questions of ``engine.learning.questions``: rates per band with their intervals; a question it
cannot tell yet has none, and its text says why); and the insights themselves
(``insights.json``, what ``/insights`` answers from while the data and the model are the same).
The text summary is the faces' job (``moonbot report`` writes it next to the charts, with the
formatter ``/insights`` uses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.learning.insights import (
    MIN_LABELED,
    RECENT_ROWS,
    LabeledData,
    build_insights,
    heldout_rows,
    save_insights,
)
from engine.learning.training import Dataset
from engine.views import WeeklyReport
from ml.charts.base import figure_to_png
from ml.charts.evaluation import calibration_figure
from ml.charts.insights import kol_leaderboard_figure, patterns_figure, shap_summary_figure
from ml.explain import shap_values
from ml.metrics import p_at_least
from ml.outcome import OutcomeModel


def week_of(now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def write_report(
    ds: Dataset,
    model: OutcomeModel | None,
    model_version: str | None,
    kol_table: pd.DataFrame,
    reports_dir: Path,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    min_labeled: int = MIN_LABELED,
) -> WeeklyReport:
    """The week's insights and charts under ``reports_dir/<week>``; ``progress(done, total)``
    is called after the insights, the figures and each chart written (a face draws it)."""
    # steps: insights, figures, then one per chart (4 with a model, else 2; counted once known)
    total = 6 if model is not None and len(ds) else 4

    def step(done: int) -> None:
        if progress is not None:
            progress(done, max(done, total))

    week = week_of(now)
    directory = reports_dir / week
    insights = replace(build_insights(ds, model, model_version, directory, min_labeled), week=week)
    save_insights(insights, LabeledData.of(ds), directory)
    step(1)
    charts: dict[str, Path] = {}
    if insights.chart_path is not None:
        charts["feature_importance"] = insights.chart_path
    charts.update(insights.question_charts)  # drawn with the insights, in the same folder
    recent = ds.rows(slice(max(0, len(ds) - RECENT_ROWS), len(ds)))
    figures: dict[str, Figure] = {
        "patterns": patterns_figure(
            insights.winning, insights.losing, subtitle=f"{len(recent)} most recent labeled signals"
        ),
        "kol_leaderboard": kol_leaderboard_figure(
            kol_table,
            estimate_label="30-day 3x+ rate",
            subtitle="95% intervals; n = closed positions",
        ),
    }
    if model is not None and len(recent):
        figures["shap_summary"] = shap_summary_figure(shap_values(model, recent.X), recent.X)
        heldout = heldout_rows(ds, model)
        figures["calibration"] = calibration_figure(
            p_at_least(model.predict_proba(heldout.X), 3),
            np.asarray(heldout.y >= 3, dtype=float),
            event="10x+",
            subtitle=f"predicted vs observed on {len(heldout)} held-out signals "
            "(after the model's training window)",
        )
    total = 2 + len(figures)
    step(2)
    directory.mkdir(parents=True, exist_ok=True)
    for done, (name, fig) in enumerate(figures.items(), start=3):
        path = directory / f"{name}.png"
        path.write_bytes(figure_to_png(fig))
        charts[name] = path
        step(done)
    return WeeklyReport(week, directory, insights, charts)
