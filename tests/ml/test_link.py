"""The learned link (``ml.link``) and the ``aft`` model that reads ``mu`` through it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.explain import contributions_from_matrix
from ml.link import SplineLink, basis, fit_link
from ml.metrics import log_loss
from ml.outcome import OutcomeModel, aft_class_probs
from tests.ml.test_outcome_aft import EDGES

RUGS = 0.3  # a point mass of rugs on top of a normal curve: not a normal link


def rug_curves(mu: np.ndarray) -> np.ndarray:
    """P(class | mu): 30% rugs whatever ``mu``, else log(multiple) ~ Normal(mu, 0.9)."""
    probs = (1.0 - RUGS) * aft_class_probs(mu, 0.9)
    probs[:, 0] += RUGS
    return probs


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (rng.random(len(probs))[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)


def test_the_basis_is_linear_beyond_the_outer_knots() -> None:
    knots = np.array([-1.0, -0.3, 0.2, 0.8, 1.5])
    x = np.array([2.0, 3.0, 4.0, -3.0, -2.0, -1.0])
    b = basis(x, knots)
    # equal steps of x beyond the last (first) knot give equal steps of every column
    np.testing.assert_allclose(b[1] - b[0], b[2] - b[1], atol=1e-12)
    np.testing.assert_allclose(b[4] - b[3], b[5] - b[4], atol=1e-12)
    assert np.all(b[3:, 1:] == 0.0)  # below the first knot only the linear term moves


def test_the_link_learns_curves_the_normal_link_cannot_follow() -> None:
    rng = np.random.default_rng(5)
    mu = rng.normal(0.3, 1.0, size=20_000)
    y = draw(rug_curves(mu), rng)
    link = fit_link(mu, y)
    assert link is not None
    fresh = rng.normal(0.3, 1.0, size=20_000)
    truth = rug_curves(fresh)
    y_fresh = draw(truth, rng)
    learned = np.exp(link.log_probs(fresh))
    np.testing.assert_allclose(learned.sum(axis=1), 1.0)
    inside = (fresh > link.knots[0]) & (fresh < link.knots[-1])
    error = np.abs(learned[inside] - truth[inside])
    # 20,000 rows: 7 knots. Measured: a class probability inside the knots is 0.0023 off on
    # average, 0.039 at most (5 knots: 0.0032 and 0.047)
    assert len(link.knots) == 7
    assert error.mean() < 0.005 and error.max() < 0.06
    # the normal link with the s that fits these rows best, against the learned one, on fresh
    # rows; measured: truth 0.7769, learned 0.7777, best normal (s = 1.1) 0.8576
    scale = min(np.linspace(0.5, 3.0, 26), key=lambda s: log_loss(aft_class_probs(mu, s), y))
    normal = log_loss(aft_class_probs(fresh, scale), y_fresh)
    assert log_loss(learned, y_fresh) < log_loss(truth, y_fresh) + 0.005 < normal


def test_too_few_distinct_locations_give_no_link() -> None:
    assert fit_link(np.zeros(100), np.zeros(100, dtype=np.int64)) is None
    assert fit_link(np.arange(5.0), np.arange(5)) is None


def test_the_link_survives_json_and_refuses_a_broken_one() -> None:
    rng = np.random.default_rng(6)
    mu = rng.normal(size=2_000)
    link = fit_link(mu, draw(rug_curves(mu), rng))
    assert link is not None
    again = SplineLink.from_json(link.to_json())
    np.testing.assert_array_equal(again.log_probs(mu), link.log_probs(mu))
    broken = {**link.to_json(), "knots": link.to_json()["knots"][::-1]}
    with pytest.raises(ValueError, match="knots must increase"):
        SplineLink.from_json(broken)


def rug_market(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """log(multiple) = 0.2 + 1.2*a - 0.8*b + N(0, 0.9^2), and 30% of rows rug (0.05x)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    log_m = 0.2 + 1.2 * X["a"].to_numpy() - 0.8 * X["b"].to_numpy() + rng.normal(0, 0.9, n)
    log_m[rng.random(n) < RUGS] = np.log(0.05)
    return X, np.searchsorted(EDGES, log_m, side="right"), np.exp(log_m)


def test_auto_reads_aft_through_the_learned_link_when_rugs_break_the_normal_shape(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    X, y, multiples = rug_market(10_000, seed=4)
    model = OutcomeModel(n_estimators=300, learning_rate=0.1, n_jobs=1)
    model.fit(X.iloc[:8000], y[:8000], multiples=multiples[:8000])
    assert model.selection_["chosen"] == model.shape_ == "aft+link" and model.aft_link_ is not None
    # measured on the 1,800 judging rows of 3 folds: aft 0.7730, aft+link 0.7547, softprob 0.7583
    assert model.selection_["aft+link"] < min(model.selection_["aft"], model.selection_["softprob"])
    # SHAP stays additive through the link: bias + contributions == log P_k(mu) per class (to
    # float32 rounding of mu, as for the normal link: tests/ml/test_outcome_aft.py)
    rows = X.iloc[8000:8200]
    contributions = contributions_from_matrix(model, model.to_matrix(rows))
    np.testing.assert_allclose(contributions.sum(axis=2), model.predict_margin(rows), atol=1e-4)
    model.save(tmp_path / "m", metadata={})
    again = OutcomeModel.load(tmp_path / "m")
    assert again.aft_link_ is not None
    np.testing.assert_array_equal(
        again.predict_proba(X.iloc[8000:]), model.predict_proba(X.iloc[8000:])
    )
