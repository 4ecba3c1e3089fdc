"""The `moonbot` command line."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console

from engine.config import Settings
from engine.errors import UserError

app = typer.Typer(help="moonbot: learns what makes Solana memecoins moon.", no_args_is_help=True)
console = Console()


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress")] = False,
) -> None:
    _setup_logging(verbose)


@app.command()
def demo() -> None:
    """Run the whole loop on the embedded simulated market (offline, a few minutes)."""
    from bot.demo import run_demo

    _run(run_demo(Settings(), console))


@app.command()
def config() -> None:
    """Show the effective configuration (secrets redacted)."""
    for key, value in Settings().redacted().items():
        console.print(f"{key} = {value}", markup=False, highlight=False)


@app.command(name="ask")
def ask_command(
    line: Annotated[str, typer.Argument(help='a command, e.g. "/predict <mint>"')],
) -> None:
    """Answer one chat command from the console."""
    from bot.console import ask

    _with_service(lambda service: ask(service, console, line))


@app.command()
def chat() -> None:
    """An interactive console chat with moonbot."""
    from bot.console import chat as chat_loop

    _with_service(lambda service: chat_loop(service, console))


@app.command()
def train() -> None:
    """Train a candidate on the labeled signals; promote it if it beats the champion."""
    from bot.console import ask

    _with_service(lambda service: ask(service, console, "/retrain"))


def _with_service(action):  # type: ignore[no-untyped-def]
    async def run() -> None:
        from engine.service import MoonbotService

        service = await MoonbotService.open(Settings())
        try:
            await action(service)
        finally:
            await service.close()

    _run(run())


def _run(coro) -> None:  # type: ignore[no-untyped-def]
    try:
        asyncio.run(coro)
    except UserError as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def main() -> None:
    app()
