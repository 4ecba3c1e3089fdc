"""The whole pipeline in a process that can be killed, and what the kill tests compare.

``python -m tests.engine.pipeline_worker DATA_DIR [KILL]`` runs ``MoonbotService.cycle`` on a
small simulated market, one poll every ``STEP`` up to the end, delivering the alerts after each
cycle through a fake send that appends a line to ``DATA_DIR/delivered.jsonl`` (fsync'd before it
returns); it resumes from whatever DATA_DIR holds (the tracker's last poll), prints "ready" once
set up and "done" at the end (exit 0). Every clock is the data's: a cycle's ``until``, also the
outbox's ``now``, so a dead sender's claim has run out by the next cycle.

KILL makes the process SIGKILL itself, a step boundary on purpose: ``commit:N`` right after its
N-th database commit (reads included), ``STEP:N`` right after the N-th return of a step
(``wallet`` one wallet's trades stored, ``poll`` the tracker's poll, ``positions``, ``signals``,
``labels``, ``settle`` the steps after a poll, ``send`` a delivered alert, before it is marked
sent, ``deliver`` a delivery run). The hooks are installed here, by wrapping; the product has
none. The test and ``bench/bench_kills.py`` also kill it at random moments from outside.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import IO, Any

from engine.sim import SimConfig

REPO = Path(__file__).resolve().parents[2]
CONFIG = SimConfig(seed=5, n_days=4, n_kols=10, tokens_per_day=12, snapshot_detail="lean")
STEP = timedelta(hours=3)
END = CONFIG.start + timedelta(days=CONFIG.n_days + 3)  # three days on: the last labels too
CHANNELS = ("console", "telegram:1")
DELIVERED = "delivered.jsonl"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill(spec: str) -> None:
    """Kill this process right after the N-th commit or the N-th return of a step (see above)."""
    what, _, n_text = spec.partition(":")
    n, seen = int(n_text), 0

    def tick() -> None:
        nonlocal seen
        seen += 1
        if seen == n:
            _die()

    if what == "commit":
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        event.listen(Session, "after_commit", lambda _session: tick())
        return
    import engine.learning.labels as labels
    import engine.service as service
    import engine.signals.settle as settle
    from engine.signals import outbox
    from engine.tracking.tracker import Tracker

    def after(owner: Any, name: str) -> None:
        inner = getattr(owner, name)

        @wraps(inner)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            out = await inner(*args, **kwargs)
            tick()
            return out

        setattr(owner, name, wrapper)

    targets: dict[str, tuple[Any, str]] = {
        "wallet": (Tracker, "_poll_wallet"),
        "poll": (Tracker, "poll"),
        "positions": (settle, "refresh_positions"),
        "signals": (settle, "process_buys"),
        "labels": (labels, "label_due"),
        "settle": (service, "settle"),
        "deliver": (outbox, "deliver"),
    }
    if what == "send":
        global _after_send
        _after_send = tick
    else:
        after(*targets[what])


_after_send: Callable[[], None] = lambda: None  # noqa: E731  # replaced by install_kill("send:N")


async def run(data_dir: Path) -> int:
    from engine.config import Settings
    from engine.service import MoonbotService
    from engine.signals import outbox
    from engine.signals.outbox import AlertView
    from engine.sim import SimSource, generate
    from engine.tracking.tracker import last_poll

    settings = Settings(
        data_dir=data_dir,
        source="sim",
        alert_channels=list(CHANNELS),
        alert_score_threshold=25,
        diamond_hand_min_positions=1,
        diamond_hand_threshold=25.0,
        poll_budget_seconds=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    service = await MoonbotService.open(settings, SimSource(generate(CONFIG)))
    await outbox.set_channel(
        service.db, "telegram:1", enabled=True, threshold=45, default_threshold=25
    )
    delivered = data_dir / DELIVERED

    async def send(view: AlertView) -> None:
        line = {
            "mint": view.mint,
            "channel": view.channel,
            "kol": view.kol_wallet,
            "ts": view.alert_ts.isoformat(),
            "score": view.score,
            "maybe": view.maybe_delivered,
        }
        with delivered.open("a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        _after_send()

    print("ready", flush=True)
    try:
        while (polled := await last_poll(service.db)) is None or polled < END:
            until = min((polled or CONFIG.start) + STEP, END)
            await service.cycle(until)
            await outbox.deliver(service.db, "", send, now=until)
        # A kill after the last poll: its later steps and its alerts are still owed.
        await service.cycle(END)
        for _ in range(20):
            await outbox.deliver(service.db, "", send, now=END + timedelta(hours=1))
            if not await outbox.pending(service.db):
                break
    finally:
        await service.close()
    print("done", flush=True)
    return 0


# --- the parent's side: run, kill, compare ------------------------------------------------------


def start(data_dir: Path, kill: str | None, log: IO[Any]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MOONBOT_DATA_DIR", None)
    args = [sys.executable, "-m", "tests.engine.pipeline_worker", str(data_dir)]
    return subprocess.Popen(
        [*args, *([kill] if kill else [])], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log
    )


def wait_for_line(proc: subprocess.Popen[bytes], text: str, timeout_s: float) -> bool:
    """Read the worker's output until ``text`` (bounded); False if it exits first."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            return False
        if line.decode().strip() == text:
            return True
    raise AssertionError(f"worker did not print {text!r} within {timeout_s} s")


def run_once(
    data_dir: Path, log: IO[Any], *, kill: str | None = None, after_s: float | None = None
) -> int:
    """One worker run: killed by its own hook (``kill``), from outside ``after_s`` seconds after
    it is ready, or left to finish. Returns its exit status (-9 when killed)."""
    proc = start(data_dir, kill, log)
    try:
        if after_s is not None and wait_for_line(proc, "ready", timeout_s=60):
            try:
                proc.wait(timeout=after_s)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


# Columns that hold the wall clock or the sender's bookkeeping: not part of what must match.
_SKIP = {
    "trade": {"id"},
    "marketsnapshot": {"id"},
    "position": {"id"},
    "signal": {"id", "created_at"},
    "outcome": {"labeled_at"},
    "alert": {
        "id", "attempts", "next_attempt_at", "attempt_started_at", "claimed_until",
        "created_at", "sent_at", "last_error",
    },
    "kol": {"added_at"},
    "subscription": {"created_at"},
}  # fmt: skip
_TABLES = (
    "kol", "token", "trade", "marketsnapshot", "marketcontext", "signal", "outcome", "alert",
    "position", "subscription", "appstate",
)  # fmt: skip


def dump(data_dir: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every table's rows (natural keys: an alert or outcome names its signal's mint), the KOL
    trades and the creator trades apart."""
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    with sqlite3.connect(data_dir / "moonbot.db") as conn:
        mints = dict(conn.execute("SELECT id, mint FROM signal").fetchall())
        for table in _TABLES:
            names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            keep = [n for n in names if n not in _SKIP.get(table, set())]
            rows = conn.execute(f"SELECT {', '.join(keep)} FROM {table}").fetchall()
            if "signal_id" in keep:
                i = keep.index("signal_id")
                rows = [(*r[:i], mints.get(r[i], r[i]), *r[i + 1 :]) for r in rows]
            if table == "trade":
                k = keep.index("is_kol")
                out["kol trades"] = Counter(r for r in rows if r[k])
                out["creator trades"] = Counter(r for r in rows if not r[k])
            else:
                out[table] = Counter(rows)
    return out


def deliveries(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / DELIVERED
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@dataclass(slots=True)
class Comparison:
    """Per table: rows of the uninterrupted run missing (lost) and rows it does not have
    (extra: a duplicate or a changed value); per delivered alert the same, and repeats the
    outbox flagged may-repeat."""

    lost: dict[str, int] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)
    flagged_repeats: int = 0

    @property
    def clean(self) -> bool:
        return not any(self.lost.values()) and not any(self.extra.values())


def compare(reference: Path, killed: Path) -> Comparison:
    result = Comparison()
    want, got = dump(reference), dump(killed)
    for table in want:
        result.lost[table] = sum((want[table] - got[table]).values())
        result.extra[table] = sum((got[table] - want[table]).values())
    key = ("mint", "channel", "kol", "ts", "score")
    sent_ref = Counter(tuple(d[k] for k in key) for d in deliveries(reference))
    once: Counter[tuple[Any, ...]] = Counter()
    unflagged = 0
    for d in deliveries(killed):
        k = tuple(d[k] for k in key)
        once[k] += 1
        if once[k] > 1:
            if d["maybe"]:
                result.flagged_repeats += 1
            else:
                unflagged += 1
    result.lost["delivered alerts"] = sum((sent_ref - once).values())
    result.extra["delivered alerts"] = unflagged + sum(1 for k in once if k not in sent_ref)
    return result


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2]:
        install_kill(sys.argv[2])
    sys.exit(asyncio.run(run(Path(sys.argv[1]))))
