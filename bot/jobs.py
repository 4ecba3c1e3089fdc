"""Scheduled jobs (APScheduler 3.x) on the bot's event loop.

Each job is an async function returning a one-line result. A job that raises is logged and
recorded as failed; it runs again at its next time and never stops the scheduler or the bot.
``/status`` shows every job's last run, result and next run (``Jobs`` registers ``status`` with
the service); each run is also recorded in the database, where ``moonbot dashboard`` reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from engine.service import MoonbotService
from engine.views import JobStatus

log = logging.getLogger(__name__)

JobFn = Callable[[], Awaitable[str]]


@dataclass(slots=True)
class _Record:
    last_run: datetime | None = None
    last_result: str | None = None
    ok: bool | None = None


class Jobs:
    def __init__(self, service: MoonbotService) -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._jobs: dict[str, JobFn] = {}
        self._records: dict[str, _Record] = {}
        self._service = service
        service.job_status = self.status

    def add(self, name: str, fn: JobFn, trigger: BaseTrigger, *, run_now: bool = False) -> None:
        """Schedule ``fn``; with ``run_now`` its first run is at start instead of one interval later."""
        self._jobs[name] = fn
        self._records[name] = _Record()
        first = {"next_run_time": datetime.now(UTC)} if run_now else {}
        self.scheduler.add_job(
            self.run,
            trigger,
            args=[name],
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            **first,
        )

    async def run(self, name: str) -> None:
        """Run one job now and record its outcome; never raises."""
        record = self._records[name]
        record.last_run = datetime.now(UTC)
        try:
            record.last_result, record.ok = await self._jobs[name](), True
        except Exception as exc:  # a failing job must not stop the scheduler or the bot
            log.exception("job %s failed", name)
            record.last_result, record.ok = f"failed: {type(exc).__name__}: {exc}"[:200], False
        # kept in the database too, for the dashboard of another process (`moonbot dashboard`)
        try:
            await self._service.record_job(next(j for j in self.status() if j.name == name))
        except Exception:  # the database refusing must not stop the scheduler either
            log.warning("job %s: could not record its run", name, exc_info=True)

    def status(self) -> list[JobStatus]:
        out = []
        for name, record in self._records.items():
            job = self.scheduler.get_job(name)
            next_run = getattr(job, "next_run_time", None) if job is not None else None
            out.append(JobStatus(name, record.last_run, record.last_result, record.ok, next_run))
        return out

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
