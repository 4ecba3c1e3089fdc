"""The five questions the old system set out to answer, answered from the labeled signals (issue
13, point 8), each with counts and 95% Wilson intervals, or "the data cannot tell yet":

1. What top-holder concentration separates winners from rugs? 2x+ and rug rates by
   ``holder_top10_pct`` band.
2. How many KOLs does it take for 10x? 10x+ rate by ``kol_count`` and by ``kol_elite_count``.
3. Which narratives pump? 2x+ rate with a narrative match against the no-narrative baseline.
4. What volume patterns precede moonshots? 10x+ rate by ``volume_to_mcap_ratio`` and by
   ``volume_spike_vs_avg`` band (terciles of the data).
5. Which combination marks a 100x token? The mined conjunction (``ml.rules.miner``, 10x+
   target) with the highest 100x+ rate whose interval lies above the base 100x+ rate, or "too
   few 100x+ signals to tell" with their count.

A band with fewer than ``MIN_BAND`` signals is left out: its rate would say nothing.

``write_question_charts`` draws each answer that can tell (``Question.charted``: two bands or
more) as one chart (``ml.charts.questions``), ``<name>.png`` with the names of ``CHART_NAMES``;
the weekly report posts them with its other charts and ``/insights`` sends them with its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.learning.training import Dataset
from engine.views import BandRate, Question
from ml.metrics import wilson_interval
from ml.rules.miner import mine_patterns

MIN_BAND: Final = 20
MIN_100X: Final = 20
TOP10_BANDS: Final[tuple[float, ...]] = (20.0, 35.0, 50.0)


def answer_questions(ds: Dataset) -> list[Question]:
    """The five answers for ``ds`` (oldest first), in the order of the module docstring."""
    X, m = ds.X, np.asarray(ds.multiples, dtype=float)
    answers = []
    for _, title, event, needs, answer in _QUESTIONS:
        lacking = [c for c in needs if c not in X.columns]
        if lacking:
            answers.append(Question(title, event, [], f"no {', '.join(lacking)} in the data"))
        else:
            answers.append(answer(X, m))
    return answers


def _rate(label: str, mask: np.ndarray, hits: np.ndarray) -> BandRate:
    n, k = int(mask.sum()), int((mask & hits).sum())
    return BandRate(label, n, k, wilson_interval(k, n))


def _bands(
    values: pd.Series, edges: Sequence[float], unit: str = ""
) -> list[tuple[str, np.ndarray]]:
    x = values.to_numpy(dtype=float)
    cuts = [-np.inf, *edges, np.inf]
    out = []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        mask = (x >= lo) & (x < hi)
        if lo == -np.inf:
            label = f"< {hi:g}{unit}"
        elif hi == np.inf:
            label = f">= {lo:g}{unit}"
        else:
            label = f"{lo:g}-{hi:g}{unit}"
        out.append((label, mask))
    return out


def _table(
    title: str, event: str, bands: list[tuple[str, np.ndarray]], hits: np.ndarray
) -> Question:
    rows = [_rate(label, mask, hits) for label, mask in bands if mask.sum() >= MIN_BAND]
    note = None if len(rows) >= 2 else f"too few signals per band to tell (need {MIN_BAND} each)"
    return Question(title, event, rows, note)


def _holders(X: pd.DataFrame, m: np.ndarray) -> Question:
    bands = _bands(X["holder_top10_pct"], TOP10_BANDS, "%")
    q = _table("Top-10 holder share: winners vs rugs", "2x+", bands, m >= 2.0)
    rugs = [_rate(label, mask, m < 1.5) for label, mask in bands if mask.sum() >= MIN_BAND]
    return Question(q.title, q.event, q.rows, q.note, extra_event="rug (<1.5x)", extra=rugs)


def _kols(X: pd.DataFrame, m: np.ndarray) -> Question:
    big = m >= 10.0
    count = X["kol_count"].to_numpy(dtype=float)
    elite = X["kol_elite_count"].to_numpy(dtype=float)
    by_count = [(f"{k} KOL{'s' if k > 1 else ''}", count == k) for k in (1, 2, 3)]
    by_count.append(("4+ KOLs", count >= 4))
    by_elite = [("0 elite", elite == 0), ("1 elite", elite == 1), ("2+ elite", elite >= 2)]
    q = _table("How many KOLs it takes for 10x", "10x+", by_count, big)
    extra = [_rate(label, mask, big) for label, mask in by_elite if mask.sum() >= MIN_BAND]
    return Question(q.title, q.event, q.rows, q.note, extra_event="10x+ by elite KOLs", extra=extra)


def _narratives(X: pd.DataFrame, m: np.ndarray) -> Question:
    match = X["narrative_match"].to_numpy(dtype=float)
    bands = [("no narrative (baseline)", match == 0), ("a narrative matched", match == 1)]
    return _table("Do narratives pump?", "2x+", bands, m >= 2.0)


def _terciles(values: pd.Series) -> list[float]:
    x = values.to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 3 * MIN_BAND:
        return []
    return [float(v) for v in np.quantile(x, [1 / 3, 2 / 3]).round(3)]


def _volume(X: pd.DataFrame, m: np.ndarray) -> Question:
    big = m >= 10.0
    ratio, spike = X["volume_to_mcap_ratio"], X["volume_spike_vs_avg"]
    q = _table(
        "Volume before moonshots", "10x+ by volume/mcap", _bands(ratio, _terciles(ratio)), big
    )
    extra = [
        _rate(label, mask, big)
        for label, mask in _bands(spike, _terciles(spike))
        if mask.sum() >= MIN_BAND
    ]
    return Question(
        q.title, q.event, q.rows, q.note, extra_event="10x+ by 1h volume spike", extra=extra
    )


def _hundred_x(X: pd.DataFrame, m: np.ndarray) -> Question:
    title = "What marks a 100x token"
    hits = m >= 100.0
    n_hits = int(hits.sum())
    if n_hits < MIN_100X:
        note = f"too few 100x+ signals to tell: {n_hits} of {len(m)} (need {MIN_100X})"
        return Question(title, "100x+", [], note)
    mined = mine_patterns(X, m, target="10x", min_support=max(MIN_BAND, len(m) // 40))
    base = n_hits / len(m)
    best: BandRate | None = None
    for p in mined.winning:
        mask = _matches(X, [(c.feature, c.op, c.threshold) for c in p.conditions])
        rate = _rate(p.condition, mask, hits)
        if rate.ci[0] > base and (best is None or rate.hits / rate.n > best.hits / best.n):
            best = rate
    everyone = _rate("all signals (base)", np.ones(len(m), dtype=bool), hits)
    if best is None:
        note = "no mined combination's 100x+ rate lies above the base rate at 95%"
        return Question(title, "100x+", [everyone], note)
    return Question(title, "100x+", [everyone, best], None)


_OPS: Final[dict[str, Callable[[np.ndarray, float], np.ndarray]]] = {
    ">=": lambda x, t: x >= t,
    "<": lambda x, t: x < t,
    "==": lambda x, t: x == t,
}


def _matches(X: pd.DataFrame, conditions: list[tuple[str, str, float]]) -> np.ndarray:
    mask = np.ones(len(X), dtype=bool)
    for feature, op, threshold in conditions:
        mask &= _OPS[op](X[feature].to_numpy(dtype=float), threshold)
    return mask


_Answer = Callable[[pd.DataFrame, np.ndarray], Question]
# (chart name, title, event, columns needed, how to answer), in the module docstring's order
_QUESTIONS: Final[tuple[tuple[str, str, str, tuple[str, ...], _Answer], ...]] = (
    (
        "question_holders",
        "Top-10 holder share: winners vs rugs",
        "2x+",
        ("holder_top10_pct",),
        _holders,
    ),
    (
        "question_kols",
        "How many KOLs it takes for 10x",
        "10x+",
        ("kol_count", "kol_elite_count"),
        _kols,
    ),
    ("question_narratives", "Do narratives pump?", "2x+", ("narrative_match",), _narratives),
    (
        "question_volume",
        "Volume before moonshots",
        "10x+ by volume/mcap",
        ("volume_to_mcap_ratio", "volume_spike_vs_avg"),
        _volume,
    ),
    ("question_100x", "What marks a 100x token", "100x+", (), _hundred_x),
)
CHART_NAMES: Final[dict[str, str]] = {title: name for name, title, *_ in _QUESTIONS}


def question_figure(q: Question) -> Figure:
    """The chart of one answer that can tell (``q.charted``): a bar per band of ``q.rows`` at
    its rate with its 95% interval, and a second panel for ``q.extra`` when it has two bands."""
    from ml.charts.questions import band_rates_figure

    if not q.charted:
        raise ValueError(f"{q.title}: nothing to chart ({q.note or 'fewer than two bands'})")
    panels: list[tuple[str, Sequence[BandRate]]] = [(q.event, q.rows)]
    if len(q.extra) >= 2 and q.extra_event:
        panels.append((q.extra_event, q.extra))
    return band_rates_figure(q.title, panels)


def write_question_charts(questions: Sequence[Question], directory: Path) -> dict[str, Path]:
    """``<name>.png`` in ``directory`` for each answer that can tell, by chart name; the chart
    of an answer that cannot tell (any more) is removed, so no stale one is sent."""
    from ml.charts.base import figure_to_png

    charts: dict[str, Path] = {}
    for q in questions:
        name = CHART_NAMES.get(q.title)
        if name is None:
            continue
        path = directory / f"{name}.png"
        if not q.charted:
            path.unlink(missing_ok=True)
            continue
        directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(figure_to_png(question_figure(q)))
        charts[name] = path
    return charts
