"""Timings of the ML hot paths, for ``moonbot bench`` (timing claims live in benchmarks).

``bench_explain`` trains a model of the production size on synthetic data (34 features,
``n_estimators`` rounds, no early stopping) and times one-row ``predict_proba`` and
``top_reasons`` against XGBoost's own ``pred_contribs``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.explain import prepare_reasons, top_reasons
from ml.outcome import OutcomeModel

log = logging.getLogger(__name__)


def _percentiles_ms(fn: Callable[[], object], repeats: int) -> dict[str, float]:
    for _ in range(min(50, repeats)):
        fn()
    times = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - start
    return {
        "p50_ms": float(np.percentile(times, 50) * 1e3),
        "p90_ms": float(np.percentile(times, 90) * 1e3),
        "p99_ms": float(np.percentile(times, 99) * 1e3),
    }


def bench_explain(
    n_features: int = 34,
    n_estimators: int = 400,
    max_depth: int = 4,
    n_rows: int = 3000,
    repeats: int = 500,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Per-call latency percentiles (ms) of the one-row paths, keyed by operation."""
    rng = np.random.default_rng(seed)
    names = [f"f{i:02d}" for i in range(n_features)]
    X = pd.DataFrame(rng.normal(size=(n_rows, n_features)), columns=names)
    X = X.mask(rng.random(X.shape) < 0.1)
    latent = 1.5 * X["f00"].fillna(0.0) - X["f01"].fillna(0.0) + rng.logistic(size=n_rows)
    y = np.digitize(latent, [0.0, 1.5, 2.5, 3.5, 4.5])
    model = OutcomeModel(
        n_estimators=n_estimators, max_depth=max_depth, early_stopping_rounds=None
    ).fit(X, y)
    start = time.perf_counter()
    prepare_reasons(model)
    build_s = time.perf_counter() - start
    row = X.iloc[[7]]
    matrix = model.to_matrix(row)

    def xgboost_contribs() -> object:  # the same work with xgboost's TreeSHAP, one thread
        dmat = xgb.DMatrix(matrix, missing=np.nan, nthread=1)
        booster = model.booster_for(1)
        return booster.predict(dmat, pred_contribs=True, validate_features=False)

    result = {
        "predict_proba_1row": _percentiles_ms(lambda: model.predict_proba(row), repeats),
        "top_reasons_1row": _percentiles_ms(lambda: top_reasons(model, row, k=3), repeats),
        "xgboost_pred_contribs_1row": _percentiles_ms(xgboost_contribs, max(50, repeats // 5)),
        "reason_tables_build": {"seconds": build_s},
    }
    log.info("explain bench: %s", result)
    return result
