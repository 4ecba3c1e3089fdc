"""Walk-forward backtest of the outcome model on the labeled signals: the "before ML / after ML"
table (all signals vs the ones the model would have alerted on), with its chart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.learning.training import Dataset
from ml.backtest import BacktestResult, walk_forward
from ml.charts.base import figure_to_png
from ml.charts.evaluation import backtest_figure
from ml.outcome import OutcomeModel


@dataclass(frozen=True, slots=True)
class Backtest:
    result: BacktestResult
    chart: Path


def run_backtest(ds: Dataset, chart_dir: Path, params: dict[str, object] | None = None) -> Backtest:
    """Train on the weeks before each week (labels known by then), alert on that week's signals
    whose ML boost passes the default threshold, compare with all of that week's signals."""
    frame = ds.X.copy()
    frame["ts"] = pd.to_datetime(ds.ts, utc=True)
    frame["multiple"] = ds.multiples
    result = walk_forward(frame, lambda: OutcomeModel(**(params or {})))  # type: ignore[arg-type]
    chart_dir.mkdir(parents=True, exist_ok=True)
    chart = chart_dir / "backtest.png"
    chart.write_bytes(figure_to_png(backtest_figure(result)))
    return Backtest(result, chart)
