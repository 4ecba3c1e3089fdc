"""The command table: each command declared once (name, help, arguments, admin flag, handler).

Every face — console, Discord, Telegram — is generated from ``COMMANDS`` and answers through
``dispatch``, which turns any failure into one clear line: a user error shows its message, a data
source failure says the source is unavailable, anything else is logged and reported generically.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot import format as fmt
from engine.errors import SourceError, UserError
from engine.service import MoonbotService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    image: Path | None = None


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    help: str


Handler = Callable[[MoonbotService, list[str]], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    handler: Handler
    args: tuple[Arg, ...] = field(default_factory=tuple)
    admin: bool = False

    @property
    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(f"<{a.name}>" for a in self.args)])


async def _predict(service: MoonbotService, args: list[str]) -> Reply:
    return Reply(fmt.prediction(await service.predict(args[0])))


async def _kol(service: MoonbotService, args: list[str]) -> Reply:
    return Reply(fmt.kol(await service.kol(" ".join(args))))


async def _insights(service: MoonbotService, args: list[str]) -> Reply:
    report = await service.insights()
    return Reply(fmt.insights(report), report.chart_path)


async def _retrain(service: MoonbotService, args: list[str]) -> Reply:
    return Reply(fmt.train_report(await service.retrain()))


async def _status(service: MoonbotService, args: list[str]) -> Reply:
    return Reply(fmt.status(await service.status()))


async def _help(service: MoonbotService, args: list[str]) -> Reply:
    return Reply(help_text())


COMMANDS: tuple[Command, ...] = (
    Command(
        "predict",
        "Outcome odds, conviction and top reasons for a token",
        _predict,
        (Arg("mint", "the token's mint address"),),
    ),
    Command(
        "kol",
        "A KOL's record: win rate, 3x rate, hold time, Diamond Hand score",
        _kol,
        (Arg("wallet|name", "the KOL's wallet address or name"),),
    ),
    Command(
        "insights", "What drives outcomes: top features and winning/losing patterns", _insights
    ),
    Command(
        "retrain",
        "Train a new model; promote it only if it beats the champion",
        _retrain,
        admin=True,
    ),
    Command("status", "Data freshness, counts and the current model", _status),
    Command("help", "This list", _help),
)
BY_NAME = {c.name: c for c in COMMANDS}


def help_text() -> str:
    lines = ["moonbot commands:"]
    for c in COMMANDS:
        lines.append(f"  {c.usage} — {c.help}" + (" (admin)" if c.admin else ""))
    return "\n".join(lines)


async def dispatch(service: MoonbotService, text: str, *, is_admin: bool = False) -> Reply:
    """Answer one command line ("/predict <mint>") with one Reply, never an exception."""
    try:
        parts = shlex.split(text.strip())
    except ValueError:
        parts = text.strip().split()
    if not parts or not parts[0].startswith("/"):
        return Reply("commands start with /: try /help")
    name = parts[0][1:].split("@", 1)[0].lower()
    command = BY_NAME.get(name)
    if command is None:
        return Reply(f"unknown command /{fmt.clean(name, 30)}: try /help")
    args = parts[1:]
    if len(args) < len(command.args):
        return Reply(f"missing argument: usage {command.usage}")
    if command.args and len(args) > len(command.args) and command.name != "kol":
        return Reply(f"too many arguments: usage {command.usage}")
    if command.admin and not is_admin:
        return Reply(f"/{command.name} is for admins only")
    try:
        return await command.handler(service, args)
    except UserError as exc:
        return Reply(str(exc))
    except SourceError:
        log.exception("data source failed during /%s", command.name)
        return Reply("the data source is unavailable right now; try again in a minute")
    except Exception:
        log.exception("command /%s failed", command.name)
        return Reply(f"/{command.name} failed on our side; the error was logged")
