"""Walk-forward backtest of the alert rule that runs, on the labeled signals.

Each week's signals are scored by an outcome model trained only on signals whose outcome was
known when that week began (``ml.backtest.walk_forward``; nothing shuffled, no week scored by a
model that saw it). Every scored signal then gets the conviction the live system would have
given it at signal time: the rule score of its signal-time features plus the ML term
(``engine.signals.conviction``: boost toward 10x+ minus the rug veto). Four alert sets are
compared on the same signals:

* **live rule**: a Diamond Hand KOL bought (by that KOL's closed positions before the buy) and
  conviction (rules + ML) >= the alert threshold: what ``engine.signals.outbox`` alerts on;
* **rule alone**: a Diamond Hand buy and the rule score alone >= the threshold (no model);
* **model alone**: the ML term >= ``MODEL_ALONE_POINTS`` (no rules, no Diamond Hand);
* **all signals**: the base rate.

For each: alerts, alerts per day, the share reaching 2x and 10x and the share of rugs (< 1.5x),
each a count with its Wilson 95% interval. The chart is the model-alone view by week.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import col, select

from engine.learning.training import Dataset
from engine.signals.conviction import ml_boosts, rule_score
from engine.storage import Database, Kol, Trade
from engine.tracking.kolstats import compute_stats
from engine.tracking.positions import PositionState
from engine.tracking.positionstore import all_closed_positions
from engine.views import RuleStats
from ml.backtest import DEFAULT_THRESHOLD, BacktestResult, walk_forward
from ml.charts.base import figure_to_png
from ml.charts.evaluation import backtest_figure
from ml.metrics import wilson_interval
from ml.outcome import OutcomeModel

MODEL_ALONE_POINTS = DEFAULT_THRESHOLD  # ML-term points for "model alone" (ml.backtest's default)
RESULT_FILE = "backtest.json"


@dataclass(frozen=True, slots=True)
class Backtest:
    result: BacktestResult
    chart: Path
    rules: tuple[RuleStats, ...] = ()
    threshold: int | None = None  # the conviction threshold of the live and rule-alone sets
    days: float = math.nan


def rule_stats(name: str, multiples: np.ndarray, days: float) -> RuleStats:
    """One alert set's numbers from its signals' max multiples over ``days`` scored days."""
    m = np.asarray(multiples, dtype=np.float64)
    n = len(m)

    def share(hits: int) -> tuple[int, float, tuple[float, float]]:
        return hits, (hits / n if n else math.nan), wilson_interval(hits, n)

    h2, s2, c2 = share(int((m >= 2.0).sum()))
    h10, s10, c10 = share(int((m >= 10.0).sum()))
    rugs, sr, cr = share(int((m < 1.5).sum()))
    per_day = n / days if days > 0 else math.nan
    return RuleStats(name, n, per_day, h2, s2, c2, h10, s10, c10, rugs, sr, cr)


def _ml_term(probs: np.ndarray) -> np.ndarray:
    """The conviction's ML term in whole points (boost minus rug veto), as the scorer rounds it."""
    return np.asarray(ml_boosts(probs), dtype=np.float64)


def run_backtest(
    ds: Dataset,
    chart_dir: Path,
    params: dict[str, object] | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    diamond_hand: Sequence[bool] | None = None,
    threshold: int | None = None,
) -> Backtest:
    """The walk-forward backtest (see the module docstring). ``diamond_hand[i]``: a Diamond Hand
    KOL bought signal ``i`` of ``ds`` (``diamond_hand_buys``); with it and ``threshold`` the live
    rule and the rule alone are evaluated too. The summary is also written as ``backtest.json``
    next to the chart, for the weekly report."""
    frame = ds.X.copy()
    frame["ts"] = pd.to_datetime(ds.ts, utc=True)
    frame["multiple"] = ds.multiples
    result = walk_forward(
        frame,
        lambda: OutcomeModel(**(params or {})),  # type: ignore[arg-type]
        score=_ml_term,
        threshold=MODEL_ALONE_POINTS,
        progress=progress,
    )
    chart_dir.mkdir(parents=True, exist_ok=True)
    chart = chart_dir / "backtest.png"
    chart.write_bytes(figure_to_png(backtest_figure(result)))
    if diamond_hand is None or threshold is None:
        return Backtest(result, chart)
    rows = _scored_rows(ds, result)
    scored = result.signals
    ml_term = scored["score"].to_numpy(dtype=np.float64)
    rules = np.array([rule_score(ds.X.iloc[i].to_dict()) for i in rows], dtype=np.float64)
    dh = np.asarray(diamond_hand, dtype=bool)[rows]
    multiples = scored["multiple"].to_numpy(dtype=np.float64)
    ts = pd.to_datetime(scored["ts"], utc=True)
    days = max((ts.max() - ts.min()).total_seconds() / 86400.0, 1.0) if len(ts) else math.nan
    sets = {
        "live rule (Diamond Hand + rules + ML)": dh & (rules + ml_term >= threshold),
        "rule alone (Diamond Hand + rules)": dh & (rules >= threshold),
        f"model alone (ML term >= {MODEL_ALONE_POINTS:g})": ml_term >= MODEL_ALONE_POINTS,
        "all signals": np.ones(len(multiples), dtype=bool),
    }
    stats = tuple(rule_stats(name, multiples[mask], days) for name, mask in sets.items())
    bt = Backtest(result, chart, stats, threshold, days)
    (chart_dir / RESULT_FILE).write_text(json.dumps(summary(bt), indent=1) + "\n", encoding="utf-8")
    return bt


def summary(bt: Backtest) -> dict[str, object]:
    """The backtest as JSON-ready numbers (what ``backtest.json`` holds)."""
    return {
        "threshold": bt.threshold,
        "days": bt.days,
        "weeks": len(bt.result.weeks),
        "rules": [asdict(r) for r in bt.rules],
    }


def load_summary(directory: Path) -> list[RuleStats]:
    """The rule comparison a backtest wrote in ``directory`` (empty if none)."""
    path = directory / RESULT_FILE
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    rules: list[RuleStats] = []
    for r in data["rules"]:
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in r.items()}
        rules.append(RuleStats(**fields))
    return rules


def _scored_rows(ds: Dataset, result: BacktestResult) -> np.ndarray:
    """The row of ``ds`` behind each of ``result.signals``: walk-forward keeps the rows with a
    finite multiple, in stable time order, scored weeks only; checked against ts and multiple."""
    multiples = np.asarray(ds.multiples, dtype=np.float64)
    kept = np.flatnonzero(np.isfinite(multiples))
    ts = pd.to_datetime(pd.Series([ds.ts[i] for i in kept]), utc=True)
    order = kept[np.argsort(ts.to_numpy(), kind="stable")]
    scored_weeks = set(pd.to_datetime(result.signals["week"], utc=True))
    week_of = pd.to_datetime(pd.Series([ds.ts[i] for i in order]), utc=True)
    monday = (week_of - pd.to_timedelta(week_of.dt.day_of_week, unit="D")).dt.normalize()
    rows = order[monday.isin(scored_weeks).to_numpy()]
    same = len(rows) == len(result.signals) and np.allclose(
        multiples[rows], result.signals["multiple"].to_numpy(dtype=np.float64)
    )
    if not same:
        raise RuntimeError("backtest rows do not line up with the dataset")
    return rows


async def diamond_hand_buys(
    db: Database,
    ds: Dataset,
    *,
    window: timedelta,
    dh_threshold: float,
    dh_min_positions: int,
) -> list[bool]:
    """For each signal of ``ds``: did a KOL who was a Diamond Hand *at its buy* (by its
    positions closed before that buy) buy the token within ``window`` of the signal?"""
    by_wallet: dict[str, list[PositionState]] = {}
    for p in await all_closed_positions(db):
        by_wallet.setdefault(p.wallet, []).append(p)
    async with db.session() as session:
        kol_wallets = set((await session.exec(select(Kol.wallet))).all())
        buys = (
            await session.exec(
                select(Trade.mint, Trade.wallet, Trade.block_time).where(
                    Trade.side == "buy", Trade.is_kol, col(Trade.mint).in_(set(ds.mints))
                )
            )
        ).all()
    by_mint: dict[str, list[tuple[str, datetime]]] = {}
    for mint, wallet, when in buys:
        if wallet in kol_wallets:
            by_mint.setdefault(mint, []).append((wallet, when))
    cache: dict[tuple[str, datetime], bool] = {}

    def is_dh(wallet: str, when: datetime) -> bool:
        key = (wallet, when)
        if key not in cache:
            before = [
                p
                for p in by_wallet.get(wallet, [])
                if p.closed_at is not None and p.closed_at < when
            ]
            stats = compute_stats(before)
            cache[key] = stats.is_diamond_hand(dh_threshold, dh_min_positions)
        return cache[key]

    return [
        any(
            ts <= when <= ts + window and is_dh(wallet, when)
            for wallet, when in by_mint.get(mint, [])
        )
        for mint, ts in zip(ds.mints, ds.ts, strict=True)
    ]
