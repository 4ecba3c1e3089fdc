"""The conviction score: a rule score anyone can recompute, plus an ML term that can go down.

Every expected value below is worked out by hand from the module docstring's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.signals.conviction import ml_boost, ml_boosts, ml_parts, rule_score


def test_the_rule_score_adds_up_as_documented() -> None:
    features = {
        "kol_count": 2.0,  # +20
        "kol_elite_count": 1.0,  # +10
        "holder_top10_pct": 25.0,  # +10 (under 30%)
        "volume_to_mcap_ratio": 1.2,  # +5
        "narrative_match": 1.0,  # +5
        "bundle_detected": 0.0,
        "dev_sell_detected": 0.0,
    }
    assert rule_score(features) == 20 + 20 + 10 + 10 + 5 + 5
    assert (
        rule_score({**features, "bundle_detected": 1.0, "holder_top10_pct": 60.0}) == 70 - 25 - 20
    )
    assert rule_score({"kol_count": math.nan}) == 20  # missing stays missing: no points


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        # the alert: 74% on <1.5x and nothing on 10x+: boost 0, veto 60 * 0.24 = 14.4
        ([0.74, 0.20, 0.06, 0.0, 0.0, 0.0], -14),
        # boost 10*0.2 + 15*0.05 + 20*0.05 = 3.75, P(<1.5x) 0.2 under 0.5: no veto
        ([0.20, 0.30, 0.20, 0.20, 0.05, 0.05], 4),
        ([1.0, 0.0, 0.0, 0.0, 0.0, 0.0], -30),  # a sure rug: the whole veto
        ([0.0, 0.0, 0.0, 0.0, 0.0, 1.0], 20),  # a sure 100x+: the whole boost
        # both at once: boost 10*0.3 = 3, veto 60 * (0.6 - 0.5) = 6 -> -3
        ([0.60, 0.10, 0.0, 0.30, 0.0, 0.0], -3),
    ],
)
def test_the_ml_term_can_raise_and_sink_the_score(probs: list[float], expected: int) -> None:
    assert ml_boost(probs) == expected
    assert ml_boosts(np.asarray([probs]))[0] == expected
    boost, veto = ml_parts(probs)
    assert round(boost - veto) == expected and boost >= 0 and veto >= 0


def test_the_model_can_veto_an_alert_the_rules_pass() -> None:
    rules = 70  # the issue's $MEGA: rules 70, <1.5x 74%
    assert rules + ml_boost([0.74, 0.20, 0.06, 0.0, 0.0, 0.0]) < 60  # below the default threshold
