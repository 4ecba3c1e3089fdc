"""The in-memory dataset equals what the engine computes the slow way, signal by signal."""

import math

import pytest

from engine.signals.features import FEATURE_NAMES, compute_features
from engine.sim import SimConfig, generate
from engine.sim.dataset import world_dataset


@pytest.mark.parametrize("detail", ["full", "lean"])
def test_rows_equal_the_engine_features(detail: str) -> None:
    world = generate(
        SimConfig(seed=5, n_days=6, n_kols=12, tokens_per_day=25, snapshot_detail=detail)
    )  # type: ignore[arg-type]
    ds = world_dataset(world)
    assert len(ds.data) == len(world.truths) == 150
    for i, mint in enumerate(ds.data.mints):
        slow = compute_features(world.feature_inputs(mint))  # rebuilds FIFO positions per KOL
        for j, name in enumerate(FEATURE_NAMES):
            fast = ds.data.X.iat[i, j]
            assert (math.isnan(fast) and math.isnan(slow[name])) or fast == pytest.approx(
                slow[name]
            ), (mint, name)
        truth = world.truth(mint)
        assert ds.data.y[i] == truth.label and ds.oracle[i] == pytest.approx(truth.class_probs)
    assert list(ds.data.ts) == sorted(ds.data.ts)
    # the KOL win rate is used (not all NaN) and varies
    assert ds.data.X["kol_avg_win_rate"].nunique() > 10
