"""`moonbot dashboard` (issue 15): a read-only page over a database the simulated market built,
with a hostile token name and KOL name planted in it.

The page is checked three ways: the HTTP behaviour (read-only, access token, headers, charts by
name only) with aiohttp's test client; the command itself (`moonbot dashboard --port 0`), and
the page as a real browser builds it: Debian's headless Chromium (``--dump-dom`` and
``--screenshot``; skipped with the reason when /usr/bin/chromium is absent). Expected values come
from the database itself, read with plain SQL, not from the dashboard's code.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.dashboard.app import COOKIE, bound_port, make_app, start
from engine.config import Settings
from engine.service import MoonbotService
from engine.storage import Database, Kol, Token
from engine.storage.models import ModelVersion
from tests.conftest import POSTGRES_ENV, _admin
from tests.paths import REPO

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_DIR = REPO / "data" / "screenshots"
EVIL_SYMBOL = "<script>"  # symbols are cut at 16 characters on the page
EVIL_NAME = "@everyone <b>moon</b>"
EVIL_KOL = "<img src=x onerror=alert(2)>@everyone"
WEEK = "2026-W02"


def _png(width: int = 4, height: int = 3) -> bytes:
    """A small valid grey PNG (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def _build(data_dir: Path, database_url: str | None = None) -> Settings:
    """Six simulated days tracked by the demo's loop, then the planted names, a model version
    row and a report folder."""
    from sqlmodel import col, select

    from engine.service import open_demo
    from engine.storage import Signal

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        database_url=database_url,
        sim_days=6,
        sim_tokens_per_day=10,
    )
    service = await open_demo(settings)
    try:
        for day in range(1, service.describe_world().n_days + 1):
            await service.cycle(service.day_end(day))
    finally:
        await service.close()
    db = Database(settings.db_url)
    try:
        async with db.session() as session:
            newest = (
                await session.exec(
                    select(Signal.mint, Signal.trigger_wallet)
                    .order_by(col(Signal.ts).desc(), col(Signal.id).desc())
                    .limit(1)
                )
            ).one()
            token = await session.get(Token, newest[0])
            assert token is not None
            token.symbol, token.name = EVIL_SYMBOL, EVIL_NAME
            session.add(token)
            kol = await session.get(Kol, newest[1])
            assert kol is not None
            kol.name = EVIL_KOL
            session.add(kol)
            session.add(
                ModelVersion(
                    version="v-test-1",
                    path=str(data_dir / "models" / "v-test-1"),
                    feature_hash="x",
                    metrics={
                        "metrics": {"log_loss": 1.2345, "auc_10x": 0.712},
                        "champion_metrics": {},
                        "prior_metrics": {"log_loss": 1.4567},
                        "promoted": True,
                        "reason": "first model: promoted",
                    },
                    n_samples=123,
                    # fixed, not the clock: two worlds built a minute apart show the same page
                    trained_at=datetime(2026, 1, 7, 1, 0, tzinfo=UTC),
                )
            )
    finally:
        await db.dispose()
    charts = data_dir / "reports" / WEEK
    charts.mkdir(parents=True)
    (charts / "feature_importance.png").write_bytes(_png())
    (charts / "kol_leaderboard.png").write_bytes(_png())
    return settings


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return asyncio.run(_build(tmp_path_factory.mktemp("dashboard")))


def _sql(settings: Settings, query: str) -> list[tuple]:
    with sqlite3.connect(settings.data_dir / "moonbot.db") as conn:
        return conn.execute(query).fetchall()


async def _client(settings: Settings) -> tuple[MoonbotService, TestClient]:
    service = await MoonbotService.open_reader(settings)
    client = TestClient(TestServer(make_app(service, settings)))
    await client.start_server()
    return service, client


def _texts(page: str) -> str:
    """The page's visible text (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_page_shows_every_section_from_the_database(world: Settings) -> None:
    service, client = await _client(world)
    try:
        response = await client.get("/")
        assert response.status == 200
        page = await response.text()
    finally:
        await client.close()
        await service.close()
    n_signals = _sql(world, "SELECT count(*) FROM signal")[0][0]
    assert page.count('<tr class="signal">') == min(50, n_signals)
    newest_ts = _sql(world, "SELECT ts FROM signal ORDER BY ts DESC, id DESC LIMIT 1")[0][0]
    first_row = page.split('<tr class="signal">')[1]
    assert newest_ts[:16].replace("T", " ") in first_row  # newest first
    n_kols = _sql(world, "SELECT count(*) FROM kol")[0][0]
    assert page.count('<tr class="wallet">') == n_kols
    assert page.count('<tr class="kol">') == min(
        20, len(_sql(world, "SELECT DISTINCT wallet FROM position"))
    )
    n_labeled = _sql(world, "SELECT count(*) FROM outcome")[0][0]
    assert n_labeled > 0 and 'class="outcome c' in page
    text = _texts(page)
    assert "1.2345 · n/a · 1.4567" in text  # the model's holdout log-loss, champion, prior
    assert f"Latest report ({WEEK})" in text
    assert 'src="charts/feature_importance.png"' in page
    assert "No job has run yet" in text
    assert '<meta http-equiv="refresh" content="30">' in page  # it reloads itself


async def test_hostile_names_are_text(world: Settings) -> None:
    service, client = await _client(world)
    try:
        page = await (await client.get("/")).text()
    finally:
        await client.close()
        await service.close()
    assert "<script" not in page.lower()  # the page has no script at all, planted or ours
    assert "<img src=x" not in page and "<b>moon</b>" not in page
    assert html.escape(EVIL_SYMBOL, quote=False) in page
    text = _texts(page)
    assert f"${EVIL_SYMBOL}" in text and EVIL_NAME in text and EVIL_KOL in text


TABLES = ("signal", "alert", "outcome", "kol", "token", "position", "modelversion", "appstate")


def _rows(settings: Settings) -> dict[str, list[tuple]]:
    return {t: sorted(_sql(settings, f"SELECT * FROM {t}"), key=repr) for t in TABLES}  # noqa: S608


async def test_read_only_charts_by_name_and_headers(world: Settings) -> None:
    before = _rows(world)
    service, client = await _client(world)
    try:
        post = await client.post("/")
        assert post.status == 405
        chart = await client.get("/charts/feature_importance.png")
        assert chart.status == 200 and (await chart.read()) == _png()
        assert chart.headers["Content-Type"] == "image/png"
        for path in ("/charts/nope.png", "/charts/..%2Fmoonbot.png", "/charts/../moonbot.db"):
            assert (await client.get(path)).status == 404
        page = await client.get("/")
        assert "script-src" not in page.headers["Content-Security-Policy"]
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        css = await client.get("/static/dashboard.css")
        assert css.status == 200 and "--bg" in await css.text()
    finally:
        await client.close()
        await service.close()
    # nothing was written: every row is what the fixture left
    assert _rows(world) == before
    assert len(before["modelversion"]) == 1


async def test_access_token(world: Settings) -> None:
    guarded = world.model_copy(update={"dashboard_token": SecretStr("s3cret-token")})
    service, client = await _client(guarded)
    try:
        assert (await client.get("/")).status == 401
        assert (await client.get("/?token=wrong")).status == 401
        assert (await client.get("/charts/feature_importance.png")).status == 401
        entry = await client.get("/?token=s3cret-token", allow_redirects=False)
        assert entry.status == 303 and entry.headers["Location"] == "/"
        assert "HttpOnly" in entry.headers["Set-Cookie"]
        page = await client.get("/")  # the cookie from the redirect
        assert page.status == 200 and "s3cret-token" not in await page.text()
        client.session.cookie_jar.clear()
        assert (await client.get("/")).status == 401
        ok = await client.get("/", cookies={COOKIE: "s3cret-token"})
        assert ok.status == 200
    finally:
        await client.close()
        await service.close()


def test_no_database_yet_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "dashboard", "--port", "0"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO), "MOONBOT_DATA_DIR": str(tmp_path / "d")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    where = tmp_path / "d" / "moonbot.db"
    assert done.stdout.strip() == (
        f"error: no moonbot database at sqlite+aiosqlite:///{where} yet: "
        "run `moonbot demo` or `moonbot run` first"
    )
    assert not (tmp_path / "d").exists()  # reading made nothing


def test_command_serves_until_interrupted(world: Settings) -> None:
    assert (Settings(_env_file=None).dashboard_host, Settings(_env_file=None).dashboard_port) == (  # type: ignore[call-arg]
        "127.0.0.1",
        8501,
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "dashboard", "--port", "0"],
        cwd=world.data_dir,
        env={**os.environ, "PYTHONPATH": str(REPO), "MOONBOT_DATA_DIR": str(world.data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        # the line saying where it listens: a bounded wait (or the process ended: EOF)
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else ""
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert found, f"no address printed: {line!r}"
        page = httpx.get(f"http://127.0.0.1:{found.group(1)}/", timeout=60)
        assert page.status_code == 200 and "Recent signals and alerts" in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0


async def _page_of(settings: Settings) -> str:
    service, client = await _client(settings)
    try:
        response = await client.get("/")
        assert response.status == 200
        return await response.text()
    finally:
        await client.close()
        await service.close()


def _shape(page: str) -> tuple[list[str], list[str]]:
    """The page's text lines but the time it was read, up to the tracked wallets (their
    "added" times are the clock's when the world was built, and equal ones tie in any order);
    and the wallets of that section, sorted."""
    before, tracked = page.split('<section id="tracked">')
    lines = [
        line for line in _texts(before).splitlines() if line.strip() and "page read" not in line
    ]
    return lines, sorted(re.findall(r"<tr class=\"wallet\"><td>[^<]*</td><td><code>(\w+)", tracked))


def test_same_page_on_postgresql(world: Settings, tmp_path: Path) -> None:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (.ci/run starts one)")
    from sqlalchemy.engine import make_url

    name = f"moonbot_dash_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        on_pg = asyncio.run(_build(tmp_path, url))
        sqlite_page, pg_page = asyncio.run(_page_of(world)), asyncio.run(_page_of(on_pg))
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    # the same simulated market on both databases: the same page, row for row
    assert pg_page.count('<tr class="signal">') == sqlite_page.count('<tr class="signal">') > 0
    assert len(_shape(pg_page)[1]) == pg_page.count('<tr class="wallet">') > 0
    assert _shape(pg_page) == _shape(sqlite_page)


async def test_inside_moonbot_run_with_live_jobs(tmp_path: Path) -> None:
    from rich.console import Console

    from bot.run import run_bot

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        sim_days=2,
        sim_kols=6,
        sim_tokens_per_day=5,
        dashboard_port=0,
    )
    console = Console(record=True, width=200)
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(settings, console, stop, dashboard=True))
    page = ""
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            for _ in range(480):  # bounded wait (2 min): the page, then the tracker's first run
                await asyncio.sleep(0.25)
                found = re.search(
                    r"dashboard: http://127\.0\.0\.1:(\d+)/", console.export_text(clear=False)
                )
                if found is None:
                    continue
                page = (await http.get(f"http://127.0.0.1:{found.group(1)}/")).text
                if '<tr class="job ok"><td>tracker</td>' in page:
                    break
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    assert '<tr class="job ok"><td>tracker</td>' in page
    assert "No job has run yet" not in page and "last recorded" not in page
    for job in ("kol-stats", "labels", "retrain", "weekly-report", "alerts"):
        assert f"<td>{job}</td>" in page
    # the bot stopped: another process's dashboard shows the jobs' runs as it recorded them
    later = await _page_of(settings)
    assert "(as <code>moonbot run</code> last recorded them)" in later
    assert '<tr class="job ok"><td>tracker</td>' in later


async def test_recorded_job_runs_replace_the_previous_one(tmp_path: Path) -> None:
    from engine.views import JobStatus

    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    service = await MoonbotService.open(settings)
    t1, t2 = datetime(2026, 1, 5, 4, tzinfo=UTC), datetime(2026, 1, 5, 4, 5, tzinfo=UTC)
    try:
        assert await service.recorded_jobs() == []
        await service.record_job(JobStatus("tracker", t1, "3 trades", True, t2))
        await service.record_job(JobStatus("retrain", t1, "failed: boom", False, None))
        await service.record_job(JobStatus("tracker", t2, "0 trades", True, None))
        assert await service.recorded_jobs() == [
            JobStatus("retrain", t1, "failed: boom", False, None),
            JobStatus("tracker", t2, "0 trades", True, None),
        ]
    finally:
        await service.close()


# --- the page in a real browser --------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


async def _chromium(args: list[str], profile: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=180)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)"
)
async def test_in_headless_chromium(world: Settings, tmp_path: Path) -> None:
    service = await MoonbotService.open_reader(world)
    runner = await start(service, world.model_copy(update={"dashboard_port": 0}))
    url = f"http://127.0.0.1:{bound_port(runner)}/"
    try:
        dom = await _chromium(["--dump-dom", url], tmp_path / "profile-dom")
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOT_DIR / "dashboard.png"
        shot.unlink(missing_ok=True)
        await _chromium(
            [f"--screenshot={shot}", "--window-size=1400,2400", url], tmp_path / "profile-shot"
        )
    finally:
        await runner.cleanup()
        await service.close()
    # the DOM as the browser built it: the planted names are text nodes, never elements
    assert "<script" not in dom.lower() and '<img src="x"' not in dom
    assert html.escape(EVIL_SYMBOL, quote=False) in dom
    assert html.escape(EVIL_KOL, quote=False) in dom
    for heading in (
        "Recent signals and alerts",
        "KOL leaderboard (Diamond Hand score)",
        "Tracked wallets",
        "Model versions (holdout metrics)",
        f"Latest report ({WEEK})",
        "Jobs",
    ):
        assert heading in dom
    n_signals = _sql(world, "SELECT count(*) FROM signal")[0][0]
    assert dom.count('<tr class="signal">') == min(50, n_signals)
    # the browser drew it: a PNG of the window's size
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1400, 2400)
