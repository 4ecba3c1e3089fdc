"""Labeled signals load column-wise, in batches, off the event loop (issue 13): the dataset is
the stored rows, oldest first, whatever the batch size."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engine.learning import training
from engine.signals.features import FEATURE_NAMES
from engine.storage import Database, Outcome, Signal

T = datetime(2026, 11, 1, tzinfo=UTC)
KOL = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'load.db'}")
    await database.create()
    yield database
    await database.dispose()


async def add(
    db: Database,
    mint: str,
    hours: float,
    features: dict[str, float | None],
    entry: float | None,
    max_mcap: float,
    label: int,
) -> None:
    async with db.session() as session:
        signal = Signal(
            mint=mint,
            ts=T + timedelta(hours=hours),
            trigger_wallet=KOL,
            features=features,
            entry_mcap=entry,
        )
        session.add(signal)
        await session.flush()
        assert signal.id is not None
        session.add(
            Outcome(
                signal_id=signal.id,
                max_mcap=max_mcap,
                max_roi=0.0,
                time_to_peak_hours=1.0,
                label=label,
            )
        )


@pytest.mark.parametrize("batch", [1, 2, 5_000])
async def test_labeled_signals_load_in_time_order(
    db: Database, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training, "LOAD_BATCH", batch)
    await add(db, "LATE", 5, {"kol_count": 3.0, "holder_top10_pct": None}, 200_000.0, 1e6, 2)
    await add(db, "EARLY", 1, {"kol_count": 1.0, "bundle_detected": 1.0}, 100_000.0, 3e5, 1)
    await add(db, "MID", 3, {}, None, 5e4, 0)  # no features stored, no entry market cap
    async with db.session() as session:  # a signal without an outcome is not labeled
        session.add(Signal(mint="OPEN", ts=T, trigger_wallet=KOL, features={"kol_count": 9.0}))
    ds = await training.labeled_dataset(db)
    assert ds.mints == ["EARLY", "MID", "LATE"]
    assert ds.ts == [T + timedelta(hours=h) for h in (1, 3, 5)]
    assert list(ds.X.columns) == list(FEATURE_NAMES) and ds.X.dtypes.eq(float).all()
    assert ds.X["kol_count"].tolist()[::2] == [1.0, 3.0] and math.isnan(ds.X["kol_count"][1])
    assert ds.X["bundle_detected"][0] == 1.0
    assert ds.X.iloc[1].isna().all()  # nothing stored: every feature NaN, never 0
    assert math.isnan(ds.X["holder_top10_pct"][2])  # a stored null is NaN
    assert ds.y.tolist() == [1, 0, 2]
    np.testing.assert_array_equal(ds.multiples, [3.0, math.nan, 5.0])


async def test_no_labeled_signal_is_an_empty_dataset(db: Database) -> None:
    ds = await training.labeled_dataset(db)
    assert len(ds) == 0 and list(ds.X.columns) == list(FEATURE_NAMES) and ds.mints == []
