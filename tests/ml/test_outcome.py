from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml.classes import BIG_CLASSES, CLASSES, N_CLASSES
from ml.metrics import log_loss
from ml.outcome import OutcomeModel
from ml.schema import feature_schema_hash
from tests.ml.ml_synth import FEATURES, Synth, make_synth


def _softmax(margin: np.ndarray) -> np.ndarray:
    e = np.exp(margin - margin.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def small_model(**params: object) -> OutcomeModel:
    """The ``softprob`` objective, which these tests are about (``aft``: test_outcome_aft.py)."""
    defaults: dict[str, object] = dict(
        objective="softprob",
        n_estimators=150,
        learning_rate=0.1,
        early_stopping_rounds=20,
        n_jobs=1,
    )
    defaults.update(params)
    return OutcomeModel(**defaults)  # type: ignore[arg-type]


def test_class_table_matches_the_labels_doc() -> None:
    assert CLASSES == ("rug", "small_win", "medium_win", "big_win", "moonshot", "mega_moon")
    assert N_CLASSES == 6
    assert BIG_CLASSES == (3, 4, 5)


def test_init_stores_params_only() -> None:
    model = OutcomeModel(max_depth=3, class_weighting=None)
    assert model.get_params()["max_depth"] == 3
    assert model.get_params()["class_weighting"] is None
    assert model.get_params()["n_estimators"] == 400
    assert model.get_params()["objective"] == "auto"  # the shape is chosen on data (issue 13)
    assert not hasattr(model, "booster_")
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict_proba(pd.DataFrame({"a": [1.0]}))


def test_probabilities_shape_and_rows_sum_to_one(fitted: OutcomeModel, synth: Synth) -> None:
    probs = fitted.predict_proba(synth.X.iloc[3000:])
    assert probs.shape == (1000, 6)
    assert np.all(probs > 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(fitted.classes_, np.arange(6))
    np.testing.assert_array_equal(fitted.predict(synth.X.iloc[3000:]), probs.argmax(axis=1))
    assert fitted.feature_names_ == FEATURES


def test_model_is_close_to_the_oracle_on_later_rows(fitted: OutcomeModel, synth: Synth) -> None:
    # Measured: model 1.022, oracle (true probabilities) 0.970, base rates 1.266.
    held_x, held_y = synth.X.iloc[3000:], synth.y[3000:]
    model_loss = log_loss(fitted.predict_proba(held_x), held_y)
    oracle_loss = log_loss(synth.true_probs[3000:], held_y)
    base = np.bincount(synth.y[:3000], minlength=6) / 3000
    base_loss = log_loss(np.tile(base, (1000, 1)), held_y)
    assert oracle_loss < model_loss < oracle_loss + 0.08
    assert model_loss < base_loss - 0.15


def test_absent_class_still_gets_a_probability_column() -> None:
    data = make_synth(2000, seed=3)
    keep = data.y != 5
    X, y = data.X[keep].reset_index(drop=True), data.y[keep]
    model = small_model(validation_fraction=0.0).fit(X, y)
    probs = model.predict_proba(X)
    assert probs.shape == (len(X), 6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(probs[:, 5] > 0)
    assert probs[:, 5].mean() < 1e-3  # never seen in training
    # softened balanced weights over the 5 present classes, 1 for the absent one
    counts = np.bincount(y, minlength=6)
    expected = [(len(y) / (5 * counts[k])) ** 0.5 for k in range(5)] + [1.0]
    np.testing.assert_allclose(model.class_weights_, expected)


def test_class_weights_by_hand() -> None:
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    y = [0, 0, 0, 1]
    # n=4, K=2 present classes: w0 = 4/(2*3) = 2/3, w1 = 4/(2*1) = 2; absent classes 1
    full = small_model(weight_power=1.0, validation_fraction=0.0, n_estimators=2).fit(X, y)
    np.testing.assert_allclose(full.class_weights_, [2 / 3, 2.0, 1, 1, 1, 1])
    soft = small_model(validation_fraction=0.0, n_estimators=2).fit(X, y)
    np.testing.assert_allclose(soft.class_weights_, [math.sqrt(2 / 3), math.sqrt(2), 1, 1, 1, 1])
    none = small_model(class_weighting=None, validation_fraction=0.0, n_estimators=2).fit(X, y)
    np.testing.assert_array_equal(none.class_weights_, np.ones(6))


def test_prior_correction_is_the_exact_inverse_of_the_weights(
    fitted: OutcomeModel, synth: Synth
) -> None:
    X = synth.X.iloc[3000:3100]
    weighted = _softmax(fitted.predict_margin(X))
    # the weighted probabilities are the booster's own softprob output
    booster_probs = fitted.booster_.predict(xgb.DMatrix(X[FEATURES], missing=np.nan))
    np.testing.assert_allclose(weighted, booster_probs, atol=1e-6)
    by_hand = weighted / fitted.class_weights_
    by_hand /= by_hand.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fitted.predict_proba(X), by_hand, rtol=1e-9, atol=1e-12)


def test_unweighted_model_returns_the_booster_probabilities(synth: Synth) -> None:
    model = small_model(class_weighting=None, n_estimators=30).fit(
        synth.X.iloc[:1000], synth.y[:1000]
    )
    X = synth.X.iloc[3000:3100]
    booster_probs = model.booster_.predict(xgb.DMatrix(X[FEATURES], missing=np.nan))
    np.testing.assert_allclose(model.predict_proba(X), booster_probs, atol=1e-6)


@pytest.mark.parametrize(
    ("power", "corrected_tol", "weighted_min_err"),
    # Measured max |error| over classes: power 0.5 -> corrected 0.015, weighted 0.068;
    # power 1.0 -> corrected 0.027, weighted 0.140. The class shares of 2550 training rows differ
    # from the population by ~0.01 (1 s.d. at p=0.5), so the tolerances allow ~3 s.d.
    [(0.5, 0.03, 0.05), (1.0, 0.04, 0.10)],
)
def test_prior_correction_restores_calibration_in_the_large(
    synth: Synth, power: float, corrected_tol: float, weighted_min_err: float
) -> None:
    model = small_model(weight_power=power).fit(synth.X.iloc[:3000], synth.y[:3000])
    # fresh rows from the same market: their mean true probabilities are the class shares
    fresh = make_synth(20_000, seed=99)
    target = fresh.true_probs.mean(axis=0)
    corrected = model.predict_proba(fresh.X).mean(axis=0)
    weighted = _softmax(model.predict_margin(fresh.X)).mean(axis=0)
    corrected_err = np.abs(corrected - target).max()
    weighted_err = np.abs(weighted - target).max()
    assert corrected_err < corrected_tol
    assert weighted_err > weighted_min_err
    assert corrected_err < weighted_err / 2
    # the rare classes are where weighting inflates most: 100x+ is pulled back toward its share
    assert abs(corrected[5] - target[5]) < abs(weighted[5] - target[5])


def test_early_stopping_uses_the_last_rows_in_time_order(synth: Synth) -> None:
    rng = np.random.default_rng(11)
    X = synth.X.iloc[:2000].reset_index(drop=True)
    noise = rng.integers(0, 3, size=2000)  # labels unrelated to X: trees only overfit
    model = small_model(n_estimators=200).fit(X, noise)
    assert model.best_iteration_ < 60
    assert model.booster_.num_boosted_rounds() == model.best_iteration_ + 1
    assert model.n_train_ == 1700 and model.n_valid_ == 300
    # the same split made by hand (first 85% train, last 15% valid) gives the same model
    by_hand = small_model(n_estimators=200).fit(
        X.iloc[:1700], noise[:1700], eval_set=(X.iloc[1700:], noise[1700:])
    )
    assert by_hand.best_iteration_ == model.best_iteration_
    np.testing.assert_array_equal(by_hand.predict_proba(X), model.predict_proba(X))
    # the valid curve it stopped on is the calibrated log loss, and the best is its minimum
    curve = model.evals_result_["valid"]["calibrated_mlogloss"]
    assert model.best_score_ == pytest.approx(min(curve))
    assert int(np.argmin(curve)) == model.best_iteration_


def test_without_early_stopping_all_rounds_are_kept(synth: Synth) -> None:
    model = small_model(n_estimators=25, early_stopping_rounds=None).fit(
        synth.X.iloc[:500], synth.y[:500]
    )
    assert model.n_train_ == 500 and model.n_valid_ == 0
    assert model.best_iteration_ == 24
    assert model.booster_.num_boosted_rounds() == 25
    assert model.best_score_ is None


def test_column_order_and_extra_columns_do_not_matter(fitted: OutcomeModel, synth: Synth) -> None:
    X = synth.X.iloc[3000:3200]
    shuffled = X[list(reversed(FEATURES))].assign(unrelated=1.0)
    np.testing.assert_array_equal(fitted.predict_proba(shuffled), fitted.predict_proba(X))


def test_missing_column_is_named(fitted: OutcomeModel, synth: Synth) -> None:
    X = synth.X.iloc[:5].drop(columns=["holder_top10_pct"])
    with pytest.raises(ValueError, match="missing feature column.*holder_top10_pct"):
        fitted.predict_proba(X)


def test_bad_inputs_are_rejected(synth: Synth) -> None:
    X = synth.X.iloc[:50]
    with pytest.raises(ValueError, match="0..5"):
        small_model().fit(X, np.full(50, 6))
    with pytest.raises(ValueError, match="50 rows"):
        small_model().fit(X, np.zeros(49, dtype=int))
    with pytest.raises(ValueError, match="not numeric"):
        small_model().fit(X.assign(noise_a="x"), np.zeros(50, dtype=int))
    with pytest.raises(ValueError, match="class_weighting"):
        small_model(class_weighting="inverse").fit(X, np.zeros(50, dtype=int))


def test_missing_values_stay_missing(fitted: OutcomeModel, synth: Synth) -> None:
    X = synth.X.iloc[3000:3010].copy()
    X["volume_spike_vs_avg"] = np.nan
    assert np.isnan(fitted.to_matrix(X)[:, FEATURES.index("volume_spike_vs_avg")]).all()
    # a missing value is not a zero: the model learned a direction for NaN
    zeros = X.assign(volume_spike_vs_avg=0.0)
    assert not np.array_equal(fitted.predict_proba(X), fitted.predict_proba(zeros))
    # pandas' nullable floats (pd.NA) mean the same as NaN
    nullable = X.astype({"volume_spike_vs_avg": "Float64"})
    np.testing.assert_array_equal(fitted.predict_proba(nullable), fitted.predict_proba(X))


def test_save_load_round_trip(fitted: OutcomeModel, synth: Synth, tmp_path: Path) -> None:
    window = ("2026-03-01T00:00:00+00:00", "2026-03-08T00:00:00+00:00")
    metadata = {
        "metrics": {"log_loss": np.float64(1.02), "auc_10x": float("nan"), "n": np.int64(1000)},
        "training_window": window,
        "n_samples": np.int64(3000),
    }
    path = fitted.save(tmp_path / "m1", metadata=metadata)
    assert path == tmp_path / "m1"
    assert {p.name for p in path.iterdir()} == {"model.ubj", "model.json"}

    loaded = OutcomeModel.load(path)
    X = synth.X.iloc[3000:]
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.feature_names_ == fitted.feature_names_
    assert loaded.best_iteration_ == fitted.best_iteration_
    np.testing.assert_array_equal(loaded.class_weights_, fitted.class_weights_)
    assert loaded.get_params() == fitted.get_params()

    sidecar = json.loads((path / "model.json").read_text())
    assert sidecar["feature_names"] == FEATURES
    assert sidecar["feature_schema_hash"] == feature_schema_hash(FEATURES)
    assert sidecar["classes"] == list(CLASSES)
    assert sidecar["best_iteration"] == fitted.best_iteration_
    assert sidecar["class_weights"] == pytest.approx(list(fitted.class_weights_))
    assert sidecar["params"]["n_estimators"] == 150
    assert sidecar["params"]["class_weighting"] == "balanced"
    assert sidecar["n_train"] == 2550 and sidecar["n_valid"] == 450
    assert set(sidecar["versions"]) == {"xgboost", "numpy", "pandas", "python"}
    assert sidecar["versions"]["xgboost"] == xgb.__version__
    # metadata merged in, numpy types made plain, NaN stored as null
    assert sidecar["metrics"] == {"log_loss": 1.02, "auc_10x": None, "n": 1000}
    assert sidecar["training_window"] == list(window)
    assert sidecar["n_samples"] == 3000


def test_save_refuses_to_overwrite_its_own_keys(fitted: OutcomeModel, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="feature_names"):
        fitted.save(tmp_path, metadata={"feature_names": ["x"]})


def test_load_detects_a_tampered_sidecar(fitted: OutcomeModel, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "m", metadata={})
    sidecar = json.loads((path / "model.json").read_text())
    sidecar["feature_names"] = list(reversed(sidecar["feature_names"]))
    (path / "model.json").write_text(json.dumps(sidecar))
    with pytest.raises(ValueError, match="feature_schema_hash"):
        OutcomeModel.load(path)
