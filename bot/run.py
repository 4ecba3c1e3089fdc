"""`moonbot run`: the configured chat faces and the scheduled jobs on one event loop.

Faces start for whichever tokens are set (none: the console face only, with a message saying
so); they share one ``MoonbotService``. SIGINT or SIGTERM stops the jobs, then the faces, then
closes the service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from rich.console import Console

from bot import console as console_face
from bot.commands import Reply, weekly_reply, write_weekly_report
from bot.jobs import Jobs
from engine.config import Settings
from engine.service import MoonbotService


@dataclass(slots=True)
class Face:
    """What the jobs need of a running face: alert delivery, report posting, shutdown."""

    name: str
    deliver: Callable[[], Awaitable[int]]
    post: Callable[[Reply], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]


async def _start_faces(
    service: MoonbotService, settings: Settings, console: Console, faces: list[Face]
) -> list[Face]:
    """Start the faces whose tokens are set, adding each to ``faces`` as soon as it runs, so a
    later face that fails (``FaceUnavailable``, one line) leaves the started ones to be stopped."""
    if settings.telegram_token is not None and settings.telegram_token.get_secret_value():
        from bot import telegram_face as tg

        allowed = {int(c) for c in settings.telegram_allowed_chat_ids} or None
        app = await tg.start_telegram(service, settings, allowed_chat_ids=allowed)

        async def tg_post(reply: Reply) -> None:
            for channel in await service.subscribed_channels(tg.CHANNEL):
                await tg.send_reply(app.bot, int(channel.removeprefix(tg.CHANNEL)), reply)

        faces.append(
            Face(
                "telegram",
                lambda: tg.deliver_alerts(service, app.bot),
                tg_post,
                lambda: tg.stop_telegram(app),
            )
        )
    if settings.discord_token is not None and settings.discord_token.get_secret_value():
        from bot import discord_face as dc

        client = await dc.start_discord(
            service,
            settings,
            admin_role_ids=settings.discord_admin_role_ids,
            guild_id=settings.discord_guild_id,
        )

        async def dc_post(reply: Reply) -> None:
            for channel in await service.subscribed_channels(dc.CHANNEL):
                await dc.send_reply(
                    client.get_partial_messageable(int(channel.removeprefix(dc.CHANNEL))), reply
                )

        faces.append(
            Face(
                "discord",
                lambda: dc.deliver_alerts(service, client.get_partial_messageable),
                dc_post,
                lambda: dc.stop_discord(client),
            )
        )
    if not faces:
        console.print(
            "No chat token set (MOONBOT_TELEGRAM_TOKEN, MOONBOT_DISCORD_TOKEN): console only. "
            "Alerts and weekly reports print here; ask questions with `moonbot ask` or `moonbot chat`."
        )

    async def console_post(reply: Reply) -> None:
        console_face.show(console, reply, title="weekly report")

    async def nothing() -> None:
        return None

    faces.append(
        Face(
            "console", lambda: console_face.deliver_alerts(service, console), console_post, nothing
        )
    )
    return faces


def schedule(jobs: Jobs, service: MoonbotService, settings: Settings, faces: list[Face]) -> None:
    async def tracker() -> str:
        r = await service.poll()
        return f"{r.new_trades} trades, {r.new_signals} new signals, {r.new_alerts} alerts queued"

    async def kol_stats() -> str:
        return f"{await service.refresh_stats()} positions rebuilt"

    async def labels() -> str:
        return f"{await service.label()} signals labeled"

    async def retrain() -> str:
        return (await service.retrain()).reason

    async def report() -> str:
        weekly, text = await write_weekly_report(service)
        reply = weekly_reply(weekly, text)  # every chart of the report, captioned
        for face in faces:
            await face.post(reply)
        return f"{weekly.week} written and posted to {', '.join(f.name for f in faces)}"

    async def alerts() -> str:
        sent = [await face.deliver() for face in faces]
        return f"{sum(sent)} alerts sent"

    jobs.add(
        "tracker",
        tracker,
        IntervalTrigger(minutes=settings.poll_minutes, timezone=UTC),
        run_now=True,
    )
    jobs.add("kol-stats", kol_stats, IntervalTrigger(hours=1, timezone=UTC))
    jobs.add("labels", labels, IntervalTrigger(hours=1, timezone=UTC))
    jobs.add("retrain", retrain, CronTrigger.from_crontab(settings.retrain_cron, timezone=UTC))
    jobs.add("weekly-report", report, CronTrigger.from_crontab(settings.report_cron, timezone=UTC))
    jobs.add("alerts", alerts, IntervalTrigger(seconds=settings.alert_send_seconds, timezone=UTC))
    if settings.push_mode != "none":

        async def push_fallback() -> str:
            r = await service.fallback_poll()
            if r is None:
                return "push is up (or a poll ran just now): nothing to do"
            return f"push down, polled: {r.new_trades} trades, {r.new_alerts} alerts queued"

        every = max(5.0, settings.push_fallback_poll_seconds / 2)
        jobs.add("push-fallback", push_fallback, IntervalTrigger(seconds=every, timezone=UTC))


JOBS_STOP_S = 2.0  # a job cancelled at shutdown gets this long to roll back and unwind


class _QuietCancel(logging.Filter):
    """A job cancelled by the shutdown is not an error: APScheduler logs it as one (it catches
    ``BaseException`` around the job); drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, asyncio.CancelledError)


async def _stop_jobs(jobs: Jobs) -> None:
    """Stop the scheduler and wait (bounded) for the jobs it cancelled, so a poll in progress
    rolls back its transaction before the service closes the database under it."""
    running = asyncio.all_tasks() - {asyncio.current_task()}
    quiet = _QuietCancel()
    logging.getLogger("apscheduler.executors.default").addFilter(quiet)
    jobs.shutdown()  # cancels the job tasks in flight (AsyncIOExecutor.shutdown)
    cancelled = [t for t in running if t.cancelling()]
    if cancelled:
        await asyncio.wait(cancelled, timeout=JOBS_STOP_S)


async def run_bot(
    settings: Settings,
    console: Console,
    stop: asyncio.Event | None = None,
    *,
    dashboard: bool = False,
) -> None:
    """Run until ``stop`` is set or the task is cancelled (the CLI's runner, ``bot.lifecycle``,
    cancels it on SIGINT/SIGTERM), then stop the jobs, the faces and the service."""
    stop = stop or asyncio.Event()
    service = await MoonbotService.open(settings)
    faces: list[Face] = []
    jobs = Jobs(service)
    board = None  # `moonbot run --dashboard`: the page, with this process's live job status
    try:
        await _start_faces(service, settings, console, faces)
        schedule(jobs, service, settings, faces)
        jobs.start()
        if dashboard:
            from bot.dashboard.app import bound_port, start

            board = await start(service, settings)
            console.print(f"dashboard: http://{settings.dashboard_host}:{bound_port(board)}/")

        async def deliver_now() -> int:  # a pushed buy's alerts go out at once
            return sum([await face.deliver() for face in faces])

        service.alerts_hook = deliver_now
        if await service.start_push():
            console.print(f"push: {settings.push_mode} started; the poll reconciles behind it")
        console.print(
            f"moonbot running ({settings.source} source, faces: {', '.join(f.name for f in faces)}); Ctrl-C stops"
        )
        await stop.wait()
    finally:
        if board is not None:
            await board.cleanup()
        await _stop_jobs(jobs)
        await service.stop_push()  # before the faces its alerts go to
        for face in faces:
            await face.stop()
        await service.close()
        console.print("moonbot stopped")
