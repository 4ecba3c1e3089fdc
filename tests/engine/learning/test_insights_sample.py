"""Insights that know their sample (issue 13): too small to tell below the configured count,
drivers only with an interval above "no effect" on held-out signals, held-out rows only."""

from __future__ import annotations

import pytest

from engine.learning.insights import build_insights, heldout_rows
from engine.learning.training import time_split, train_and_compare
from engine.signals.scoring import KIND, SCHEMA_HASH
from ml.registry import Registry


@pytest.fixture(scope="module")
def ds(sim_signals):  # type: ignore[no-untyped-def]
    return sim_signals


@pytest.fixture(scope="module")
def champion(ds, tmp_path_factory):  # type: ignore[no-untyped-def]
    registry = Registry(tmp_path_factory.mktemp("models"))
    params = {"n_estimators": 120, "max_depth": 3, "n_jobs": 1}
    report = train_and_compare(ds, registry, holdout_fraction=0.2, min_gain=0.002, params=params)
    assert report.promoted
    return registry.load(None, kind=KIND, expected_schema_hash=SCHEMA_HASH)


def test_a_small_sample_claims_nothing(ds, champion, tmp_path) -> None:  # type: ignore[no-untyped-def]
    small = ds.rows(slice(0, 150))
    report = build_insights(small, champion, "v", tmp_path, min_labeled=300)
    assert report.note == (
        "the sample is too small to tell: 150 labeled signals "
        "(drivers and patterns need at least 300)"
    )
    assert report.top_features == [] and report.winning == [] and report.losing == []
    assert sum(c.count for c in report.class_rates) == 150  # the counts are still shown


def test_drivers_are_tested_on_held_out_signals_only(ds, champion, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, holdout = time_split(ds, 0.2)
    rows = heldout_rows(ds, champion)
    assert rows.ts == holdout.ts  # after the champion's training window: its holdout
    report = build_insights(ds, champion, "v", tmp_path, min_labeled=300)
    assert report.note is None and report.n_heldout == len(holdout)
    names = [name for name, _ in report.top_features]
    # planted in the simulator (engine.sim.oracle): elite KOLs; sol_price has no effect there
    assert "kol_elite_count" in names
    assert "sol_price" not in names
