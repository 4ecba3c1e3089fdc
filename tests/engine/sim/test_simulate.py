"""The engine, reading the simulator's records, sees exactly the state the outcome rule used."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta

import pytest

from engine.learning.labels import label_for_multiple
from engine.signals.features import compute_features
from engine.sim import F_INPUTS, SimConfig, SimWorld, generate, outcome_mean
from engine.sim.oracle import class_probs

CONFIG = SimConfig(n_days=3, tokens_per_day=20, seed=21)
HORIZON = timedelta(hours=72)


@pytest.fixture(scope="module")
def full() -> SimWorld:
    return generate(CONFIG)


@pytest.fixture(scope="module")
def lean() -> SimWorld:
    return generate(dataclasses.replace(CONFIG, snapshot_detail="lean"))


def test_features_reproduce_the_inputs_of_f_and_f_itself(full: SimWorld) -> None:
    for truth in full.truths:
        features = compute_features(full.feature_inputs(truth.mint))
        assert {name: features[name] for name in F_INPUTS} == dict(truth.f_inputs)
        assert outcome_mean(features) == truth.f
        assert full.oracle_probs(truth.mint) == class_probs(truth.f, CONFIG.noise_sigma)
    assert {t.f_inputs["dev_sell_detected"] for t in full.truths} == {0.0, 1.0}
    assert {t.f_inputs["bundle_detected"] for t in full.truths} == {0.0, 1.0}
    assert max(t.f_inputs["kol_count"] for t in full.truths) >= 2


def test_lean_snapshots_give_the_same_features(full: SimWorld, lean: SimWorld) -> None:
    for truth in full.truths:
        a = compute_features(full.feature_inputs(truth.mint))
        b = compute_features(lean.feature_inputs(truth.mint))
        assert a.keys() == b.keys()
        for name in a:
            assert a[name] == b[name] or (math.isnan(a[name]) and math.isnan(b[name])), name


@pytest.mark.parametrize("detail", ["full", "lean"])
def test_labels_from_snapshots_match_the_truth(full: SimWorld, lean: SimWorld, detail: str) -> None:
    world = full if detail == "full" else lean
    by_mint: dict[str, list] = {}
    for snap in world.snapshots:
        by_mint.setdefault(snap.mint, []).append(snap)
    for truth in world.truths:
        t = truth.signal_time
        snaps = by_mint[truth.mint]
        entry = max((s for s in snaps if s.ts <= t), key=lambda s: s.ts)
        window = [s for s in snaps if t < s.ts <= t + HORIZON]
        peak = max(window, key=lambda s: s.mcap_usd)
        assert entry.ts == t and entry.mcap_usd == truth.entry_mcap_usd
        assert peak.mcap_usd / entry.mcap_usd == truth.max_multiple
        assert label_for_multiple(truth.max_multiple) == truth.label
        assert sum(s.mcap_usd == peak.mcap_usd for s in window) == 1  # a unique peak tick
        assert (peak.ts - t).total_seconds() / 3600 == truth.time_to_peak_hours
        assert window[-1].ts == t + HORIZON


def test_multiple_follows_f_plus_noise(full: SimWorld) -> None:
    for truth in full.truths:
        y = truth.f + truth.noise
        if y >= 0:
            assert truth.max_multiple == pytest.approx(math.exp(y), rel=1e-9)
        else:
            assert 0.5 < truth.max_multiple < 1.0
        expected = sum(y >= b for b in map(math.log, (1.5, 5, 10, 50, 100)))
        assert truth.label == expected


def test_later_records_do_not_change_signal_features(full: SimWorld) -> None:
    truth = max(full.truths, key=lambda t: t.f_inputs["kol_count"])
    at_signal = compute_features(full.feature_inputs(truth.mint))
    inputs = full.feature_inputs(truth.mint, t=truth.signal_time + timedelta(days=3))
    inputs.t = truth.signal_time
    later = compute_features(inputs)
    for name in F_INPUTS:
        assert later[name] == at_signal[name]
