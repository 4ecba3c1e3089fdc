"""The console face: `moonbot ask "/predict <mint>"` and the interactive `moonbot chat`."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot import format as fmt
from bot.commands import Reply, dispatch
from engine.service import MoonbotService
from engine.views import AlertView


def show(console: Console, reply: Reply, title: str | None = None) -> None:
    body = Text(reply.text)  # Text, not markup: a token name cannot inject rich markup
    if reply.image is not None:
        body.append(f"\n[chart] {reply.image}")
    console.print(Panel(body, title=title, title_align="left", expand=False))


async def deliver_alerts(service: MoonbotService, console: Console) -> int:
    """The console's alert sender: print the pending alerts of the "console" channel."""

    async def send(view: AlertView) -> None:
        show(console, Reply(fmt.alert(view)), title="moonbot alert")

    return (await service.deliver_alerts("console", send)).sent


async def ask(service: MoonbotService, console: Console, line: str) -> None:
    show(console, await dispatch(service, line, is_admin=True), title=line.strip()[:60])


async def chat(service: MoonbotService, console: Console) -> None:
    console.print("moonbot chat: type /help, or /quit to leave")
    while True:
        try:
            line = console.input("[bold]> [/bold]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if line.strip() in {"/quit", "/exit"}:
            return
        if line.strip():
            await ask(service, console, line)
