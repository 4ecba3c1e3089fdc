"""What the weekly post adds to the week's insights: the week before's insights (what changed),
the alerts sent this week and how they did, and the latest backtest of the alert rule."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from engine.learning.insights import INSIGHTS_FILE, _report_from_json
from engine.views import InsightsReport

log = logging.getLogger(__name__)


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
