"""What the model and the data say: feature importance, patterns with intervals, a chart.

Computed from the labeled signals and the champion model each time; nothing is hand-written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.labels import CLASSES
from engine.training import Dataset
from ml.charts import feature_importance_figure, figure_to_png
from ml.explain import global_importance
from ml.metrics import wilson_interval
from ml.outcome import OutcomeModel
from ml.patterns import Pattern
from ml.rules import mine_patterns

RECENT_ROWS = 3000


@dataclass(frozen=True, slots=True)
class ClassRate:
    name: str
    count: int
    ci: tuple[float, float]


@dataclass(frozen=True, slots=True)
class InsightsReport:
    n_signals: int
    model_version: str | None
    top_features: list[tuple[str, float]]
    class_rates: list[ClassRate]
    winning: list[Pattern]
    losing: list[Pattern]
    chart_path: Path | None


def build_insights(
    ds: Dataset, model: OutcomeModel | None, model_version: str | None, reports_dir: Path
) -> InsightsReport:
    recent = ds.rows(slice(max(0, len(ds) - RECENT_ROWS), len(ds)))
    n = len(recent)
    rates = [
        ClassRate(name, int((recent.y == k).sum()), wilson_interval(int((recent.y == k).sum()), n))
        for k, name in enumerate(CLASSES)
    ]
    mined = mine_patterns(recent.X, recent.multiples, min_support=max(20, n // 40))
    top: list[tuple[str, float]] = []
    chart: Path | None = None
    if model is not None and n:
        importance = global_importance(model, recent.X)
        top = [(str(f), float(v)) for f, v in importance["all"].head(8).items()]
        reports_dir.mkdir(parents=True, exist_ok=True)
        chart = reports_dir / "feature_importance.png"
        fig = feature_importance_figure(importance, title=f"What drives outcomes ({n} signals)")
        chart.write_bytes(figure_to_png(fig))
    return InsightsReport(
        n_signals=n,
        model_version=model_version,
        top_features=top,
        class_rates=rates,
        winning=mined.winning[:3],
        losing=mined.losing[:3],
        chart_path=chart,
    )
