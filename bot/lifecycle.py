"""Running one CLI command's coroutine so that Ctrl-C or SIGTERM ends it cleanly, at any moment.

``asyncio.run`` is not enough: its SIGINT handling waits until the event loop gets control (a
blocking prompt never gives it), it then waits for every worker thread (a training run in
``asyncio.to_thread`` goes on for minutes), and a second Ctrl-C leaves tasks to be destroyed
while pending. ``run`` instead:

* on the first SIGINT or SIGTERM cancels the command's task, so its ``finally`` blocks run
  (the service closes: open transactions roll back, nothing is half-written) and every other
  task is cancelled and awaited, then the loop closes;
* bounds that clean-up: after ``GRACE_S`` seconds, or at a second signal, the process leaves
  at once (``os._exit``) with the same status. SQLite and PostgreSQL transactions are atomic, so
  even then no row is half-written;
* exits with 130 after SIGINT (the shell's 128 + 2), 0 after SIGTERM (a requested stop);
* leaves without waiting for worker threads still busy (a training run whose result nobody
  awaits any more); the model registry writes a model atomically (``ml.registry``).

The signal handlers are Python-level (``signal.signal``): they run as soon as the main thread
executes Python code, whether the loop is waiting (woken through ``call_soon_threadsafe``) or
busy in a synchronous step; the watchdog is a daemon thread, so it fires in any case.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

GRACE_S = 4.0  # the bound is 5 s from the signal to the exit
TASKS_S = 2.0  # how long the other tasks get to finish once cancelled
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 0}
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """The command was stopped by a signal; ``status`` is the exit status to leave with."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.status = EXIT_STATUS.get(signal.Signals(signum), 128 + signum)


@dataclass
class _Stop:
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[Any]
    received: list[int] = field(default_factory=list)

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.received:  # a second Ctrl-C: the user does not want to wait
            hard_exit(EXIT_STATUS.get(signal.Signals(self.received[0]), 130))
        self.received.append(signum)
        watchdog = threading.Timer(GRACE_S, hard_exit, args=(self.status,))
        watchdog.daemon = True
        watchdog.start()
        self.loop.call_soon_threadsafe(self.task.cancel)

    @property
    def status(self) -> int:
        return Stopped(self.received[0]).status if self.received else 0


FLUSH_S = 1.0  # how long leaving waits for what was printed and logged to be flushed


def hard_exit(status: int) -> None:
    """Leave now: flush what was printed and logged (for ``FLUSH_S`` at most: a flush waits for
    the lock of a handler or stream that another thread may hold, or for a terminal nobody
    reads), skip waiting for threads."""
    flusher = threading.Thread(target=_flush_all, name="moonbot-exit-flush", daemon=True)
    flusher.start()
    flusher.join(FLUSH_S)
    os._exit(status)


def _flush_all() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion; raise ``Stopped`` if a signal stopped it (after the clean-up,
    with worker threads still busy it leaves at once instead)."""
    loop = asyncio.new_event_loop()
    task = loop.create_task(coro)
    stop = _Stop(loop, task)
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, stop.on_signal) for s in SIGNALS} if in_main else {}
    try:
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if not stop.received:
                raise
            raise Stopped(stop.received[0]) from None
        finally:
            _finish(loop, stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if stop.received and _busy_threads():
            hard_exit(stop.status)


def _finish(loop: asyncio.AbstractEventLoop, stop: _Stop) -> None:
    """Cancel and await the tasks still pending (a job, a face's poller), so none is destroyed
    while pending; shut down async generators and, unless stopped, the worker threads. Stopped
    by a signal with tasks that do not stop in time, it leaves at once: closing the loop under
    them would only have their connections' finalizers print tracebacks on the way out."""
    stopped = bool(stop.received)
    try:
        pending = _pending(loop)
        for t in pending:
            if not t.cancelling():  # one already stopping is in its clean-up (a rollback):
                t.cancel()  # a second cancel would cut that short
        # Wait for them, and for the tasks they start while they stop (a shielded clean-up, e.g.
        # an alert's claim given back: engine/signals/outbox.py), which are not cancelled: a
        # loop closed under one leaves its connection to a finalizer that prints a traceback.
        deadline = loop.time() + TASKS_S
        while pending:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError
            loop.run_until_complete(asyncio.wait(pending, timeout=left))
            pending = _pending(loop)
    except (TimeoutError, asyncio.CancelledError):
        log.warning("%d tasks did not stop in time", len(pending))
        if stopped:
            hard_exit(stop.status)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            if not stopped:
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _pending(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks(loop) if not t.done()]


def _busy_threads() -> bool:
    return any(
        t.is_alive() and not t.daemon and t is not threading.main_thread()
        for t in threading.enumerate()
    )
