"""The command table: each command declared once (name, help, arguments, admin flag, handler).

Every face — console, Discord, Telegram — is generated from ``COMMANDS`` and answers through
``dispatch``, which turns any failure into one clear line: a user error shows its message, a data
source failure says the source is unavailable, anything else is logged and reported generically.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot import format as fmt
from engine.errors import SourceError, StorageUnavailable, UserError
from engine.service import MoonbotService, Progress
from engine.views import WeeklyReport

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer: text, an optional chart, and whether it is an error or a refusal
    (Discord shows those to the asker only; ``moonbot ask`` exits non-zero on them)."""

    text: str
    image: Path | None = None
    error: bool = False
    caption: str | None = None  # what ``image`` shows, in a few words
    more: tuple[tuple[Path, str], ...] = ()  # further charts with their captions

    @property
    def charts(self) -> list[tuple[Path, str]]:
        """Every chart of the reply with its caption, the first one first."""
        first = [] if self.image is None else [(self.image, self.caption or "moonbot chart")]
        return first + list(self.more)


# What each chart of the weekly report shows (engine.learning.report names them).
CHART_CAPTIONS = {
    "feature_importance": "What moves the odds: mean |SHAP| per feature",
    "patterns": "Winning and losing patterns: share reaching 2x, 95% intervals",
    "kol_leaderboard": "KOL leaderboard: 30-day 3x+ rate, 95% intervals",
    "shap_summary": "Each feature's push toward or away from 10x+ (SHAP)",
    "calibration": "Calibration: predicted vs observed share reaching 10x+",
    "backtest": "Walk-forward backtest by week: the model's alerts vs all signals",
    # the five questions (engine.learning.questions.CHART_NAMES): rates per band, 95% intervals
    "question_holders": "Top-10 holder share: 2x+ and rug rates by band, 95% intervals",
    "question_kols": "KOLs it takes for 10x: 10x+ rate by KOL and elite count, 95% intervals",
    "question_narratives": "Narratives: 2x+ rate with and without one, 95% intervals",
    "question_volume": "Volume before moonshots: 10x+ rate by volume band, 95% intervals",
    "question_100x": "What marks a 100x token: the best combination vs all, 95% intervals",
}


def caption_of(name: str) -> str:
    return CHART_CAPTIONS.get(name, name.replace("_", " "))


def weekly_reply(weekly: WeeklyReport, text: str) -> Reply:
    """The weekly post: its text and every chart of the report, each with its caption."""
    charts = sorted(weekly.charts.items(), key=lambda kv: kv[0] != "feature_importance")
    if not charts:
        return Reply(text)
    (first_name, first), *rest = charts
    return Reply(
        text,
        first,
        caption=caption_of(first_name),
        more=tuple((path, caption_of(name)) for name, path in rest),
    )


def refuse(text: str) -> Reply:
    """An error or refusal: bad input, not allowed, something failed."""
    return Reply(text, error=True)


REPORT_TEXT = "report.txt"


async def write_weekly_report(
    service: MoonbotService, progress: Progress | None = None
) -> tuple[WeeklyReport, str]:
    """This week's report (charts, ``insights.json``) and its text: written next to the charts
    as ``report.txt``, in the words ``/insights`` uses, with what changed since last week, the
    week's alerts and the latest backtest, and returned for printing or posting."""
    weekly = await service.report(progress)
    # the week's backtest of the alert rule (saved beside the charts), for the post's table
    backtest = await service.backtest()
    weekly = replace(weekly, charts={**weekly.charts, "backtest": backtest.chart})
    text = fmt.weekly(weekly.insights, await service.weekly_extras(weekly))
    (weekly.directory / REPORT_TEXT).write_text(text + "\n", encoding="utf-8")
    return weekly, text


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    help: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class Ctx:
    """Who asks, from where: ``channel`` is "console", "telegram:<chat id>", "discord:<channel id>"."""

    channel: str = "console"
    is_admin: bool = False


Handler = Callable[[MoonbotService, list[str], Ctx], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    handler: Handler
    args: tuple[Arg, ...] = field(default_factory=tuple)
    admin: bool = False

    @property
    def usage(self) -> str:
        shown = (f"<{a.name}>" if a.required else f"[{a.name}]" for a in self.args)
        return " ".join([f"/{self.name}", *shown])


async def _predict(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    return Reply(fmt.prediction(await service.predict(args[0])))


async def _kol(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    return Reply(fmt.kol(await service.kol(" ".join(args))))


async def _insights(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    report = await service.insights()
    questions = tuple((path, caption_of(name)) for name, path in report.question_charts.items())
    return Reply(  # no model yet: no importance chart, the questions' charts alone
        fmt.insights(report),
        report.chart_path,
        caption=caption_of("feature_importance"),
        more=questions,
    )


async def _retrain(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    return Reply(fmt.train_report(await service.retrain()))


async def _status(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    return Reply(fmt.status(await service.status()))


async def _help(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    return Reply(help_text())


TIERS = ("elite", "top", "regular")


async def _track(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    action = args[0].lower()
    if action == "list":
        kols = await service.track_list()
        if not kols:
            return Reply("no tracked wallets yet: an admin can /track add <wallet> [name] [tier]")
        return Reply("\n".join(fmt.tracked(k) for k in kols))
    if action not in ("add", "remove"):
        return refuse(
            "usage: /track add <wallet> [name] [tier] · /track remove <wallet> · /track list"
        )
    if not ctx.is_admin:
        return refuse(f"/track {action} is for admins only")
    if len(args) < 2:
        return refuse(f"missing argument: usage /track {action} <wallet>")
    if action == "remove":
        kol = await service.track_remove(args[1])
        return Reply(
            f"stopped tracking {fmt.clean(kol.name)} {kol.wallet} (its {kol.trades} trades are kept)"
        )
    tier = args[3].lower() if len(args) > 3 else "regular"
    change = await service.track_add(args[1], args[2] if len(args) > 2 else None, tier)
    return Reply(
        f"{change.action} {fmt.clean(change.kol.name)} [{change.kol.tier}] {change.kol.wallet}"
    )


def _has_surrogates(text: str) -> bool:
    """Bytes that were not UTF-8 (a terminal's argv decodes them to lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_threshold(text: str) -> bool:
    """A whole number in ASCII digits (the engine checks 0-100): ``str.isdigit`` also accepts
    "²", which ``int`` refuses, and ``int`` refuses numbers of 4,300+ digits."""
    return len(text) <= 6 and text.isascii() and text.isdigit()


async def _performance(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    if args and not _is_threshold(args[0]):
        return refuse("usage: /performance [days], e.g. /performance 30")
    windows = [int(args[0])] if args else [7, 30]
    return Reply("\n\n".join([fmt.performance(await service.performance(d)) for d in windows]))


async def _kols(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    return Reply(fmt.leaderboard(await service.leaderboard(10)))


def _followups_line(on: bool) -> str:
    """The channel's follow-up setting, in words (``/alerts status``, ``/alerts followups``)."""
    if not on:
        return (
            "follow-ups off (/alerts followups on: one message each time an alerted token "
            "passes 2x, 5x and 10x)"
        )
    return (
        "follow-ups on: one message each time an alerted token passes 2x, 5x and 10x its "
        "market cap at the alert (within the labels' horizon)"
    )


async def _alerts(service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    action = args[0].lower()
    if action == "status":  # anyone may see the settings; changing them is for admins
        ctx = Ctx(ctx.channel, True)
    if not ctx.is_admin:
        return refuse("/alerts is for admins only")
    if action == "status":
        state = await service.alert_settings(ctx.channel)
        return Reply(
            f"alerts {'on' if state.enabled else 'off'} for this channel "
            f"(conviction threshold {state.threshold}; an alert needs a Diamond Hand KOL's buy "
            f"and conviction at or above it)\n{_followups_line(state.followups)}"
        )
    if action == "followups":
        if len(args) != 2 or args[1].lower() not in ("on", "off"):
            return refuse("usage: /alerts followups on · /alerts followups off")
        state = await service.set_followups(ctx.channel, args[1].lower() == "on")
        return Reply(_followups_line(state.followups))
    if action in ("on", "off"):
        state = await service.set_alerts(ctx.channel, enabled=action == "on")
    elif action == "threshold" and len(args) == 2 and _is_threshold(args[1]):
        state = await service.set_alerts(ctx.channel, threshold=int(args[1]))
    else:
        return refuse(
            "usage: /alerts status · /alerts on · /alerts off · /alerts threshold <0-100> · "
            "/alerts followups on|off"
        )
    return Reply(
        f"alerts {'on' if state.enabled else 'off'} for this channel "
        f"(conviction threshold {state.threshold})"
    )


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
    Command(
        "track",
        "Tracked KOL wallets: list, or add and remove (admins)",
        _track,
        (
            Arg("action", "add, remove or list"),
            Arg("wallet", "the KOL's wallet address", required=False),
            Arg("name", "a display name (add)", required=False),
            Arg("tier", "elite, top or regular (add)", required=False),
        ),
    ),
    Command(
        "alerts",
        "Alerts in this channel: status, on, off, the conviction threshold, follow-ups",
        _alerts,
        (
            Arg("setting", "status, on, off, threshold or followups"),
            Arg("value", "the threshold, 0-100; on or off (followups)", required=False),
        ),
    ),
    Command(
        "performance",
        "How past alerts did: 2x and 10x shares, rugs, best and worst, per channel",
        _performance,
        (Arg("days", "the window in days (default: 7 and 30)", required=False),),
    ),
    Command("kols", "The KOL leaderboard by Diamond Hand score", _kols),
    Command("status", "Data freshness, counts and the current model", _status),
    Command("help", "This list", _help),
)
BY_NAME = {c.name: c for c in COMMANDS}


def help_text() -> str:
    lines = ["moonbot commands:"]
    for c in COMMANDS:
        lines.append(f"  {c.usage} — {c.help}" + (" (admin)" if c.admin else ""))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Checked:
    """A command line that passed the checks needing no service: the command and its args."""

    command: Command
    args: list[str]


def check(text: str, *, is_admin: bool = False) -> Checked | Reply:
    """The checks of a command line that need nothing but the line (syntax, arguments, admin
    flag): a refusal, at once, or what to run. Discord answers a refusal before deferring, so
    it can be shown to the asker only."""
    if not text.isprintable() and _has_surrogates(text):
        return refuse("that is not valid UTF-8 text")
    try:
        parts = shlex.split(text.strip())
    except ValueError:
        parts = text.strip().split()
    if not parts or not parts[0].startswith("/"):
        return refuse("commands start with /: try /help")
    name = parts[0][1:].split("@", 1)[0].lower()
    command = BY_NAME.get(name)
    if command is None:
        return refuse(f"unknown command /{fmt.clean(name, 30)}: try /help")
    args = parts[1:]
    if len(args) < sum(a.required for a in command.args):
        return refuse(f"missing argument: usage {command.usage}")
    if command.args and len(args) > len(command.args) and command.name != "kol":
        return refuse(f"too many arguments: usage {command.usage}")
    if command.admin and not is_admin:
        return refuse(f"/{command.name} is for admins only")
    return Checked(command, args)


async def dispatch(
    service: MoonbotService, text: str, *, is_admin: bool = False, channel: str = "console"
) -> Reply:
    """Answer one command line ("/predict <mint>") with one Reply, never an exception."""
    checked = check(text, is_admin=is_admin)
    if isinstance(checked, Reply):
        return checked
    return await _answer(checked.command, service, checked.args, Ctx(channel, is_admin))


async def _answer(command: Command, service: MoonbotService, args: list[str], ctx: Ctx) -> Reply:
    """Run a checked command; every failure becomes one line (details in the log)."""
    try:
        return await command.handler(service, args, ctx)
    except UserError as exc:
        return refuse(str(exc))
    except SourceError:
        log.exception("data source failed during /%s", command.name)
        return refuse("the data source is unavailable right now; try again in a minute")
    except StorageUnavailable as exc:
        log.error("/%s: %s", command.name, exc)
        return refuse(f"{exc}; try again later")
    except OSError as exc:  # a report or chart that could not be written: full or read-only disk
        log.error("/%s could not write its files: %s", command.name, exc)
        return refuse(f"/{command.name} could not write its files: {exc.strerror or exc}")
    except Exception:
        log.exception("command /%s failed", command.name)
        return refuse(f"/{command.name} failed on our side; the error was logged")
