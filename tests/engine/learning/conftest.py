"""Shared fixtures of the learning tests."""

from __future__ import annotations

import pytest

from engine.learning.training import Dataset
from engine.sim import SimConfig, generate
from engine.sim.dataset import world_dataset


@pytest.fixture(scope="session")
def sim_signals() -> Dataset:
    """1,200 labeled signals of a small simulated market (30 days x 40 tokens, 16 KOLs)."""
    return world_dataset(
        generate(SimConfig(seed=4, n_days=30, n_kols=16, tokens_per_day=40, snapshot_detail="lean"))
    ).data
