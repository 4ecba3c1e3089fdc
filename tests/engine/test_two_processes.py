"""Two real processes on one database and data dir, as the issue has them: the bot running
(``bot``: the tracker's cycles day by day, the alerts delivered after each, its scheduled
retrain) and a shell (``shell``: `ask /retrain`, then `moonbot train`). No duplicate trade,
signal, label or alert delivery, and no duplicate or conflicting model version.

Each worker is this file run as ``python -m tests.engine.test_two_processes ROLE DATA_DIR URL``.
Both open the service at once (the migrations' lock), meet at barriers, and write what they
delivered and trained to ``DATA_DIR/ROLE.json``: after the bot's tenth day both retrain at the
same moment (the training lock: the second compares with the first's champion instead of
taking itself for the first model), then the shell trains again while the bot runs day 11.
Whatever the interleaving, the tables must hold what one process alone would have left, every
alert must have been delivered once, and the versions must be distinct with one champion, the
same in the registry and the database, and the bot must score its last day with a champion
even when the shell's training promoted it.

Two bots by mistake (two `moonbot run` on one database, ``twin-a`` and ``twin-b``: cycles and
delivery only, on a smaller market) take turns, one cycle at a time (``Database.exclusive``):
the tables again hold what one process alone would have left, each alert delivered once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.sim import SimConfig

REPO = Path(__file__).resolve().parents[2]
# By the end of day 10 about 210 signals are labeled: the first model trained then beats the
# class-frequency prior on its holdout (log-loss 1.036 vs 1.162), so it becomes the champion.
# 45 tokens a day: ~250 labeled signals by day 10, enough for a first model that clearly beats the
# prior (30 a day gave 167, too few for ml.outcome's auto to tell a model from the prior)
CONFIG = SimConfig(seed=11, n_days=11, n_kols=16, tokens_per_day=45)
MID_DAY = 10
CHANNELS = ["console", "telegram:1"]
# Two bots at once need no training: a smaller market, cycles only.
TWINS = SimConfig(seed=11, n_days=5, n_kols=16, tokens_per_day=30)
TRAIN = {"n_estimators": 40, "n_jobs": 1}


def _settings(data_dir: Path, url: str) -> Any:
    from engine.config import Settings

    database_url = None if url.startswith("sqlite") else url
    return Settings(  # type: ignore[call-arg]
        data_dir=data_dir, database_url=database_url, alert_channels=CHANNELS, _env_file=None
    )


def _barrier(data_dir: Path, role: str, stage: str, timeout: float = 300.0) -> None:
    """Wait (polling, bounded) until both workers have reached ``stage``; stop if one failed."""
    (data_dir / f"{stage}.{role}").touch()
    deadline = time.monotonic() + timeout
    while len(list(data_dir.glob(f"{stage}.*"))) < 2:
        if any(data_dir.glob("failed.*")) or time.monotonic() > deadline:
            raise TimeoutError(f"the other worker never reached {stage}")
        time.sleep(0.02)


async def _work(role: str, data_dir: Path, url: str) -> None:
    try:
        if role == "shell":
            result = await _shell(data_dir, url)
        else:
            result = await _bot(data_dir, url, role)
    except BaseException:
        (data_dir / f"failed.{role}").touch()
        raise
    (data_dir / f"{role}.json").write_text(json.dumps(result))


async def _open(data_dir: Path, url: str, config: SimConfig = CONFIG) -> Any:
    from engine.service import MoonbotService
    from engine.sim import SimSource, generate

    return await MoonbotService.open(_settings(data_dir, url), SimSource(generate(config)))


def _trained(report: Any) -> dict[str, Any]:
    return {
        "version": report.version,
        "promoted": report.promoted,
        "champion_before": report.champion_version,  # what it was compared with
    }


async def _bot(data_dir: Path, url: str, role: str) -> dict[str, Any]:
    """``bot``: days 1-10, retrain (with the shell's), day 11. A twin: the smaller market's
    days, from a barrier with the other twin, no training."""
    config = CONFIG if role == "bot" else TWINS
    service = await _open(data_dir, url, config)
    delivered: list[int] = []
    trained: list[dict[str, Any]] = []

    async def send(view: Any) -> None:
        delivered.append(view.alert_id)

    async def day(n: int) -> None:
        await service.cycle(config.start + timedelta(days=n))
        for channel in CHANNELS:
            await service.deliver_alerts(channel, send)

    try:
        if role != "bot":
            await asyncio.to_thread(_barrier, data_dir, role, "start")
            for n in range(1, config.n_days + 1):
                await day(n)
            return {"delivered": delivered, "trained": trained}
        for n in range(1, MID_DAY + 1):
            await day(n)
        await asyncio.to_thread(_barrier, data_dir, role, "mid")
        trained.append(_trained(await service.retrain(TRAIN)))  # the scheduled retrain
        await asyncio.to_thread(_barrier, data_dir, role, "late")
        for n in range(MID_DAY + 1, config.n_days + 1):
            await day(n)
    finally:
        await service.close()
    return {"delivered": delivered, "trained": trained}


async def _shell(data_dir: Path, url: str) -> dict[str, Any]:
    service = await _open(data_dir, url)
    try:
        await asyncio.to_thread(_barrier, data_dir, "shell", "mid")
        trained = [_trained(await service.retrain(TRAIN))]  # `ask /retrain`, with the bot's
        await asyncio.to_thread(_barrier, data_dir, "shell", "late")
        trained.append(_trained(await service.retrain(TRAIN)))  # `moonbot train`, mid-cycles
    finally:
        await service.close()
    return {"delivered": [], "trained": trained}


def _spawn(role: str, data_dir: Path, url: str, log: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tests.engine.test_two_processes", role, str(data_dir), url]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _alone(config: SimConfig) -> dict[str, int]:
    """What one process alone stores for the market, from the simulator's own lists: every KOL
    swap up to the end, and the creator's swaps of each token a KOL had bought by then (the
    tracker follows a token's creator once it has a signal); a signal per such token; a label
    per signal 72 h old by the end."""
    from engine.sim import generate

    world, end = generate(config), config.start + timedelta(days=config.n_days)
    kols = {k.wallet for k in world.kols}
    signaled = {t.mint for t in world.truths if t.signal_time <= end}
    return {
        "Trade": sum(
            t.block_time <= end and (t.wallet in kols or t.mint in signaled) for t in world.trades
        ),
        "Signal": len(signaled),
        "Outcome": sum(t.signal_time + timedelta(hours=72) <= end for t in world.truths),
    }


@pytest.fixture(scope="module")
def alone() -> dict[str, int]:
    return _alone(CONFIG)


def _run_pair(roles: tuple[str, str], data_dir: Path, url: str) -> dict[str, Any]:
    """Both workers at once; each one's JSON result (the log in the failure message)."""
    log_path = data_dir.parent / "workers.log"
    with log_path.open("wb") as log:
        workers = [_spawn(role, data_dir, url, log) for role in roles]
        codes = [worker.wait(timeout=600) for worker in workers]
    text = log_path.read_text()
    assert codes == [0, 0], text[-3000:]
    # Neither tripped over the other: no step failed and was left for later (logged).
    assert "Error" not in text, text[-3000:]
    return {role: json.loads((data_dir / f"{role}.json").read_text()) for role in roles}


async def _stored(url: str) -> tuple[dict[str, int], list[Any]]:
    from sqlmodel import select

    from engine.storage import Alert, Database, Outcome, Signal, Trade

    db = Database(url)
    try:
        counts = {t.__name__: await db.count(t) for t in (Trade, Signal, Outcome)}
        async with db.session() as session:
            return counts, list((await session.exec(select(Alert))).all())
    finally:
        await db.dispose()


async def test_two_processes_on_one_database_duplicate_nothing(
    db_url: str, tmp_path: Path, alone: dict[str, int]
) -> None:
    from sqlmodel import select

    from engine.storage import Alert, Database, ModelVersion, Outcome, Signal, Trade
    from ml.registry import Registry

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    results = _run_pair(("bot", "shell"), data_dir, db_url)

    db = Database(db_url)
    try:
        together = {t.__name__: await db.count(t) for t in (Trade, Signal, Outcome)}
        async with db.session() as session:
            alerts = (await session.exec(select(Alert))).all()
            versions = (await session.exec(select(ModelVersion))).all()
            last_day = (
                await session.exec(
                    select(Signal).where(Signal.ts > CONFIG.start + timedelta(days=MID_DAY))
                )
            ).all()
    finally:
        await db.dispose()
    assert together == alone and alone["Signal"] > 100 and alone["Outcome"] > 70

    # Every alert was delivered, once.
    delivered = results["bot"]["delivered"]
    assert len(alerts) > 10 and {a.status for a in alerts} == {"sent"}
    assert sorted(delivered) == sorted(a.id for a in alerts)

    # Three trainings, three versions; of the two at once, one took itself for the first model
    # and the other compared with it; one champion, the same in the registry and the database.
    trained = [t for role in ("bot", "shell") for t in results[role]["trained"]]
    assert len({t["version"] for t in trained}) == 3
    assert {v.version for v in versions} == {t["version"] for t in trained}
    first, second = sorted(
        (results["bot"]["trained"][0], results["shell"]["trained"][0]),
        key=lambda t: t["champion_before"] or "",
    )
    assert (first["champion_before"], first["promoted"]) == (None, True)
    assert second["champion_before"] == first["version"]
    champions = [v.version for v in versions if v.champion]
    registry = Registry(data_dir / "models").champion("outcome")
    assert registry is not None and champions == [registry.version]
    # The bot scores day 11 with a champion, whichever process promoted it.
    promoted = {t["version"] for t in trained if t["promoted"]}
    assert last_day and {s.model_version for s in last_day} <= promoted


async def test_two_bots_on_one_database_take_turns(db_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    results = _run_pair(("twin-a", "twin-b"), data_dir, db_url)
    counts, alerts = await _stored(db_url)
    assert counts == _alone(TWINS) and counts["Signal"] > 100
    delivered = results["twin-a"]["delivered"] + results["twin-b"]["delivered"]
    assert len(alerts) > 10 and sorted(delivered) == sorted(a.id for a in alerts)


if __name__ == "__main__":
    asyncio.run(_work(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
