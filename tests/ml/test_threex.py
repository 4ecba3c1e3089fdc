from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ml.binary import choose_threshold, evaluate
from ml.impute import Preprocessing
from ml.registry import Registry
from ml.schema import feature_schema_hash
from ml.sidecar import SIDECAR_FILE
from ml.threex import TORCH_MODEL_FILE, ThreeXNet, resolve_device, threex_labels

N_ROWS = 16_000
N_FIT = 12_000  # the last 4,000 rows are the later test split


@dataclass(frozen=True)
class RareSynth:
    X: pd.DataFrame
    y: np.ndarray


def make_rare(n: int, seed: int) -> RareSynth:
    """Time-ordered rows with a rare 3x+ class (about 4.5%).

    ``logit P(3x+) = b(t) + 1.4 f00 - 1.0 f01 + 0.8 f02 + 0.6 [f02 missing]``, the intercept
    ``b(t)`` drifting from -4.5 to -4.3 over time; f02 is missing for 20% of rows, f03 for 5%;
    f03..f09 carry no signal.
    """
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 10)), columns=[f"f{i:02d}" for i in range(10)])
    X.loc[rng.random(n) < 0.2, "f02"] = np.nan
    X.loc[rng.random(n) < 0.05, "f03"] = np.nan
    intercept = np.linspace(-4.5, -4.3, n)
    logit = (
        intercept
        + 1.4 * X["f00"]
        - 1.0 * X["f01"]
        + 0.8 * X["f02"].fillna(0.0)
        + 0.6 * X["f02"].isna()
    )
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-logit.to_numpy()))
    return RareSynth(X=X, y=y)


@pytest.fixture(scope="module")
def rare() -> RareSynth:
    return make_rare(N_ROWS, seed=0)


@pytest.fixture(scope="module")
def net(rare: RareSynth) -> ThreeXNet:
    # min_recall 0.7 on validation (not the default 0.5): the threshold is fitted to ~140
    # validation positives, so the later split's recall scatters around the validation target.
    # Measured over 20 data seeds: later recall 0.63 at worst (mean 0.70), precision >= 3.2x the
    # base rate. Aiming at 0.65 gave 0.57 at worst; with 12,000 rows and a 20% validation split
    # a 0.65 target fell below 0.5 for 2 seeds of 12.
    model = ThreeXNet(
        max_epochs=40,
        patience=8,
        validation_fraction=0.25,
        min_recall=0.7,
        random_state=0,
    )
    return model.fit(rare.X.iloc[:N_FIT], rare.y[:N_FIT])


# --------------------------------------------------------------------- threshold (hand-checked)

SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
LABELS = np.array([1, 1, 0, 0, 0, 0, 0, 1, 0, 1], dtype=bool)
# Flagging score >= t, with 4 positives: F1 = 2 TP / (flagged + 4).
#   t=0.9: TP 1 of 1, recall .25, F1 2/5  = .400
#   t=0.8: TP 2 of 2, recall .50, F1 4/6  = .667   <- best overall
#   t=0.7..0.3: TP 2, recall .50, F1 4/7 .. 4/11 (falling)
#   t=0.2: TP 3 of 8, recall .75, F1 6/12 = .500
#   t=0.1: TP 3 of 9, recall .75, F1 6/13 = .462
#   t=0.0: TP 4 of 10, recall 1, F1 8/14  = .571   <- best with recall >= .75


def test_threshold_maximizes_f1_subject_to_recall() -> None:
    assert choose_threshold(LABELS, SCORES, min_recall=0.5) == (0.8, "max_f1_at_min_recall")
    assert choose_threshold(LABELS, SCORES, min_recall=0.0) == (0.8, "max_f1_at_min_recall")
    assert choose_threshold(LABELS, SCORES, min_recall=0.75) == (0.0, "max_f1_at_min_recall")
    assert choose_threshold(LABELS, SCORES, min_recall=0.6) == (0.0, "max_f1_at_min_recall")


def test_threshold_ties_and_order() -> None:
    # Shuffled input order must not matter; tied scores are flagged together.
    order = np.array([3, 9, 0, 5, 1, 7, 2, 8, 4, 6])
    assert choose_threshold(LABELS[order], SCORES[order], 0.5) == (0.8, "max_f1_at_min_recall")
    # scores .9 .9 .5 .5 .1 with labels 1 0 1 0 0 (2 positives):
    #   t=.9: TP 1 of 2 flagged, F1 2/4 = .5 (recall .5); t=.5: TP 2 of 4, F1 4/6 = .667;
    #   t=.1: TP 2 of 5, F1 4/7 = .571  -> .5
    tied = np.array([0.9, 0.9, 0.5, 0.5, 0.1])
    truth = np.array([1, 0, 1, 0, 0], dtype=bool)
    assert choose_threshold(truth, tied, 0.5) == (0.5, "max_f1_at_min_recall")
    # F1 ties go to the higher threshold: .9 (1 of 1, F1 2/3) vs .1 (2 of 4, F1 4/6)
    assert choose_threshold(
        np.array([1, 0, 0, 1], dtype=bool), np.array([0.9, 0.5, 0.3, 0.1]), 0.0
    ) == (0.9, "max_f1_at_min_recall")


def test_threshold_without_positives_is_the_default() -> None:
    assert choose_threshold(np.zeros(4, dtype=bool), np.array([0.1, 0.2, 0.3, 0.4]), 0.5) == (
        0.5,
        "default",
    )
    with pytest.raises(ValueError, match="min_recall"):
        choose_threshold(LABELS, SCORES, min_recall=1.5)


def test_evaluate_counts_by_hand() -> None:
    report = evaluate(LABELS, SCORES, threshold=0.2)
    # flagged: .9 .8 .7 .6 .5 .4 .3 .2 (8 rows), TP 3, positives 4 of 10
    assert report["n"] == 10 and report["n_pos"] == 4 and report["n_flagged"] == 8
    assert report["true_positives"] == 3
    assert report["base_rate"] == pytest.approx(0.4)
    assert report["precision"] == pytest.approx(3 / 8)
    assert report["recall"] == pytest.approx(3 / 4)
    assert report["f1"] == pytest.approx(0.5)
    # AUC by pairs: positives .9 .8 .2 .0 vs 6 negatives .7 .6 .5 .4 .3 .1:
    # .9 and .8 beat all 6; .2 beats 1 (.1); .0 beats none -> 13 / 24
    assert report["auc"] == pytest.approx(13 / 24)
    assert report["precision_low"] < 3 / 8 < report["precision_high"]
    assert report["recall_low"] < 3 / 4 < report["recall_high"]
    nothing = evaluate(LABELS, SCORES, threshold=2.0)
    assert nothing["n_flagged"] == 0 and math.isnan(nothing["precision"])
    assert nothing["recall"] == 0.0


# --------------------------------------------------------------------- preprocessing (hand-checked)


def test_missing_indicator_preprocessing_by_hand() -> None:
    frame = np.array([[1.0, 2.0], [np.nan, 4.0], [3.0, 6.0], [5.0, 8.0]])
    prep = Preprocessing.learn(frame, ["a", "b"])
    # a: median of 1, 3, 5 = 3; imputed 1 3 3 5 -> mean 3, var (4+0+0+4)/4 = 2
    # a__missing: 0 1 0 0 -> mean .25, var .1875; b has no NaN, no indicator: mean 5, var 5
    np.testing.assert_allclose(prep.medians, [3.0, 5.0])
    assert prep.indicator_features == ["a"]
    assert prep.output_names == ["a", "b", "a__missing"]
    np.testing.assert_allclose(prep.means, [3.0, 5.0, 0.25])
    np.testing.assert_allclose(prep.stds, [math.sqrt(2), math.sqrt(5), math.sqrt(0.1875)])
    out = prep.transform(np.array([[np.nan, 4.0], [5.0, np.nan], [np.inf, 5.0]]))
    expected = [
        [0.0, -1 / math.sqrt(5), 0.75 / math.sqrt(0.1875)],
        [2 / math.sqrt(2), 0.0, -0.25 / math.sqrt(0.1875)],  # b missing: median, no indicator
        [0.0, 0.0, 0.75 / math.sqrt(0.1875)],  # inf counts as missing
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32
    again = Preprocessing.from_json(json.loads(json.dumps(_plain(prep.to_json()))))
    np.testing.assert_array_equal(again.transform(frame), prep.transform(frame))


def _plain(data: dict[str, object]) -> dict[str, object]:
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in data.items()}


def test_labels_are_max_multiple_at_least_three() -> None:
    np.testing.assert_array_equal(
        threex_labels([0.5, 2.99, 3.0, 120.0]), [False, False, True, True]
    )
    with pytest.raises(ValueError, match="NaN"):
        threex_labels([1.0, np.nan])


# --------------------------------------------------------------------- training


def test_rare_class_is_found_on_a_later_split(net: ThreeXNet, rare: RareSynth) -> None:
    later_x, later_y = rare.X.iloc[N_FIT:], rare.y[N_FIT:]
    report = evaluate(later_y, net.predict_proba(later_x), net.threshold_)
    # measured (seed 0): base rate .053 (212 of 4000), AUC .87, recall .68 (144 of 212),
    # precision .22 (144 of 659 flagged, 4.1x the base rate)
    assert 0.02 < report["base_rate"] < 0.07
    assert report["recall"] >= 0.5
    assert report["precision"] >= 2 * report["base_rate"]
    assert report["auc"] > 0.8
    np.testing.assert_array_equal(
        net.predict(later_x), net.predict_proba(later_x) >= net.threshold_
    )
    assert net.threshold_rule_ == "max_f1_at_min_recall"
    assert net.validation_metrics_["recall"] >= 0.7
    assert net.n_train_ == 9_000 and net.n_valid_ == 3_000
    n_pos = int(rare.y[:9_000].sum())
    assert net.pos_weight_ == pytest.approx((9_000 - n_pos) / n_pos)
    assert net.preprocessing_.indicator_features == ["f02", "f03"]


def test_calibrated_probabilities_match_the_base_rate(net: ThreeXNet, rare: RareSynth) -> None:
    later_x, later_y = rare.X.iloc[N_FIT:], rare.y[N_FIT:]
    raw = net.predict_proba(later_x)
    calibrated = net.calibrated_proba(later_x)
    assert net.calibration_["method"] == "platt"
    # the raw score is inflated by pos_weight; the calibrated one averages near the base rate
    assert raw.mean() > 4 * later_y.mean()
    assert calibrated.mean() == pytest.approx(later_y.mean(), rel=0.3)
    # calibration is monotone: the ranking is unchanged
    order = np.argsort(raw)
    assert np.all(np.diff(calibrated[order]) >= 0)


def test_training_is_deterministic() -> None:
    data = make_rare(2_000, seed=3)
    scores = [
        ThreeXNet(max_epochs=3, random_state=5).fit(data.X, data.y).predict_proba(data.X)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(scores[0], scores[1])


def test_fit_needs_both_classes_and_predict_needs_fit() -> None:
    data = make_rare(200, seed=1)
    with pytest.raises(ValueError, match="both classes"):
        ThreeXNet().fit(data.X, np.zeros(200, dtype=bool))
    with pytest.raises(RuntimeError, match="not fitted"):
        ThreeXNet().predict_proba(data.X)
    assert "min_recall=0.7" in repr(ThreeXNet(min_recall=0.7))


def test_auto_device_is_cuda_only_when_available() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


# --------------------------------------------------------------------- persistence


def test_save_load_round_trip_gives_identical_scores(
    net: ThreeXNet, rare: RareSynth, tmp_path: Path
) -> None:
    path = net.save(tmp_path / "threex", metadata={"trained_at": "2026-03-01T00:00:00+00:00"})
    loaded = ThreeXNet.load(path)
    later_x = rare.X.iloc[N_FIT:]
    np.testing.assert_array_equal(loaded.predict_proba(later_x), net.predict_proba(later_x))
    np.testing.assert_array_equal(loaded.calibrated_proba(later_x), net.calibrated_proba(later_x))
    np.testing.assert_array_equal(loaded.predict(later_x), net.predict(later_x))
    assert loaded.threshold_ == net.threshold_
    assert loaded.feature_names_ == net.feature_names_

    sidecar = json.loads((path / SIDECAR_FILE).read_text())
    assert sidecar["feature_schema_hash"] == feature_schema_hash(net.feature_names_)
    assert sidecar["threshold"] == net.threshold_
    assert sidecar["preprocessing"]["indicator_features"] == ["f02", "f03"]
    assert sidecar["versions"]["torch"] == torch.__version__
    assert sidecar["validation_metrics"]["recall"] == net.validation_metrics_["recall"]
    assert sidecar["trained_at"] == "2026-03-01T00:00:00+00:00"
    # the weights are a plain state_dict: loadable with weights_only=True, no pickled classes
    state = torch.load(path / TORCH_MODEL_FILE, weights_only=True)
    assert isinstance(state, dict)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert state["0.weight"].shape == (64, 12)  # 10 features + 2 missing indicators

    with pytest.raises(ValueError, match="may not overwrite"):
        net.save(tmp_path / "other", metadata={"threshold": 0.1})


def test_the_registry_stores_and_finds_the_net(
    net: ThreeXNet, rare: RareSynth, tmp_path: Path
) -> None:
    registry = Registry(tmp_path / "models")
    info = registry.save(
        net,
        kind="threex",
        metrics=net.validation_metrics_,
        training_window=("2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"),
        n_samples=N_FIT,
    )
    assert info.champion and info.feature_schema_hash == feature_schema_hash(net.feature_names_)
    loaded = ThreeXNet.load(info.path)
    np.testing.assert_array_equal(
        loaded.predict_proba(rare.X.iloc[:50]), net.predict_proba(rare.X.iloc[:50])
    )


def test_load_rejects_a_tampered_sidecar(net: ThreeXNet, tmp_path: Path) -> None:
    path = net.save(tmp_path / "threex")
    sidecar = json.loads((path / SIDECAR_FILE).read_text())
    sidecar["feature_names"] = list(reversed(sidecar["feature_names"]))
    (path / SIDECAR_FILE).write_text(json.dumps(sidecar))
    with pytest.raises(ValueError, match="feature_schema_hash"):
        ThreeXNet.load(path)
