"""The conjunction miner (ml.rules.miner) rediscovers the simulator's planted effects, finds nothing in
noise, and every number it reports can be recomputed from the rows."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from ml.metrics import wilson_interval
from ml.rules.miner import MinedPatterns, mine_patterns
from ml.rules.patterns import Condition, Pattern, candidate_conditions, losing, mine_single, winning
from ml.rules.stats import (
    feature_families,
    fit_logistic,
    interaction_z,
    score_z,
    two_proportion_z,
    wilson_bounds,
)
from tests.ml.planted_synth import make_planted


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, np.ndarray, MinedPatterns]:
    data = make_planted(20_000, seed=0)
    return data.X, data.multiples, mine_patterns(data.X, data.multiples)


def _has(p: Pattern, feature: str, op: str, low: float, high: float) -> bool:
    return any(
        c.feature == feature and c.op == op and low <= c.threshold <= high for c in p.conditions
    )


def _narrative_and_kols(p: Pattern, kols: tuple[float, float]) -> bool:
    return (
        p.size == 2 and _has(p, "narrative_match", "==", 1, 1) and _has(p, "kol_count", ">=", *kols)
    )


# --------------------------------------------------------------------------- planted effects


def test_top_winning_patterns_are_the_planted_ones(planted) -> None:  # type: ignore[no-untyped-def]
    _, _, mined = planted
    top = mined.winning[:5]
    assert "kol_elite_count" in mined.winning[0].features  # +1.2 per elite KOL: the strongest
    # the planted interaction, a narrative backed by 2+ KOLs (the miner may prefer 3+ KOLs, a
    # better slice of it, as its best threshold; the >= 2 conjunction itself is kept as well)
    assert any(_narrative_and_kols(p, (2, 3)) for p in top)
    assert any(_narrative_and_kols(p, (2, 2)) for p in mined.winning)


def test_top_losing_patterns_are_the_planted_ones(planted) -> None:  # type: ignore[no-untyped-def]
    _, _, mined = planted
    worst = mined.losing[0]  # -2.0: bundled AND top-10 share > 50
    assert worst.size == 2
    assert _has(worst, "holder_top10_pct", ">=", 45, 60)
    assert _has(worst, "bundle_detected", "==", 1, 1) or _has(
        worst, "bundle_severity", ">=", 0.08, 1
    )
    assert worst.rate_2x < 0.05 and worst.ci_2x[1] < 0.05
    dev_sell = [
        p for p in mined.losing[:5] if p.conditions == (Condition("dev_sell_detected", "==", 1.0),)
    ]
    assert len(dev_sell) == 1  # -1.0: the creator sold before the signal


def test_noise_features_never_appear(planted) -> None:  # type: ignore[no-untyped-def]
    _, _, mined = planted
    used = {f for p in mined.winning + mined.losing for f in p.features}
    assert not {f for f in used if f.startswith("noise_")}


def test_pure_noise_gives_no_pattern() -> None:
    data = make_planted(10_000, seed=1, signal=0.0)
    mined = mine_patterns(data.X, data.multiples)
    assert mined.winning == [] and mined.losing == []
    assert mined.tested[0] > 500  # it did look: ~840 single conditions


def test_counts_intervals_and_lifts_match_the_rows(planted) -> None:  # type: ignore[no-untyped-def]
    X, multiples, mined = planted
    assert mined.n_rows == len(X)
    assert mined.base_2x == pytest.approx(float(np.mean(multiples >= 2)))
    assert mined.base_10x == pytest.approx(float(np.mean(multiples >= 10)))
    for p in mined.winning + mined.losing:
        rows = p.matches(X)
        assert p.n == rows.sum() >= mined.min_support
        assert p.wins_2x == (multiples[rows] >= 2).sum()
        assert p.wins_10x == (multiples[rows] >= 10).sum()
        assert p.ci_2x == wilson_interval(p.wins_2x, p.n)
        assert p.lift_2x == pytest.approx(p.rate_2x / mined.base_2x)
        assert len(set(p.features)) == p.size <= 3
    for p in mined.winning:
        assert p.ci_2x[0] > p.base_2x
    for p in mined.losing:
        assert p.ci_2x[1] < p.base_2x


def test_rankings_follow_the_wilson_bounds(planted) -> None:  # type: ignore[no-untyped-def]
    _, _, mined = planted
    lows = [p.ci_2x[0] for p in mined.winning]
    highs = [p.ci_2x[1] for p in mined.losing]
    assert lows == sorted(lows, reverse=True)
    assert highs == sorted(highs)
    # each planted effect is shown once (top_k = 10 is a cap; proxies and other cuts of an
    # effect already shown are not): measured 9 winning and 8 losing patterns
    assert (len(mined.winning), len(mined.losing)) == (9, 8)


def test_conjunctions_beat_each_of_their_conditions(planted) -> None:  # type: ignore[no-untyped-def]
    X, multiples, mined = planted
    hit = multiples >= 2
    for ranked, sign in ((mined.winning, 1), (mined.losing, -1)):
        for p in ranked:
            rows = p.matches(X)
            for c in p.conditions if p.size > 1 else ():
                part = c.mask(X[c.feature].to_numpy(dtype=float))
                rest = part & ~rows
                assert sign * (hit[rows].mean() - hit[rest].mean()) > 0


def test_no_near_duplicates_kept(planted) -> None:  # type: ignore[no-untyped-def]
    X, _, mined = planted
    for ranked in (mined.winning, mined.losing):
        rows = [p.matches(X) for p in ranked]
        for i in range(len(ranked)):
            for j in range(i):
                jaccard = (rows[i] & rows[j]).sum() / (rows[i] | rows[j]).sum()
                assert jaccard < 0.9
                shape_i = {(c.feature, c.op) for c in ranked[i].conditions}
                shape_j = {(c.feature, c.op) for c in ranked[j].conditions}
                if shape_i == shape_j:
                    assert jaccard < 0.5


def test_deterministic(planted) -> None:  # type: ignore[no-untyped-def]
    X, multiples, mined = planted
    again = mine_patterns(X, multiples)
    assert again == mined


def test_target_10x_ranks_by_the_10x_rate(planted) -> None:  # type: ignore[no-untyped-def]
    X, multiples, _ = planted
    mined = mine_patterns(X, multiples, target="10x", max_conditions=1)
    assert mined.target == "10x"
    assert "kol_elite_count" in mined.winning[0].features
    lows = [p.ci_10x[0] for p in mined.winning]
    assert lows == sorted(lows, reverse=True)
    assert all(p.size == 1 for p in mined.winning + mined.losing)


# --------------------------------------------------------------------------- rules by hand


def _cells(
    rates: dict[tuple[int, int], int], per_cell: int = 1000
) -> tuple[pd.DataFrame, np.ndarray]:
    """Two yes/no features a, b; ``per_cell`` rows per (a, b) cell, of which ``rates[cell]``
    reach 3x (the rest 1x)."""
    a, b, mult = [], [], []
    for (va, vb), hits in rates.items():
        a += [va] * per_cell
        b += [vb] * per_cell
        mult += [3.0] * hits + [1.0] * (per_cell - hits)
    return pd.DataFrame({"a": a, "b": b}, dtype=float), np.array(mult)


def _conditions(mined: MinedPatterns) -> list[set[str]]:
    return [{c.text for c in p.conditions} for p in mined.winning]


def test_a_conjunction_whose_parts_just_add_up_is_not_kept() -> None:
    # log-odds: -1.386 + 1.386 a + 1.386 b exactly (20%, 50%, 50%, 80%): no interaction
    X, mult = _cells({(0, 0): 200, (1, 0): 500, (0, 1): 500, (1, 1): 800})
    mined = mine_patterns(X, mult)
    assert {"a is yes"} in _conditions(mined) and {"b is yes"} in _conditions(mined)
    assert {"a is yes", "b is yes"} not in _conditions(mined)


def test_a_conjunction_that_works_together_is_kept() -> None:
    # only a AND b helps (20%, 20%, 20%, 80%)
    X, mult = _cells({(0, 0): 200, (1, 0): 200, (0, 1): 200, (1, 1): 800})
    mined = mine_patterns(X, mult)
    assert _conditions(mined)[0] == {"a is yes", "b is yes"}
    best = mined.winning[0]
    assert (best.n, best.wins_2x) == (1000, 800)


def test_independent_effects_are_not_shown_as_a_conjunction(planted) -> None:  # type: ignore[no-untyped-def]
    # elite KOLs and a low top-10 share add up (f has no term linking them): "1+ elite AND top-10
    # share < 42" passes the yes/no interaction test (rule 3) only because 2+ elite KOLs do even
    # better; once each level of both features has its own weight there is nothing left
    _, _, mined = planted
    for p in mined.winning + mined.losing:
        assert not {"kol_elite_count", "holder_top10_pct"} <= set(p.features), p.condition


def test_proxies_of_shown_effects_are_not_shown() -> None:
    # a and b each lift the log-odds by 1.386 (20%, 50%, 50%, 80%), nothing else matters;
    # s = a + b + noise ranks first (its top cut is mostly "a and b") and c is a noisy copy of a
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2, 8000), rng.integers(0, 2, 8000)
    hit = rng.random(8000) < 1 / (1 + np.exp(1.386 - 1.386 * a - 1.386 * b))
    X = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "s": a + b + rng.normal(0.0, 0.35, 8000),
            "c": np.where(rng.random(8000) < 0.15, 1 - a, a),
        },
        dtype=float,
    )
    mined = mine_patterns(X, np.where(hit, 3.0, 1.0))
    assert sorted(p.condition for p in mined.winning) == ["a is yes", "b is yes"]
    assert sorted(p.condition for p in mined.losing) == ["a is no", "b is no"]


def test_nan_never_matches_a_condition() -> None:
    values = np.array([np.nan, 0.0, 1.0, np.nan, 1.0])
    for cond in (
        Condition("f", "==", 1.0),
        Condition("f", "==", 0.0),
        Condition("f", "<", 5.0),
        Condition("f", ">=", -5.0),
    ):
        assert not cond.mask(values)[[0, 3]].any()
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"f": rng.normal(size=2000)})
    X.loc[:499, "f"] = np.nan
    mult = np.where(X["f"].isna(), 5.0, np.where(X["f"] > 0, 3.0, 1.0))  # NaN rows all win
    mined = mine_patterns(X, mult)
    for p in mined.winning + mined.losing:
        assert not p.matches(X)[:500].any()


def test_candidate_conditions() -> None:
    assert candidate_conditions("flag", np.array([0.0, 1.0, np.nan, 1.0])) == [
        Condition("flag", "==", 1.0),
        Condition("flag", "==", 0.0),
    ]
    # discrete: every value but the smallest is a threshold
    assert candidate_conditions("kols", np.array([1.0, 2, 2, 4, 1])) == [
        Condition("kols", ">=", 2.0),
        Condition("kols", "<", 2.0),
        Condition("kols", ">=", 4.0),
        Condition("kols", "<", 4.0),
    ]
    # continuous: deciles of 0..100, rounded to 3 significant digits
    got = candidate_conditions("x", np.linspace(0.0, 100.0, 1001), quantiles=(0.1234, 0.5))
    assert got == [
        Condition("x", ">=", 12.3),
        Condition("x", "<", 12.3),
        Condition("x", ">=", 50.0),
        Condition("x", "<", 50.0),
    ]
    assert candidate_conditions("const", np.array([3.0, 3.0])) == []
    assert candidate_conditions("missing", np.array([np.nan, np.nan])) == []


def test_pattern_text_and_fields() -> None:
    p = Pattern.of(
        [Condition("narrative_match", "==", 1.0), Condition("kol_count", ">=", 2.0)],
        n=40,
        wins_2x=20,
        wins_10x=4,
        base_2x=0.25,
        base_10x=0.05,
    )
    assert p.condition == "narrative_match is yes AND kol_count >= 2"
    assert (p.feature, p.op, p.threshold) == ("narrative_match", "==", 1.0)
    assert p.features == ("narrative_match", "kol_count") and p.size == 2
    assert p.lift_2x == pytest.approx(2.0) and p.lift_10x == pytest.approx(2.0)
    with pytest.raises(ValueError):
        Condition("x", ">", 1.0)


# --------------------------------------------------------------------------- statistics by hand


def test_wilson_bounds_equal_the_scalar_interval() -> None:
    k = np.array([0, 1, 5, 37, 100, 100])
    n = np.array([10, 10, 50, 200, 100, 0 + 100])
    low, high = wilson_bounds(k, n)
    for i in range(len(k)):
        assert (low[i], high[i]) == pytest.approx(wilson_interval(int(k[i]), int(n[i])))
    empty = wilson_bounds(np.array([0]), np.array([0]))
    assert math.isnan(empty[0][0]) and math.isnan(empty[1][0])


def test_two_proportion_z_by_hand() -> None:
    # 30/100 inside vs 20/100 in the rest of a 200-row set: pooled 0.25,
    # se = sqrt(0.25 * 0.75 * 2 / 100) = 0.0612372, z = 0.1 / se = 1.632993
    assert float(two_proportion_z(100, 30, 200, 50)) == pytest.approx(1.632993, abs=1e-6)
    assert float(two_proportion_z(100, 30, 100, 30)) == 0.0  # no rest to compare with


def test_interaction_z_by_hand() -> None:
    # cells (rows, hits): x&y (100, 50), x only (100, 20), y only (100, 20), neither (100, 20);
    # log OR = log(50.5/50.5) - 2 log(20.5/80.5) + log(20.5/80.5) = 1.367832
    # var = 2/50.5 + 3 * (1/20.5 + 1/80.5) = 0.223213
    expected = 1.367832 / math.sqrt(0.223213)
    assert float(interaction_z((100, 50), (200, 70), (200, 70), (400, 110))) == pytest.approx(
        expected, abs=1e-5
    )
    # y lifts the log-odds by the same 1.386 inside x (50% -> 80%) and outside (20% -> 50%)
    assert float(interaction_z((100, 80), (200, 130), (200, 130), (400, 200))) == pytest.approx(
        0.0, abs=0.05
    )


def test_score_z_by_hand() -> None:
    # two strata, one weight each (the model fits each stratum's rate: 20/100 and 60/100);
    # members: 50 rows with 15 hits in the first, 20 rows with 16 hits in the second.
    # U = (15 - 50 * 0.2) + (16 - 20 * 0.6) = 9
    # V = 0.2 * 0.8 * 50 * 50 / 100 + 0.6 * 0.4 * 20 * 80 / 100 = 4 + 3.84 = 7.84, z = 9 / 2.8
    cell = np.repeat([0, 1], 100)
    hit = np.zeros(200, dtype=bool)
    member = np.zeros(200, dtype=bool)
    hit[:15] = hit[50:55] = True  # stratum 0: members 0..49 (15 hits), 5 more hits outside
    member[:50] = True
    hit[100:116] = hit[120:164] = True  # stratum 1: members 100..119 (16 hits), 44 outside
    member[100:120] = True
    fit = fit_logistic(np.array([[1.0, 0.0], [1.0, 1.0]]), cell, hit)
    assert score_z(fit, member) == pytest.approx(9 / 2.8, abs=1e-3)
    assert score_z(fit, cell == 1) == 0.0  # the model already holds it: nothing left to test


def test_feature_families_group_proxies(planted) -> None:  # type: ignore[no-untyped-def]
    X, _, _ = planted
    family = feature_families(X)
    assert family["holder_top10_pct"] == family["holder_top3_pct"] == family["holder_top1_pct"]
    assert family["bundle_detected"] == family["bundle_severity"]
    assert family["narrative_match"] == family["narrative_weight"]
    assert family["kol_elite_count"] != family["kol_count"]
    assert len({family[f"noise_{i:02d}"] for i in range(20)}) == 20


def test_bonferroni_threshold_is_reported(planted) -> None:  # type: ignore[no-untyped-def]
    _, _, mined = planted
    assert len(mined.tested) == 3 and all(m > 0 for m in mined.tested)
    # the level-2 threshold the docstring quotes
    assert NormalDist().inv_cdf(1 - 0.05 / (2 * mined.tested[0])) == pytest.approx(4.0, abs=0.1)
    # level 2 tests every pair of conditions on different features: ~843^2 / 2
    assert NormalDist().inv_cdf(1 - 0.05 / (2 * mined.tested[1])) == pytest.approx(5.3, abs=0.1)


# --------------------------------------------------------------------------- edges and the old API


def test_too_few_rows_or_one_outcome_give_nothing() -> None:
    X = pd.DataFrame({"f": np.arange(40.0)})
    assert mine_patterns(X, np.ones(40)).winning == []  # fewer than 2 * min_support
    X = pd.DataFrame({"f": np.arange(400.0)})
    mined = mine_patterns(X, np.full(400, 3.0))  # everyone reached 2x: nothing to explain
    assert (mined.winning, mined.losing, mined.base_2x) == ([], [], 1.0)


def test_rows_without_an_outcome_are_dropped() -> None:
    X, mult = _cells({(0, 0): 200, (1, 0): 200, (0, 1): 200, (1, 1): 800})
    mult[:100] = np.nan
    assert mine_patterns(X, mult).n_rows == len(X) - 100


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_conditions": 4},
        {"max_conditions": 0},
        {"target": "3x"},
        {"min_support": 0},
        {"alpha": 1.5},
    ],
)
def test_bad_arguments(kwargs) -> None:  # type: ignore[no-untyped-def]
    X = pd.DataFrame({"f": np.arange(100.0)})
    with pytest.raises(ValueError):
        mine_patterns(X, np.ones(100), **kwargs)
    with pytest.raises(ValueError):
        mine_patterns(X, np.ones(99))


def test_mine_single_and_its_selectors_still_work(planted) -> None:  # type: ignore[no-untyped-def]
    X, multiples, _ = planted
    patterns = mine_single(X, multiples, min_support=1000)
    assert all(p.size == 1 and p.n >= 1000 for p in patterns)
    best = winning(patterns, 3)
    worst = losing(patterns, 3)
    assert best[0].feature == "kol_elite_count"
    assert {"dev_sell_detected", "holder_top10_pct"} & {p.feature for p in worst}
    assert len({p.feature for p in best}) == len(best)
