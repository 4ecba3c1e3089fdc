"""The per-question chart (issue 13, point 8): one bar per band at the band's rate, its 95%
Wilson interval as the error bar, a second panel for a second breakdown."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from ml.charts.questions import band_rates_figure
from ml.metrics import wilson_interval
from tests.ml.charts.test_charts import assert_rendered, texts


@dataclass(frozen=True)
class Band:
    label: str
    n: int
    hits: int
    ci: tuple[float, float]


def band(label: str, n: int, hits: int) -> Band:
    return Band(label, n, hits, wilson_interval(hits, n))


def bars(ax: Axes) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def whiskers(ax: Axes) -> list[tuple[float, float, float]]:
    """(x, low, high) of each vertical error bar."""
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    return [(float(s[0][0]), float(s[0][1]), float(s[1][1])) for s in lines.get_segments()]


def test_one_bar_per_band_at_its_rate_with_its_interval() -> None:
    rows = [band("< 20%", 120, 54), band("20-35%", 300, 90), band(">= 50%", 41, 3)]
    fig = band_rates_figure("Top-10 holder share: winners vs rugs", [("2x+", rows)])
    (ax,) = fig.axes
    heights = [b.get_height() for b in bars(ax)]
    assert heights == [54 / 120, 90 / 300, 3 / 41]  # the rates, hits / n, exactly
    got = whiskers(ax)
    assert len(got) == 3
    for (x, low, high), bar, row in zip(got, bars(ax), rows, strict=True):
        assert x == pytest.approx(bar.get_x() + bar.get_width() / 2)
        assert (low, high) == pytest.approx(row.ci, abs=1e-12)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["< 20%", "20-35%", ">= 50%"]
    shown = texts(fig)
    assert "45% · 54/120" in shown and "30% · 90/300" in shown and "7.3% · 3/41" in shown
    assert_rendered(fig)


def test_a_second_breakdown_is_a_second_panel() -> None:
    wins = [band("1 KOL", 400, 20), band("2 KOLs", 150, 15)]
    elite = [band("0 elite", 500, 20), band("1 elite", 60, 9), band("2+ elite", 25, 6)]
    fig = band_rates_figure("How many KOLs", [("10x+", wins), ("10x+ by elite KOLs", elite)])
    top, bottom = fig.axes
    assert [b.get_height() for b in bars(top)] == [20 / 400, 15 / 150]
    assert [b.get_height() for b in bars(bottom)] == [20 / 500, 9 / 60, 6 / 25]
    assert bottom.get_ylabel() == "share 10x+ by elite KOLs"
    assert_rendered(fig)


def test_empty_panels_are_left_out_and_no_bands_is_an_error() -> None:
    fig = band_rates_figure(
        "Narratives", [("2x+", [band("a", 30, 3), band("b", 40, 8)]), ("x", [])]
    )
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="at least one band"):
        band_rates_figure("nothing", [("2x+", [])])
    with pytest.raises(ValueError, match="at least one signal"):
        band_rates_figure("empty band", [("2x+", [Band("a", 0, 0, (0.0, 1.0))])])


def test_the_heights_are_float64_rates_not_rounded() -> None:
    rows = [band("a", 3, 1), band("b", 7, 2)]
    (ax,) = band_rates_figure("t", [("2x+", rows)]).axes
    np.testing.assert_array_equal([b.get_height() for b in bars(ax)], [1 / 3, 2 / 7])
