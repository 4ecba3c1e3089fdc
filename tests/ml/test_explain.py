from __future__ import annotations

import math

import numpy as np
import pytest
import xgboost as xgb

from ml.classes import CLASSES
from ml.explain import (
    Reason,
    global_importance,
    shap_contributions,
    shap_values,
    top_reasons,
)
from ml.outcome import OutcomeModel
from ml.treeshap import path_tables
from tests.ml.ml_synth import FEATURES, Synth, make_synth

BIG = [3, 4, 5]


def test_contributions_add_up_to_the_margin(fitted: OutcomeModel, synth: Synth) -> None:
    X = synth.X.iloc[3000:3200]
    contrib = shap_contributions(fitted, X)
    assert contrib.shape == (200, 6, len(FEATURES) + 1)
    # bias (last column) + feature contributions = the booster's raw margin, per class
    np.testing.assert_allclose(contrib.sum(axis=2), fitted.predict_margin(X), atol=1e-4)
    values = shap_values(fitted, X)
    assert values.shape == (200, 6, len(FEATURES))
    np.testing.assert_array_equal(values, contrib[:, :, :-1])
    # const_zero is never split on: exactly zero everywhere
    assert np.all(values[:, :, FEATURES.index("const_zero")] == 0.0)


def test_top_reasons_match_pred_contribs(fitted: OutcomeModel, synth: Synth) -> None:
    for i in (3000, 3001, 3002, 3003, 3004):
        row = synth.X.iloc[[i]]
        reasons = top_reasons(fitted, row, k=3)
        assert len(reasons) == 3
        assert all(isinstance(r, Reason) for r in reasons)
        magnitudes = [abs(r.contribution) for r in reasons]
        assert magnitudes == sorted(magnitudes, reverse=True)
        # each contribution is the mean over big_win/moonshot/mega_moon of xgboost's SHAP value
        expected = shap_values(fitted, row)[0, BIG, :].mean(axis=0)
        for r in reasons:
            j = FEATURES.index(r.feature)
            assert r.contribution == pytest.approx(expected[j], abs=1e-5)
            value = row[r.feature].iloc[0]
            assert (math.isnan(r.value) and math.isnan(value)) or r.value == pytest.approx(value)
        # the strongest reasons are the largest |expected| values
        assert reasons[0].feature == FEATURES[int(np.argmax(np.abs(expected)))]


def test_all_reasons_add_up_to_the_big_class_margin(fitted: OutcomeModel, synth: Synth) -> None:
    row = synth.X.iloc[[3010]]
    reasons = top_reasons(fitted, row, k=len(FEATURES))
    # const_zero contributes exactly 0, so it is never a reason
    assert "const_zero" not in {r.feature for r in reasons}
    assert len(reasons) < len(FEATURES)
    contrib = shap_contributions(fitted, row)[0]
    bias = contrib[BIG, -1].mean()
    margin = fitted.predict_margin(row)[0, BIG].mean()
    total = bias + sum(r.contribution for r in reasons)
    assert total == pytest.approx(margin, abs=1e-4)


def test_missing_value_can_be_a_reason(fitted: OutcomeModel, synth: Synth) -> None:
    row = synth.X.iloc[[3020]].copy()
    row["volume_spike_vs_avg"] = np.nan
    reasons = {r.feature: r for r in top_reasons(fitted, row, k=len(FEATURES))}
    expected = shap_values(fitted, row)[0, BIG, FEATURES.index("volume_spike_vs_avg")].mean()
    # 15% of training rows miss this strong feature, so the trees route NaN somewhere useful
    assert expected != 0.0
    assert math.isnan(reasons["volume_spike_vs_avg"].value)
    assert reasons["volume_spike_vs_avg"].contribution == pytest.approx(expected, abs=1e-5)


def test_top_reasons_takes_one_row(fitted: OutcomeModel, synth: Synth) -> None:
    with pytest.raises(ValueError, match="one row"):
        top_reasons(fitted, synth.X.iloc[:2])
    with pytest.raises(ValueError, match="missing feature column"):
        top_reasons(fitted, synth.X.iloc[[0]].drop(columns=["noise_a"]))


def test_global_importance(fitted: OutcomeModel, synth: Synth) -> None:
    X = synth.X.iloc[3000:3300]
    imp = global_importance(fitted, X)
    assert list(imp.columns) == [*CLASSES, "all"]
    assert sorted(imp.index) == sorted(FEATURES)
    assert list(imp["all"]) == sorted(imp["all"], reverse=True)
    values = shap_values(fitted, X)
    j = FEATURES.index("holder_top10_pct")
    for k, name in enumerate(CLASSES):
        assert imp.loc["holder_top10_pct", name] == pytest.approx(np.abs(values[:, k, j]).mean())
    np.testing.assert_allclose(imp["all"], imp[list(CLASSES)].mean(axis=1))
    # the planted effects come first, in order of their coefficients (1.6, 1.1, 0.7);
    # the constant column is last with exactly zero
    assert list(imp.index[:3]) == ["kol_elite_count", "holder_top10_pct", "volume_spike_vs_avg"]
    assert imp.index[-1] == "const_zero" and imp.loc["const_zero", "all"] == 0.0


@pytest.mark.parametrize("max_depth", [2, 4, 6])
def test_lookup_tables_equal_xgboost_treeshap(max_depth: int) -> None:
    data = make_synth(1500, seed=5)
    model = OutcomeModel(
        objective="softprob",
        n_estimators=40,
        max_depth=max_depth,
        learning_rate=0.3,
        early_stopping_rounds=None,
        n_jobs=1,
    ).fit(data.X, data.y)
    tables = path_tables(model.booster_, len(FEATURES), range(6), 6)
    assert tables is not None
    rows = model.to_matrix(data.X.iloc[:60])
    assert np.isnan(rows).any()  # missing values take the default branch in both
    dmat = xgb.DMatrix(rows, missing=np.nan, feature_names=FEATURES)
    reference = model.booster_.predict(dmat, pred_contribs=True)[:, :, :-1]
    mine = np.stack([tables.contributions(r) for r in rows])
    np.testing.assert_allclose(mine, reference, atol=2e-5 * max(1.0, np.abs(reference).max()))
