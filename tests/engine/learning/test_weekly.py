"""The weekly post's P(3x+) recap: the scores stored with the week's labeled signals against
what happened (engine.learning.weekly.threex_recap, issue 13)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.learning.weekly import threex_recap
from engine.storage import Database, Outcome, Signal

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
KOL = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
NET = {"p": 0.5, "flag": True, "threshold": 0.3, "version": "threex-1"}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'weekly.db'}")
    await database.create()
    yield database
    await database.dispose()


async def add(
    db: Database,
    mint: str,
    max_mcap: float,
    labeled_days_ago: float,
    threex: dict[str, object] | None,
    probabilities: list[float] | None,
) -> None:
    labeled_at = NOW - timedelta(days=labeled_days_ago)
    async with db.session() as session:
        signal = Signal(
            mint=mint,
            ts=labeled_at - timedelta(days=3),
            trigger_wallet=KOL,
            entry_mcap=100_000.0,
            probabilities=probabilities,
            threex=threex,
        )
        session.add(signal)
        await session.flush()
        assert signal.id is not None
        session.add(
            Outcome(
                signal_id=signal.id,
                max_mcap=max_mcap,
                max_roi=max_mcap / 100_000.0 - 1,
                time_to_peak_hours=5.0,
                label=1,
                labeled_at=labeled_at,
            )
        )


async def test_recap_of_the_weeks_stored_scores(db: Database) -> None:
    # A: 4x (3x+), net 0.5, outcome model P(>=5x)=0.3 and small_win 0.2
    await add(db, "A", 400_000.0, 1, NET, [0.5, 0.2, 0.1, 0.1, 0.05, 0.05])
    # B: 2x (not 3x+), net 0.2, outcome model small_win 0.2 only
    await add(db, "B", 200_000.0, 6.5, {**NET, "p": 0.2, "flag": False}, [0.8, 0.2, 0, 0, 0, 0])
    await add(db, "C", 900_000.0, 2, None, [0.5, 0.5, 0, 0, 0, 0])  # scored without a net
    await add(db, "D", 900_000.0, 10, NET, [0.5, 0.5, 0, 0, 0, 0])  # labeled before the week
    r = await threex_recap(db, NOW, 7)
    assert (r.days, r.labeled, r.n, r.hits) == (7, 3, 2, 1)
    # by hand: share of small_win above 3x = ln(5/3) / ln(5/1.5) = 0.424283
    share = math.log(5 / 3) / math.log(5 / 1.5)
    assert share == pytest.approx(0.424283, abs=1e-6)
    own_a, own_b = 0.3 + 0.2 * share, 0.2 * share
    assert r.net_mean == pytest.approx(0.35)
    assert r.outcome_mean == pytest.approx((own_a + own_b) / 2)
    assert r.net_log_loss == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2)
    assert r.outcome_log_loss == pytest.approx(-(math.log(own_a) + math.log(1 - own_b)) / 2)
    assert r.hit_ci[0] < 0.5 < r.hit_ci[1]


async def test_recap_without_any_net_score_says_so(db: Database) -> None:
    await add(db, "C", 900_000.0, 2, None, [0.5, 0.5, 0, 0, 0, 0])
    r = await threex_recap(db, NOW, 7)
    assert (r.labeled, r.n, r.hits) == (1, 0, 0) and math.isnan(r.net_log_loss)


def test_weekly_post_shows_both_p_threex_and_the_outcomes() -> None:
    from bot.format import threex_recap_lines
    from engine.views import ThreeXRecap

    r = ThreeXRecap(7, 3, 2, 1, (0.095, 0.905), 0.35, 0.277, 0.4581, 0.5218)
    assert threex_recap_lines(r) == [
        "P(3x+) as stored at the signal, signals labeled in the last 7 d: 2 of 3 labeled scored "
        "by both; 1 reached 3x (50%, 95% CI 10%–90%)",
        "  mean P(3x+): 3x+ net 35.0% · outcome model 27.7% · log-loss 0.4581 vs 0.5218 "
        "(lower is better)",
    ]
    assert threex_recap_lines(ThreeXRecap(7, 4, 0)) == [
        "P(3x+) as stored at the signal, signals labeled in the last 7 d: none scored by a "
        "3x+ net (4 labeled)"
    ]
