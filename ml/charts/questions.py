"""One chart per answered question (issue 13, point 8): each band's rate of the event as a bar,
its 95% Wilson interval as an error bar, its hits and count beside it.

Same conventions as ``ml.charts.base``: ``matplotlib.figure.Figure`` on the Agg canvas (never
pyplot), built inside ``chart_style()``, 1000 x 600 px by default (render with
``figure_to_png``). ``ml`` knows no engine record: a band is anything with ``label``, ``n``,
``hits`` and ``ci`` (``engine.views.BandRate`` is one). A question with a second breakdown
(rug rates beside 2x+ rates, elite KOLs beside all KOLs) gets a second panel below the first.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ml.charts.base import (
    BAD_COLOR,
    FIGSIZE,
    GOOD_COLOR,
    MUTED_COLOR,
    NEUTRAL_COLOR,
    chart_style,
    interval_bars,
    new_figure,
    pct,
    rate_axis,
    set_titles,
)


class Band(Protocol):
    """A band of signals: its name, how many, how many reached the event, the rate's 95%
    interval."""

    @property
    def label(self) -> str: ...
    @property
    def n(self) -> int: ...
    @property
    def hits(self) -> int: ...
    @property
    def ci(self) -> tuple[float, float]: ...


def band_rates_figure(
    title: str,
    panels: Sequence[tuple[str, Sequence[Band]]],
    *,
    subtitle: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
) -> Figure:
    """Vertical bars, one panel per ``(event, bands)`` of ``panels`` (empty panels are left
    out): the share of each band's signals that reached ``event``, with its 95% interval and
    ``hits/n``. A rug panel is red, a 100x+ panel blue, the others green."""
    shown = [(event, list(bands)) for event, bands in panels if bands]
    if not shown:
        raise ValueError("band_rates_figure needs at least one band")
    for _, bands in shown:
        if any(b.n <= 0 for b in bands):
            raise ValueError("every band needs at least one signal")
    with chart_style():
        fig = new_figure(figsize)
        axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
        for ax, (event, bands) in zip(axes, shown, strict=True):
            _panel(ax, event, bands, _colour(event))
        set_titles(
            fig,
            axes[0],
            title,
            subtitle or "share of signals per band (bar: 95% Wilson interval; n = signals)",
        )
    return fig


def _colour(event: str) -> str:
    if "rug" in event:
        return BAD_COLOR
    return GOOD_COLOR if "100x" not in event else NEUTRAL_COLOR


def _panel(ax: Axes, event: str, bands: list[Band], colour: str) -> None:
    rates = np.array([b.hits / b.n for b in bands], dtype=np.float64)
    low = np.array([b.ci[0] for b in bands], dtype=np.float64)
    high = np.array([b.ci[1] for b in bands], dtype=np.float64)
    positions = np.arange(len(bands))
    interval_bars(
        ax, positions, rates, np.vstack([rates - low, high - rates]), colour, horizontal=False
    )
    top = float(high.max()) if float(high.max()) > 0 else 1.0
    for x, band, rate, hi in zip(positions, bands, rates, high, strict=True):
        ax.text(
            float(x),
            float(hi) + top * 0.03,
            f"{pct(float(rate))} · {band.hits}/{band.n:,}",
            ha="center",
            va="bottom",
            fontsize=9,
            color=MUTED_COLOR,
        )
    ax.set_xticks(positions, labels=[textwrap.fill(b.label, width=18) for b in bands])
    rate_axis(ax, top, axis="y", headroom=1.25, nbins=5)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(textwrap.fill(f"share {event}", width=24))
