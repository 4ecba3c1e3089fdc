"""`moonbot run`: the configured chat faces and the scheduled jobs on one event loop.

Faces start for whichever tokens are set (none: the console face only, with a message saying
so); they share one ``MoonbotService``. SIGINT or SIGTERM stops the jobs, then the faces, then
closes the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from rich.console import Console

from bot import console as console_face
from bot.commands import Reply, write_weekly_report
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


async def _start_faces(service: MoonbotService, settings: Settings, console: Console) -> list[Face]:
    faces: list[Face] = []
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
        reply = Reply(text, weekly.charts.get("feature_importance"))
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


async def run_bot(settings: Settings, console: Console, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    service = await MoonbotService.open(settings)
    faces: list[Face] = []
    jobs = Jobs(service)
    try:
        faces = await _start_faces(service, settings, console)
        schedule(jobs, service, settings, faces)
        jobs.start()
        console.print(
            f"moonbot running ({settings.source} source, faces: {', '.join(f.name for f in faces)}); Ctrl-C stops"
        )
        await stop.wait()
    finally:
        jobs.shutdown()
        for face in faces:
            await face.stop()
        await service.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        console.print("moonbot stopped")
