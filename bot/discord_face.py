"""The Discord face: a ``discord.Client`` whose slash commands are generated from ``COMMANDS``.

Each command gets one string option per ``Arg`` (named for Discord: ``wallet|name`` becomes
``wallet_or_name``) and a callback that defers at once, answers through ``dispatch`` and sends
the ``Reply`` as embeds with escaped text, the chart attached as a file. Every send passes
``AllowedMentions.none()`` (the client default too), so nothing a token name says can ping.
Failures go through the tree's ``on_error`` and reach the user as one line.

The command set is pushed to Discord only when it changes: a hash of the tree's payload is kept
in ``data_dir/discord_commands.sha256``. Alerts go out through any ``Messageable`` (a channel via
the client's REST session) or a ``discord.Webhook`` (``Webhook.from_url(url, session=...)``);
to a channel, each carries its alert's key as an enforced nonce, so a resend after a crash does
not post it twice (webhooks have no such key).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import logging
import re
import shlex
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot import format as fmt
from bot.commands import COMMANDS, Arg, Command, Reply, check, dispatch
from bot.render import discord_markdown
from engine.config import Settings
from engine.errors import FaceUnavailable, OutcomeUnknown
from engine.service import MoonbotService
from engine.views import AlertView

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
FAILED = "something went wrong on our side; the error was logged"
CHART_NAME = "chart.png"
STAMP_NAME = "discord_commands.sha256"
COLOUR = discord.Colour(0xF5C542)
DESCRIPTION_LIMIT = 100  # command and option descriptions
NONCE_LIMIT = 25  # characters
FILES_LIMIT = 10  # attachments and embeds per message
FOOTER_LIMIT = 2048  # embed footer text
# An answer ready this fast is sent without deferring (Discord allows 3 s for the first answer);
# a slower one is deferred and followed up (STYLE.md: defer anything slower than ~1 s).
ANSWER_AT_ONCE_S = 1.0

Target = discord.abc.Messageable | discord.Webhook
SlashCommand = app_commands.Command[Any, ..., None]


@dataclass(frozen=True, slots=True)
class DiscordAccess:
    """Who may run admin commands: listed users, or members holding a listed role."""

    admin_user_ids: frozenset[int] = field(default_factory=frozenset)
    admin_role_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def from_ids(
        cls, user_ids: Collection[str | int], role_ids: Collection[str | int] = ()
    ) -> DiscordAccess:
        def ints(ids: Collection[str | int]) -> frozenset[int]:
            return frozenset(int(i) for i in ids if str(i).strip().isdigit())

        return cls(ints(user_ids), ints(role_ids))

    def is_admin(self, user: discord.User | discord.Member) -> bool:
        if user.id in self.admin_user_ids:
            return True
        # Member.roles resolves through the guild cache, which the `guilds` intent fills.
        roles = user.roles if isinstance(user, discord.Member) else []
        return any(role.id in self.admin_role_ids for role in roles)


def option_name(arg: Arg) -> str:
    """A Discord option name (lowercase, 1-32 of [a-z0-9_-]) that is also a Python identifier."""
    name = re.sub(r"[^a-z0-9_]", "_", arg.name.lower().replace("|", "_or_"))
    if not name.isidentifier():
        name = f"arg_{name}"
    return name[:32]


def command_line(command: Command, values: Sequence[str]) -> str:
    """The line ``dispatch`` reads: each option value stays one argument, whatever it holds."""
    return " ".join([f"/{command.name}", *(shlex.quote(v) for v in values)])


def make_command(command: Command, service: MoonbotService, access: DiscordAccess) -> SlashCommand:
    """One slash command for one table entry: typed string options described by their ``Arg``."""
    names = [option_name(a) for a in command.args]

    async def callback(interaction: discord.Interaction, **values: str | None) -> None:
        line = command_line(command, [v for n in names if (v := values.get(n)) is not None])
        is_admin = access.is_admin(interaction.user)
        refused = check(line, is_admin=is_admin)
        if isinstance(refused, Reply):  # a refusal, before any deferral: the asker only sees it
            await send_refusal(interaction, refused)
            return
        answer = asyncio.ensure_future(
            dispatch(service, line, is_admin=is_admin, channel=f"{CHANNEL}{interaction.channel_id}")
        )
        # A quick answer that is an error (bad mint, unknown KOL) goes to the asker only; a
        # deferral decides the visibility of the first follow-up, so defer only when needed.
        done, _ = await asyncio.wait({answer}, timeout=ANSWER_AT_ONCE_S)
        if answer in done and answer.result().error:
            await send_refusal(interaction, answer.result())
            return
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True)
        await send_reply(interaction.followup, await answer)

    # discord.py reads the options from the callback's signature: give it one per Arg.
    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "interaction",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=discord.Interaction,
            ),
            *(
                inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=str)
                if a.required
                else inspect.Parameter(
                    n,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=str | None,
                    default=None,
                )
                for n, a in zip(names, command.args, strict=True)
            ),
        ]
    )
    described = app_commands.describe(
        **{n: a.help[:DESCRIPTION_LIMIT] for n, a in zip(names, command.args, strict=True)}
    )(callback)
    help_text = command.help + (" (admin)" if command.admin else "")
    return app_commands.Command(
        name=command.name, description=help_text[:DESCRIPTION_LIMIT], callback=described
    )


class MoonbotTree(app_commands.CommandTree[discord.Client]):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.name if interaction.command else "?"
        log.error("discord: /%s failed", name, exc_info=error)
        await say_one_line(interaction, FAILED)


def build_tree(
    client: discord.Client, service: MoonbotService, access: DiscordAccess
) -> MoonbotTree:
    tree = MoonbotTree(client)
    for command in COMMANDS:
        tree.add_command(make_command(command, service, access))
    return tree


async def say_one_line(interaction: discord.Interaction, text: str) -> None:
    """Answer with one line, as a follow-up if the interaction was already answered."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException:
        log.warning("discord: could not tell the user about the error", exc_info=True)


async def send_refusal(interaction: discord.Interaction, reply: Reply) -> None:
    """An error or refusal as the interaction's own answer, ephemeral (only the asker sees it),
    escaped like any reply; a refusal is short: the first chunk is all of it."""
    embed = discord.Embed(description=discord_markdown(reply.text)[0], colour=COLOUR)
    await interaction.response.send_message(
        embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def send_reply(
    target: Target, reply: Reply, *, title: bool | None = None, key: str | None = None
) -> None:
    """A ``Reply`` as one embed per chunk (escaped, under 4,096), the chart on the last one.

    ``title`` bolds the first line; by default only a reply of several lines has a title. With
    ``key``, each message to a channel carries a nonce made from it (see ``part_nonce``).
    """
    bold = "\n" in reply.text if title is None else title
    embeds = [
        discord.Embed(description=chunk, colour=COLOUR)
        for chunk in discord_markdown(reply.text, title=bold)
    ]
    charts = []
    for path, caption in reply.charts:
        if path.is_file():
            charts.append((path, caption))
        else:
            log.warning("discord: chart %s is missing; sent the rest only", path.name)
    chart = None
    if charts:  # the first chart on the last text embed, its caption as the footer
        path, caption = charts[0]
        embeds[-1].set_image(url=f"attachment://{CHART_NAME}")
        embeds[-1].set_footer(text=caption[:FOOTER_LIMIT])
        chart = discord.File(path, filename=CHART_NAME)
    for part, embed in enumerate(embeds):
        nonce = None if key is None else part_nonce(key, part)
        await _send(target, embed, chart if part == len(embeds) - 1 else None, nonce)
    for start in range(1, len(charts), FILES_LIMIT):  # the others: several attachments a message
        group = charts[start : start + FILES_LIMIT]
        files = [
            discord.File(p, filename=f"chart-{start + i}.png") for i, (p, _) in enumerate(group)
        ]
        shown = [
            discord.Embed(description=discord_markdown(c)[0], colour=COLOUR).set_image(
                url=f"attachment://{f.filename}"
            )
            for f, (_, c) in zip(files, group, strict=True)
        ]
        await target.send(embeds=shown, files=files, allowed_mentions=NO_MENTIONS)


def part_nonce(key: str, part: int) -> str:
    """The nonce of message ``part`` of a reply: the key, then the key and the part number
    (Discord takes at most 25 characters)."""
    nonce = key if part == 0 else f"{key}-{part}"
    if len(nonce) > NONCE_LIMIT:
        raise ValueError(f"nonce {nonce!r} is longer than Discord's {NONCE_LIMIT} characters")
    return nonce


async def _send(
    target: Target, embed: discord.Embed, chart: discord.File | None, nonce: str | None
) -> None:
    """One message. To a channel, ``nonce`` goes with ``enforce_nonce`` (discord.py adds it to
    any nonce): if this bot created a message with that nonce in the last few minutes, Discord
    returns that message and creates none. Webhooks (alert webhooks, interaction follow-ups) have
    no such check, Discord ignores a nonce there, so a webhook send is not idempotent."""
    message: dict[str, Any] = {"embed": embed, "allowed_mentions": NO_MENTIONS}
    if chart is not None:
        message["file"] = chart
    if nonce is not None and not isinstance(target, discord.Webhook):
        message["nonce"] = nonce
    await target.send(**message)


async def send_alert(target: Target, view: AlertView) -> None:
    """One alert, formatted by ``bot.format.alert``, to a channel or a webhook, with the alert's
    key as nonce: in a channel, a send retried after a crash within Discord's few-minute window
    creates no second message. Past that window, or through a webhook, the second copy opens
    with ``fmt.MAY_REPEAT``."""
    await send_reply(target, Reply(fmt.alert(view)), title=True, key=view.key)


CHANNEL = "discord:"


async def deliver_alerts(service: MoonbotService, resolve: Callable[[int], Target]) -> int:
    """The Discord alert sender: each pending alert of a "discord:<channel id>" channel to the
    target ``resolve`` gives for that id (a channel of the client, or a webhook); failed sends
    are retried with backoff by the engine."""

    async def send(view: AlertView) -> None:
        try:
            await send_alert(resolve(int(view.channel.removeprefix(CHANNEL))), view)
        except TimeoutError as exc:  # asyncio's and aiohttp's timeouts
            raise OutcomeUnknown(f"Discord did not answer in time: {exc}") from exc

    return (await service.deliver_alerts(CHANNEL, send)).sent


def command_hash(tree: app_commands.CommandTree[Any], application_id: int | None) -> str:
    """What Discord would be sent, hashed: a new command, option or description changes it."""
    payload = [c.to_dict(tree) for c in tree.get_commands()]
    blob = json.dumps({"application_id": application_id, "commands": payload}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


async def sync_if_changed(
    tree: app_commands.CommandTree[Any],
    stamp: Path,
    *,
    application_id: int | None,
    guild: discord.abc.Snowflake | None = None,
) -> bool:
    """Sync the tree (globally, or to one guild for quick testing) unless the stamp file says
    this exact command set was synced before; returns whether it synced."""
    digest = command_hash(tree, application_id)
    if guild is not None:
        digest = hashlib.sha256(f"{digest}:{guild.id}".encode()).hexdigest()
    if _read_stamp(stamp) == digest:
        log.info("discord: command set unchanged, not syncing")
        return False
    if guild is not None:
        tree.copy_global_to(guild=guild)
    synced = await tree.sync(guild=guild)
    _write_stamp(stamp, digest)
    log.info("discord: synced %d commands", len(synced))
    return True


def _read_stamp(stamp: Path) -> str | None:
    return stamp.read_text().strip() if stamp.is_file() else None


def _write_stamp(stamp: Path, digest: str) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")


class MoonbotClient(discord.Client):
    """The bot: the command tree, synced in ``setup_hook`` (after login, before the gateway)."""

    def __init__(
        self,
        service: MoonbotService,
        *,
        access: DiscordAccess,
        stamp: Path,
        guild_id: int | None = None,
    ) -> None:
        # moonbot never joins voice: no start-up warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # guild and role cache for admin roles; no privileged intents
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS)
        self.tree = build_tree(self, service, access)
        self.stamp = stamp
        self.guild_id = guild_id
        self.synced: bool | None = None
        self.gateway: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        guild = None if self.guild_id is None else discord.Object(id=self.guild_id)
        self.synced = await sync_if_changed(
            self.tree, self.stamp, application_id=self.application_id, guild=guild
        )


async def start_discord(
    service: MoonbotService,
    settings: Settings,
    *,
    admin_role_ids: Collection[str | int] = (),
    guild_id: int | None = None,
) -> MoonbotClient:
    """Log in (which syncs the commands if they changed) and connect to the gateway in the
    background; returns the client (stop it with ``stop_discord``)."""
    if settings.discord_token is None or not settings.discord_token.get_secret_value():
        raise ValueError("MOONBOT_DISCORD_TOKEN is not set")
    client = MoonbotClient(
        service,
        access=DiscordAccess.from_ids(settings.admin_user_ids, admin_role_ids),
        stamp=settings.data_dir / STAMP_NAME,
        guild_id=guild_id,
    )
    try:
        await client.login(settings.discord_token.get_secret_value())
    except (discord.DiscordException, OSError) as exc:
        await client.close()
        raise face_failure(exc) from None
    except BaseException:
        await client.close()
        raise
    client.gateway = asyncio.create_task(client.connect(), name="discord-gateway")
    client.gateway.add_done_callback(_log_gateway_end)
    return client


def face_failure(exc: BaseException, *, lost: bool = False) -> FaceUnavailable:
    """One line for a Discord face that could not start (or, ``lost``, whose gateway connection
    ended for good): what failed and what to do, never the token."""
    if isinstance(exc, discord.LoginFailure):
        why = "Discord rejected MOONBOT_DISCORD_TOKEN: reset the bot token in the Developer Portal"
    elif isinstance(exc, discord.PrivilegedIntentsRequired):
        why = "Discord refused the gateway intents: enable them for the bot in the Developer Portal"
    elif isinstance(exc, discord.Forbidden):
        why = "missing permission: invite the bot with the bot and applications.commands scopes"
    elif isinstance(exc, discord.HTTPException):
        why = f"Discord answered HTTP {exc.status}: try again later"
    elif isinstance(exc, OSError | discord.GatewayNotFound | discord.ConnectionClosed):
        why = "cannot reach Discord: check the network"
    else:
        why = f"the client failed ({type(exc).__name__})"
    what = "lost its connection" if lost else "could not start"
    return FaceUnavailable(f"discord {what}: {why} (or unset the token to run without Discord)")


def _log_gateway_end(task: asyncio.Task[None]) -> None:
    """The gateway task ended for good (discord.py reconnects by itself otherwise): one line."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("%s", face_failure(exc, lost=True))


async def stop_discord(client: MoonbotClient) -> None:
    await client.close()
    if client.gateway is not None:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await client.gateway
