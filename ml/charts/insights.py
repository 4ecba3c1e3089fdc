"""Insight charts for the weekly posts: SHAP summary, winning/losing patterns, KOL leaderboard.

Same conventions as ``ml.charts.base``: ``matplotlib.figure.Figure`` on the Agg canvas (never pyplot),
built inside ``chart_style()``, 1000 x 600 px by default (render with ``figure_to_png``). Empty
input gives a "no data" figure, never an exception. Axis labels are in trader words.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Final, Literal, Protocol

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ml.charts.base import (
    BAD_COLOR,
    FIGSIZE,
    GOOD_COLOR,
    MUTED_COLOR,
    NEUTRAL_COLOR,
    TEXT_COLOR,
    chart_style,
    interval_bars,
    new_figure,
    no_data_figure,
    pct,
    rate_axis,
    set_titles,
)
from ml.classes import BIG_CLASSES, N_CLASSES

MISSING_COLOR: Final[str] = "#80848e"
VALUE_CMAP: Final[str] = "coolwarm"  # low values blue, high values red
MAX_POINTS_PER_FEATURE: Final[int] = 800


# --------------------------------------------------------------------------- SHAP summary


def toward_big(values: np.ndarray) -> np.ndarray:
    """Per-class SHAP values ``(n, 6, F)`` (``ml.explain.shap_values``) reduced to each feature's
    pull toward >= 10x, ``(n, F)``: the mean over ``BIG_CLASSES``, as ``ml.explain``'s reasons."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 3 or v.shape[1] != N_CLASSES:
        raise ValueError(f"expected SHAP values of shape (n, {N_CLASSES}, F), got {v.shape}")
    return np.asarray(v[:, list(BIG_CLASSES), :].mean(axis=1))


def shap_summary_figure(
    shap: np.ndarray,
    X: pd.DataFrame,
    *,
    top_n: int = 12,
    title: str = "What pushes a signal toward 10x+",
    subtitle: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Beeswarm-like SHAP summary: one row per feature (the strongest on top), one dot per
    signal at its SHAP value toward >= 10x, coloured by the feature's value (blue low, red high,
    grey missing).

    ``shap`` is ``(n, F)`` (toward >= 10x) or ``(n, 6, F)`` per class (reduced by
    ``toward_big``); ``X`` holds the same ``n`` signals and ``F`` features, in that column order.
    At most ``MAX_POINTS_PER_FEATURE`` evenly spaced signals are drawn per feature.
    """
    if top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    values = np.asarray(shap, dtype=np.float64)
    if values.ndim == 3:
        values = toward_big(values)
    if values.ndim != 2 or values.shape != (len(X), X.shape[1]):
        raise ValueError(f"shap must have shape {(len(X), X.shape[1])}, got {values.shape}")
    if values.size == 0:
        return no_data_figure(title, "no signals to explain yet", figsize)
    names = [str(c) for c in X.columns]
    strength = np.nanmean(np.abs(values), axis=0)
    order = np.argsort(-np.nan_to_num(strength, nan=-1.0), kind="stable")[:top_n]
    rows = np.linspace(0, len(values) - 1, min(len(values), MAX_POINTS_PER_FEATURE)).astype(int)
    rows = np.unique(rows)
    cmap = matplotlib.colormaps[VALUE_CMAP]

    with chart_style():
        fig = new_figure(figsize)
        ax = fig.add_subplot()
        ax.axvline(0.0, color=MUTED_COLOR, linewidth=1, zorder=1)
        for pos, j in enumerate(order):
            x = values[rows, j]
            ok = np.isfinite(x)
            x = x[ok]
            feature = X.iloc[rows, j].to_numpy(dtype=np.float64, na_value=np.nan)[ok]
            y = pos + _swarm_offsets(x)
            colours = np.tile(to_rgba(MISSING_COLOR), (len(x), 1))
            known = np.isfinite(feature)
            if known.any():
                colours[known] = cmap(_scaled(feature[known]))
            ax.scatter(x, y, c=colours, s=9, linewidths=0, alpha=0.85, zorder=2)
        ax.set_yticks(np.arange(len(order)), labels=[names[j] for j in order])
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("← lowers the chance of 10x+      SHAP value (log-odds)      raises it →")
        bar = fig.colorbar(ScalarMappable(Normalize(0.0, 1.0), cmap), ax=ax, ticks=[0.0, 1.0])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
        bar.outline.set_visible(False)
        set_titles(
            fig,
            ax,
            title,
            subtitle or f"each dot is one signal ({len(values):,}); grey = value missing",
        )
    return fig


def _scaled(values: np.ndarray) -> np.ndarray:
    """Values to [0, 1] between their 5th and 95th percentiles (min and max if those tie)."""
    low, high = np.percentile(values, [5, 95])
    if high <= low:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.full(len(values), 0.5)
    return np.asarray(np.clip((values - low) / (high - low), 0.0, 1.0))


def _swarm_offsets(x: np.ndarray, n_bins: int = 60, half_height: float = 0.38) -> np.ndarray:
    """Vertical offsets that spread dots with similar x, alternating up and down (like shap's
    beeswarm), scaled to at most ``half_height``. Deterministic."""
    if len(x) == 0:
        return np.zeros(0)
    span = float(x.max() - x.min())
    bins = (
        np.zeros(len(x), dtype=np.int64)
        if span == 0
        else ((x - x.min()) / span * n_bins).astype(int)
    )
    order = np.lexsort((x, bins))
    sorted_bins = bins[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_bins)) + 1]
    layer = np.arange(len(x)) - np.repeat(starts, np.diff(np.r_[starts, len(x)]))
    offsets = np.empty(len(x))
    offsets[order] = np.ceil(layer / 2) * np.where(layer % 2 == 1, 1.0, -1.0)
    peak = float(np.abs(offsets).max())
    return offsets * (half_height / peak) if peak > 0 else offsets


# --------------------------------------------------------------------------- patterns


class ShownPattern(Protocol):
    """What the patterns chart reads of a pattern (``ml.rules.patterns.Pattern`` has it all)."""

    @property
    def condition(self) -> str: ...
    @property
    def n(self) -> int: ...
    @property
    def base_2x(self) -> float: ...
    @property
    def base_10x(self) -> float: ...
    @property
    def rate_2x(self) -> float: ...
    @property
    def rate_10x(self) -> float: ...
    @property
    def ci_2x(self) -> tuple[float, float]: ...
    @property
    def ci_10x(self) -> tuple[float, float]: ...


def patterns_figure(
    winning: Sequence[ShownPattern],
    losing: Sequence[ShownPattern],
    *,
    target: Literal["2x", "10x"] = "2x",
    max_per_side: int = 6,
    title: str = "Winning and losing patterns",
    subtitle: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Horizontal bars: each pattern's share of signals that reached ``target``, with its Wilson
    95% interval as an error bar and its count; winning patterns (green) above losing ones
    (red), best first; a dashed line at the base rate over all signals."""
    if max_per_side < 1:
        raise ValueError(f"max_per_side must be >= 1, got {max_per_side}")
    shown = [(p, True) for p in winning[:max_per_side]] + [
        (p, False) for p in losing[:max_per_side]
    ]
    if not shown:
        return no_data_figure(title, "no pattern is significant yet", figsize)
    rates = np.array([p.rate_2x if target == "2x" else p.rate_10x for p, _ in shown])
    cis = np.array([p.ci_2x if target == "2x" else p.ci_10x for p, _ in shown])
    first = shown[0][0]
    base = first.base_2x if target == "2x" else first.base_10x
    positions = np.arange(len(shown))
    colours = [GOOD_COLOR if good else BAD_COLOR for _, good in shown]
    labels = [textwrap.fill(p.condition, width=46) for p, _ in shown]
    fontsize = 10 if len(shown) <= 8 else 8.5

    with chart_style():
        fig = new_figure(figsize)
        ax = fig.add_subplot()
        err = np.vstack([rates - cis[:, 0], cis[:, 1] - rates])
        interval_bars(ax, positions, rates, err, colours, horizontal=True)
        right = float(np.nanmax(cis[:, 1]))
        for y, (p, _), high, rate in zip(positions, shown, cis[:, 1], rates, strict=True):
            ax.text(
                float(high) + right * 0.015,
                float(y),
                f"{pct(float(rate))} · n={p.n:,}",
                va="center",
                fontsize=9,
                color=MUTED_COLOR,
                zorder=4,
                bbox={"facecolor": ax.get_facecolor(), "edgecolor": "none", "pad": 1.0},
            )
        if math.isfinite(base):
            ax.axvline(base, color=NEUTRAL_COLOR, linestyle="--", linewidth=1.5, zorder=1.5)
        ax.set_yticks(positions, labels=labels, fontsize=fontsize)
        ax.set_ylim(len(shown) - 0.5, -0.5)
        _rate_axis(ax, right)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"share of signals that reached {target}+ (bar: 95% interval)")
        handles = [
            Patch(color=GOOD_COLOR, label="winning"),
            Patch(color=BAD_COLOR, label="losing"),
            Line2D([], [], color=NEUTRAL_COLOR, linestyle="--", label=f"all signals {base:.0%}"),
        ]
        ax.legend(handles=handles, loc="lower right", labelcolor=TEXT_COLOR)
        set_titles(
            fig,
            ax,
            title,
            subtitle or "conditions the miner found in the data; n = signals that match",
        )
    return fig


# --------------------------------------------------------------------------- KOL leaderboard


def kol_leaderboard_figure(
    table: pd.DataFrame,
    *,
    top_n: int = 10,
    estimate_label: str = "3x rate",
    percent: bool = True,
    title: str = "KOL leaderboard",
    subtitle: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """The ``top_n`` KOLs by ``estimate``, best on top, with its interval and count.

    ``table`` has columns ``kol`` (name or wallet), ``estimate``, ``low``, ``high`` (the
    interval; NaN draws none) and ``n`` (trades or signals behind the estimate). Rows without an
    estimate are left out. ``percent``: the estimate is a rate in [0, 1].
    """
    needed = {"kol", "estimate", "low", "high", "n"}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(f"table is missing column(s): {', '.join(sorted(missing))}")
    if top_n < 1:
        raise ValueError(f"top_n must be >= 1, got {top_n}")
    rows = table.loc[np.isfinite(table["estimate"].to_numpy(dtype=np.float64))]
    if rows.empty:
        return no_data_figure(title, "no KOL has enough trades yet", figsize)
    rows = rows.sort_values(["estimate", "n"], ascending=[False, False], kind="stable").head(top_n)
    estimate = rows["estimate"].to_numpy(dtype=np.float64)
    low = rows["low"].to_numpy(dtype=np.float64)
    high = rows["high"].to_numpy(dtype=np.float64)
    counts = rows["n"].to_numpy()
    positions = np.arange(len(rows))
    xerr = np.vstack(
        [np.nan_to_num(estimate - low, nan=0.0), np.nan_to_num(high - estimate, nan=0.0)]
    )
    right = float(np.nanmax(np.r_[estimate, high]))

    with chart_style():
        fig = new_figure(figsize)
        ax = fig.add_subplot()
        interval_bars(
            ax, positions, estimate, np.clip(xerr, 0.0, None), NEUTRAL_COLOR, horizontal=True
        )
        for y, value, top, count in zip(positions, estimate, high, counts, strict=True):
            edge = float(top) if math.isfinite(float(top)) else float(value)
            text = pct(float(value)) if percent else f"{value:.3g}"
            ax.text(
                edge + max(right, 1e-9) * 0.015,
                float(y),
                f"{text} · n={int(count):,}",
                va="center",
                fontsize=9,
                color=MUTED_COLOR,
            )
        ax.set_yticks(positions, labels=[_short(str(k)) for k in rows["kol"]])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        if percent:
            _rate_axis(ax, right)
        else:
            ax.set_xlim(0, right * 1.25 if right > 0 else 1.0)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"{estimate_label} (bar: 95% interval)")
        set_titles(
            fig,
            ax,
            title,
            subtitle or f"top {len(rows)} KOLs by {estimate_label}; n = trades behind it",
        )
    return fig


def _rate_axis(ax: Axes, right: float) -> None:
    """A percent x axis from 0 with room right of ``right`` for the value labels."""
    rate_axis(ax, right, axis="x", headroom=1.3, nbins=6)


def _short(name: str, limit: int = 22) -> str:
    """Long names and wallet addresses shortened in the middle: ``7xKXtg2C…osgAsU``."""
    return name if len(name) <= limit else f"{name[:8]}…{name[-6:]}"
