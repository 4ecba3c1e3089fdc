"""Fixtures for the ml tests: a synthetic market (see ml_synth) and a small trained model."""

from __future__ import annotations

import pytest

from ml.outcome import OutcomeModel
from tests.ml.ml_synth import Synth, make_synth


@pytest.fixture(scope="session")
def synth() -> Synth:
    """4000 signals in time order: fit on the first 3000, hold out the last 1000."""
    return make_synth(4000, seed=7)


@pytest.fixture(scope="session")
def fitted(synth: Synth) -> OutcomeModel:
    """A small ``softprob`` model with balanced weights (softened, the default).

    ``n_jobs=1`` everywhere in these tests: on a busy 2-core machine OpenMP threads that wait on
    each other make xgboost several times slower, and results do not depend on it.
    """
    model = OutcomeModel(
        objective="softprob",
        n_estimators=150,
        learning_rate=0.1,
        early_stopping_rounds=20,
        n_jobs=1,
    )
    return model.fit(synth.X.iloc[:3000], synth.y[:3000])
