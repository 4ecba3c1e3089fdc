"""The console face: `moonbot ask "/predict <mint>"` and the interactive `moonbot chat`."""

from __future__ import annotations

import asyncio
import os
import stat
import sys

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot import format as fmt
from bot.commands import Reply, dispatch
from engine.service import MoonbotService
from engine.views import AlertView


def show(console: Console, reply: Reply, title: str | None = None) -> None:
    body = Text(reply.text)  # Text, not markup: a token name cannot inject rich markup
    for path, caption in reply.charts:  # the console runs on the server: the file is here
        body.append(f"\n[chart] {caption}: {path}")
    console.print(Panel(body, title=title, title_align="left", expand=False))


async def deliver_alerts(service: MoonbotService, console: Console) -> int:
    """The console's alert sender: print the pending alerts of the "console" channel."""

    async def send(view: AlertView) -> None:
        show(console, Reply(fmt.alert(view)), title="moonbot alert")

    return (await service.deliver_alerts("console", send)).sent


async def ask(service: MoonbotService, console: Console, line: str) -> Reply:
    reply = await dispatch(service, line, is_admin=True)
    show(console, reply, title=line.strip()[:60])
    return reply


class LineReader:
    """Lines from a file descriptor (stdin) read without blocking the event loop, so a signal
    (Ctrl-C at the prompt) is handled at once instead of after the next Enter.

    A terminal, pipe or socket is watched with ``loop.add_reader``; a regular file (``chat <
    commands.txt``), which is always readable, is read directly. Bytes that are not UTF-8 stay
    as lone surrogates, which ``dispatch`` refuses with one line."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.eof = False

    async def readline(self) -> str | None:
        """The next line without its newline, or None at end of input."""
        while b"\n" not in self.buffer and not self.eof:
            await self._readable()
            chunk = os.read(self.fd, 65536)
            self.eof = not chunk
            self.buffer += chunk
        if not self.buffer:
            return None
        line, sep, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "surrogateescape").removesuffix("\r")

    async def _readable(self) -> None:
        if stat.S_ISREG(os.fstat(self.fd).st_mode):
            return
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self.fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(self.fd)


async def chat(service: MoonbotService, console: Console, reader: LineReader | None = None) -> None:
    """The interactive loop: a prompt, one command a line, until /quit or end of input."""
    reader = reader or LineReader(sys.stdin.fileno())
    console.print("moonbot chat: type /help, or /quit to leave")
    while True:
        console.print(Text("> ", style="bold"), end="")
        console.file.flush()
        line = await reader.readline()
        if line is None:
            console.print()
            return
        if line.strip() in {"/quit", "/exit"}:
            return
        if line.strip():
            await ask(service, console, line)
