"""Chat responsiveness: /predict round trips through Telegram while a retrain runs (issue 4).

    .venv/bin/python bench/bench_chat.py [--n 200]
    .venv/bin/python bench/bench_chat.py --signals 400000 [--n 200]

Builds a database and a model from a small simulated market, starts the real Telegram face
(python-telegram-bot) against the local fake Bot API used by the tests, and times /predict from
the moment the update is offered to the bot until its sendMessage reaches the fake: first with
nothing else running, then while /retrain trains again and again in the background. Prints
p50/p90/p99 in milliseconds for both.

``--signals N`` (issue 13): first adds N labeled signals to the database (the simulated
market's own labeled signals, features and outcomes, repeated under new mints and times), then
runs ONE /retrain over all of them (load, train, the 3x+ net, register) while /predict round
trips go on until it ends, and a ticker measures how late the event loop wakes it (every 5 ms):
the longest stall is how long any chat reply could have been held. Target: <= 100 ms. The
training runs in a child process (engine/learning/child.py), which logs its own peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from pydantic import SecretStr

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the repo root: tests.bot.fake_telegram

from bot.telegram_face import start_telegram, stop_telegram  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.sim import SimConfig, SimSource, generate  # noqa: E402
from engine.sim.demo import DemoService  # noqa: E402
from tests.bot.fake_telegram import FakeTelegram, command_update  # noqa: E402


async def _round_trips(api: FakeTelegram, mints: list[str], n: int) -> np.ndarray:
    times = []
    for i in range(n):
        before = len(api.sent("sendMessage"))
        started = time.perf_counter()
        await api.push(command_update(f"/predict {mints[i % len(mints)]}", chat_id=555, user_id=7))
        await api.wait_for("sendMessage", before + 1)
        times.append(time.perf_counter() - started)
    return np.array(times) * 1e3


def _line(name: str, ms: np.ndarray) -> str:
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return f"{name:<34} n={len(ms):4d}  p50 {p50:7.1f} ms  p90 {p90:7.1f} ms  p99 {p99:7.1f} ms"


async def _add_signals(service: DemoService, n: int) -> None:
    """``n`` labeled signals copied from the market's own, one second apart, before them."""
    import sqlalchemy as sa

    from engine.storage import Outcome, Signal

    async with service.db.session() as session:
        rows = (
            await session.exec(
                sa.select(Signal.features, Signal.entry_mcap, Outcome.max_mcap, Outcome.label)
                .join(Outcome, Outcome.signal_id == Signal.id)  # type: ignore[arg-type]
                .order_by(Signal.id)  # type: ignore[arg-type]
            )
        ).all()
        first = (await session.exec(sa.select(sa.func.max(Signal.id)))).one()[0]
    start = SimConfig().start - timedelta(seconds=n + 1)
    for lo in range(0, n, 20_000):
        ids = range(first + 1 + lo, first + 1 + min(n, lo + 20_000))
        picks = [rows[i % len(rows)] for i in range(lo, lo + len(ids))]
        async with service.db.session() as session:
            conn = await session.connection()  # core inserts, many rows a statement
            await conn.execute(
                sa.insert(Signal),
                [
                    {
                        "id": i,
                        "mint": f"bench{i}",
                        "ts": start + timedelta(seconds=i - first),
                        "trigger_wallet": "bench",
                        "features": r[0],
                        "entry_mcap": r[1],
                    }
                    for i, r in zip(ids, picks, strict=True)
                ],
            )
            await conn.execute(
                sa.insert(Outcome),
                [
                    {
                        "signal_id": i,
                        "max_mcap": r[2],
                        "max_roi": r[2] / r[1] - 1 if r[1] else 0.0,
                        "time_to_peak_hours": 1.0,
                        "label": r[3],
                    }
                    for i, r in zip(ids, picks, strict=True)
                ],
            )


async def _one_big_retrain(
    service: DemoService, api: FakeTelegram, mints: list[str]
) -> tuple[np.ndarray, float, float]:
    """Round trips and the loop's longest stall while one retrain runs; its seconds."""
    stalls: list[float] = []
    woke: list[float] = []  # when each tick woke (time.time), for where the longest stalls were
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append(time.perf_counter() - before - 0.005)
            woke.append(time.time())

    full_gc: list[float] = []  # seconds of each full (generation 2) collection, any thread
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                full_gc.append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(on_gc)
    rss_before = _peak_rss_mb()
    started, started_at = time.perf_counter(), time.time()
    trainer = asyncio.create_task(service.retrain())
    tick = asyncio.create_task(ticker())
    times: list[np.ndarray] = []
    while not trainer.done():
        times.append(await _round_trips(api, mints, 5))
        _forget_answered(api)
    seconds = time.perf_counter() - started
    await trainer
    stop.set()
    await tick
    gc.callbacks.remove(on_gc)
    print(  # the GIL is held through a full collection: every thread waits, the loop too
        f"{len(full_gc)} full garbage collections during the retrain, longest "
        f"{max(full_gc, default=0.0) * 1e3:.0f} ms ({len(gc.get_objects())} objects tracked)"
    )
    print(  # the training's own peak is the child's: engine.learning.child logs it
        f"this process: peak RSS {rss_before:.0f} MB before the retrain, {_peak_rss_mb():.0f} MB after"
    )
    longest = sorted(zip(stalls, woke, strict=True), reverse=True)[:3]
    result = (
        f" (the child's result arrived at +{_RESULT_AT[0] - started_at:.1f} s)"
        if _RESULT_AT
        else ""
    )
    print(
        "longest event-loop stalls: "
        + ", ".join(f"{s * 1e3:.0f} ms at +{t - s - started_at:.1f} s" for s, t in longest)
        + f" after the retrain started{result}"
    )
    return np.concatenate(times), max(stalls) * 1e3, seconds


_RESULT_AT: list[float] = []  # when engine.learning.child logged the training's result


class _ChildLog(logging.StreamHandler):  # type: ignore[type-arg]
    def emit(self, record: logging.LogRecord) -> None:
        _RESULT_AT[:] = [record.created]
        super().emit(record)


def _forget_answered(api: FakeTelegram) -> None:
    """Drop the fake Bot API's record of the round trips done (each one answered: its update
    fetched, its message sent). The fake scans its whole record for every call and every
    getUpdates, in this process's event loop, so over a long retrain (~14,000 round trips) that
    record alone made each reply slower and each full collection longer (2026-12-01)."""
    del api.calls[:]
    del api.posted[:]
    del api.updates[:-1]  # the last update: the bot's next getUpdates is past it


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


async def main(n: int, signals: int) -> None:
    config = SimConfig(seed=7, n_days=12, n_kols=20, tokens_per_day=30)
    with tempfile.TemporaryDirectory() as tmp:
        api = await FakeTelegram().start()
        settings = Settings(data_dir=Path(tmp), telegram_token=SecretStr(api.token), _env_file=None)  # type: ignore[call-arg]
        service = await DemoService.open(settings, SimSource(generate(config)))
        assert isinstance(service, DemoService)
        for day in range(1, config.n_days + 1):
            await service.cycle(config.start + timedelta(days=day))
        await service.retrain()
        mints = [s.mint for s in await service.recent_signals(20)]
        if signals:
            added = time.perf_counter()
            await _add_signals(service, signals)
            print(f"added {signals} labeled signals in {time.perf_counter() - added:.1f} s")
        app = await start_telegram(
            service, settings, base_url=api.base_url, base_file_url=api.base_file_url
        )
        try:
            await _round_trips(api, mints, 20)  # warm-up
            idle = await _round_trips(api, mints, n)
            if signals:
                busy, stall_ms, seconds = await _one_big_retrain(service, api, mints)
                print(f"$ .venv/bin/python bench/bench_chat.py --signals {signals} --n {n}")
                print(_line("/predict, nothing else running", idle))
                print(_line(f"/predict, one retrain ({seconds:.0f} s)", busy))
                print(
                    f"max /predict {busy.max():.1f} ms · longest event-loop stall {stall_ms:.1f} ms"
                )
                return
            retrains = 0
            stop = asyncio.Event()

            async def retrain_forever() -> None:
                nonlocal retrains
                while not stop.is_set():
                    await service.retrain()
                    retrains += 1

            trainer = asyncio.create_task(retrain_forever())
            await asyncio.sleep(0.2)  # let the first retrain start
            busy = await _round_trips(api, mints, n)
            stop.set()
            await trainer
        finally:
            await stop_telegram(app)
            await service.close()
            await api.close()
    print(f"$ .venv/bin/python bench/bench_chat.py --n {n}")
    print(_line("/predict, nothing else running", idle))
    print(_line(f"/predict, retrain running ({retrains} done)", busy))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--signals", type=int, default=0)
    args = parser.parse_args()
    child_log = logging.getLogger("engine.learning.child")  # the training process's peak RSS
    child_log.addHandler(_ChildLog(sys.stdout))
    child_log.setLevel(logging.INFO)
    asyncio.run(main(args.n, args.signals))
