"""/predict as of the signal: the score stored then, then the outcome or a labeled live update."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import format as fmt
from engine.views import Prediction, Reason, Score

SIGNAL = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 1, 6, 4, 0, tzinfo=UTC)  # 18 h later
AT_SIGNAL = Score(
    rule=55,
    boost=5,
    probabilities=(0.2, 0.3, 0.2, 0.2, 0.05, 0.05),  # boost 10*.2 + 15*.05 + 20*.05 = 3.75
    reasons=(Reason("kol_elite_count", 3.0, 0.8), Reason("bundle_detected", 1.0, -0.4)),
    model_version="outcome-a",
)
NOW_SCORE = Score(
    rule=40,
    boost=-14,
    probabilities=(0.74, 0.2, 0.06, 0.0, 0.0, 0.0),  # veto 60 * (0.74 - 0.5) = 14.4
    model_version="outcome-b",
)


def _prediction(**kw: object) -> Prediction:
    base: dict[str, object] = dict(
        mint="M" * 44,
        symbol="BANANA",
        name="Banana",
        as_of=NOW,
        features={},
        score=NOW_SCORE,
        signal_ts=SIGNAL,
        outcome_label=None,
        at_signal=AT_SIGNAL,
    )
    return Prediction(**{**base, **kw})  # type: ignore[arg-type]


def test_a_labeled_signal_shows_the_stored_score_and_how_it_ended() -> None:
    lines = fmt.prediction(_prediction(outcome_label=3, outcome_multiple=47.0)).split("\n")
    lines = [line for line in lines if not line.startswith("P(3x+)")]  # the 3x+ net's own line
    assert lines[1:] == [
        "At the signal, 2026-01-05 10:00 UTC · model outcome-a",
        "Conviction 60 (rules 55 + ML 5)",
        "Odds: <1.5x 20.0% | 1.5–5x 30.0% | 5–10x 20.0% | 10–50x 20.0% | 50–100x 5.0% | 100x+ 5.0%",
        "ML term: +3.8 for the odds of 10x+",
        "Most likely: 1.5–5x",
        "Top reasons:",
        "  1. 3 elite KOLs: raises the odds of 10x+",
        "  2. bundled at launch: lowers the odds of 10x+",
        "Outcome: ended 47.0x: 10–50x",
    ]
    assert "big_win" not in "\n".join(lines) and "toward" not in "\n".join(lines)


def test_an_unlabeled_signal_adds_a_clearly_labeled_live_update() -> None:
    lines = fmt.prediction(_prediction()).split("\n")
    lines = [line for line in lines if not line.lstrip().startswith("P(3x+)")]
    assert lines[1] == "At the signal, 2026-01-05 10:00 UTC · model outcome-a"
    assert lines[2] == "Conviction 60 (rules 55 + ML 5)"
    i = lines.index("Now, 18.0 h later (live re-score, not labeled yet) · model outcome-b:")
    assert lines[i + 1 :] == [
        "  Conviction 26 (rules 40 + ML -14)",
        "  Odds: <1.5x 74.0% | 1.5–5x 20.0% | 5–10x 6.0% | 10–50x 0.0% | 50–100x 0.0% | 100x+ 0.0%",
        "  ML term: +0.0 for the odds of 10x+, -14.4 rug veto (<1.5x at 74%, over 50%)",
        "  Most likely: <1.5x",
    ]


def test_a_token_without_a_signal_is_scored_as_of_now() -> None:
    lines = fmt.prediction(_prediction(signal_ts=None, at_signal=None)).split("\n")
    assert lines[1] == "As of 2026-01-06 04:00 UTC (no signal yet) · model outcome-b"
    assert lines[2] == "Conviction 26 (rules 40 + ML -14)"
