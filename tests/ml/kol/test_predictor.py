from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from ml.kol.betabinom import BetaBinomialPrior
from ml.kol.history import history_features, normalize_events, weekly_cutoffs
from ml.kol.predictor import EMPIRICAL_BAYES, LEARNED, KolPredictor
from ml.sidecar import to_jsonable

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def events_of(rows: list[tuple[str, float, bool]]) -> pd.DataFrame:
    """(kol, hours after T0, hit) rows as an event table."""
    return pd.DataFrame(
        {
            "kol": [r[0] for r in rows],
            "ts": [T0 + timedelta(hours=r[1]) for r in rows],
            "hit": [r[2] for r in rows],
        }
    )


def synthetic_kols(
    n_kols: int, days: int, per_day: float, seed: int, *, drift: bool
) -> pd.DataFrame:
    """KOL positions over ``days`` days, Poisson(``per_day``) a day per KOL.

    ``drift=False``: each KOL has a fixed 3x+ rate drawn from Beta(2, 10): the whole history is
    the best guide, empirical Bayes is the right model. ``drift=True``: each KOL flips between a
    hot (0.5) and a cold (0.03) spell with probability 1/30 a day: recent form predicts the next
    days better than the long-run rate.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for j in range(n_kols):
        if drift:
            flips = np.cumsum(rng.random(days) < 1 / 30) % 2 == 1
            hot = (rng.random() < 0.5) ^ flips
            rate = np.where(hot, 0.5, 0.03)
        else:
            rate = np.full(days, rng.beta(2.0, 10.0))
        day = np.repeat(np.arange(days), rng.poisson(per_day, days))
        seconds = day * 86_400.0 + rng.uniform(0, 86_400, len(day))
        frames.append(
            pd.DataFrame(
                {
                    "kol": f"kol{j:03d}",
                    "ts": pd.Timestamp(T0) + pd.to_timedelta(seconds, unit="s"),
                    "hit": rng.random(len(day)) < rate[day],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------- empirical Bayes


def test_posterior_by_hand_with_the_pooled_prior() -> None:
    # Two KOLs are too few to measure the spread between KOLs: the pooled fallback applies.
    # Pooled rate with Jeffreys smoothing: (K + .5) / (N + 1) = (1 + .5) / (14 + 1) = 0.1;
    # strength 10 -> prior Beta(1, 9).
    prior = BetaBinomialPrior().fit([1, 0], [4, 10])
    assert prior.method_ == "pooled"
    assert prior.alpha_ == pytest.approx(1.0) and prior.beta_ == pytest.approx(9.0)
    mean, low, high = prior.posterior([1, 0], [4, 10])
    # A, 1 of 4: Beta(2, 12), mean 2/14. B, 0 of 10: Beta(1, 19), mean 1/20; a Beta(1, b)
    # has the quantile 1 - (1 - q)^(1/b): 1 - .975^(1/19) = 0.0013316, 1 - .025^(1/19) = 0.176470
    np.testing.assert_allclose(mean, [2 / 14, 0.05])
    assert low[1] == pytest.approx(0.0013316, abs=1e-6)
    assert high[1] == pytest.approx(0.176470, abs=1e-5)
    assert low[0] < 2 / 14 < high[0]


def test_mle_prior_maximizes_the_beta_binomial_likelihood() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(5, 60, size=50)
    k = rng.binomial(n, rng.beta(2.0, 8.0, size=50))
    prior = BetaBinomialPrior().fit(k, n)
    assert prior.method_ == "mle" and prior.overdispersed_

    def loglik(a: float, b: float) -> float:
        return float(np.sum(betaln(k + a, n - k + b) - betaln(a, b)))

    best = loglik(prior.alpha_, prior.beta_)
    grid = [(a, b) for a in np.geomspace(0.2, 50, 40) for b in np.geomspace(0.2, 200, 40)]
    assert best >= max(loglik(a, b) for a, b in grid) - 1e-6
    assert 0.1 < prior.mean_ < 0.35  # the drawn skills have mean 0.2


def test_shrinkage_small_samples_move_large_ones_stay() -> None:
    rng = np.random.default_rng(2)
    n = np.full(40, 30)
    k = rng.binomial(n, rng.beta(2.0, 8.0, size=40))
    prior = BetaBinomialPrior().fit(np.r_[k, 1, 60], np.r_[n, 1, 100])
    mean, _, _ = prior.posterior([1, 60], [1, 100])
    lucky, steady = mean
    assert lucky < 0.5  # one hit in one try is far from a 100% hit rate
    assert abs(steady - 0.6) < 0.06  # 60 of 100 mostly speaks for itself ...
    assert prior.mean_ < steady < 0.6  # ... shrunk a little toward the population


def test_intervals_contain_the_mean_and_narrow_with_more_events() -> None:
    rng = np.random.default_rng(3)
    n = np.full(40, 30)
    prior = BetaBinomialPrior().fit(rng.binomial(n, rng.beta(2.0, 8.0, size=40)), n)
    trials = np.array([0, 5, 20, 100, 1000])
    mean, low, high = prior.posterior(trials // 5, trials)
    assert np.all((low < mean) & (mean < high))
    assert np.all(np.diff(high - low) < 0)
    assert mean[0] == pytest.approx(prior.mean_)  # no events: the population rate


def test_no_spread_between_kols_means_everyone_gets_the_pooled_rate() -> None:
    # 30 KOLs with exactly 10 of 50: no variance beyond binomial noise
    prior = BetaBinomialPrior().fit(np.full(30, 10), np.full(30, 50))
    assert prior.method_ == "mle" and not prior.overdispersed_
    mean, _, _ = prior.posterior([0, 5], [5, 5])
    np.testing.assert_allclose(mean, 0.2, atol=0.01)


# --------------------------------------------------------------------- history features


def test_history_features_use_only_known_events() -> None:
    events = normalize_events(
        events_of(
            [("a", 0, True), ("a", 24 * 20, False), ("a", 24 * 29, True), ("b", 24 * 29.5, False)]
        )
    )
    as_of = pd.Timestamp(T0 + timedelta(days=30))
    feats = history_features(events, as_of, BetaBinomialPrior(), label_delay=timedelta(days=1))
    # b's only event (12 h before as_of) is not known yet with a one-day label delay
    assert list(feats.index) == ["a"]
    row = feats.loc["a"]
    assert (row["n_all"], row["k_all"]) == (3, 2)
    assert (row["n_7d"], row["k_7d"]) == (1, 1)  # day 29
    assert (row["n_30d"], row["k_30d"]) == (3, 2)
    assert row["days_since_last"] == pytest.approx(1.0)
    assert row["days_since_last_hit"] == pytest.approx(1.0)
    assert row["tenure_days"] == pytest.approx(30.0)
    later = normalize_events(pd.concat([events_of([("a", 24 * 40, True)]), events]))
    np.testing.assert_array_equal(
        history_features(later, as_of, BetaBinomialPrior(), label_delay=timedelta(days=1)),
        feats,
    )


# --------------------------------------------------------------------- the predictor


def test_answers_on_day_one_with_a_handful_of_events() -> None:
    events = events_of([("a", 1, True), ("a", 2, False), ("b", 3, False), ("c", 5, False)])
    predictor = KolPredictor().fit(events)
    assert predictor.methods_ == {7: EMPIRICAL_BAYES, 30: EMPIRICAL_BAYES}
    assert predictor.comparison_[7]["reason"] == "no held-out windows yet"
    as_of = T0 + timedelta(hours=6)
    table = predictor.predict(events, as_of, kols=["a", "b", "c", "newcomer"])
    assert list(table.columns) == [
        "kol",
        "horizon",
        "estimate",
        "low",
        "high",
        "n_events",
        "n_hits",
        "method",
    ]
    assert len(table) == 8 and set(table["method"]) == {EMPIRICAL_BAYES}
    assert table["estimate"].between(0, 1).all()
    assert ((table["low"] <= table["estimate"]) & (table["estimate"] <= table["high"])).all()
    # pooled prior: (1 + .5) / (4 + 1) = .3, strength 10 -> Beta(3, 7); a: (3+1)/(10+2) = 1/3
    a = table[(table["kol"] == "a") & (table["horizon"] == 7)].iloc[0]
    assert a["estimate"] == pytest.approx(4 / 12)
    assert (a["n_events"], a["n_hits"]) == (2, 1)
    new = table[(table["kol"] == "newcomer") & (table["horizon"] == 30)].iloc[0]
    assert new["estimate"] == pytest.approx(0.3) and new["n_events"] == 0


@pytest.mark.parametrize("drift", [False, True], ids=["stable_skill", "drifting_skill"])
def test_learned_model_is_used_only_when_it_beats_empirical_bayes(drift: bool) -> None:
    events = synthetic_kols(40, 150, 1.5, seed=4, drift=drift)
    predictor = KolPredictor().fit(events, weekly_cutoffs(events))
    week = predictor.comparison_[7]
    assert week["n_windows"] >= 3 and week["n_events"] > 1000
    # measured (log loss per future event, EB vs learned):
    #   stable skill   7d 0.384 vs 0.386 (z -3.0), 30d 0.388 vs 0.394 (z -5.0) -> EB for both
    #   drifting skill 7d 0.630 vs 0.577 (z 5.5),  30d 0.659 vs 0.625 (z 2.9) -> learned for both
    # Over data seeds 0..9: stable never picked the learned model (z <= 0.2); drifting picked it
    # for 7 days every time (z >= 5.2) and for 30 days 9 times of 10.
    if drift:
        assert predictor.methods_[7] == LEARNED
        assert week["learned"]["log_loss"] < week["eb"]["log_loss"]
        assert week["z"] >= 2.0
    else:
        assert predictor.methods_ == {7: EMPIRICAL_BAYES, 30: EMPIRICAL_BAYES}
        assert predictor.models_ == {}
    json.dumps(to_jsonable(predictor.comparison_))  # storable beside the engine's reports
    table = predictor.predict(events, events["ts"].max())
    assert len(table) == 80
    weekly = table[table["horizon"] == 7]
    assert set(weekly["method"]) == {LEARNED if drift else EMPIRICAL_BAYES}
    assert ((table["low"] <= table["estimate"]) & (table["estimate"] <= table["high"])).all()


def test_inputs_are_checked() -> None:
    naive = pd.DataFrame({"kol": ["a"], "ts": [datetime(2026, 1, 1)], "hit": [True]})
    with pytest.raises(ValueError, match="timezone-aware"):
        KolPredictor().fit(naive)
    with pytest.raises(ValueError, match="missing"):
        KolPredictor().fit(pd.DataFrame({"kol": ["a"], "ts": [T0]}))
    with pytest.raises(RuntimeError, match="not fitted"):
        KolPredictor().predict(events_of([("a", 1, True)]), T0)
