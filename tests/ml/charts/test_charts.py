"""Every insight and evaluation chart renders a styled, non-empty PNG of the expected size, turns
empty input into a "no data" figure, and draws what it was given."""

from __future__ import annotations

import ast
import io
import struct
from collections.abc import Callable
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import ml.charts.evaluation
import ml.charts.insights
from ml.backtest import BacktestResult, walk_forward
from ml.charts.base import figure_to_png, no_data_figure
from ml.charts.evaluation import backtest_figure, calibration_bins, calibration_figure
from ml.charts.insights import (
    kol_leaderboard_figure,
    patterns_figure,
    shap_summary_figure,
    toward_big,
)
from ml.metrics import wilson_interval
from ml.rules.patterns import Condition, Pattern
from tests.ml.planted_synth import make_planted

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR: length, type, width, height)."""
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def assert_rendered(fig: Figure, size: tuple[int, int] = (1000, 600)) -> np.ndarray:
    png = figure_to_png(fig)
    assert png_size(png) == size
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    # the dark style: the corner is the figure colour #1e1f22, and something was drawn
    np.testing.assert_allclose(pixels[2, 2, :3], np.array([0x1E, 0x1F, 0x22]) / 255, atol=2 / 255)
    assert pixels[..., :3].std() > 0.03
    return pixels


def texts(fig: Figure) -> str:
    found = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return " | ".join(str(t) for t in found)


# --------------------------------------------------------------------------- inputs


def patterns() -> tuple[list[Pattern], list[Pattern]]:
    def p(conds: list[Condition], n: int, wins: int) -> Pattern:
        return Pattern.of(conds, n, wins, wins // 4, base_2x=0.3, base_10x=0.05)

    good = [
        p([Condition("kol_elite_count", ">=", 2.0)], 354, 312),
        p([Condition("narrative_match", "==", 1.0), Condition("kol_count", ">=", 2.0)], 4477, 2186),
    ]
    bad = [
        p(
            [
                Condition("holder_top10_pct", ">=", 52.3),
                Condition("bundle_detected", "==", 1.0),
                Condition("kol_count", "<", 2.0),
            ],
            1709,
            36,
        ),
        p([Condition("dev_sell_detected", "==", 1.0)], 2951, 339),
    ]
    return good, bad


def kol_table() -> pd.DataFrame:
    rows = []
    for i, (k, n) in enumerate([(30, 50), (10, 40), (45, 60), (2, 3), (20, 80)]):
        low, high = wilson_interval(k, n)
        name = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU" if i == 0 else f"kol_{i}"
        rows.append({"kol": name, "estimate": k / n, "low": low, "high": high, "n": n})
    rows.append({"kol": "unrated", "estimate": np.nan, "low": np.nan, "high": np.nan, "n": 0})
    return pd.DataFrame(rows)


def shap_inputs(n: int = 300) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "weak": rng.normal(size=n),
            "strong": rng.normal(size=n),
            "flag": (rng.random(n) < 0.3).astype(float),
        }
    )
    X.loc[:20, "weak"] = np.nan
    shap = np.column_stack(
        [0.1 * X["weak"].fillna(0), 1.0 * X["strong"], 0.5 * (X["flag"] - 0.3)]
    ).astype(float)
    return shap, X


@pytest.fixture(scope="module")
def backtest() -> BacktestResult:
    class MixModel:
        """Predicts 10x+ for elite-KOL signals only: a crude but real signal."""

        def fit(self, X: pd.DataFrame, y: np.ndarray, *, multiples: np.ndarray) -> MixModel:
            return self

        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            elite = X["kol_elite_count"].to_numpy() >= 1
            probs = np.zeros((len(X), 6))
            probs[:, 0] = np.where(elite, 0.5, 0.9)
            probs[:, 3] = np.where(elite, 0.5, 0.1)
            return probs

    data = make_planted(3000, seed=5, weeks=6)
    frame = data.X.assign(ts=data.ts.to_numpy(), multiple=data.multiples)
    return walk_forward(frame, MixModel, threshold=4.0)


# --------------------------------------------------------------------------- every chart


CHARTS: dict[str, Callable[[], Figure]] = {
    "shap": lambda: shap_summary_figure(*shap_inputs()),
    "patterns": lambda: patterns_figure(*patterns()),
    "patterns_10x": lambda: patterns_figure(*patterns(), target="10x"),
    "kols": lambda: kol_leaderboard_figure(kol_table()),
    "calibration": lambda: calibration_figure(
        np.linspace(0, 0.5, 400), np.random.default_rng(1).random(400) < np.linspace(0, 0.5, 400)
    ),
}
EMPTY: dict[str, Callable[[], Figure]] = {
    "shap": lambda: shap_summary_figure(np.zeros((0, 2)), pd.DataFrame({"a": [], "b": []})),
    "patterns": lambda: patterns_figure([], []),
    "kols": lambda: kol_leaderboard_figure(kol_table().iloc[5:]),  # only the unrated KOL
    "calibration": lambda: calibration_figure(np.array([]), np.array([], dtype=bool)),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_renders_1000_by_600(name: str) -> None:
    fig = CHARTS[name]()
    assert isinstance(fig, Figure)
    assert_rendered(fig)


def test_backtest_chart_renders(backtest: BacktestResult) -> None:
    assert backtest.improved and len(backtest.weeks) >= 4
    fig = backtest_figure(backtest)
    assert_rendered(fig)
    shown = texts(fig)
    assert "alerts beat all signals" in shown and "share of signals that reached 2x+" in shown
    main = fig.axes[0]
    # two series, one point per week each
    lines = [line for line in main.get_lines() if len(line.get_xdata()) == len(backtest.weeks)]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[1].get_ydata(), backtest.weeks["alerted_share_2x"])


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_input_gives_a_no_data_figure(name: str) -> None:
    fig = EMPTY[name]()
    assert_rendered(fig)
    assert len(fig.axes) == 1 and not fig.axes[0].axison
    assert any(word in texts(fig) for word in ("no ", "not enough"))


def test_empty_backtest_gives_a_no_data_figure(backtest: BacktestResult) -> None:
    empty = BacktestResult(
        weeks=backtest.weeks.iloc[:0],
        overall_all=backtest.overall_all,
        overall_alerted=backtest.overall_alerted,
        signals=backtest.signals.iloc[:0],
        score_name="ml_boost",
        threshold=2.0,
        alert_share=None,
    )
    fig = backtest_figure(empty)
    assert_rendered(fig)
    assert "not enough history" in texts(fig)


def test_other_sizes() -> None:
    assert_rendered(patterns_figure(*patterns(), figsize=(8.0, 5.0)), size=(800, 500))
    assert_rendered(no_data_figure("nothing", figsize=(6.0, 4.0)), size=(600, 400))


# --------------------------------------------------------------------------- content


def test_shap_summary_orders_features_by_strength() -> None:
    shap, X = shap_inputs()
    fig = shap_summary_figure(shap, X, top_n=2)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["strong", "flag"]
    assert "SHAP" in ax.get_xlabel() and "10x+" in ax.get_xlabel()
    # one dot per signal per feature shown; the 21 missing "weak" values are not among them
    assert sum(len(c.get_offsets()) for c in ax.collections) == 2 * len(X)


def test_shap_summary_takes_per_class_values() -> None:
    shap, X = shap_inputs()
    per_class = np.zeros((len(X), 6, 3))
    per_class[:, 3:, :] = shap[:, None, :]  # the same pull in the three >= 10x classes
    np.testing.assert_allclose(toward_big(per_class), shap)
    fig = shap_summary_figure(per_class, X)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["strong", "flag", "weak"]
    with pytest.raises(ValueError):
        shap_summary_figure(shap[:10], X)


def test_patterns_chart_shows_rates_intervals_and_the_base_rate() -> None:
    good, bad = patterns()
    fig = patterns_figure(good, bad)
    ax = fig.axes[0]
    bars = sorted(ax.patches, key=lambda b: b.get_y())
    widths = [b.get_width() for b in bars]
    assert widths == pytest.approx([p.rate_2x for p in good + bad])
    labels = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert labels[1] == "narrative_match is yes AND kol_count >= 2"
    base = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert base and base[0].get_xdata()[0] == pytest.approx(0.3)
    assert "n=4,477" in texts(fig) and "reached 2x+" in ax.get_xlabel()


def test_kol_leaderboard_ranks_and_skips_unrated() -> None:
    fig = kol_leaderboard_figure(kol_table(), top_n=4)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    # 45/60 = .75, 30/50 = .6, 2/3 = .67, 10/40 = .25, 20/80 = .25
    assert labels == ["kol_2", "kol_3", "7xKXtg2C…osgAsU", "kol_4"]
    assert "unrated" not in texts(fig)
    with pytest.raises(ValueError, match="missing column"):
        kol_leaderboard_figure(kol_table().drop(columns="n"))


def test_calibration_bins_by_hand() -> None:
    predicted = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9, np.nan])
    observed = np.array([0, 0, 0, 1, 1, 1, 1, 0, 1], dtype=bool)
    assert calibration_bins(predicted, observed, n_bins=2) == [(0.1, 4, 1), (0.9, 4, 3)]
    assert calibration_bins(predicted, observed, n_bins=10, strategy="uniform") == [
        (0.1, 4, 1),
        (0.9, 4, 3),
    ]
    fig = calibration_figure(predicted, observed, n_bins=2, event="2x+")
    shown = texts(fig)
    assert "predicted chance of 2x+" in shown and "how often 2x+ happened" in shown
    assert "n=4" in shown


def test_chart_modules_never_import_pyplot() -> None:
    for module in (ml.charts.evaluation, ml.charts.insights):
        tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        imported = [
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        ]
        imported += [
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        ]
        assert imported and not [name for name in imported if "pyplot" in name]


def test_user_text_with_dollar_signs_is_plain_text_not_mathtext() -> None:
    """A KOL named "$\\undefinedcmd$" would make mathtext fail the whole figure; names are shown
    as written."""
    table = kol_table()
    table.loc[0, "kol"] = "$\\undefinedcmd$"
    table.loc[1, "kol"] = "$WIF to $1"
    fig = kol_leaderboard_figure(table, top_n=5)
    assert png_size(figure_to_png(fig)) == (1000, 600)  # drawing it raised before
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "$\\undefinedcmd$" in labels and "$WIF to $1" in labels
