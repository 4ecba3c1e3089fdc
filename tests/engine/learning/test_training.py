"""Promotion: a candidate replaces the champion only when it beats it on the same holdout."""

from engine.learning.training import time_split, train_and_compare
from engine.signals.scoring import KIND
from engine.sim import SimConfig, generate
from engine.sim.dataset import world_dataset
from ml.registry import Registry

WEAK = {
    "n_estimators": 2,
    "max_depth": 1,
    "learning_rate": 0.01,
    "early_stopping_rounds": None,
    "n_jobs": 1,
}
GOOD = {"n_estimators": 120, "max_depth": 3, "n_jobs": 1}


def test_better_is_promoted_and_worse_is_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ds = world_dataset(
        generate(SimConfig(seed=4, n_days=30, n_kols=16, tokens_per_day=40, snapshot_detail="lean"))
    ).data
    registry = Registry(tmp_path / "models")

    first = train_and_compare(ds, registry, holdout_fraction=0.2, min_gain=0.002, params=WEAK)
    assert first.promoted and first.reason == "first model: promoted"
    assert registry.champion(KIND).version == first.version

    better = train_and_compare(ds, registry, holdout_fraction=0.2, min_gain=0.002, params=GOOD)
    assert better.champion_version == first.version
    # Both were scored on the same most recent 20% of signals.
    _, holdout = time_split(ds, 0.2)
    assert better.n_holdout == first.n_holdout == len(holdout)
    assert better.metrics["log_loss"] < better.champion_metrics["log_loss"] - 0.002
    assert better.promoted and better.reason.startswith("promoted: log-loss")
    assert registry.champion(KIND).version == better.version

    worse = train_and_compare(ds, registry, holdout_fraction=0.2, min_gain=0.002, params=WEAK)
    assert not worse.promoted and worse.reason.startswith("kept the champion: candidate log-loss")
    assert registry.champion(KIND).version == better.version
    assert {i.version for i in registry.list(KIND)} == {
        first.version,
        better.version,
        worse.version,
    }
