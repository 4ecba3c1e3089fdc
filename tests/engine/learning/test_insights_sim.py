"""The miner rediscovers the simulator's planted effects from the engine's own features."""

import numpy as np
import pytest

from engine.learning.training import Dataset
from engine.sim import SimConfig, generate
from engine.sim.dataset import world_dataset
from ml.rules.miner import MinedPatterns, mine_patterns


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    world = generate(SimConfig(seed=3, n_days=100, tokens_per_day=100, snapshot_detail="lean"))
    return world_dataset(world).data


@pytest.fixture(scope="module")
def mined(dataset: Dataset) -> MinedPatterns:
    return mine_patterns(dataset.X, dataset.multiples, min_support=100, top_k=10)


def test_elite_kol_count_is_the_top_winning_effect(mined) -> None:  # type: ignore[no-untyped-def]
    top = [p.condition for p in mined.winning[:2]]
    assert any(c.startswith("kol_elite_count >=") and " AND " not in c for c in top), top


def test_narrative_with_two_kols_is_found(mined) -> None:  # type: ignore[no-untyped-def]
    found = [p for p in mined.winning if set(p.features) == {"narrative_match", "kol_count"}]
    assert found, [p.condition for p in mined.winning]


def test_planted_losing_effects_come_out_on_top(mined) -> None:  # type: ignore[no-untyped-def]
    top = mined.losing[:5]
    assert any(
        {"bundle_detected", "holder_top10_pct"} <= set(p.features)
        or {"bundle_severity", "holder_top10_pct"} <= set(p.features)
        for p in top
    ), [p.condition for p in top]
    assert any(p.features == ("dev_sell_detected",) for p in top), [p.condition for p in top]


def test_shuffled_outcomes_give_no_pattern(dataset: Dataset) -> None:
    # the same features with the outcomes shuffled: whatever the miner found above, it found in
    # how the outcomes depend on the features, so here nothing may pass
    shuffled = np.random.default_rng(0).permutation(dataset.multiples)
    mined = mine_patterns(dataset.X, shuffled, min_support=100, top_k=10)
    assert mined.winning == [] and mined.losing == []
    assert mined.tested[0] > 400 and mined.tested[1] > 90_000  # it did look: every pair
