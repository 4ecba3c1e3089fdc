"""Chat responsiveness: /predict round trips through Telegram while a retrain runs (issue 4).

    .venv/bin/python bench/bench_chat.py [--n 200]

Builds a database and a model from a small simulated market, starts the real Telegram face
(python-telegram-bot) against the local fake Bot API used by the tests, and times /predict from
the moment the update is offered to the bot until its sendMessage reaches the fake: first with
nothing else running, then while /retrain trains again and again in the background. Prints
p50/p90/p99 in milliseconds for both.
"""

from __future__ import annotations

import argparse
import asyncio
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


async def main(n: int) -> None:
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
        app = await start_telegram(
            service, settings, base_url=api.base_url, base_file_url=api.base_file_url
        )
        try:
            await _round_trips(api, mints, 20)  # warm-up
            idle = await _round_trips(api, mints, n)
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
    asyncio.run(main(parser.parse_args().n))
