"""A clean exit at any moment, through a pseudo-terminal as a person sees it.

Each test starts a real ``moonbot`` process whose controlling terminal is a pty, types on it
like a person does (Ctrl-C is the byte 0x03: the terminal's line discipline turns it into
SIGINT for the foreground process group, see termios(3) ``VINTR``), reads what the terminal
shows, and checks how the process ended: status 130 after Ctrl-C (128 + SIGINT, the shells'
convention), 0 after SIGTERM, no "Task was destroyed but it is pending", no traceback, and a
database that passes SQLite's own ``PRAGMA integrity_check``. Every wait polls with a generous
bound (the process's exit included); nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import termios
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

BOUND_S = 120.0  # generous: start-up imports and a first simulated market on a busy machine
CTRL_C = b"\x03"
PROMPT_READY = "moonbot chat: type /help"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colours and styles: the text as read


def _controlling_tty() -> None:  # runs in the child, after setsid (start_new_session)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A process on a pty: ``expect`` polls its output, ``type`` writes keys."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        master, slave = os.openpty()
        self.master = master
        self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and CLI)
            [sys.executable, "-c", "from bot.cli import main; main()", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_controlling_tty,  # noqa: PLW1509
        )
        os.close(slave)
        self.seen = ""

    def _read(self, wait_s: float) -> None:
        ready, _, _ = select.select([self.master], [], [], wait_s)
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            self.seen += ANSI.sub("", chunk.decode("utf-8", "replace"))

    def expect(self, text: str) -> None:
        deadline = _deadline()
        while text not in self.seen:
            assert datetime.now(UTC) < deadline, f"never showed {text!r}; saw:\n{self.seen}"
            assert self.proc.poll() is None, f"exited before {text!r}; saw:\n{self.seen}"
            self._read(0.2)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def exit_status(self) -> int:
        deadline = _deadline()
        while self.proc.poll() is None:
            assert datetime.now(UTC) < deadline, f"still running; saw:\n{self.seen}"
            self._read(0.2)
        for _ in range(50):  # what is left in the terminal's buffer
            before = len(self.seen)
            self._read(0.05)
            if len(self.seen) == before:
                break
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def _deadline() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=BOUND_S)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(*args: str, **env: str) -> Terminal:
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "TERM": "xterm",
            "MOONBOT_DATA_DIR": str(tmp_path / "data"),
            **env,
        }
        term = Terminal(list(args), full_env, tmp_path)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def assert_clean(term: Terminal, status: int, expected: int, db: Path) -> None:
    assert status == expected, term.seen
    assert "Task was destroyed" not in term.seen
    assert "Traceback" not in term.seen
    assert "Exception ignored" not in term.seen
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_ctrl_c_at_the_idle_chat_prompt_exits_130(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    term = terminal("chat")
    term.expect(PROMPT_READY)
    term.expect("> ")
    term.type(CTRL_C)
    assert_clean(term, term.exit_status(), 130, tmp_path / "data" / "moonbot.db")


def test_sigterm_at_the_idle_chat_prompt_exits_0(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    term = terminal("chat")
    term.expect(PROMPT_READY)
    term.expect("> ")
    term.proc.send_signal(signal.SIGTERM)
    assert_clean(term, term.exit_status(), 0, tmp_path / "data" / "moonbot.db")


def test_the_chat_answers_then_ends_at_end_of_input(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    term = terminal("chat")
    term.expect("> ")
    term.type(b"/status\r")
    term.expect("Source sim")
    term.type(b"\x04")  # Ctrl-D at an empty line: end of input
    assert_clean(term, term.exit_status(), 0, tmp_path / "data" / "moonbot.db")


def _labeled_database(data_dir: Path, n: int = 1200) -> None:
    """A database holding ``n`` labeled signals (random features, a class each), enough for
    /retrain to train for a while."""
    from engine.config import Settings
    from engine.service import MoonbotService
    from engine.signals.features import FEATURE_NAMES
    from engine.storage import Outcome, Signal

    rng = np.random.default_rng(14)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    multiples = np.exp(rng.normal(0.8, 1.2, size=n))
    cuts = (1.5, 5, 10, 50, 100)

    async def fill() -> None:
        settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
        service = await MoonbotService.open(settings)
        try:
            async with service.db.session() as session:
                for i in range(n):
                    features = {
                        f: float(v)
                        for f, v in zip(
                            FEATURE_NAMES, rng.normal(size=len(FEATURE_NAMES)), strict=True
                        )
                    }
                    signal_row = Signal(
                        mint=f"mint{i:05d}",
                        ts=t0 + timedelta(hours=i),
                        trigger_wallet="w",
                        features=features,
                        entry_mcap=10_000.0,
                    )
                    session.add(signal_row)
                    await session.flush()
                    assert signal_row.id is not None
                    m = float(multiples[i])
                    session.add(
                        Outcome(
                            signal_id=signal_row.id,
                            max_mcap=10_000.0 * m,
                            max_roi=m - 1,
                            time_to_peak_hours=1.0,
                            label=int(sum(m >= c for c in cuts)),
                        )
                    )
        finally:
            await service.close()

    asyncio.run(fill())


def test_ctrl_c_during_retrain_exits_130_and_writes_no_model_row(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    _labeled_database(data)
    term = terminal("chat")
    term.expect("> ")
    term.type(b"/retrain\r")
    term.expect("/retrain")  # echoed: the chat has the line and starts training
    term.type(CTRL_C)
    db = data / "moonbot.db"
    assert_clean(term, term.exit_status(), 130, db)
    with sqlite3.connect(db) as conn:  # the training's row is written whole or not at all
        rows = conn.execute("SELECT count(*) FROM modelversion").fetchone()[0]
        labeled = conn.execute("SELECT count(*) FROM outcome").fetchone()[0]
    assert rows in (0, 1) and labeled == 1200


@pytest.mark.parametrize(("send", "expected"), [("ctrl-c", 130), ("sigterm", 0)])
def test_run_stops_cleanly_mid_poll(terminal, tmp_path: Path, send: str, expected: int) -> None:  # type: ignore[no-untyped-def]
    term = terminal(
        "run", MOONBOT_SIM_DAYS="3", MOONBOT_SIM_KOLS="8", MOONBOT_SIM_TOKENS_PER_DAY="10"
    )
    term.expect("Ctrl-C stops")  # the tracker job starts its first poll now
    if send == "ctrl-c":
        term.type(CTRL_C)
    else:
        term.proc.send_signal(signal.SIGTERM)
    assert_clean(term, term.exit_status(), expected, tmp_path / "data" / "moonbot.db")
    assert "moonbot stopped" in term.seen


class _FakeInThread:
    """The fake Bot API on its own event loop in a thread, for a test that blocks on a pty."""

    def __init__(self) -> None:
        import threading

        from tests.bot.fake_telegram import FakeTelegram

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.api = self._call(FakeTelegram().start())

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(BOUND_S)

    def sent(self, method: str) -> int:
        return self._call(self._count(method))

    async def _count(self, method: str) -> int:
        return len(self.api.sent(method))

    def close(self) -> None:
        self._call(self.api.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(BOUND_S)


def test_ctrl_c_mid_send_exits_130_and_leaves_the_alert_to_resend(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from engine.config import Settings
    from tests.bot.chat_world import add_hostile_alert, open_service

    data = tmp_path / "data"

    async def prepare() -> None:
        svc = await open_service(Settings(data_dir=data, _env_file=None))  # type: ignore[call-arg]
        try:
            await svc.set_alerts("telegram:555", enabled=True)
            await add_hostile_alert(svc, "telegram:555")
        finally:
            await svc.close()

    asyncio.run(prepare())
    fake = _FakeInThread()
    try:
        fake.api.hold_answer("sendMessage", 1)  # Telegram posts it, the answer never comes
        term = terminal(
            "run",
            MOONBOT_TELEGRAM_TOKEN=fake.api.token,
            MOONBOT_TELEGRAM_API_URL=fake.api.base_url,
            MOONBOT_ALERT_SEND_SECONDS="1",
        )
        term.expect("Ctrl-C stops")
        deadline = _deadline()
        while fake.sent("sendMessage") == 0:  # the alert's send is under way
            assert datetime.now(UTC) < deadline, term.seen
            term._read(0.2)
        term.type(CTRL_C)
        status = term.exit_status()
    finally:
        fake.close()
    db = data / "moonbot.db"
    assert_clean(term, status, 130, db)
    with sqlite3.connect(db) as conn:
        (row,) = conn.execute(
            "SELECT status, attempt_started_at IS NOT NULL FROM alert WHERE channel = 'telegram:555'"
        ).fetchall()
    # still pending, marked as a send under way: the next start resends it, saying it may repeat
    assert row == ("pending", 1)
