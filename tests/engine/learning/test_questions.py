"""The five questions answered from the data, with counts and intervals (issue 13, point 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.learning.questions import MIN_100X, answer_questions
from engine.learning.training import Dataset
from ml.metrics import wilson_interval


def test_answers_count_by_hand(sim_signals: Dataset) -> None:
    ds = sim_signals
    holders, kols, narratives, volume, hundred = answer_questions(ds)
    m, X = ds.multiples, ds.X

    low = X["holder_top10_pct"].to_numpy() < 20.0
    first = holders.rows[0]
    assert first.label == "< 20%" and first.n == int(low.sum())
    assert first.hits == int((low & (m >= 2.0)).sum())
    assert first.ci == wilson_interval(first.hits, first.n)
    assert holders.extra_event == "rug (<1.5x)"
    assert holders.extra[0].hits == int((low & (m < 1.5)).sum())

    one = X["kol_count"].to_numpy() == 1
    assert kols.rows[0].label == "1 KOL" and kols.rows[0].n == int(one.sum())
    assert kols.rows[0].hits == int((one & (m >= 10.0)).sum())
    # planted in the simulator: an elite KOL raises the 10x+ rate, the intervals apart
    none, elite = kols.extra[0], kols.extra[1]
    assert none.label == "0 elite" and elite.label == "1 elite"
    assert elite.ci[0] > none.ci[1]

    assert [b.label for b in narratives.rows] == ["no narrative (baseline)", "a narrative matched"]
    assert sum(b.n for b in narratives.rows) == int(X["narrative_match"].notna().sum())
    assert volume.rows and volume.extra

    n100 = int((m >= 100.0).sum())
    assert n100 < MIN_100X  # 100x+ is rare: a handful in these 1,200 signals
    assert hundred.rows == []
    assert hundred.note == f"too few 100x+ signals to tell: {n100} of {len(ds)} (need {MIN_100X})"


def test_a_tiny_sample_says_it_cannot_tell() -> None:
    rng = np.random.default_rng(0)
    n = 30
    X = pd.DataFrame(
        {
            "holder_top10_pct": rng.uniform(10, 60, n),
            "kol_count": rng.integers(1, 5, n).astype(float),
            "kol_elite_count": np.zeros(n),
            "narrative_match": np.zeros(n),
            "volume_to_mcap_ratio": rng.uniform(0.1, 2, n),
            "volume_spike_vs_avg": rng.uniform(0.1, 2, n),
        }
    )
    ds = Dataset(X, np.zeros(n, dtype=int), np.full(n, 1.2), [], [])
    answers = answer_questions(ds)
    assert all(q.note is not None for q in answers)
    assert answers[4].note == f"too few 100x+ signals to tell: 0 of 30 (need {MIN_100X})"
    assert answers[0].note == "too few signals per band to tell (need 20 each)"
