"""The ``shap`` package is the reference (issue 13): ``shap.TreeExplainer`` gives the report's
values, and the fast per-request tables of ``ml.treeshap`` equal it within 1e-6."""

from __future__ import annotations

import numpy as np
import pytest
import shap

from ml.classes import BIG_CLASSES
from ml.explain import shap_contributions, shap_values, top_reasons
from ml.outcome import OutcomeModel
from ml.treeshap import path_tables
from tests.ml.ml_synth import FEATURES, make_synth

BIG = list(BIG_CLASSES)


@pytest.fixture(scope="module", params=["softprob", "aft"])
def model_and_rows(request):  # type: ignore[no-untyped-def]
    data = make_synth(1500, seed=5)
    model = OutcomeModel(
        objective=request.param,
        n_estimators=40,
        max_depth=4,
        learning_rate=0.3,
        early_stopping_rounds=None,
        n_jobs=1,
    ).fit(data.X, data.y)
    return model, data.X.iloc[:60]


def test_fast_tables_equal_shap_tree_explainer(model_and_rows) -> None:  # type: ignore[no-untyped-def]
    model, X = model_and_rows
    rows = model.to_matrix(X)
    assert np.isnan(rows).any()  # missing values take the default branch in both
    raw = np.asarray(shap.TreeExplainer(model.booster_).shap_values(rows), dtype=np.float64)
    if model.aft_scale_ is None:
        tables = path_tables(model.booster_, len(FEATURES), BIG_CLASSES, 6)
        reference = raw[:, :, BIG].transpose(0, 2, 1)  # (n, 3 big classes, features)
    else:
        tables = path_tables(model.booster_, len(FEATURES), (0,), 1)
        reference = raw[:, None, :]  # the one output, mu
    assert tables is not None
    mine = np.stack([tables.contributions(r) for r in rows])
    np.testing.assert_allclose(mine, reference, rtol=0, atol=1e-6)


def test_report_values_are_shap_and_agree_with_xgboost(model_and_rows) -> None:  # type: ignore[no-untyped-def]
    model, X = model_and_rows
    values = shap_values(model, X)
    assert values.shape == (60, 6, len(FEATURES))
    np.testing.assert_allclose(values, shap_contributions(model, X)[:, :, :-1], atol=1e-5)
    # the first row's top reason is its largest mean pull toward the big classes
    toward_big = values[0, BIG, :].mean(axis=0)
    best = top_reasons(model, X.iloc[:1], k=1)[0]
    assert best.feature == FEATURES[int(np.argmax(np.abs(toward_big)))]
    assert best.contribution == pytest.approx(toward_big[FEATURES.index(best.feature)], abs=1e-5)
