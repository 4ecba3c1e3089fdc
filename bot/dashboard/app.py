"""The dashboard: one read-only page (aiohttp + Jinja2) of recent signals and alerts with their
scores, reasons and outcomes, the KOL leaderboard (Diamond Hand scores), tracked wallets, model
versions with their holdout metrics, the latest report's charts and the scheduled jobs.

* It reads through the facade only (``MoonbotService.dashboard``): no SQL here, nothing written.
* Every value goes through Jinja2's autoescape, and user text (token and KOL names) also through
  ``fmt.clean``; the page carries no script at all, and its Content-Security-Policy allows none,
  so a token named ``<script>…`` is text.
* It refreshes itself (``<meta http-equiv="refresh">``, ``MOONBOT_DASHBOARD_REFRESH_SECONDS``).
* With ``MOONBOT_DASHBOARD_TOKEN`` set, a request needs the token: ``/?token=…`` once sets an
  HttpOnly cookie and redirects to the page without it in the address.
* Only GET (and HEAD) are routed: anything else is 405.
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import jinja2
from aiohttp import web

from bot import format as fmt
from engine.config import Settings
from engine.errors import MoonbotError, UserError
from engine.service import MoonbotService
from engine.views import CLASS_SHORT, CLASSES, DashboardView

log = logging.getLogger(__name__)

COOKIE = "moonbot_dashboard"
SERVICE: web.AppKey[MoonbotService] = web.AppKey("service", MoonbotService)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
HEADERS = {
    # no script, no frame, nothing from elsewhere: the page is text, tables, a stylesheet, PNGs
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_ASSETS = resources.files("bot.dashboard")


def _number(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(
        when=fmt.when,
        clean=fmt.clean,
        pct=fmt.pct,
        number=_number,
        short=lambda text: text if len(text) <= 12 else f"{text[:4]}…{text[-4:]}",
        outcome=lambda label: CLASS_SHORT[CLASSES[label]],
        multiple=lambda m: "n/a" if m is None else f"{m:.2f}x",
        # P(>= 10x): the big_win, moonshot and mega_moon classes
        p10x=lambda probs: sum(probs[CLASSES.index("big_win") :]),
        likely=lambda probs: CLASS_SHORT[CLASSES[max(range(len(probs)), key=probs.__getitem__)]],
    )
    return env


_PAGE = _environment().from_string(
    (_ASSETS / "templates" / "index.html").read_text(encoding="utf-8")
)


def _moonbot_version() -> str:
    try:
        return version("moonbot")
    except PackageNotFoundError:
        return "(not installed)"


def render_page(view: DashboardView, settings: Settings, now: datetime) -> str:
    """The page's HTML for one snapshot of the facade."""
    return _PAGE.render(
        status=view.status,
        signals=view.signals,
        leaderboard=view.leaderboard,
        tracked=view.tracked,
        models=view.models,
        report=view.report,
        jobs=view.jobs,
        jobs_live=view.jobs_live,
        now=now,
        refresh_seconds=settings.dashboard_refresh_seconds,
        version=_moonbot_version(),
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The access token (when one is set) and the security headers on every response."""
    secret = request.app[SETTINGS].dashboard_token
    expected = secret.get_secret_value() if secret is not None else ""
    if expected:
        given = request.query.get("token")
        if given is not None and hmac.compare_digest(given.encode(), expected.encode()):
            entry = web.Response(status=303, headers={**HEADERS, "Location": request.path})
            entry.set_cookie(COOKIE, expected, httponly=True, samesite="Strict")
            return entry
        cookie = request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(cookie.encode(), expected.encode()):
            return web.Response(
                status=401,
                text="moonbot dashboard: access token required (open /?token=YOUR_TOKEN)\n",
                headers=HEADERS,
            )
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response


async def _page(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        view = await request.app[SERVICE].dashboard()
    except MoonbotError as exc:  # the database refusing, a damaged model: one line, 503
        return web.Response(status=503, text=f"moonbot dashboard: {exc}\n")
    html = render_page(view, settings, datetime.now(UTC))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def _chart(request: web.Request) -> web.StreamResponse:
    """A chart of the latest report, by name: only names the report has, never a path."""
    from engine.service import latest_report

    report = latest_report(request.app[SETTINGS].reports_dir)
    path = report.charts.get(request.match_info["name"]) if report is not None else None
    if path is None:
        raise web.HTTPNotFound(text="no such chart\n")
    return web.FileResponse(path, headers={"Content-Type": "image/png"})


async def _stylesheet(request: web.Request) -> web.Response:
    css = (_ASSETS / "static" / "dashboard.css").read_text(encoding="utf-8")
    return web.Response(text=css, content_type="text/css", charset="utf-8")


def make_app(service: MoonbotService, settings: Settings) -> web.Application:
    app = web.Application(middlewares=[_guard])
    app[SERVICE] = service
    app[SETTINGS] = settings
    app.router.add_get("/", _page)
    app.router.add_get("/charts/{name:[A-Za-z0-9_-]+}.png", _chart)
    app.router.add_get("/static/dashboard.css", _stylesheet)
    return app


async def start(service: MoonbotService, settings: Settings) -> web.AppRunner:
    """Serve the dashboard on ``dashboard_host:dashboard_port`` (0: any free port); returns the
    runner (``await runner.cleanup()`` stops it; ``bound_port(runner)`` is the port)."""
    # No access log: a request line would carry ?token=…, and every refresh would be a line.
    runner = web.AppRunner(make_app(service, settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.dashboard_host, settings.dashboard_port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        return int(address[1])
    raise RuntimeError("the dashboard is not listening")


async def serve(settings: Settings, say: Callable[[str], Any], stop: Any = None) -> None:
    """``moonbot dashboard``: open the database for reading, serve until ``stop`` is set (or
    SIGINT/SIGTERM)."""
    import asyncio
    import contextlib
    import signal

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    service = await MoonbotService.open_reader(settings)
    try:
        runner = await start(service, settings)
    except OSError as exc:
        await service.close()
        raise UserError(
            f"cannot listen on {settings.dashboard_host}:{settings.dashboard_port}: "
            f"{exc.strerror or exc} (set MOONBOT_DASHBOARD_PORT)"
        ) from None
    try:
        say(
            f"moonbot dashboard on http://{settings.dashboard_host}:{bound_port(runner)}/ "
            f"(read-only{', token required' if settings.dashboard_token else ''}); Ctrl-C stops"
        )
        await stop.wait()
    finally:
        await runner.cleanup()
        await service.close()
