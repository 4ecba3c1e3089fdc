"""Evaluation charts: calibration (reliability) diagram and the backtest before/after chart.

Same conventions as ``ml.charts.base``: ``matplotlib.figure.Figure`` on the Agg canvas (never pyplot),
built inside ``chart_style()``, 1000 x 600 px by default (render with ``figure_to_png``). Empty
input gives a "no data" figure, never an exception. Axis labels are in trader words.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ml.backtest import BacktestResult, GroupStats
from ml.charts.base import (
    FIGSIZE,
    GOOD_COLOR,
    MUTED_COLOR,
    NEUTRAL_COLOR,
    TEXT_COLOR,
    chart_style,
    new_figure,
    no_data_figure,
    set_titles,
)
from ml.metrics import wilson_interval

ALL_COLOR: Final[str] = NEUTRAL_COLOR
ALERTED_COLOR: Final[str] = GOOD_COLOR


# --------------------------------------------------------------------------- calibration


def calibration_bins(
    predicted: np.ndarray,
    observed: np.ndarray,
    n_bins: int = 10,
    strategy: Literal["quantile", "uniform"] = "quantile",
) -> list[tuple[float, int, int]]:
    """``(mean predicted, n, hits)`` per non-empty bin of the predicted probabilities.

    ``quantile`` bins hold about equal numbers of signals (predictions of rare events bunch near
    0, so equal-width bins would leave most of them empty); ``uniform`` splits [0, 1] evenly.
    Rows with a non-finite prediction are left out.
    """
    p = np.asarray(predicted, dtype=np.float64)
    hit = np.asarray(observed, dtype=bool)
    if p.shape != hit.shape or p.ndim != 1:
        raise ValueError(
            f"predicted and observed must be 1-D of equal length: {p.shape} vs {hit.shape}"
        )
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    ok = np.isfinite(p)
    p, hit = p[ok], hit[ok]
    if len(p) == 0:
        return []
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
    elif strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    out: list[tuple[float, int, int]] = []
    for b in range(max(len(edges) - 1, 1)):
        in_bin = index == b
        n = int(in_bin.sum())
        if n:
            out.append((float(p[in_bin].mean()), n, int(hit[in_bin].sum())))
    return out


def calibration_figure(
    predicted: np.ndarray,
    observed: np.ndarray,
    *,
    event: str = "10x+",
    n_bins: int = 10,
    strategy: Literal["quantile", "uniform"] = "quantile",
    title: str | None = None,
    subtitle: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Reliability diagram: per bin of predicted probability, how often ``event`` happened
    (with its Wilson 95% interval) against the mean prediction; the dashed diagonal is a
    perfectly honest model. Below it, the number of signals per bin.

    ``predicted``: the model's probability of the event per signal (e.g.
    ``ml.metrics.p_at_least(probs, 3)`` for 10x+); ``observed``: whether it happened.
    """
    title = title or f"Are the {event} probabilities honest?"
    bins = calibration_bins(predicted, observed, n_bins, strategy)
    if not bins:
        return no_data_figure(title, "no scored signals with known outcomes yet", figsize)
    mean_p = np.array([b[0] for b in bins])
    counts = np.array([b[1] for b in bins])
    hits = np.array([b[2] for b in bins])
    rates = hits / counts
    cis = np.array([wilson_interval(int(h), int(n)) for h, n in zip(hits, counts, strict=True)])
    top = float(max(mean_p.max(), cis[:, 1].max()))
    limit = min(1.0, max(0.05, top * 1.1))
    n_total = int(counts.sum())

    with chart_style():
        fig = new_figure(figsize)
        grid = fig.add_gridspec(2, 1, height_ratios=[4, 1])
        ax = fig.add_subplot(grid[0])
        below = fig.add_subplot(grid[1], sharex=ax)
        ax.plot(
            [0, limit],
            [0, limit],
            linestyle="--",
            color=MUTED_COLOR,
            linewidth=1.2,
            label="honest: happens as often as predicted",
        )
        ax.errorbar(
            mean_p,
            rates,
            yerr=np.vstack([rates - cis[:, 0], cis[:, 1] - rates]),
            fmt="o-",
            color=NEUTRAL_COLOR,
            ecolor=TEXT_COLOR,
            elinewidth=1.2,
            capsize=3,
            markersize=6,
            label="model (bar: 95% interval)",
        )
        ax.set_xlim(0, limit)
        ax.set_ylim(0, limit)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if limit > 0.2 else 1))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if limit > 0.2 else 1))
        ax.set_ylabel(f"how often {event} happened")
        ax.tick_params(labelbottom=False)
        ax.legend(loc="upper left")
        # n per bin next to its point, skipping labels that would collide with the last one
        last = -math.inf
        for x, y, n in zip(mean_p, rates, counts, strict=True):
            if x - last >= limit * 0.06:
                ax.annotate(
                    f"n={int(n):,}",
                    (float(x), float(y)),
                    xytext=(6, -12),
                    textcoords="offset points",
                    fontsize=8,
                    color=MUTED_COLOR,
                )
                last = float(x)
        shown = np.asarray(predicted, dtype=np.float64)
        shown = shown[np.isfinite(shown)]
        below.hist(
            np.clip(shown, 0.0, limit), bins=40, range=(0.0, limit), color=NEUTRAL_COLOR, alpha=0.7
        )
        below.set_ylabel("signals")
        below.set_xlabel(f"predicted chance of {event}")
        below.grid(axis="x", visible=False)
        set_titles(
            fig,
            ax,
            title,
            subtitle
            or f"{n_total:,} signals in {len(bins)} bins of similar prediction "
            f"({_span(counts)} each); below: how the predictions spread",
        )
    return fig


def _span(counts: np.ndarray) -> str:
    low, high = int(counts.min()), int(counts.max())
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


# --------------------------------------------------------------------------- backtest


def backtest_figure(
    result: BacktestResult,
    *,
    title: str = "Backtest: did the alerts pick better tokens?",
    subtitle: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Per week, the share of signals that reached 2x+ for all signals (before ML) and for the
    alerted ones (after ML), each with its Wilson 95% band; on the right the same overall, with
    the typical (geometric mean) peak multiple of each group."""
    weeks = result.weeks
    if weeks.empty:
        return no_data_figure(title, "not enough history for a walk-forward backtest yet", figsize)
    dates = weeks["week"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()

    with chart_style():
        fig = new_figure(figsize)
        grid = fig.add_gridspec(1, 2, width_ratios=[4.2, 1.3])
        ax = fig.add_subplot(grid[0])
        side = fig.add_subplot(grid[1], sharey=ax)
        top = 0.0
        for group, colour, label in (
            ("all", ALL_COLOR, "all signals (before ML)"),
            ("alerted", ALERTED_COLOR, "alerted (after ML)"),
        ):
            share = weeks[f"{group}_share_2x"].to_numpy(dtype=np.float64)
            low = weeks[f"{group}_share_2x_low"].to_numpy(dtype=np.float64)
            high = weeks[f"{group}_share_2x_high"].to_numpy(dtype=np.float64)
            ax.fill_between(dates, low, high, color=colour, alpha=0.22, linewidth=0)
            ax.plot(dates, share, "o-", color=colour, label=label, markersize=5)
            if np.isfinite(high).any():
                top = max(top, float(np.nanmax(high)))
        ax.xaxis.set_major_formatter(DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
        ax.set_xlabel("week (starting Monday, UTC)")
        ax.set_ylabel("share of signals that reached 2x+")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.legend(loc="upper left", labelcolor=TEXT_COLOR)

        overall = ((result.overall_all, ALL_COLOR), (result.overall_alerted, ALERTED_COLOR))
        for x, (stats, colour) in enumerate(overall):
            _overall_point(side, x, stats, colour)
            if math.isfinite(stats.share_2x_ci[1]):
                top = max(top, stats.share_2x_ci[1])
        side.set_xlim(-0.6, 1.6)
        side.set_xticks([0, 1], labels=["all", "alerted"])
        side.tick_params(labelleft=False)
        side.grid(axis="x", visible=False)
        side.set_title("overall", fontsize=12)
        ax.set_ylim(0, min(1.0, top * 1.18) if top > 0 else 1.0)

        rule = (
            f"{result.score_name} >= {result.threshold:g}"
            if result.threshold is not None
            else f"top {result.alert_share:.0%} by {result.score_name}"
        )
        claim = "alerts beat all signals (95%)" if result.improved else "no proven improvement"
        set_titles(
            fig,
            ax,
            title,
            subtitle or f"walk-forward, {len(weeks)} weeks; alert when {rule}; {claim}",
        )
    return fig


def _overall_point(ax: Axes, x: int, stats: GroupStats, colour: str) -> None:
    if stats.n == 0:
        ax.text(x, 0.02, "none", ha="center", color=MUTED_COLOR, fontsize=10)
        return
    low, high = stats.share_2x_ci
    ax.errorbar(
        [x],
        [stats.share_2x],
        yerr=[[stats.share_2x - low], [high - stats.share_2x]],
        fmt="o",
        color=colour,
        ecolor=colour,
        elinewidth=2,
        capsize=5,
        markersize=8,
    )
    typical = f"{stats.multiple:.1f}x" if math.isfinite(stats.multiple) else "-"
    ax.annotate(
        f"{stats.share_2x:.0%}\nn={stats.n:,}\npeak ~{typical}",
        (x, high),
        xytext=(0, 6),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=9,
        color=TEXT_COLOR,
    )
