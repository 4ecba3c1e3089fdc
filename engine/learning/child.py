"""The `/retrain` training step in a child process at a lower CPU priority (issue 13, point 6).

Training threads (XGBoost, numpy, torch for the 3x+ net) in the bot's own process share its GIL
and the cores with every chat reply: ``bench/bench_chat.py --signals 400000`` measured replies
up to 293 ms while a retrain ran in a worker thread. Here the child loads the labeled signals
from the database itself (or receives them, for an in-memory database), runs
``engine.learning.training.train_and_compare`` and sends back its ``TrainReport``; the parent's
event loop only relays progress.

* **Process**: a fresh interpreter (``asyncio.create_subprocess_exec`` of ``sys.executable``),
  not ``fork`` (the parent has threads and an event loop) and not ``multiprocessing``: its
  forkserver and spawn children stay in the terminal's process group, so a Ctrl-C during their
  imports prints a ``KeyboardInterrupt`` traceback. The child starts a session of its own
  (``start_new_session``): terminal signals reach the parent only, which decides.
* **Priority**: the child calls ``os.nice(NICE)`` first, so the scheduler gives a reply's thread
  the core whenever it wants one.
* **Protocol**: the child's stdin carries the parent's ``sys.path`` and the ``TrainJob``
  (pickles; the database URL, which may hold a password, never goes on a command line or in the
  environment) and then stays open as a lifeline: EOF (the parent closed it, or died, even by
  ``os._exit``) ends the child at once, so no orphan outlives the bot. Its stdout carries
  length-prefixed pickles: ``("progress", done, total)``, then ``("done", report, peak_rss)``
  or ``("error", module, name, message, traceback)``; anything a library prints goes to stderr
  (fd 1 is pointed at fd 2 once the protocol has its own copy).
* **Errors**: a ``engine.errors`` exception in the child is raised again in the parent as the
  same type with the same one line (``ModelUnavailable``: too few signals, a registry fault;
  ``StorageUnavailable``); anything else is a bug: its traceback is logged and it becomes a
  ``RuntimeError``.
* **Stopping**: a cancelled ``train_in_child`` (Ctrl-C, SIGTERM, ``bot/lifecycle.py``)
  terminates the child and waits for it (``STOP_S`` at most, then kills it). The registry writes
  a model atomically, so a stopped training leaves no half model.

Pickles cross only between this process and the child it started, over its own pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle  # noqa: S403 (only between this process and the child it started)
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from engine import errors

if TYPE_CHECKING:
    from engine.learning.training import Dataset
    from engine.views import TrainReport

log = logging.getLogger(__name__)

NICE = 10  # added to the child's niceness: a nice-0 reply thread weighs ~9x a training thread
STOP_S = 2.0  # how long a stopped training may take to exit after SIGTERM before SIGKILL
_HEADER = struct.Struct("!Q")  # each message: its length, then its pickle

# The child's command: the parent's import path first (a test's or a checkout's), then main.
_BOOTSTRAP = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from engine.learning.child import main; main()"
)


@dataclass(frozen=True, slots=True)
class TrainJob:
    """What the child needs: where the models live, the training settings and either the
    database to load the labeled signals from or the signals themselves."""

    models_dir: Path
    holdout_fraction: float
    min_gain: float
    params: dict[str, Any] | None = None
    threex: bool = True
    db_url: str | None = field(default=None, repr=False)  # may hold a password
    dataset: Dataset | None = field(default=None, repr=False)


async def train_in_child(
    job: TrainJob, progress: Callable[[int, int], None] | None = None
) -> TrainReport:
    """Run ``train_and_compare`` for ``job`` in a child process; relay its progress."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _BOOTSTRAP,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None  # noqa: S101 (both are PIPE)
    started = time.perf_counter()
    try:
        for part in (sys.path, job):
            proc.stdin.write(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))
        await proc.stdin.drain()
        message = await _relay(proc.stdout, progress)
    except BaseException:
        await _stop(proc)
        raise
    proc.stdin.close()  # the lifeline: the child may leave now
    code = await proc.wait()
    return _result(message, code, time.perf_counter() - started)


async def _relay(
    stdout: asyncio.StreamReader, progress: Callable[[int, int], None] | None
) -> tuple[Any, ...] | None:
    """Call ``progress`` for each progress message; return the last message (None at EOF)."""
    while True:
        try:
            size = _HEADER.unpack(await stdout.readexactly(_HEADER.size))[0]
            message: tuple[Any, ...] = pickle.loads(await stdout.readexactly(size))  # noqa: S301
        except asyncio.IncompleteReadError:
            return None
        if message[0] != "progress":
            return message
        if progress is not None:
            progress(int(message[1]), int(message[2]))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """End the child (a stopped or failed parent): SIGTERM, then SIGKILL after ``STOP_S``."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_S)
    except (TimeoutError, asyncio.CancelledError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
    finally:
        if proc.stdin is not None:
            proc.stdin.close()


def in_memory(url: str) -> bool:
    """Whether ``url`` is an SQLite database in this process's memory (a child cannot open it)."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    path = (parsed.database or "").removeprefix("file:")
    return path in ("", ":memory:") or parsed.query.get("mode") == "memory"


def _result(message: tuple[Any, ...] | None, code: int, seconds: float) -> TrainReport:
    if message is None:
        raise RuntimeError(f"the training process ended without a result (exit status {code})")
    if message[0] == "done":
        log.info("training process: %.1f s, peak RSS %.0f MB", seconds, message[2] / 2**20)
        report: TrainReport = message[1]
        return report
    _, module, name, text, trace = message
    raise _error(module, name, text, trace)


def _error(module: str, name: str, text: str, trace: str) -> BaseException:
    """The child's exception as the parent raises it (the same ``engine.errors`` type)."""
    cls = getattr(errors, name, None) if module == errors.__name__ else None
    if isinstance(cls, type) and issubclass(cls, errors.MoonbotError):
        try:
            return cls(text)
        except TypeError:  # a class whose constructor wants more than the message
            pass
    log.error("the training process failed:\n%s", trace)
    return RuntimeError(f"the training process failed: {name}: {text}")


# ------------------------------------------------------------------------------- the child


def main() -> None:
    """The child's side (see the module docstring); ``sys.path`` is already read."""
    out = os.fdopen(os.dup(1), "wb")  # the protocol's own copy of stdout
    os.dup2(2, 1)  # what libraries print goes to stderr from now on
    job: TrainJob = pickle.load(sys.stdin.buffer)  # noqa: S301
    with contextlib.suppress(OSError):
        os.nice(NICE)
    threading.Thread(target=_lifeline, args=(sys.stdin.buffer,), daemon=True).start()
    send = _sender(out)
    try:
        report = _train(job, lambda done, total: send(("progress", done, total)))
    except BaseException as exc:  # noqa: BLE001 (every failure goes back to the parent)
        name = type(exc).__qualname__
        send(("error", type(exc).__module__, name, str(exc), traceback.format_exc()))
    else:
        send(("done", report, _peak_rss_bytes()))
    os._exit(0)  # no interpreter clean-up to wait for: the parent has the result


def _train(job: TrainJob, progress: Callable[[int, int], None]) -> TrainReport:
    from engine.learning.training import train_and_compare
    from ml.registry import Registry

    dataset = job.dataset if job.dataset is not None else asyncio.run(_load(job.db_url))
    return train_and_compare(
        dataset,
        Registry(job.models_dir),
        holdout_fraction=job.holdout_fraction,
        min_gain=job.min_gain,
        params=job.params,
        progress=progress,
        threex=job.threex,
    )


async def _load(url: str | None) -> Dataset:
    from engine.learning.training import labeled_dataset
    from engine.storage import Database

    if url is None:
        raise RuntimeError("a training job needs a database URL or a dataset")
    db = Database(url)
    try:
        return await labeled_dataset(db)
    finally:
        await db.dispose()


def _sender(out: IO[bytes]) -> Callable[[tuple[Any, ...]], None]:
    lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            with lock:
                out.write(_HEADER.pack(len(data)) + data)
                out.flush()
        except OSError:  # the parent is gone: nobody wants the training any more
            os._exit(1)

    return send


def _lifeline(stdin: IO[bytes]) -> None:
    """Block on stdin; at EOF (the parent closed it or died) leave at once."""
    with contextlib.suppress(OSError):
        while stdin.read(1):
            pass
    os._exit(0)


def _peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes
