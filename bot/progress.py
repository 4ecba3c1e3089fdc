"""Progress bars for long commands (backfill, train, backtest, report, batch predict).

The engine reports progress through a plain callback, ``progress(done, total)``, and knows
nothing of rich; ``Bars.hook(description)`` makes such a callback that draws one rich bar.
Bars are off with ``--quiet`` and when the output is not a terminal (a pipe, a log file, CI):
then a hook does nothing at all. The engine may call a hook from a worker thread (training runs
in ``asyncio.to_thread``); rich's ``Progress`` takes its own lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

ProgressHook = Callable[[int, int], None]

_quiet = False


def configure(*, quiet: bool) -> None:
    """``moonbot --quiet``: no bars for the rest of the process."""
    global _quiet
    _quiet = quiet


def enabled(console: Console) -> bool:
    return not _quiet and console.is_terminal


class Bars:
    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def hook(self, description: str) -> ProgressHook:
        """A ``progress(done, total)`` callback drawing the bar ``description``; the total may
        change between calls (a training phase that stops early)."""

        def report(done: int, total: int) -> None:
            if self._progress is None:
                return
            task = self._tasks.get(description)
            if task is None:
                task = self._tasks[description] = self._progress.add_task(description, total=total)
            self._progress.update(task, completed=min(done, total), total=total)

        return report


@contextlib.contextmanager
def bars(console: Console) -> Iterator[Bars]:
    """A group of bars on ``console`` for one command (none when disabled)."""
    if not enabled(console):
        yield Bars(None)
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield Bars(progress)
