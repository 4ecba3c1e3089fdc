"""The weekly post: insights, what changed since last week, the week's alerts, the backtest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot import format as fmt
from engine.views import (
    AlertPerformance,
    ClassRate,
    InsightsReport,
    PerformanceGroup,
    RuleStats,
    WeeklyExtras,
)


def _insights(n: int, counts: list[int], top: list[str], week: str, model: str) -> InsightsReport:
    names = ["rug", "small_win", "medium_win", "big_win", "moonshot", "mega_moon"]
    return InsightsReport(
        n_signals=n,
        model_version=model,
        top_features=[(f, 0.1) for f in top],
        class_rates=[ClassRate(c, k, (0.0, 1.0)) for c, k in zip(names, counts, strict=True)],
        winning=[],
        losing=[],
        chart_path=Path("/srv/moonbot/data/reports/2026-W05/feature_importance.png"),
        week=week,
    )


NOW = _insights(
    200, [100, 50, 30, 15, 4, 1], ["kol_elite_count", "holder_top10_pct"], "2026-W05", "m2"
)
BEFORE = _insights(
    150, [80, 40, 20, 8, 1, 1], ["holder_top10_pct", "kol_elite_count"], "2026-W04", "m1"
)
NONE_SENT = PerformanceGroup("all channels", 0, 0, 0, (0, 0), 0, (0, 0), 0, (0, 0), None, None)
RULE = RuleStats(
    "live rule", 12, 0.4, 6, 0.5, (0.25, 0.75), 1, 1 / 12, (0.01, 0.35), 3, 0.25, (0.09, 0.53)
)


def test_the_weekly_post_says_what_changed_and_how_the_alerts_did() -> None:
    recap = AlertPerformance(7, datetime(2026, 2, 2, 12, tzinfo=UTC), NONE_SENT, [])
    text = fmt.weekly(NOW, WeeklyExtras(BEFORE, recap, [RULE]))
    lines = text.split("\n")
    # 5x+ = medium_win and up: (30 + 15 + 4 + 1) / 200 = 25.0%, before (20 + 8 + 1 + 1) / 150 = 20.0%
    assert "Since 2026-W04: 200 labeled signals (+50) · model m2 (was m1)" in lines
    assert "  reached 5x+: 25.0% (was 20.0%)" in lines
    assert (
        "  top features: kol_elite_count, holder_top10_pct (were holder_top10_pct, kol_elite_count)"
        in lines
    )
    assert (
        "Alerts sent in the last 7 days (to 2026-02-02 12:00 UTC), by their signal's outcome:"
        in lines
    )
    assert "  all channels: no alert sent" in lines
    assert lines[-1] == (
        "  live rule: 12 alerts, 0.4/day · reached 2x 6 (50.0%, 25.0%-75.0%) · 10x 1 (8.3%, "
        "1.0%-35.0%) · rugs 3 (25.0%, 9.0%-53.0%)"
    )
    assert "/srv/" not in text and ".png" not in text  # no server path in any reply


def test_the_first_weekly_post_has_nothing_to_compare_with() -> None:
    recap = AlertPerformance(7, datetime(2026, 2, 2, 12, tzinfo=UTC), NONE_SENT, [])
    text = fmt.weekly(NOW, WeeklyExtras(None, recap, []))
    assert "Since last week: no earlier report to compare with" in text.split("\n")
    assert "Backtest" not in text
