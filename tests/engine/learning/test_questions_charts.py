"""Each question the data can answer gets its chart, beside the report's others; one it cannot
tell yet gets none (issue 13, point 8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from engine.learning.insights import LabeledData, build_insights, latest_insights, save_insights
from engine.learning.questions import (
    CHART_NAMES,
    answer_questions,
    question_figure,
    write_question_charts,
)
from engine.learning.report import write_report
from engine.learning.training import Dataset


def test_each_chart_has_a_bar_per_band_at_the_questions_rates(sim_signals: Dataset) -> None:
    answers = answer_questions(sim_signals)
    charted = [q for q in answers if q.charted]
    assert [CHART_NAMES[q.title] for q in charted] == [
        "question_holders",
        "question_kols",
        "question_narratives",
        "question_volume",
    ]  # 100x+: too few in these 1,200 signals (test_questions.py counts them)
    for q in charted:
        fig = question_figure(q)
        panels = [q.rows, q.extra] if len(q.extra) >= 2 else [q.rows]
        assert len(fig.axes) == len(panels), q.title
        for ax, rows in zip(fig.axes, panels, strict=True):
            heights = [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]
            assert heights == [b.hits / b.n for b in rows], q.title
            assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == [
                b.label for b in rows
            ]
    hundred = answers[4]
    assert not hundred.charted and hundred.note is not None
    with pytest.raises(ValueError, match="nothing to chart"):
        question_figure(hundred)


def test_charts_are_written_for_answers_only_and_stale_ones_removed(
    sim_signals: Dataset, tmp_path: Path
) -> None:
    stale = tmp_path / "question_100x.png"
    stale.write_bytes(b"an old chart")
    charts = write_question_charts(answer_questions(sim_signals), tmp_path)
    assert sorted(charts) == [
        "question_holders",
        "question_kols",
        "question_narratives",
        "question_volume",
    ]
    for name, path in charts.items():
        assert path == tmp_path / f"{name}.png"
        assert matplotlib.image.imread(path).shape[:2] == (600, 1000)
    assert not stale.exists()  # 100x+ cannot tell: no chart, and no old one sent instead


def test_the_weekly_report_and_insights_carry_the_question_charts(
    sim_signals: Dataset, tmp_path: Path
) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    no_kols = pd.DataFrame(columns=["kol", "estimate", "low", "high", "n"])
    weekly = write_report(sim_signals, None, None, no_kols, tmp_path, now)
    names = ["question_holders", "question_kols", "question_narratives", "question_volume"]
    assert all(weekly.charts[n] == weekly.directory / f"{n}.png" for n in names)
    assert "question_100x" not in weekly.charts
    assert weekly.insights.question_charts == {n: weekly.charts[n] for n in names}
    # /insights answers from the week's file while it is current: the same charts
    found = latest_insights(tmp_path, LabeledData.of(sim_signals), None)
    assert found is not None and found.question_charts == weekly.insights.question_charts

    now_dir = tmp_path / "now"
    computed = build_insights(sim_signals, None, None, now_dir)  # /insights computed now
    assert sorted(computed.question_charts) == names
    assert all(p.parent == now_dir and p.is_file() for p in computed.question_charts.values())
    # a saved report whose chart files are gone reads back without them
    save_insights(replace(computed, week="2026-W10"), LabeledData(1, now), tmp_path / "2026-W99")
    for path in computed.question_charts.values():
        path.unlink()
    gone = latest_insights(tmp_path, LabeledData(1, now), None)
    assert gone is not None and gone.question_charts == {}
