"""Charts as PNG bytes: ``matplotlib.figure.Figure`` on the Agg canvas, never pyplot.

Every chart is built inside ``chart_style()`` (``assets/moonbot.mplstyle``, package data of
``ml.charts`` through the link ``ml/charts/moonbot.mplstyle``: dark, chat-friendly, 10 x 6 in at
100 dpi = 1000 x 600 px). matplotlib's style context changes global rcParams, so
figure creation and rendering hold a module lock: charts may be drawn from worker threads.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final, Literal

import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ml.classes import CLASSES, N_CLASSES

log = logging.getLogger(__name__)

# Package data (pyproject.toml), so an installed wheel draws with it too.
STYLE_PATH: Final[Traversable] = resources.files("ml.charts") / "moonbot.mplstyle"
FIGSIZE: Final[tuple[float, float]] = (10.0, 6.0)
DPI: Final[int] = 100
# Same order and colours as the style's colour cycle.
CLASS_COLORS: Final[dict[str, str]] = {
    "rug": "#ed4245",
    "small_win": "#f0b232",
    "medium_win": "#fee75c",
    "big_win": "#57f287",
    "moonshot": "#3ba5ff",
    "mega_moon": "#c77dff",
}
CLASS_LABELS: Final[dict[str, str]] = {
    "rug": "rug <1.5x",
    "small_win": "1.5-5x",
    "medium_win": "5-10x",
    "big_win": "10-50x",
    "moonshot": "50-100x",
    "mega_moon": "100x+",
}
_ACCENT = "#dbdee1"
_MUTED = "#b5bac1"
# Public names of the palette, for the other chart modules (ml.charts.insights, ml.charts.evaluation).
TEXT_COLOR: Final[str] = _ACCENT
MUTED_COLOR: Final[str] = _MUTED
GOOD_COLOR: Final[str] = CLASS_COLORS["big_win"]
BAD_COLOR: Final[str] = CLASS_COLORS["rug"]
NEUTRAL_COLOR: Final[str] = CLASS_COLORS["moonshot"]

_lock = threading.RLock()


@contextlib.contextmanager
def chart_style() -> Iterator[None]:
    """moonbot's chart style (matplotlib's defaults when the style file is missing)."""
    # Token and KOL names are user text: "$" in them must print as "$", never start mathtext
    # (a name like "$\\undefinedcmd$" would fail the whole figure).
    plain = {"text.parse_math": False}
    with _lock:
        if STYLE_PATH.is_file():
            with resources.as_file(STYLE_PATH) as path, matplotlib.style.context([path, plain]):
                yield
        else:
            log.warning("chart style %s not found; using matplotlib defaults", STYLE_PATH)
            with matplotlib.rc_context({"text.parse_math": False}):
                yield


def new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """An empty styled figure on the Agg canvas (call inside ``chart_style()``)."""
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def no_data_figure(
    title: str, message: str = "no data yet", figsize: tuple[float, float] = FIGSIZE
) -> Figure:
    """A styled figure that says there is nothing to draw, instead of failing: ``title`` on top,
    ``message`` in the middle."""
    with chart_style():
        fig = new_figure(figsize)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=16, color=_MUTED)
        fig.suptitle(title, x=0.01, ha="left")
    return fig


def set_titles(fig: Figure, ax: Axes, title: str, subtitle: str | None) -> None:
    """The charts' heading: ``title`` at the figure's top left, ``subtitle`` (if any) muted above
    the axes ``ax``."""
    fig.suptitle(title, x=0.01, ha="left")
    if subtitle:
        ax.set_title(subtitle, loc="left", fontsize=10, fontweight="normal", color=MUTED_COLOR)


def pct(rate: float) -> str:
    """A rate as a percentage: one decimal below 10% ("0.4%"), none above ("62%")."""
    return f"{rate:.1%}" if rate < 0.1 else f"{rate:.0%}"


def rate_axis(
    ax: Axes, top: float, *, axis: Literal["x", "y"], headroom: float, nbins: int
) -> None:
    """A percent ``axis`` from 0 to ``top * headroom`` (the room above ``top`` for the value
    labels; 1 when ``top`` is not above 0), with about ``nbins`` ticks that stop at 100%."""
    top = top if top > 0 else 1.0
    ticks = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(0, min(1.0, top))
    shown = [t for t in ticks if 0 <= t <= 1.0]
    formatter = PercentFormatter(1.0, decimals=0 if top > 0.05 else 1)
    if axis == "x":
        ax.set_xlim(0, top * headroom)
        ax.set_xticks(shown)
        ax.xaxis.set_major_formatter(formatter)
    else:
        ax.set_ylim(0, top * headroom)
        ax.set_yticks(shown)
        ax.yaxis.set_major_formatter(formatter)


def interval_bars(
    ax: Axes,
    positions: np.ndarray,
    values: np.ndarray,
    err: np.ndarray,
    colour: str | list[str],
    *,
    horizontal: bool,
) -> None:
    """Bars of ``values`` at ``positions`` with their 95% intervals as error bars: ``err`` is
    the distance below and above each value (2 x n). Horizontal bars (a ranking) are 0.66 thick
    with 3-point caps, vertical ones (bands side by side) 0.62 wide with 4-point caps."""
    style: dict[str, Any] = {"fmt": "none", "ecolor": TEXT_COLOR, "elinewidth": 1.4}
    if horizontal:
        ax.barh(positions, values, height=0.66, color=colour, alpha=0.9)
        ax.errorbar(values, positions, xerr=err, capsize=3, **style)
    else:
        ax.bar(positions, values, width=0.62, color=colour, alpha=0.9)
        ax.errorbar(positions, values, yerr=err, capsize=4, **style)


def figure_to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes at its own size and dpi (10 x 6 in -> 1000 x 600 px)."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with chart_style():
        fig.savefig(
            buffer,
            format="png",
            dpi=fig.dpi,
            facecolor=fig.get_facecolor(),
            edgecolor=fig.get_edgecolor(),
            metadata={"Software": "moonbot"},
        )
    return buffer.getvalue()


def feature_importance_figure(
    importance: pd.DataFrame,
    top_n: int = 15,
    title: str = "What drives the outcome model",
    subtitle: str | None = None,
) -> Figure:
    """Horizontal bars of the ``"all"`` column of ``ml.explain.global_importance``.

    Each bar is split by class: a class's segment is its mean |SHAP| divided by the number of
    classes, so the segments add up to ``"all"`` and show which outcomes the feature separates.
    The most important feature is on top.
    """
    if "all" not in importance.columns:
        raise ValueError("importance needs an 'all' column (see ml.explain.global_importance)")
    if top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    if importance.empty:
        raise ValueError("importance is empty")
    top = importance.sort_values("all", ascending=False, kind="stable").head(top_n)
    names = [str(n) for n in top.index]
    totals = top["all"].to_numpy(dtype=np.float64)
    class_columns = [c for c in CLASSES if c in top.columns]
    positions = np.arange(len(top))

    with chart_style():
        fig = new_figure()
        ax = fig.add_subplot()
        if len(class_columns) == N_CLASSES:
            left = np.zeros(len(top))
            for name in class_columns:
                width = top[name].to_numpy(dtype=np.float64) / N_CLASSES
                ax.barh(
                    positions,
                    width,
                    left=left,
                    height=0.72,
                    color=CLASS_COLORS[name],
                    label=CLASS_LABELS[name],
                )
                left += width
            ax.legend(
                loc="lower right",
                ncols=3,
                title="share by outcome",
                title_fontsize=10,
                labelcolor=_ACCENT,
            )
        else:
            ax.barh(positions, totals, height=0.72, color=CLASS_COLORS["big_win"])
        span = float(totals.max()) if len(totals) and totals.max() > 0 else 1.0
        for y, total in zip(positions, totals, strict=True):
            ax.text(
                float(total) + span * 0.01,
                float(y),
                f"{total:.3f}",
                va="center",
                fontsize=10,
                color=_MUTED,
            )
        ax.set_yticks(positions, labels=names)
        ax.invert_yaxis()
        ax.set_xlim(0, span * 1.12)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("mean |SHAP| (log-odds), averaged over the 6 outcome classes")
        set_titles(fig, ax, title, subtitle)
    return fig
