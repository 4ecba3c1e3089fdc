"""``objective="auto"``: the outcome's shape and the prior blend chosen on validation rows, then a
refit on every training row (issue 13)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.metrics import log_loss
from ml.outcome import CLEAR_GAIN_SE, OutcomeModel, best_blend
from ml.prior import class_frequencies
from tests.ml.test_outcome_aft import lognormal_market

FAST = {"n_estimators": 300, "learning_rate": 0.1, "n_jobs": 1}


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    return lognormal_market(8000, seed=3)


def test_normal_outcomes_choose_aft_and_refit_on_every_row(market) -> None:  # type: ignore[no-untyped-def]
    X, y, multiples, truth = market
    model = OutcomeModel(**FAST).fit(X.iloc[:6000], y[:6000], multiples=multiples[:6000])
    assert model.objective == "auto" and model.objective_ == "aft"
    assert model.selection_["chosen"] == "aft"
    assert model.selection_["aft+prior"] < model.selection_["softprob+prior"]
    assert model.selection_["aft+prior"] < model.selection_["prior"]
    # the refit saw all 6000 rows, for the early-stopped rounds scaled to 6000 rows; the choice
    # was made on 3 rolling folds (450 judging rows each: fewer than POOL_BELOW), whose
    # validation rows are the newest 900 + 2 x 450
    assert model.n_train_ == 6000 and model.selection_["folds"] == 3
    assert model.n_valid_ == 1800
    assert model.booster_.num_boosted_rounds() == model.selection_["rounds"]
    loss = log_loss(model.predict_proba(X.iloc[6000:]), y[6000:])
    aft = OutcomeModel(objective="aft", **FAST).fit(
        X.iloc[:6000], y[:6000], multiples=multiples[:6000]
    )
    # measured: oracle 0.7607, aft alone (5100 rows fitted) 0.7842, chosen and refitted 0.7792
    assert loss < log_loss(aft.predict_proba(X.iloc[6000:]), y[6000:])
    assert loss < log_loss(truth[6000:], y[6000:]) + 0.025


def test_at_scale_the_candidates_train_on_each_folds_newest_rows(market, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ml.outcome

    X, y, multiples, truth = market
    monkeypatch.setattr(ml.outcome, "CHOOSE_ROWS", 2000)
    seen: list[tuple[int, np.ndarray]] = []
    fit_one = OutcomeModel._fit_one

    def spy(self, objective, names, train, valid, rounds=None, loss_scale=None):  # type: ignore[no-untyped-def]
        seen.append((len(train.y), train.x[0].copy()))
        return fit_one(self, objective, names, train, valid, rounds, loss_scale)

    monkeypatch.setattr(OutcomeModel, "_fit_one", spy)
    model = OutcomeModel(**FAST).fit(X.iloc[:6000], y[:6000], multiples=multiples[:6000])
    # 3 folds x 2 objectives on 2,000 rows each, then the refit on all 6,000
    assert [n for n, _ in seen] == [2000] * 6 + [6000]
    assert model.selection_["n_choose"] == 2000 and model.n_train_ == 6000
    # the newest fold's 2,000 rows end where its 900 validation rows begin (row 5,100); the
    # next fold's where its stopping rows begin (5,100 - 450)
    matrix = X.to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(seen[0][1], matrix[5100 - 2000])
    np.testing.assert_array_equal(seen[1][1], matrix[4650 - 2000])
    assert model.selection_["chosen"] == "aft"
    assert model.booster_.num_boosted_rounds() == model.selection_["rounds"]
    # measured: 0.7792, as with every row for the candidates (refit rounds 78, not 97); the
    # oracle 0.7607
    assert (
        log_loss(model.predict_proba(X.iloc[6000:]), y[6000:])
        < log_loss(truth[6000:], y[6000:]) + 0.03
    )


def test_outcomes_without_signal_give_the_prior(market) -> None:  # type: ignore[no-untyped-def]
    X, y, _, _ = market
    shuffled = np.random.default_rng(0).permutation(y)
    model = OutcomeModel(**FAST).fit(X.iloc[:6000], shuffled[:6000])
    holdout_prior = np.tile(class_frequencies(shuffled[:6000]), (2000, 1))
    model_loss = log_loss(model.predict_proba(X.iloc[6000:]), shuffled[6000:])
    # measured: softprob (3 rounds) beat the prior by 0.00084 on the 1,350 judging rows of the
    # 3 folds, within 2 standard errors (0.00071 each), so the prior itself was kept: on the
    # 2,000 newer rows that softprob was 0.0011 worse than the prior
    assert model.selection_["gain_over_prior"] <= CLEAR_GAIN_SE * model.selection_["gain_se"]
    assert model.blend_ == 1.0
    assert model_loss == pytest.approx(log_loss(holdout_prior, shuffled[6000:]))


def test_the_blend_is_the_log_loss_optimum() -> None:
    y = np.array([0, 0, 0, 1, 2, 0, 0, 1])
    prior = class_frequencies(y)
    sure = np.eye(6)[np.array([0, 1, 1, 1, 2, 0, 3, 1])] * 0.9 + 0.1 / 6  # right on 5 of 8
    blend, loss = best_blend(sure, prior, y)
    assert 0.0 < blend < 1.0
    for other in (blend - 0.02, blend + 0.02):
        assert log_loss((1 - other) * sure + other * prior, y) > loss
    # a model that is right everywhere needs no prior
    exact = np.eye(6)[y] * 0.99 + 0.01 / 6
    assert best_blend(exact, prior, y)[0] == pytest.approx(0.0, abs=1e-3)


def test_the_choice_survives_save_and_load(market, tmp_path) -> None:  # type: ignore[no-untyped-def]
    X, y, _, _ = market
    shuffled = np.random.default_rng(1).permutation(y)
    model = OutcomeModel(**FAST).fit(X.iloc[:3000], shuffled[:3000])
    model.save(tmp_path / "m", metadata={})
    again = OutcomeModel.load(tmp_path / "m")
    assert again.objective_ == model.objective_ and again.blend_ == model.blend_
    assert again.selection_ == model.selection_
    np.testing.assert_allclose(
        again.predict_proba(X.iloc[3000:3100]), model.predict_proba(X.iloc[3000:3100])
    )
