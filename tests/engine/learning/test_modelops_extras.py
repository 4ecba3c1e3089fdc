"""A data file's own ``x_*`` columns become features recorded in the model's sidecar; scoring
refuses a file without them; ``entry_mcap_usd`` comes from ``entry_mcap`` (issue 13)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataFileError
from engine.learning import modelops
from engine.learning.datafile import load_dataset, load_features
from engine.signals.features import FEATURE_NAMES
from engine.signals.scoring import extra_features
from engine.views import TrainReport
from ml.metrics import log_loss
from ml.outcome import OutcomeModel
from ml.prior import class_frequencies
from ml.registry import Registry
from tests.paths import REPO

FAST = {"n_estimators": 40, "max_depth": 3, "n_jobs": 1}


def labeled_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Signals whose multiple is driven by the user's own column x_alpha (and nothing else)."""
    rng = np.random.default_rng(seed)
    alpha = rng.normal(size=n)
    entry = rng.uniform(10_000, 1_000_000, size=n)
    multiple = np.exp(0.3 + 1.5 * alpha + rng.normal(scale=0.5, size=n))
    return pd.DataFrame(
        {
            "signal_time": pd.date_range("2026-03-01", periods=n, freq="h", tz="UTC").astype(str),
            "entry_mcap": entry,
            "max_mcap": entry * multiple,
            "kol_count": rng.integers(1, 4, size=n),
            "x_alpha": alpha,
            "x_beta": rng.normal(size=n),
            "notes": ["free text"] * n,
        }
    )


def promoted_champion(directory: Path) -> tuple[Registry, TrainReport, Path]:
    """A registry in ``directory`` whose champion was trained on ``labeled_frame()`` (written to
    ``directory / "signals.csv"``), its report and that file."""
    data = directory / "signals.csv"
    labeled_frame().to_csv(data, index=False)
    registry = Registry(directory / "models")
    report = modelops.train_from_file(
        registry, data, holdout_fraction=0.2, min_gain=0.002, params=FAST
    ).report
    assert report.promoted, report.reason  # x_alpha carries the signal: it beats the prior
    return registry, report, data


def test_x_columns_and_entry_mcap_are_features(tmp_path: Path) -> None:
    path = tmp_path / "signals.csv"
    labeled_frame().to_csv(path, index=False)
    ds, warnings = load_dataset(path)
    assert list(ds.X.columns) == [*FEATURE_NAMES, "x_alpha", "x_beta"]
    assert warnings == ["ignored unknown column(s): notes"]
    raw = pd.read_csv(path).sort_values("signal_time", kind="stable")
    np.testing.assert_allclose(ds.X["entry_mcap_usd"], np.log(raw["entry_mcap"]))
    np.testing.assert_allclose(ds.X["x_alpha"], raw["x_alpha"])


def test_a_model_with_x_columns_records_them_and_refuses_files_without(tmp_path: Path) -> None:
    registry, report, data = promoted_champion(tmp_path)
    info = registry.get(report.version)
    sidecar = json.loads((info.path / "model.json").read_text(encoding="utf-8"))
    assert sidecar["feature_names"][-2:] == ["x_alpha", "x_beta"]
    assert extra_features(info.feature_names) == ["x_alpha", "x_beta"]
    assert modelops.list_models(registry)[0].schema_ok

    # evaluate shows the model's own prior (its training rows' class frequencies) beside it
    ds, _ = load_dataset(data)
    evaluation = modelops.evaluate_file(registry, data)
    train_prior = np.tile(class_frequencies(ds.y[:320]), (400, 1))  # 80% of 400 rows trained
    assert evaluation.prior_metrics["log_loss"] == pytest.approx(log_loss(train_prior, ds.y))
    assert evaluation.metrics["log_loss"] < evaluation.prior_metrics["log_loss"]

    out = tmp_path / "scores.csv"
    modelops.predict_file(registry, data, out)
    written = pd.read_csv(out)
    assert len(written) == 400
    model = OutcomeModel.load(info.path)
    # probabilities at full precision: the file holds exactly the model's floats
    np.testing.assert_array_equal(written["p_rug"].to_numpy(), model.predict_proba(ds.X)[:, 0])

    lacking = tmp_path / "no_beta.csv"
    labeled_frame().drop(columns=["x_beta"]).to_csv(lacking, index=False)
    with pytest.raises(DataFileError) as err:
        modelops.predict_file(registry, lacking, tmp_path / "other.csv")
    assert str(err.value) == (
        f"no_beta.csv: model {report.version} was trained with the column(s) x_beta, "
        "which this file lacks"
    )
    assert not (tmp_path / "other.csv").exists()


def test_prediction_files_take_entry_mcap_when_given(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    pd.DataFrame({"entry_mcap": [1000.0, None], "kol_count": [1, 2]}).to_csv(path, index=False)
    rows = load_features(path)
    assert rows.X["entry_mcap_usd"][0] == pytest.approx(math.log(1000.0))
    assert math.isnan(rows.X["entry_mcap_usd"][1])


def test_the_documented_example_file_loads() -> None:
    ds, warnings = load_dataset(REPO / "data" / "examples" / "signals.csv")
    assert warnings == []
    assert ds.mints == ["early", "mid", "late"]
    assert list(ds.y) == [3, 2, 0]  # 12x big_win, 5x medium_win, 1.2x rug
    assert list(ds.X.columns[-1:]) == ["x_my_score"]
    assert ds.X["x_my_score"][0] == 0.8 and math.isnan(ds.X["x_my_score"][2])
    assert ds.X["entry_mcap_usd"][1] == pytest.approx(math.log(20_000))


def test_predictions_keep_odd_ids_and_every_bit_of_each_probability(tmp_path: Path) -> None:
    """The written CSV (Arrow's writer) reads back, by the csv module, with the ids exactly as
    given (a comma, a quote, a non-ASCII name) and the model's own float64 probabilities."""
    import csv

    registry, report, _ = promoted_champion(tmp_path)
    ids = ["plain", "with,comma", 'say "moon"', "ünïcode 🚀"]
    rows = labeled_frame().iloc[:4].drop(columns=["entry_mcap", "max_mcap", "signal_time"])
    rows.insert(0, "id", ids)
    src = tmp_path / "new.csv"
    rows.to_csv(src, index=False)
    out = tmp_path / "scores.csv"
    modelops.predict_file(registry, src, out)
    with out.open(encoding="utf-8", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert [r["id"] for r in written] == ids
    expected = OutcomeModel.load(registry.get(report.version).path).predict_proba(
        load_features(src).X
    )
    got = np.array([[float(r[c]) for c in modelops.PROBABILITY_COLUMNS] for r in written])
    np.testing.assert_array_equal(got, expected)

    # ids that need no quotes: nothing is quoted, records end in CRLF as before
    plain = tmp_path / "plain.csv"
    rows.assign(id=["a", "b", "c", "d"]).to_csv(plain, index=False)
    modelops.predict_file(registry, plain, out)
    text = out.read_bytes()
    assert b'"' not in text and text.count(b"\r\n") == 5
