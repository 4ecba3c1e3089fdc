"""The 3x+ net in the product: trained on the outcome model's split, compared with its base rate
and its champion, registered as kind ``threex``, scored beside the outcome model (issue 13)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.learning.threex import THREEX_KIND
from engine.learning.training import time_split, train_and_compare
from engine.signals.features import FEATURE_NAMES
from engine.signals.scoring import Scorer
from ml.metrics import binary_log_loss
from ml.registry import Registry
from ml.threex import ThreeXNet, threex_labels

GOOD = {"n_estimators": 120, "max_depth": 3, "n_jobs": 1}


@pytest.fixture(scope="module")
def ds(sim_signals):  # type: ignore[no-untyped-def]
    return sim_signals


def test_retrain_trains_registers_and_promotes_the_net(ds, tmp_path) -> None:  # type: ignore[no-untyped-def]
    registry = Registry(tmp_path / "models")
    report = train_and_compare(
        ds, registry, holdout_fraction=0.2, min_gain=0.002, params=GOOD, threex=True
    )
    t = report.threex
    assert t is not None and t.version is not None
    m = t.metrics
    train, holdout = time_split(ds, 0.2)
    truth = threex_labels(holdout.multiples)
    # the base rate by hand: the training signals' 3x+ share, one probability for every signal
    base = threex_labels(train.multiples).mean()
    assert m["prior_log_loss"] == pytest.approx(binary_log_loss(np.full(len(truth), base), truth))
    assert m["n"] == len(holdout) and m["n_pos"] == int(truth.sum())
    # precision and recall at the threshold, recomputed from the saved net
    net = ThreeXNet.load(registry.get(t.version).path)
    flags = net.predict_proba(holdout.X[list(FEATURE_NAMES)]) >= m["threshold"]
    assert m["n_flagged"] == int(flags.sum())
    assert m["true_positives"] == int((flags & truth).sum())
    assert m["recall"] == pytest.approx(m["true_positives"] / m["n_pos"])
    assert m["log_loss"] < m["prior_log_loss"] - 0.002 and t.promoted
    assert registry.champion(THREEX_KIND).version == t.version
    assert not math.isnan(m["outcome_log_loss"])

    score = Scorer(registry).score(dict(zip(FEATURE_NAMES, holdout.X.iloc[0], strict=True)))
    assert score.threex_version == t.version
    assert score.threex_p == pytest.approx(
        float(net.calibrated_proba(holdout.X[list(FEATURE_NAMES)].iloc[:1])[0]), rel=1e-5
    )
    assert score.threex_threshold == pytest.approx(m["threshold"])

    again = train_and_compare(
        ds, registry, holdout_fraction=0.2, min_gain=0.002, params=GOOD, threex=True
    ).threex
    assert again is not None and not again.promoted  # the same net: no gain over the champion
    assert again.reason.startswith("3x+ net kept the champion")
    assert registry.champion(THREEX_KIND).version == t.version


async def test_the_nets_score_is_stored_with_the_signal_and_read_back(ds, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Opening a signal with a promoted net stores its P(3x+), flag, threshold and version in
    ``Signal.threex`` (revision 0002); ``stored_score`` (what /predict shows "at the signal")
    gives them back equal to the score of that instant."""
    import asyncio
    from datetime import UTC, datetime

    from engine.service import stored_score
    from engine.signals.opening import _open_signal
    from engine.storage import Database, Signal, Token

    registry = Registry(tmp_path / "models")
    report = train_and_compare(
        ds, registry, holdout_fraction=0.2, min_gain=0.002, params=GOOD, threex=True
    )
    assert report.threex is not None and report.threex.promoted
    scorer = Scorer(registry)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'signals.db'}")
    await db.create()
    mint, t = "So11111111111111111111111111111111111111112", datetime(2026, 11, 2, tzinfo=UTC)
    try:
        async with db.session() as session:
            session.add(Token(mint=mint, symbol="T", name="t", created_at=t))
            await session.flush()
            _, score = await _open_signal(session, scorer, mint, t, "wallet", {})
        async with db.session() as session:
            row = await session.get(Signal, 1)
    finally:
        await db.dispose()
    assert row is not None and row.threex is not None
    assert score.threex_p is not None and score.threex_version == report.threex.version
    assert row.threex == {
        "p": score.threex_p,
        "flag": score.threex_flag,
        "threshold": score.threex_threshold,
        "version": report.threex.version,
    }
    # a promotion's reload: loaded in a worker thread, adopted at once, the same models
    other = Scorer(registry)
    other.adopt(await asyncio.to_thread(other.loaded))
    assert other._loaded and other._threex_loaded  # nothing left to load on the event loop
    assert (other.version, other.threex()[0]) == (scorer.version, report.threex.version)  # type: ignore[index]
    back = stored_score(row)
    assert (back.threex_p, back.threex_flag, back.threex_threshold, back.threex_version) == (
        score.threex_p,
        score.threex_flag,
        score.threex_threshold,
        score.threex_version,
    )
