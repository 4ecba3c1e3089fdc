"""Progress on long work (issue 15): the engine's ``progress(done, total)`` callbacks, and the
rich bars that draw them, off with --quiet and when the output is not a terminal."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from bot import progress as bars_module
from bot.progress import bars
from engine.learning.modelops import _predict_chunked
from ml.backtest import walk_forward
from ml.outcome import OutcomeModel


@pytest.fixture(autouse=True)
def not_quiet() -> Iterator[None]:
    bars_module.configure(quiet=False)
    yield
    bars_module.configure(quiet=False)


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100), out


def test_bar_on_a_terminal() -> None:
    console, out = _console(terminal=True)
    with bars(console) as group:
        hook = group.hook("Backtest, week by week")
        hook(3, 10)
        assert group._progress is not None
        (task,) = group._progress.tasks
        assert (task.description, task.completed, task.total) == ("Backtest, week by week", 3, 10)
        hook(12, 12)  # the total may change (a phase that stopped early)
        assert (task.completed, task.total) == (12, 12)
    assert "Backtest, week by week" in out.getvalue()


def test_no_bar_off_a_terminal_or_with_quiet() -> None:
    console, out = _console(terminal=False)
    with bars(console) as group:
        group.hook("Training")(1, 2)
        assert group._progress is None
    assert out.getvalue() == ""
    bars_module.configure(quiet=True)
    console, out = _console(terminal=True)
    with bars(console) as group:
        group.hook("Training")(1, 2)
        assert group._progress is None
    assert out.getvalue() == ""


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


class _ConstantModel:
    """The backtest's model protocol (fit, predict_proba) with fixed class probabilities."""

    def fit(self, X: pd.DataFrame, y: np.ndarray, *, multiples: np.ndarray) -> _ConstantModel:
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return np.tile([0.5, 0.2, 0.1, 0.1, 0.05, 0.05], (len(X), 1))


def test_backtest_reports_each_week() -> None:
    # 6 Monday-based weeks of signals, 20 a week, from Monday 2026-01-05
    ts = pd.date_range("2026-01-05", periods=120, freq="8h", tz="UTC")
    assert ts[-1] < pd.Timestamp("2026-02-16", tz="UTC")  # 120 * 8 h = 40 days: 6 weeks
    frame = pd.DataFrame({"f": np.arange(120.0), "ts": ts, "multiple": np.full(120, 2.0)})
    record = _Recorder()
    walk_forward(frame, _ConstantModel, min_train_rows=10, progress=record)
    assert record.calls == [(k, 6) for k in range(7)]  # weeks finished: 0 of 6 … 6 of 6


def test_batch_predict_in_chunks_gives_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.learning.modelops as modelops

    class RowModel:
        def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
            return np.column_stack([X["f"].to_numpy(), -X["f"].to_numpy()])

    monkeypatch.setattr(modelops, "PREDICT_CHUNK", 4)
    X = pd.DataFrame({"f": np.arange(10.0)})
    record = _Recorder()
    probs = _predict_chunked(RowModel(), X, record)  # type: ignore[arg-type]
    assert np.array_equal(probs, RowModel().predict_proba(X))
    assert record.calls == [(4, 10), (8, 10), (10, 10)]


def test_training_reports_boosting_rounds() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    y = rng.integers(0, 6, size=120)
    record = _Recorder()
    OutcomeModel(objective="softprob", n_estimators=7, early_stopping_rounds=None, n_jobs=1).fit(
        X, y, progress=record
    )
    assert record.calls == [(k, 7) for k in range(1, 8)]
    # a fit without a callback reports nothing and keeps none from before
    model = OutcomeModel(objective="softprob", n_estimators=3, early_stopping_rounds=None)
    model.fit(X, y, progress=record)
    model.fit(X, y)
    assert record.calls[-3:] == [(1, 3), (2, 3), (3, 3)] and len(record.calls) == 10


async def test_backfill_reads_report_each_chunk_of_transactions() -> None:
    from datetime import UTC, datetime

    from engine.sources.solana.rpc_types import SignatureInfo
    from engine.sources.solana.wallets import WalletReader

    class Node:
        """getTransaction answering null for every signature (nothing to parse)."""

        def __init__(self) -> None:
            self.asked: list[list[str]] = []

        async def get_transactions(self, signatures: list[str]) -> list[None]:
            self.asked.append(list(signatures))
            return [None] * len(signatures)

    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    infos = [SignatureInfo(f"sig{i}", 300_000_000 + i, t0, failed=False) for i in range(5)]
    node = Node()
    record = _Recorder()
    scan = await WalletReader(node, tx_chunk=2).scan(  # type: ignore[arg-type]
        "wallet", infos, stop_at_unavailable=False, progress=record
    )
    assert node.asked == [["sig0", "sig1"], ["sig2", "sig3"], ["sig4"]]
    assert record.calls == [(2, 5), (4, 5), (5, 5)]
    assert scan.cursor == "sig4"


async def test_report_reports_its_steps(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    from engine.service import MoonbotService
    from tests.conftest import at, world

    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))  # one signal labeled; no model yet
        record = _Recorder()
        weekly = await svc.report(record)
    finally:
        await svc.close()
    # insights, the figures, then each chart written: patterns and the KOL leaderboard
    assert record.calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert {"patterns", "kol_leaderboard"} <= set(weekly.charts)
