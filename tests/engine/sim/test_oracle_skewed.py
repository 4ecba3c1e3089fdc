"""The non-normal outcome setting (issue 13): a point mass of rugs and a right-skewed tail, with
an exact oracle."""

from __future__ import annotations

import math
import random

import pytest

from engine.learning.labels import label_for_multiple
from engine.sim import SimConfig
from engine.sim.oracle import (
    RUG_SHARE,
    class_probs,
    draw_log_multiple,
    gumbel_scale,
    multiple_from_log,
)


def test_the_oracle_by_hand() -> None:
    # f = 0, sigma = 1.05: beta = 1.05 * sqrt(6) / pi; P(y < ln 1.5) = 0.25 + 0.75 * F(ln 1.5)
    beta = 1.05 * math.sqrt(6.0) / math.pi
    assert gumbel_scale(1.05) == pytest.approx(beta)
    cdf = math.exp(-math.log(2.0) * math.exp(-math.log(1.5) / beta))
    probs = class_probs(0.0, 1.05, "skewed")
    assert probs[0] == pytest.approx(RUG_SHARE + (1 - RUG_SHARE) * cdf)
    assert math.fsum(probs) == pytest.approx(1.0)
    # far below every boundary, everything is a rug
    assert class_probs(-50.0, 1.05, "skewed")[0] == pytest.approx(1.0)


def test_draws_follow_the_oracle() -> None:
    rng = random.Random(3)
    f, n = 0.8, 60_000
    counts = [0] * 6
    for _ in range(n):
        counts[
            label_for_multiple(multiple_from_log(draw_log_multiple(rng, f, 1.05, "skewed")))
        ] += 1
    for observed, expected in zip(counts, class_probs(f, 1.05, "skewed"), strict=True):
        assert observed / n == pytest.approx(expected, abs=0.006)  # ~3 standard errors


def test_the_normal_setting_is_unchanged_and_the_kind_is_checked() -> None:
    a, b = random.Random(5), random.Random(5)
    assert draw_log_multiple(a, 0.3, 1.05, "normal") == 0.3 + b.gauss(0.0, 1.05)
    with pytest.raises(ValueError, match="noise_kind"):
        SimConfig(noise_kind="laplace")  # type: ignore[arg-type]
