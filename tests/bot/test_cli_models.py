"""``moonbot train|evaluate|predict`` and ``moonbot models ...`` through typer's runner, over a
real service, database, registry and model trained on simulated-market rows written as a CSV.

The commands are registered with ``register`` on a fresh typer app, around the real service.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from bot.cli_models import ModelsService, register
from engine.config import Settings
from engine.learning import modelops
from engine.learning.datafile import load_dataset
from engine.learning.labels import CLASSES
from engine.learning.training import TrainReport
from engine.service import MoonbotService
from engine.signals.features import FEATURE_NAMES
from engine.sim import SimConfig, generate
from engine.sim.dataset import world_dataset
from ml.outcome import OutcomeModel
from ml.registry import Registry

runner = CliRunner()
# A candidate that has barely learned anything: about the class priors, so worse than a real fit.
WORSE = {"n_estimators": 1, "max_depth": 1, "learning_rate": 0.001}


async def open_service(settings: Settings) -> ModelsService:
    return await MoonbotService.open(settings)


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _main() -> None:
        pass

    register(app, open_service=open_service)
    return app


@pytest.fixture(scope="module")
def signals_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 labeled simulated signals as a user would export them (ids, times, mcaps, features)."""
    ds = world_dataset(
        generate(SimConfig(seed=1, n_days=20, n_kols=12, tokens_per_day=30, snapshot_detail="lean"))
    ).data
    rng = np.random.default_rng(0)
    entry = rng.uniform(5_000, 500_000, size=len(ds))
    frame = ds.X.copy()
    for name in ("narrative_match", "bundle_detected"):  # booleans as words, NaN stays empty
        frame[name] = frame[name].map({1.0: "yes", 0.0: "no"})
    frame.insert(0, "max_mcap", entry * ds.multiples)
    frame.insert(0, "entry_mcap", entry)
    frame.insert(0, "signal_time", [t.isoformat() for t in ds.ts])
    frame.insert(0, "id", ds.mints)
    path = tmp_path_factory.mktemp("data") / "signals.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MOONBOT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def trained_template(signals_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding one champion trained on ``signals_csv`` (trained once per module)."""
    root = tmp_path_factory.mktemp("template") / "models"
    modelops.train_from_file(Registry(root), signals_csv, holdout_fraction=0.2, min_gain=0.002)
    return root


@pytest.fixture
def trained(data_dir: Path, trained_template: Path) -> Path:
    """``data_dir`` with a copy of the trained registry."""
    shutil.copytree(trained_template, data_dir / "models")
    return data_dir


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(make_app(), list(args))
    return result.exit_code, result.output


def registry(data_dir: Path) -> Registry:
    return Registry(data_dir / "models")


def champion(data_dir: Path) -> str:
    info = registry(data_dir).champion("outcome")
    assert info is not None
    return info.version


def train_worse(data_dir: Path, signals_csv: Path) -> TrainReport:
    return modelops.train_from_file(
        registry(data_dir), signals_csv, holdout_fraction=0.2, min_gain=0.002, params=WORSE
    ).report


def test_first_model_is_champion_and_a_worse_one_is_not(data_dir: Path, signals_csv: Path) -> None:
    code, out = cli("train", "--data", str(signals_csv))
    assert code == 0, out
    assert "on 480 of 600 rows" in out and "holdout 120 rows" in out
    assert "first model: promoted" in out
    first = champion(data_dir)
    assert f"trained {first}" in out

    worse = train_worse(data_dir, signals_csv)
    assert not worse.promoted and worse.reason.startswith("kept the champion")
    assert worse.metrics["log_loss"] > worse.champion_metrics["log_loss"]

    code, out = cli("models", "list")
    assert code == 0, out
    lines = [line for line in out.splitlines() if "outcome-" in line]
    assert len(lines) == 2
    assert lines[0].startswith(f"  {worse.version}")  # newest first, not champion
    assert lines[1].startswith(f"* {first}")  # the champion is kept


def test_predict_writes_rows_in_input_order(
    trained: Path, signals_csv: Path, tmp_path: Path
) -> None:
    # A prediction file: features and ids only, in an order of its own.
    rows = pd.read_csv(signals_csv).drop(columns=["entry_mcap", "max_mcap"]).iloc[::-7]
    src, out_path = tmp_path / "new.csv", tmp_path / "scores.csv"
    rows.to_csv(src, index=False)

    code, out = cli("predict", "--data", str(src), "--out", str(out_path))
    assert code == 0, out
    assert f"wrote {len(rows)} predictions of model {champion(trained)} to {out_path}" in out
    with out_path.open(newline="") as fh:
        written = list(csv.DictReader(fh))
    assert list(written[0]) == [
        "id",
        *(f"p_{c}" for c in CLASSES),
        "predicted_class",
        "conviction_boost",
    ]
    assert [r["id"] for r in written] == list(rows["id"])
    for r in written:
        probs = [float(r[f"p_{c}"]) for c in CLASSES]
        assert sum(probs) == pytest.approx(1.0, abs=1e-5)
        assert r["predicted_class"] == CLASSES[int(np.argmax(probs))]
        # the conviction's ML term: the boost toward 10x+ minus the rug veto (conviction.py)
        boost = 10 * probs[3] + 15 * probs[4] + 20 * probs[5] - 60 * max(0.0, probs[0] - 0.5)
        assert abs(int(r["conviction_boost"]) - boost) <= 0.5 + 1e-4


def test_evaluate_champion_and_unknown_version(
    trained: Path, signals_csv: Path, tmp_path: Path
) -> None:
    code, out = cli("evaluate", "--data", str(signals_csv))
    assert code == 0, out
    assert out.startswith(
        "warning: 480 of 600 rows fall inside the model's training window "
        "(2026-01-01 .. 2026-01-17): these metrics are optimistic\n"
    )
    assert f"model {champion(trained)} on signals.csv:" in out
    header, values = out.splitlines()[2:4]
    assert header.split() == ["log_loss", "accuracy", "auc_2x", "auc_10x", "n"]
    assert values.split()[-1] == "600"

    code, out = cli("evaluate", "--data", str(signals_csv), "--model", "outcome-nope")
    assert (code, out) == (2, "error: no model version 'outcome-nope'\n")
    out_path = tmp_path / "never.csv"
    code, out = cli(
        "predict", "--data", str(signals_csv), "--out", str(out_path), "--model", "outcome-x"
    )
    assert code == 2 and out.startswith("error: no model version") and not out_path.exists()


def test_model_of_another_feature_schema_is_refused(trained: Path, signals_csv: Path) -> None:
    ds, _ = load_dataset(signals_csv)
    old_features = list(FEATURE_NAMES[:-1])  # as if a feature had been added since
    model = OutcomeModel(n_estimators=3, early_stopping_rounds=None).fit(ds.X[old_features], ds.y)
    old = registry(trained).save(model, metrics={}, training_window=("a", "b"), n_samples=len(ds))
    for args in (
        ("evaluate", "--data", str(signals_csv), "--model", old.version),
        ("models", "promote", old.version),
    ):
        code, out = cli(*args)
        assert code == 2
        assert out.startswith(f"error: model {old.version} was trained on a different feature set")
        assert out.count("\n") == 1
    assert champion(trained) != old.version
    code, out = cli("models", "list")
    assert "(other feature schema: must be retrained)" in out


def test_promote_rollback_and_prune(trained: Path, signals_csv: Path) -> None:
    first = champion(trained)
    second = train_worse(trained, signals_csv).version
    assert cli("models", "promote", second) == (0, f"champion: {second}\n")
    assert champion(trained) == second

    assert cli("models", "rollback") == (0, f"rolled back: champion is {first}\n")
    assert champion(trained) == first
    code, out = cli("models", "rollback")
    assert (code, out) == (
        2,
        f"error: no earlier champion to roll back to ({first} is the first)\n",
    )

    third = train_worse(trained, signals_csv).version  # newest, not promoted
    assert cli("models", "prune", "--keep", "0")[0] == 2
    code, out = cli("models", "prune", "--keep", "1")
    assert code == 0, out
    assert "deleted 1 model(s), kept 2" in out and f"deleted {second}" in out
    assert [m.version for m in registry(trained).list("outcome")] == [third, first]
    assert champion(trained) == first


def test_bad_input_is_one_line_and_opens_nothing(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("a,b\n")
    assert cli("train", "--data", str(tmp_path / "x.txt")) == (
        2,
        "error: x.txt: unsupported file type '.txt'; use .csv or .parquet\n",
    )
    missing = tmp_path / "m.csv"
    missing.write_text("signal_time,kol_count\n2026-03-01,1\n")
    code, out = cli("train", "--data", str(missing))
    assert (code, out) == (2, "error: m.csv: missing required column(s): entry_mcap, max_mcap\n")
    code, out = cli("predict", "--data", str(missing), "--out", str(tmp_path / "o.txt"))
    assert (code, out) == (2, "error: o.txt: the output must be a .csv, .parquet or .pq file\n")
    assert not (data_dir / "models").exists()


def test_train_without_data_retrains_from_the_database(data_dir: Path) -> None:
    code, out = cli("train")
    assert code == 2
    assert out.startswith("error: not enough labeled signals to train: 0")


def test_a_damaged_champion_can_be_repaired_from_the_cli(trained: Path, signals_csv: Path) -> None:
    """A champion whose model file was damaged does not stop the CLI: `models list` and
    `models rollback` still work, scoring falls back to the newest earlier model that loads, and
    /status says so."""
    import asyncio

    from bot.commands import dispatch

    good = champion(trained)
    worse = train_worse(trained, signals_csv)
    code, out = cli("models", "promote", worse.version)
    assert code == 0 and f"champion: {worse.version}" in out
    (registry(trained).root / worse.version / "model.ubj").write_bytes(b"not a model")

    code, out = cli("models", "list")
    assert code == 0, out
    assert f"* {worse.version}" in out and good in out

    async def status_text() -> str:
        service = await MoonbotService.open(Settings())
        try:
            assert service.scorer.version == good  # the newest earlier model that loads
            return (await dispatch(service, "/status")).text
        finally:
            await service.close()

    text = asyncio.run(status_text())
    assert f"Model {good}" in text
    assert f"Note: the champion is not usable (model {worse.version} cannot be loaded:" in text
    assert f"scoring with {good}" in text

    code, out = cli("models", "rollback")
    assert code == 0 and f"rolled back: champion is {good}" in out
