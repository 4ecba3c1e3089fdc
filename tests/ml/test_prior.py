"""The class-frequency prior (ml.prior): the model every learned model must beat."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.metrics import log_loss
from ml.prior import ClassPrior, class_frequencies


def test_frequencies_are_counts_plus_one_half() -> None:
    # 3 rugs, 1 small_win, nothing else: (3.5, 1.5, .5, .5, .5, .5) / 7
    freqs = class_frequencies([0, 0, 1, 0])
    np.testing.assert_allclose(freqs, np.array([3.5, 1.5, 0.5, 0.5, 0.5, 0.5]) / 7.0)


def test_prior_predicts_the_same_row_everywhere_and_scores_like_entropy() -> None:
    y = np.array([0] * 60 + [1] * 30 + [3] * 10)
    prior = ClassPrior(smoothing=0.0).fit(y)
    probs = prior.predict_proba(5)
    assert probs.shape == (5, 6)
    np.testing.assert_allclose(probs, np.tile([0.6, 0.3, 0.0, 0.1, 0.0, 0.0], (5, 1)))
    # on its own labels the prior's log-loss is the labels' entropy
    entropy = -(0.6 * math.log(0.6) + 0.3 * math.log(0.3) + 0.1 * math.log(0.1))
    assert log_loss(prior.predict_proba(len(y)), y) == pytest.approx(entropy)


def test_unfitted_prior_and_bad_labels_raise() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        ClassPrior().predict_proba(3)
    with pytest.raises(ValueError, match="labels must be in 0..5"):
        class_frequencies([0, 6])
