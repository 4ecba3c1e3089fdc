"""What every CLI command shares: open the service, run one action, turn errors into one line.

A user error prints ``error: <message>`` and exits 2; a data-source failure prints that the source
is unavailable and exits 1; the service is closed either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import typer
from rich.console import Console

from bot import lifecycle
from bot.redact import scrub
from engine.config import Settings
from engine.errors import FaceUnavailable, SourceError, StorageUnavailable, UserError

if TYPE_CHECKING:
    from engine.service import MoonbotService


class Closable(Protocol):
    async def close(self) -> None: ...


S = TypeVar("S", bound=Closable)
T = TypeVar("T")

console = Console()


def say(line: str) -> None:
    """One line to the terminal, with any secret the settings hold removed (``bot.redact``)."""
    console.print(scrub(line), markup=False, highlight=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    say(f"error: {message}")
    raise typer.Exit(2)


def run_coro(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` (``bot.lifecycle.run``: Ctrl-C exits 130, SIGTERM 0, within seconds) with
    moonbot's errors as one line and an exit code."""
    try:
        return lifecycle.run(coro)
    except lifecycle.Stopped as exc:
        raise typer.Exit(exc.status) from None
    except FaceUnavailable as exc:
        say(f"error: {exc}")
        raise typer.Exit(1) from None
    except UserError as exc:
        fail(str(exc))
    except SourceError as exc:
        say(f"error: data source unavailable: {exc}")
        raise typer.Exit(1) from None
    except StorageUnavailable as exc:
        say(f"error: {exc}")
        raise typer.Exit(1) from None
    except OSError as exc:  # a file the command writes: disk full, read-only directory
        where = f" ({exc.filename})" if exc.filename else ""
        say(f"error: {exc.strerror or exc}{where}")
        raise typer.Exit(1) from None


async def open_moonbot(settings: Settings) -> MoonbotService:
    from engine.service import MoonbotService  # the engine loads when a command needs it

    return await MoonbotService.open(settings)


def run_with(
    open_service: Callable[[Settings], Awaitable[S]], action: Callable[[S], Awaitable[T]]
) -> T:
    """Open the service from the environment's settings, run ``action`` on it, close it."""

    async def main() -> T:
        service = await open_service(Settings())
        try:
            return await action(service)
        finally:
            await service.close()

    return run_coro(main())
