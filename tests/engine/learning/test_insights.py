"""The weekly report's insights read back exactly, and only while they are current."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.learning.insights import (
    INSIGHTS_FILE,
    InsightsReport,
    LabeledData,
    build_insights,
    latest_insights,
    save_insights,
)
from engine.learning.labels import label_for_multiple
from engine.learning.training import Dataset

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _dataset(n: int = 800) -> Dataset:
    # "a" decides the outcome (70% of its rows reach 3x, 20% of the others); "b" is noise
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2, n)
    multiples = np.where(rng.random(n) < np.where(a == 1, 0.7, 0.2), 3.0, 1.2)
    return Dataset(
        X=pd.DataFrame({"a": a, "b": rng.normal(size=n)}, dtype=float),
        y=np.array([label_for_multiple(m) for m in multiples]),
        multiples=multiples,
        ts=[T0 + timedelta(minutes=i) for i in range(n)],
        mints=[f"mint{i}" for i in range(n)],
    )


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return _dataset()


@pytest.fixture(scope="module")
def insights(ds: Dataset, tmp_path_factory: pytest.TempPathFactory) -> InsightsReport:
    report = build_insights(ds, None, None, tmp_path_factory.mktemp("unused"))
    assert [p.condition for p in report.winning] == ["a is yes"]  # something to read back
    assert [p.condition for p in report.losing] == ["a is no"]
    return replace(report, week="2026-W10")


def test_a_saved_report_reads_back_the_same(
    ds: Dataset, insights: InsightsReport, tmp_path: Path
) -> None:
    save_insights(insights, LabeledData.of(ds), tmp_path / "2026-W10")
    assert latest_insights(tmp_path, LabeledData.of(ds), None) == insights


def test_labeled_data_is_the_count_and_the_latest_signal(ds: Dataset) -> None:
    assert LabeledData.of(ds) == LabeledData(800, T0 + timedelta(minutes=799))
    assert LabeledData.of(ds.rows(slice(0, 0))) == LabeledData(0, None)


def test_no_report_means_none(ds: Dataset, tmp_path: Path) -> None:
    assert latest_insights(tmp_path, LabeledData.of(ds), None) is None
    assert latest_insights(tmp_path / "missing", LabeledData.of(ds), None) is None


def test_a_report_behind_the_data_or_the_model_is_not_used(
    ds: Dataset, insights: InsightsReport, tmp_path: Path
) -> None:
    labeled = LabeledData.of(ds)
    save_insights(insights, labeled, tmp_path / "2026-W10")
    one_more = LabeledData(labeled.count + 1, labeled.latest_signal)
    later = LabeledData(labeled.count, T0 + timedelta(days=1))
    assert latest_insights(tmp_path, one_more, None) is None  # a signal labeled since
    assert latest_insights(tmp_path, later, None) is None
    assert latest_insights(tmp_path, labeled, "outcome-v2") is None  # another champion


def test_only_the_latest_week_counts(ds: Dataset, insights: InsightsReport, tmp_path: Path) -> None:
    labeled = LabeledData.of(ds)
    save_insights(replace(insights, week="2026-W09"), labeled, tmp_path / "2026-W09")
    save_insights(insights, LabeledData(1, T0), tmp_path / "2026-W10")  # newer, but behind
    assert latest_insights(tmp_path, labeled, None) is None
    save_insights(insights, labeled, tmp_path / "2026-W10")
    found = latest_insights(tmp_path, labeled, None)
    assert found is not None and found.week == "2026-W10"


def test_a_damaged_file_is_ignored(ds: Dataset, insights: InsightsReport, tmp_path: Path) -> None:
    save_insights(insights, LabeledData.of(ds), tmp_path / "2026-W10")
    (tmp_path / "2026-W10" / INSIGHTS_FILE).write_text('{"format": 1, "labeled": ', "utf-8")
    assert latest_insights(tmp_path, LabeledData.of(ds), None) is None


def test_the_chart_is_found_next_to_the_file(
    ds: Dataset, insights: InsightsReport, tmp_path: Path
) -> None:
    directory = tmp_path / "2026-W10"
    directory.mkdir()
    (directory / "feature_importance.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    chart = directory / "feature_importance.png"
    save_insights(replace(insights, chart_path=chart), LabeledData.of(ds), directory)
    found = latest_insights(tmp_path, LabeledData.of(ds), None)
    assert found is not None and found.chart_path == chart
