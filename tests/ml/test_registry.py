from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from ml.outcome import OutcomeModel
from ml.registry import ModelNotFound, Registry, RegistryError, SchemaMismatch
from ml.schema import feature_schema_hash
from tests.ml.ml_synth import FEATURES, Synth

HASH = feature_schema_hash(FEATURES)
WINDOW = ("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00")


def ticking_clock(start: datetime, step: timedelta) -> Callable[[], datetime]:
    """Each call returns the next instant (no sleeping)."""
    now = [start - step]

    def clock() -> datetime:
        now[0] += step
        return now[0]

    return clock


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(
        tmp_path / "models",
        clock=ticking_clock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), timedelta(hours=1)),
    )


def save(registry: Registry, model: OutcomeModel, auc: float = 0.7) -> str:
    info = registry.save(
        model, metrics={"auc_10x": np.float64(auc)}, training_window=WINDOW, n_samples=3000
    )
    return info.version


def test_empty_registry(registry: Registry) -> None:
    assert registry.list() == []
    assert registry.champion() is None
    with pytest.raises(ModelNotFound, match="no outcome model has been trained yet"):
        registry.load(None, kind="outcome", expected_schema_hash=HASH)


def test_first_model_becomes_champion(registry: Registry, fitted: OutcomeModel) -> None:
    info = registry.save(fitted, metrics={"auc_10x": 0.71}, training_window=WINDOW, n_samples=3000)
    # version = kind - UTC timestamp - first 6 chars of the schema hash
    assert info.version == f"outcome-20260301T120000-{HASH[:6]}"
    assert info.kind == "outcome"
    assert info.champion is True
    assert info.feature_schema_hash == HASH
    assert info.metrics == {"auc_10x": 0.71}
    assert info.n_samples == 3000
    assert info.trained_at == "2026-03-01T12:00:00+00:00"
    assert info.training_window == WINDOW
    assert info.path == registry.root / info.version
    assert {p.name for p in info.path.iterdir()} == {"model.ubj", "model.json"}
    pointer = json.loads((registry.root / "champion-outcome.json").read_text())
    assert pointer["version"] == info.version
    # nothing half-written is left behind
    assert [p.name for p in registry.root.iterdir() if p.name.startswith(".")] == []


def test_list_newest_first_and_promote(registry: Registry, fitted: OutcomeModel) -> None:
    first = save(registry, fitted, 0.70)
    second = save(registry, fitted, 0.72)
    third = save(registry, fitted, 0.69)
    listed = registry.list("outcome")
    assert [i.version for i in listed] == [third, second, first]
    assert [i.champion for i in listed] == [False, False, True]
    champion = registry.champion("outcome")
    assert champion is not None and champion.version == first

    promoted = registry.promote(second)
    assert promoted.champion is True and promoted.version == second
    champion = registry.champion("outcome")
    assert champion is not None and champion.version == second
    assert [i.champion for i in registry.list()] == [False, True, False]


def test_load_champion_or_version(registry: Registry, fitted: OutcomeModel, synth: Synth) -> None:
    version = save(registry, fitted)
    X = synth.X.iloc[3000:3100]
    expected = fitted.predict_proba(X)
    champion = registry.load(None, kind="outcome", expected_schema_hash=HASH)
    np.testing.assert_array_equal(champion.predict_proba(X), expected)
    by_version = registry.load(version, kind="outcome", expected_schema_hash=HASH)
    np.testing.assert_array_equal(by_version.predict_proba(X), expected)


def test_schema_mismatch(registry: Registry, fitted: OutcomeModel) -> None:
    version = save(registry, fitted)
    other = feature_schema_hash([*FEATURES, "narrative_fresh"])
    with pytest.raises(SchemaMismatch, match="different feature set.*retrained"):
        registry.load(None, kind="outcome", expected_schema_hash=other)
    with pytest.raises(SchemaMismatch):
        registry.load(version, kind="outcome", expected_schema_hash=other)


def test_unknown_version(registry: Registry, fitted: OutcomeModel) -> None:
    save(registry, fitted)
    with pytest.raises(ModelNotFound, match="outcome-19990101T000000-abcdef"):
        registry.load("outcome-19990101T000000-abcdef", kind="outcome", expected_schema_hash=HASH)
    with pytest.raises(ModelNotFound):
        registry.promote("nope")
    with pytest.raises(ModelNotFound):  # no path tricks
        registry.get("../models")
    assert issubclass(ModelNotFound, RegistryError)
    assert issubclass(SchemaMismatch, RegistryError)


def test_same_second_gets_a_suffix(tmp_path: Path, fitted: OutcomeModel) -> None:
    frozen = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    registry = Registry(tmp_path, clock=lambda: frozen)
    versions = [save(registry, fitted) for _ in range(3)]
    base = f"outcome-20260301T120000-{HASH[:6]}"
    assert versions == [base, f"{base}-2", f"{base}-3"]
    assert [i.version for i in registry.list()] == [f"{base}-3", f"{base}-2", base]


def test_kinds_are_separate(registry: Registry, fitted: OutcomeModel) -> None:
    outcome = save(registry, fitted)
    other = registry.save(fitted, kind="shadow", metrics={}, training_window=WINDOW, n_samples=10)
    assert other.champion is True  # first of its kind
    assert [i.version for i in registry.list("shadow")] == [other.version]
    assert [i.version for i in registry.list("outcome")] == [outcome]
    assert len(registry.list(None)) == 2
    with pytest.raises(ModelNotFound, match="shadow model, not outcome"):
        registry.load(other.version, kind="outcome", expected_schema_hash=HASH)
    with pytest.raises(ValueError, match="kind"):
        registry.save(fitted, kind="Bad-Kind", metrics={}, training_window=WINDOW, n_samples=1)


def test_dangling_champion_pointer(registry: Registry, fitted: OutcomeModel) -> None:
    registry.root.mkdir(parents=True)
    (registry.root / "champion-outcome.json").write_text('{"version": "outcome-gone"}')
    assert registry.champion("outcome") is None
    info = registry.save(fitted, metrics={}, training_window=WINDOW, n_samples=1)
    assert info.champion is True  # the pointer named nothing real, so the first save takes it


# --- models you can repair: the sidecar's sha256 and finite numbers are checked on load ------


def test_the_sidecar_records_the_model_files_sha256(
    registry: Registry, fitted: OutcomeModel
) -> None:
    import hashlib

    info = registry.get(save(registry, fitted))
    sidecar = json.loads((info.path / "model.json").read_text())
    assert (
        sidecar["model_sha256"]
        == hashlib.sha256((info.path / "model.ubj").read_bytes()).hexdigest()
    )


def test_a_damaged_model_file_is_refused_in_one_line(
    registry: Registry, fitted: OutcomeModel
) -> None:
    version = save(registry, fitted)
    model_file = registry.get(version).path / "model.ubj"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    model_file.write_bytes(bytes(data))
    with pytest.raises(RegistryError) as refused:
        registry.load(version, kind="outcome", expected_schema_hash=HASH)
    message = str(refused.value)
    assert "\n" not in message and "sha256" in message and version in message


def test_another_models_file_swapped_in_is_refused(
    registry: Registry, fitted: OutcomeModel, synth: Synth
) -> None:
    first = save(registry, fitted)
    other = OutcomeModel(objective="softprob", n_estimators=20, n_jobs=1).fit(
        synth.X.iloc[:1000], synth.y[:1000]
    )
    second = save(registry, other)
    (registry.get(first).path / "model.ubj").write_bytes(
        (registry.get(second).path / "model.ubj").read_bytes()
    )
    with pytest.raises(RegistryError, match="sha256"):
        registry.load(first, kind="outcome", expected_schema_hash=HASH)
    registry.load(second, kind="outcome", expected_schema_hash=HASH)  # the other one is intact


def test_a_non_finite_number_in_a_sidecar_is_refused(
    registry: Registry, fitted: OutcomeModel
) -> None:
    version = save(registry, fitted)
    path = registry.get(version).path / "model.json"
    text = path.read_text()
    assert '"best_iteration": ' in text
    path.write_text(text.replace('"best_iteration": ', '"best_iteration": Infinity, "_was": ', 1))
    with pytest.raises(RegistryError, match="Infinity is not a JSON number"):
        registry.get(version)
