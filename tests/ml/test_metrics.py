from __future__ import annotations

import math

import numpy as np
import pytest

from ml.metrics import accuracy, auc, evaluate_probs, log_loss, p_at_least, wilson_interval
from ml.schema import feature_schema_hash

# Four signals, probabilities by hand (each row sums to 1).
PROBS = np.array(
    [
        [0.60, 0.20, 0.10, 0.05, 0.03, 0.02],  # y=0, 1.2x
        [0.30, 0.40, 0.10, 0.10, 0.05, 0.05],  # y=1, 2.5x
        [0.20, 0.20, 0.20, 0.20, 0.10, 0.10],  # y=3, 12x
        [0.10, 0.30, 0.15, 0.25, 0.10, 0.10],  # y=1, 1.7x
    ]
)
Y = np.array([0, 1, 3, 1])
MULTIPLES = np.array([1.2, 2.5, 12.0, 1.7])


def test_log_loss_by_hand() -> None:
    # -(ln 0.6 + ln 0.4 + ln 0.2 + ln 0.3) / 4 = (0.510826 + 0.916291 + 1.609438 + 1.203973) / 4
    assert log_loss(PROBS, Y) == pytest.approx(1.0601318, abs=1e-6)
    # a zero probability on the truth is clipped at 1e-15: -ln(1e-15) = 34.538776
    assert log_loss([[1.0, 0, 0, 0, 0, 0]], [1]) == pytest.approx(34.538776, abs=1e-5)


def test_accuracy_by_hand() -> None:
    # argmax per row: 0, 1, 0 (first of four tied 0.2), 1 -> three of four right
    assert accuracy(PROBS, Y) == 0.75


def test_auc_by_hand() -> None:
    # positives {0.35, 0.8}, negatives {0.1, 0.4}: 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3/4
    assert auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    # a tie counts one half: pos {0.5, 0.9} vs neg {0.5, 0.2} -> (0.5 + 1 + 1 + 1) / 4
    assert auc([0.5, 0.5, 0.2, 0.9], [True, False, False, True]) == 0.875
    assert auc([0.9, 0.8, 0.1], [True, True, False]) == 1.0
    assert auc([0.1, 0.8, 0.9], [True, False, False]) == 0.0
    assert math.isnan(auc([0.1, 0.2], [True, True]))
    assert math.isnan(auc([0.1, 0.2], [False, False]))


def test_p_at_least() -> None:
    np.testing.assert_allclose(p_at_least(PROBS, 1), [0.40, 0.70, 0.80, 0.90])
    np.testing.assert_allclose(p_at_least(PROBS, 3), [0.10, 0.20, 0.40, 0.45])
    np.testing.assert_allclose(p_at_least(PROBS, 0), [1, 1, 1, 1])
    with pytest.raises(ValueError):
        p_at_least(PROBS, 6)


def test_evaluate_probs_by_hand() -> None:
    report = evaluate_probs(PROBS, Y, multiples=MULTIPLES)
    assert set(report) == {"log_loss", "accuracy", "auc_2x", "auc_10x", "n"}
    assert all(type(v) in (float, int) for v in report.values())
    assert report["log_loss"] == pytest.approx(1.0601318, abs=1e-6)
    assert report["accuracy"] == 0.75
    # 2x truth from multiples: [F, T, T, F]; P(>=1.5x) pos {0.7, 0.8} vs neg {0.4, 0.9} -> 2/4
    assert report["auc_2x"] == 0.5
    # 10x truth y>=3: [F, F, T, F]; P(>=10x) pos {0.40} vs neg {0.10, 0.20, 0.45} -> 2/3
    assert report["auc_10x"] == pytest.approx(2 / 3)
    assert report["n"] == 4
    # without multiples the 2x truth is y >= 1: [F, T, T, T]; pos {0.7, 0.8, 0.9} vs neg {0.4}
    assert evaluate_probs(PROBS, Y)["auc_2x"] == 1.0


def test_wilson_interval_textbook_values() -> None:
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError):
        log_loss(PROBS, Y[:3])
    with pytest.raises(ValueError):
        log_loss(PROBS, [0, 1, 6, 1])
    with pytest.raises(ValueError):
        auc([0.1, 0.2], [True])


def test_feature_schema_hash_by_hand() -> None:
    # printf 'a\nb' | sha256sum -> 7e18f737311b2dc3...
    assert feature_schema_hash(["a", "b"]) == "7e18f737311b2dc3"
    # printf 'b\na' | sha256sum -> c4a78e5bdf318c85...: order matters
    assert feature_schema_hash(["b", "a"]) == "c4a78e5bdf318c85"
    assert feature_schema_hash(("a", "b")) == feature_schema_hash(["a", "b"])
    with pytest.raises(TypeError):
        feature_schema_hash("ab")
