"""Scheduled jobs: a failing job is recorded and does not stop the others; /status shows them."""

import asyncio
from datetime import UTC, datetime

from apscheduler.triggers.interval import IntervalTrigger
from rich.console import Console

from bot.commands import dispatch
from bot.jobs import Jobs
from bot.run import run_bot
from engine.errors import StorageUnavailable
from engine.service import MoonbotService
from engine.storage import Database
from engine.tracking.tracker import last_poll
from tests.conftest import world


async def test_failures_are_recorded_and_shown(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    jobs = Jobs(svc)
    calls: list[str] = []

    async def good() -> str:
        calls.append("good")
        return "3 things done"

    async def bad() -> str:
        calls.append("bad")
        raise RuntimeError("source down")

    try:
        jobs.add("good", good, IntervalTrigger(hours=1))
        jobs.add("bad", bad, IntervalTrigger(hours=1))
        jobs.start()
        await jobs.run("bad")
        await jobs.run("good")
        await jobs.run("bad")  # runs again next time: the failure stopped nothing
        assert calls == ["bad", "good", "bad"]
        by_name = {j.name: j for j in svc.job_status()} if svc.job_status else {}
        assert by_name["good"].ok is True and by_name["good"].last_result == "3 things done"
        assert (
            by_name["bad"].ok is False
            and by_name["bad"].last_result == "failed: RuntimeError: source down"
        )
        assert all(j.next_run is not None for j in by_name.values())
        text = (await dispatch(svc, "/status")).text
        assert (
            "  good: 3 things done at " in text
            and "  bad: failed: RuntimeError: source down at " in text
        )
    finally:
        jobs.shutdown()
        await svc.close()


async def test_run_without_tokens_is_console_only_and_stops_cleanly(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    settings = tmp_settings.model_copy(
        update={"sim_days": 2, "sim_kols": 6, "sim_tokens_per_day": 5}
    )
    console = Console(record=True, width=200)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(settings, console, stop))
    first_poll = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)  # the simulated start + one 5-minute poll
    polled = None
    db = Database(settings.db_url)
    deadline = asyncio.get_running_loop().time() + 120  # generous: a loaded machine still passes
    try:
        while polled is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            if task.done():
                break  # it stopped on its own: the assertions below say why
            try:
                polled = await last_poll(db)
            except StorageUnavailable:
                polled = None  # the tables are not made yet
    finally:
        await db.dispose()
    stop.set()
    assert polled == first_poll
    await asyncio.wait_for(task, timeout=10)
    out = console.export_text()
    assert (
        "No chat token set" in out
        and "faces: console" in out
        and out.rstrip().endswith("moonbot stopped")
    )
