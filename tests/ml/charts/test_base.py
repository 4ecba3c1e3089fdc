from __future__ import annotations

import io
import struct

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ml.charts.base import STYLE_PATH, feature_importance_figure, figure_to_png
from ml.classes import CLASSES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def importance_table(n_features: int) -> pd.DataFrame:
    # per-class mean |SHAP| by hand: feature i has value (n - i) / 10 in class k, times (k + 1)
    rows = {
        f"feature_{i:02d}": [(n_features - i) / 10 * (k + 1) for k in range(6)]
        for i in range(n_features)
    }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(CLASSES))
    frame["all"] = frame[list(CLASSES)].mean(axis=1)
    return frame.iloc[::-1]  # deliberately unsorted


def test_png_is_1000_by_600() -> None:
    assert STYLE_PATH.is_file()
    fig = feature_importance_figure(importance_table(20), top_n=15, subtitle="n=3,000 signals")
    assert isinstance(fig, Figure)
    png = figure_to_png(fig)
    assert png[:8] == PNG_SIGNATURE
    # IHDR chunk: length, b"IHDR", width, height (big-endian)
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 600)
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (600, 1000)
    # the dark style is applied: the corner is the figure colour #1e1f22
    np.testing.assert_allclose(pixels[2, 2, :3], np.array([0x1E, 0x1F, 0x22]) / 255, atol=2 / 255)
    assert pixels[..., :3].std() > 0.05  # something was drawn


def test_top_features_in_order_and_segments_add_up() -> None:
    table = importance_table(20)
    fig = feature_importance_figure(table, top_n=5)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"feature_{i:02d}" for i in range(5)]
    # 6 stacked segments per bar; each bar's segments sum to its "all" value
    widths: dict[float, float] = {}
    for patch in ax.patches:
        assert isinstance(patch, Rectangle)
        y = round(patch.get_y() + patch.get_height() / 2, 6)
        widths[y] = widths.get(y, 0.0) + patch.get_width()
    assert len(ax.patches) == 5 * 6
    # feature_00: values 2.0 * (1..6), mean over classes = 2.0 * 3.5 = 7.0
    assert widths[0.0] == pytest.approx(7.0)
    assert sorted(widths.values(), reverse=True) == pytest.approx(
        [7.0, 7.0 * 19 / 20, 7.0 * 18 / 20, 7.0 * 17 / 20, 7.0 * 16 / 20]
    )


def test_only_all_column_still_draws() -> None:
    table = pd.DataFrame({"all": [0.3, 0.1]}, index=["a", "b"])
    fig = feature_importance_figure(table)
    assert len(fig.axes[0].patches) == 2
    assert figure_to_png(fig)[:8] == PNG_SIGNATURE


def test_bad_tables_are_rejected() -> None:
    with pytest.raises(ValueError, match="'all'"):
        feature_importance_figure(pd.DataFrame({"rug": [0.1]}, index=["a"]))
    with pytest.raises(ValueError, match="empty"):
        feature_importance_figure(pd.DataFrame({"all": []}))
