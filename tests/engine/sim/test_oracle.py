"""The oracle: exact class probabilities that the simulated outcomes really follow."""

from __future__ import annotations

import math
import statistics

import pytest

import engine.sim
from engine.errors import UnknownToken
from engine.learning.labels import BIG_CLASSES, N_CLASSES
from engine.sim import EFFECTS, SimConfig, generate, outcome_mean
from engine.sim.config import DEFAULT_NOISE_SIGMA
from engine.sim.oracle import INTERCEPT, class_probs, multiple_from_log

# A plain signal: one regular KOL, top-10 at the pivot, volume = mcap, nothing risky.
BASE = {
    "kol_count": 1.0,
    "kol_elite_count": 0.0,
    "holder_top10_pct": 30.0,
    "volume_to_mcap_ratio": 1.0,
    "narrative_match": 0.0,
    "bundle_detected": 0.0,
    "dev_sell_detected": 0.0,
    "overall_market_sentiment": 0.0,
}


def p_big(x: dict[str, float]) -> float:
    """P(>= 10x) under the oracle."""
    probs = class_probs(outcome_mean(x), DEFAULT_NOISE_SIGMA)
    return sum(probs[k] for k in BIG_CLASSES)


@pytest.mark.parametrize("f", [-6.0, -1.3, 0.0, 0.4, 2.2, 4.6, 9.0])
def test_class_probabilities_are_a_distribution(f: float) -> None:
    probs = class_probs(f, 1.05)
    assert len(probs) == N_CLASSES
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert math.fsum(probs) == pytest.approx(1.0, abs=1e-12)


def test_class_probabilities_by_hand() -> None:
    # f = ln 10 sits on the medium/big boundary: half the mass is >= 10x.
    probs = class_probs(math.log(10.0), 1.0)
    assert sum(probs[3:]) == pytest.approx(0.5)
    # P(rug) = Phi((ln 1.5 - 0) / 1) = Phi(0.405) = 0.6574
    assert class_probs(0.0, 1.0)[0] == pytest.approx(0.6574, abs=1e-4)


def test_base_signal_sits_at_the_intercept() -> None:
    assert outcome_mean(BASE) == pytest.approx(INTERCEPT)


@pytest.mark.parametrize(
    ("change", "direction"),
    [
        ({"kol_elite_count": 1.0}, +1),
        ({"kol_count": 2.0}, +1),
        ({"holder_top10_pct": 15.0}, +1),
        ({"holder_top10_pct": 45.0}, -1),
        ({"volume_to_mcap_ratio": 3.0}, +1),
        ({"volume_to_mcap_ratio": 0.2}, -1),
        ({"dev_sell_detected": 1.0}, -1),
        ({"overall_market_sentiment": 0.8}, +1),
        ({"overall_market_sentiment": -0.8}, -1),
    ],
)
def test_each_main_effect_moves_the_oracle_its_documented_way(
    change: dict[str, float], direction: int
) -> None:
    assert (p_big({**BASE, **change}) - p_big(BASE)) * direction > 0


def test_narrative_counts_only_with_two_or_more_kols() -> None:
    assert p_big({**BASE, "narrative_match": 1.0}) == p_big(BASE)
    two = {**BASE, "kol_count": 2.0}
    assert p_big({**two, "narrative_match": 1.0}) > p_big(two)
    gain = outcome_mean({**two, "narrative_match": 1.0}) - outcome_mean(two)
    assert gain == pytest.approx(0.6)


def test_bundle_matters_only_with_concentrated_holders() -> None:
    assert p_big({**BASE, "bundle_detected": 1.0}) == p_big(BASE)
    concentrated = {**BASE, "holder_top10_pct": 60.0}
    assert p_big({**concentrated, "bundle_detected": 1.0}) < p_big(concentrated)
    rug = class_probs(outcome_mean({**concentrated, "bundle_detected": 1.0}), DEFAULT_NOISE_SIGMA)[
        0
    ]
    assert rug > 0.9


def test_effects_have_distinct_sizes_and_are_documented() -> None:
    doc = engine.sim.__doc__ or ""
    sizes = [abs(e.coefficient) for e in EFFECTS]
    assert len(set(sizes)) == len(sizes)
    for effect in EFFECTS:
        sign = "+" if effect.coefficient > 0 else "-"
        assert f"{sign} {abs(effect.coefficient)}" in doc, effect.name
    assert f"{DEFAULT_NOISE_SIGMA}" in doc and f"{INTERCEPT:.2f}" in doc


def test_multiple_from_log_keeps_the_class() -> None:
    ys = [-8.0, -1.0, -1e-9, 0.0, 0.2, math.log(1.5), 3.0, math.log(100.0), 9.0, 12.0]
    multiples = [multiple_from_log(y) for y in ys]
    assert multiples == sorted(multiples)
    assert all(0.5 < m < 1.0 for m in multiples[:3])
    assert multiples[5] == pytest.approx(1.5)
    assert multiples[-1] == 20_000.0


def test_outcomes_follow_the_oracle_within_a_99_percent_interval() -> None:
    world = generate(SimConfig(n_days=10, tokens_per_day=300, snapshot_detail="lean", seed=3))
    n = len(world.truths)
    assert n == 3000
    for k in range(N_CLASSES):
        p = [t.class_probs[k] for t in world.truths]
        expected = math.fsum(p)
        sd = math.sqrt(math.fsum(q * (1 - q) for q in p))
        observed = sum(t.label == k for t in world.truths)
        assert abs(observed - expected) <= 2.576 * sd + 0.5, (k, observed, expected)
    rug_share = sum(t.label == 0 for t in world.truths) / n
    assert 0.55 < rug_share < 0.75
    assert any(t.label == 5 for t in world.truths)  # a few go 100x+


def test_skilled_kols_pick_better_tokens_and_diamond_hands_hold_longer() -> None:
    world = generate(SimConfig(n_days=8, tokens_per_day=40, snapshot_detail="lean", seed=5))
    f_by_mint = {t.mint: t.f for t in world.truths}
    wave = {(t.mint, t.signal_time) for t in world.truths}
    picks: dict[str, list[float]] = {}
    holds: dict[str, list[float]] = {}
    opened: dict[tuple[str, str], float] = {}
    for trade in world.trades:
        key = (trade.wallet, trade.mint)
        if trade.side == "buy" and (trade.mint, trade.block_time) in wave:
            picks.setdefault(trade.wallet, []).append(f_by_mint[trade.mint])
        if trade.side == "buy" and key not in opened:
            opened[key] = trade.block_time.timestamp()
        elif trade.side == "sell" and key in opened:
            holds.setdefault(trade.wallet, []).append(trade.block_time.timestamp() - opened[key])
    profiles = sorted(world.kol_profiles, key=lambda k: k.skill)
    third = len(profiles) // 3

    def mean_pick(kols: list[engine.sim.SimKol]) -> float:
        return statistics.mean(f for k in kols for f in picks.get(k.wallet, []))

    assert mean_pick(profiles[-third:]) > mean_pick(profiles[:third]) + 0.3

    def mean_hold(style: str) -> float:
        return statistics.mean(
            h for k in profiles if k.style == style for h in holds.get(k.wallet, [])
        )

    assert mean_hold("diamond") > 4 * mean_hold("paper")


def test_unknown_mint_has_no_oracle() -> None:
    world = generate(SimConfig(n_days=1, tokens_per_day=2))
    with pytest.raises(UnknownToken):
        world.oracle_probs("So11111111111111111111111111111111111111112")
