"""What the weekly post adds to the week's insights: the week before's insights (what changed),
the alerts sent this week and how they did, the latest backtest of the alert rule, and the
P(3x+) stored with the week's labeled signals against what happened (3x+ net and outcome model)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from sqlmodel import col, select

from engine.learning.insights import INSIGHTS_FILE, _report_from_json
from engine.storage import Database, Outcome, Signal
from engine.views import InsightsReport, ThreeXRecap

log = logging.getLogger(__name__)

THREEX_MULTIPLE: Final = 3.0  # ml.threex.THREEX_MULTIPLE, without importing torch for it


def previous_insights(reports_dir: Path, week: str) -> InsightsReport | None:
    """The insights of the latest report before ``week`` (week names sort in time order)."""
    earlier = sorted(
        p.parent for p in reports_dir.glob(f"*/{INSIGHTS_FILE}") if p.parent.name < week
    )
    if not earlier:
        return None
    directory = earlier[-1]
    try:
        data = json.loads((directory / INSIGHTS_FILE).read_text(encoding="utf-8"))
        report = _report_from_json(data["insights"], directory)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: nothing to compare
        log.warning("ignoring %s: %s", directory / INSIGHTS_FILE, exc)
        return None
    return replace(report, week=report.week or directory.name)


async def threex_recap(db: Database, now: datetime, days: int = 7) -> ThreeXRecap:
    """The P(3x+) stored with each signal labeled in the last ``days`` days, against what
    happened: the 3x+ net's (``Signal.threex``) beside the outcome model's own (``p_threex`` of
    the stored probabilities), on the signals that have both, with their count, the observed 3x+
    share (95% Wilson interval) and each one's binary log-loss. Scores as of the signal only:
    never a re-score with a model trained on these outcomes."""
    import numpy as np

    from ml.metrics import binary_log_loss, p_threex, wilson_interval

    since = now - timedelta(days=days)
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Signal.threex, Signal.probabilities, Outcome.max_mcap, Signal.entry_mcap)
                .join(Outcome, col(Outcome.signal_id) == col(Signal.id))
                .where(col(Outcome.labeled_at) >= since, col(Outcome.labeled_at) <= now)
            )
        ).all()
    labeled = [r for r in rows if r[3]]  # a multiple needs the entry market cap
    both = [r for r in labeled if r[0] and r[1]]
    if not both:
        return ThreeXRecap(days=days, labeled=len(labeled), n=0)
    truth = np.array([max_mcap / entry >= THREEX_MULTIPLE for _, _, max_mcap, entry in both])
    net = np.array([float(threex["p"]) for threex, _, _, _ in both])
    own = p_threex(np.array([probs for _, probs, _, _ in both], dtype=np.float64))
    hits = int(truth.sum())
    return ThreeXRecap(
        days=days,
        labeled=len(labeled),
        n=len(both),
        hits=hits,
        hit_ci=wilson_interval(hits, len(both)),
        net_mean=float(net.mean()),
        outcome_mean=float(own.mean()),
        net_log_loss=binary_log_loss(net, truth),
        outcome_log_loss=binary_log_loss(own, truth),
    )
