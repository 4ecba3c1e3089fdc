"""Walk-forward backtest (ml.backtest): a real signal shows up as better alerts, pure noise does
not, no week is scored by a model that saw it or outcomes not yet known, and the statistics are
the ones checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.backtest import (
    BacktestResult,
    GroupStats,
    geometric_mean_interval,
    labels_from_multiples,
    ml_boost,
    p_10x,
    walk_forward,
)
from ml.metrics import wilson_interval
from ml.outcome import OutcomeModel
from tests.ml.planted_synth import make_planted


def small_model() -> OutcomeModel:
    # aft, not the default auto: on pure noise auto becomes the prior, one score for every
    # signal, and these tests are about the backtest's arithmetic on a model that has scores
    return OutcomeModel(
        objective="aft",
        n_estimators=40,
        max_depth=3,
        learning_rate=0.2,
        early_stopping_rounds=10,
        n_jobs=1,
    )


def planted_frame(signal: float, n: int = 4000, weeks: int = 6) -> pd.DataFrame:
    data = make_planted(n, seed=11, weeks=weeks, signal=signal)
    return data.X.assign(ts=data.ts.to_numpy(), multiple=data.multiples)


@pytest.fixture(scope="module")
def real_signal() -> BacktestResult:
    return walk_forward(planted_frame(1.0), small_model)


def test_a_real_signal_gives_better_alerts(real_signal: BacktestResult) -> None:
    r = real_signal
    assert r.improved
    assert r.overall_alerted.n >= 30
    assert r.overall_alerted.share_2x_ci[0] > r.overall_all.share_2x_ci[1]
    assert r.overall_alerted.multiple_ci[0] > r.overall_all.multiple_ci[1]
    table = r.before_after()
    assert list(table.index) == ["all signals", "alerted"]
    assert table.loc["alerted", "share_2x"] > table.loc["all signals", "share_2x"]


def test_pure_noise_claims_no_improvement() -> None:
    # alert the top 20% so the noise run alerts something: its intervals must still overlap
    r = walk_forward(planted_frame(0.0), small_model, threshold=None, alert_share=0.2)
    assert not r.improved
    alerted, everyone = r.overall_alerted, r.overall_all
    assert 0.1 * everyone.n < alerted.n < 0.35 * everyone.n
    assert alerted.share_2x_ci[0] <= everyone.share_2x_ci[1]
    assert everyone.share_2x_ci[0] <= alerted.share_2x_ci[1]
    assert (r.weeks["threshold"] > 0).all()


def test_weekly_rows_add_up_to_the_overall(real_signal: BacktestResult) -> None:
    r = real_signal
    weeks = r.weeks
    assert list(weeks["week"].dt.day_of_week) == [0] * len(weeks)  # Mondays
    assert weeks["week"].is_monotonic_increasing
    assert weeks["all_n"].sum() == r.overall_all.n == len(r.signals)
    assert weeks["alerted_n"].sum() == r.overall_alerted.n == r.signals["alerted"].sum()
    assert (weeks["threshold"] == 2.0).all() and r.score_name == "ml_boost"
    for _, row in weeks.iterrows():
        rows = r.signals.loc[r.signals["week"] == row["week"]]
        hits = int((rows["multiple"] >= 2).sum())
        assert row["all_hits_2x"] == hits
        assert (row["all_share_2x_low"], row["all_share_2x_high"]) == pytest.approx(
            wilson_interval(hits, len(rows))
        )
    # every scored signal's week is one of the rows, and scores are the ML boost (0..20)
    assert set(r.signals["week"]) == set(weeks["week"])
    assert r.signals["score"].between(0, 20).all()


class _Recorder:
    """A fake model at the boundary: records what it was trained on, predicts the class mix
    of its training rows for everyone (so every score is the same)."""

    fits: list[pd.Index] = []

    def fit(self, X: pd.DataFrame, y: np.ndarray, *, multiples: np.ndarray) -> _Recorder:
        _Recorder.fits.append(X.index)
        self.mix_ = np.bincount(y, minlength=6) / len(y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile(self.mix_, (len(X), 1))


def test_no_week_is_scored_with_outcomes_not_known_yet() -> None:
    frame = planted_frame(1.0, n=1400, weeks=5)
    ts = pd.to_datetime(frame["ts"], utc=True)
    _Recorder.fits = []
    r = walk_forward(frame, _Recorder, min_train_rows=100)
    assert len(_Recorder.fits) == len(r.weeks) >= 3
    for trained_on, week in zip(_Recorder.fits, r.weeks["week"], strict=True):
        assert ts.loc[trained_on].max() <= week - pd.Timedelta(hours=72)
        assert len(trained_on) >= 100
    # the first week has no history: never scored
    assert r.weeks["week"].min() > ts.min()


def test_rows_are_put_in_time_order_and_naive_times_are_utc() -> None:
    frame = planted_frame(1.0, n=1400, weeks=5)
    shuffled = frame.sample(frac=1.0, random_state=0)
    shuffled["ts"] = pd.to_datetime(shuffled["ts"]).dt.tz_localize(None)
    a = walk_forward(frame, _Recorder, min_train_rows=100)
    b = walk_forward(shuffled, _Recorder, min_train_rows=100)
    pd.testing.assert_frame_equal(a.weeks, b.weeks)


def test_deterministic(real_signal: BacktestResult) -> None:
    again = walk_forward(planted_frame(1.0), small_model)
    pd.testing.assert_frame_equal(again.weeks, real_signal.weeks)
    assert again.overall_alerted == real_signal.overall_alerted


def test_no_history_gives_an_empty_result() -> None:
    frame = planted_frame(1.0, n=300, weeks=1)
    r = walk_forward(frame, _Recorder)
    assert r.weeks.empty and r.overall_all.n == 0 and not r.improved
    assert math.isnan(r.overall_all.share_2x)


def test_bad_arguments() -> None:
    frame = planted_frame(1.0, n=300, weeks=2)
    with pytest.raises(ValueError, match="exactly one"):
        walk_forward(frame, _Recorder, threshold=1.0, alert_share=0.2)
    with pytest.raises(ValueError, match="exactly one"):
        walk_forward(frame, _Recorder, threshold=None)
    with pytest.raises(ValueError, match="alert_share"):
        walk_forward(frame, _Recorder, threshold=None, alert_share=1.5)
    with pytest.raises(ValueError, match="'multiple'"):
        walk_forward(frame.drop(columns="multiple"), _Recorder)


# --------------------------------------------------------------------------- by hand


def test_group_stats_by_hand() -> None:
    s = GroupStats.of(np.array([1.0, 4.0, 0.5, 2.0]))
    assert (s.n, s.hits_2x, s.share_2x) == (4, 2, 0.5)
    assert s.share_2x_ci == wilson_interval(2, 4)
    # logs 0, ln 4, ln 0.5, ln 2: mean 0.346574, sd 0.894849, t(0.975, 3) = 3.182446
    assert s.multiple == pytest.approx(math.sqrt(2))
    assert s.multiple_ci == pytest.approx((0.340503, 5.873662), rel=1e-5)
    empty = GroupStats.of(np.array([]))
    assert empty.n == 0 and math.isnan(empty.share_2x) and math.isnan(empty.multiple)
    one = geometric_mean_interval(np.array([3.0]))
    assert one[0] == pytest.approx(3.0) and math.isnan(one[1])


def test_labels_follow_the_class_boundaries() -> None:
    multiples = np.array([0.6, 1.49, 1.5, 4.99, 5.0, 10.0, 49.9, 50.0, 99.0, 100.0, 5000.0])
    assert labels_from_multiples(multiples).tolist() == [0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5]


def test_score_functions_by_hand() -> None:
    probs = np.array(
        [
            [1.0, 0, 0, 0, 0, 0],
            [0, 0, 0, 1.0, 0, 0],
            [0, 0, 0, 0, 0, 1.0],
            [0.4, 0.2, 0.1, 0.1, 0.1, 0.1],
        ]
    )
    assert ml_boost(probs).tolist() == pytest.approx([0.0, 10.0, 20.0, 4.5])
    assert p_10x(probs).tolist() == pytest.approx([0.0, 1.0, 1.0, 0.3])
