"""The Telegram face: a python-telegram-bot ``Application`` generated from ``COMMANDS``.

One ``CommandHandler`` per command (plus ``/start``, which answers like ``/help``), every one
non-blocking, so a slow ``/retrain`` never keeps another user waiting. A handler only translates:
the message text goes to ``dispatch`` with the sender's admin flag, the ``Reply`` comes back as
escaped HTML split at Telegram's limit, and a chart as a photo. Chats outside the allowed set get
one line and nothing else; any failure reaches the user as one line and the log as a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    InputMediaPhoto,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import format as fmt
from bot.commands import COMMANDS, Reply, dispatch
from bot.render import telegram_html
from engine.config import Settings
from engine.errors import FaceUnavailable, OutcomeUnknown
from engine.service import MoonbotService
from engine.views import AlertView

log = logging.getLogger(__name__)

# Real Telegram unless a test (or a local Bot API server) says otherwise; PTB appends the token.
BOT_API_URL = "https://api.telegram.org/bot"
BOT_FILE_URL = "https://api.telegram.org/file/bot"
NOT_ALLOWED = "moonbot does not answer in this chat"
FAILED = "something went wrong on our side; the error was logged"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

TelegramApp = Application[Any, Any, Any, Any, Any, Any]
# The token is part of every Bot API URL: httpx logs each request URL at INFO and PTB logs the
# base URL at DEBUG. Records from these loggers have the token replaced before any handler.
LEAKY_LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot")


class _RedactTokens(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(token in message for token in self.tokens):
            for token in self.tokens:
                message = message.replace(token, "<telegram-token>")
            record.msg, record.args = message, None
        return True


_REDACT = _RedactTokens()


def redact_in_logs(token: str) -> None:
    """Keep ``token`` out of the log lines of httpx and PTB (idempotent)."""
    _REDACT.tokens.add(token)
    for name in LEAKY_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


class TelegramFace:
    """The handlers of one bot: who is admin, which chats are served, which service answers."""

    def __init__(
        self,
        service: MoonbotService,
        *,
        admin_user_ids: Collection[str | int] = (),
        allowed_chat_ids: Collection[int] | None = None,
    ) -> None:
        self.service = service
        self.admin_user_ids = frozenset(str(i) for i in admin_user_ids)
        self.allowed_chat_ids = None if allowed_chat_ids is None else frozenset(allowed_chat_ids)

    def is_admin(self, update: Update) -> bool:
        user = update.effective_user
        return user is not None and str(user.id) in self.admin_user_ids

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text:
            return
        if self.allowed_chat_ids is not None and chat.id not in self.allowed_chat_ids:
            log.info("telegram: ignoring a command from chat %s (not allowed)", chat.id)
            await context.bot.send_message(chat.id, NOT_ALLOWED)
            return
        text = message.text
        if text.split(maxsplit=1)[0].split("@", 1)[0].lower() == "/start":
            text = "/help"
        reply = await dispatch(
            self.service, text, is_admin=self.is_admin(update), channel=f"{CHANNEL}{chat.id}"
        )
        in_group = chat.type != ChatType.PRIVATE  # threaded, so the answer finds its asker
        await send_reply(
            context.bot, chat.id, reply, reply_to=message.message_id if in_group else None
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB's error handler: log the traceback, tell the user one line if there is a user."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: update %s failed", update_id, exc_info=context.error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        try:
            await context.bot.send_message(update.effective_chat.id, FAILED)
        except TelegramError:
            log.warning(
                "telegram: could not tell chat %s about the error", update.effective_chat.id
            )


def build_telegram(
    face: TelegramFace,
    token: str,
    *,
    base_url: str = BOT_API_URL,
    base_file_url: str = BOT_FILE_URL,
) -> TelegramApp:
    """The ``Application``: one non-blocking handler per command in ``COMMANDS``, plus ``/start``;
    in a private chat an unknown ``/command`` is answered too (in a group it may be another bot's)."""
    redact_in_logs(token)
    app: TelegramApp = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .job_queue(None)  # the scheduler runs jobs; the bot only answers
        .build()
    )
    for command in COMMANDS:
        app.add_handler(CommandHandler(command.name, face.on_command, block=False))
    app.add_handler(CommandHandler("start", face.on_command, block=False))
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, face.on_command, block=False)
    )
    app.add_error_handler(face.on_error, block=False)
    return app


def bot_commands() -> list[BotCommand]:
    """The menu Telegram shows for ``/``: the command table, in order."""
    return [BotCommand(c.name, (c.help + (" (admin)" if c.admin else ""))[:256]) for c in COMMANDS]


MEDIA_GROUP_LIMIT = 10  # sendMediaGroup takes 2-10 items (Bot API)
CAPTION_LIMIT = 1024  # a photo caption, after entities parsing (Bot API)


async def send_reply(
    bot: Bot,
    chat_id: int,
    reply: Reply,
    *,
    title: bool | None = None,
    reply_to: int | None = None,
) -> None:
    """Send a ``Reply``: HTML chunks under the limit, then its charts, captioned: one as a photo,
    several as albums (``sendMediaGroup``). With ``reply_to`` (a command in a group) every
    message is threaded to it (``reply_parameters``; sent anyway if that message is gone).

    ``title`` bolds the first line; by default only a reply of several lines has a title.
    """
    bold = "\n" in reply.text if title is None else title
    thread = (
        None
        if reply_to is None
        else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
    )
    for chunk in telegram_html(reply.text, title=bold):
        await bot.send_message(
            chat_id,
            chunk,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_parameters=thread,
        )
    charts = []
    for path, caption in reply.charts:
        if path.is_file():
            charts.append((path, fmt.clean(caption, CAPTION_LIMIT)))
        else:
            log.warning("telegram: chart %s is missing; sent the rest only", path.name)
    if len(charts) == 1:
        (path, caption), *_ = charts
        await bot.send_photo(chat_id, path, caption=caption, reply_parameters=thread)
        return
    for start in range(0, len(charts), MEDIA_GROUP_LIMIT):
        album = charts[start : start + MEDIA_GROUP_LIMIT]
        if len(album) == 1:  # a lone last photo: an album needs two
            await bot.send_photo(chat_id, album[0][0], caption=album[0][1], reply_parameters=thread)
            continue
        media = [InputMediaPhoto(path.read_bytes(), caption=caption) for path, caption in album]
        await bot.send_media_group(chat_id, media, reply_parameters=thread)


async def send_alert(bot: Bot, chat_id: int, view: AlertView) -> None:
    """One alert, formatted by ``bot.format.alert``, as bold-titled HTML."""
    await send_reply(bot, chat_id, Reply(fmt.alert(view)), title=True)


CHANNEL = "telegram:"


async def deliver_alerts(service: MoonbotService, bot: Bot) -> int:
    """The Telegram alert sender: each pending alert of a "telegram:<chat id>" channel to its
    chat (subscribed with /alerts on); failed sends are retried with backoff by the engine.

    Delivery is at least once. The Bot API takes no idempotency key (``random_id`` is not
    exposed to bots: tdlib/telegram-bot-api#126, #482), so an alert whose send was under way
    when the sender died (Telegram may have posted it, the database never heard) is sent again
    after a restart, opening with ``fmt.MAY_REPEAT``; so is the retry of a send that timed out
    (Telegram may have posted it before the answer was lost).
    """

    async def send(view: AlertView) -> None:
        try:
            await send_alert(bot, int(view.channel.removeprefix(CHANNEL)), view)
        except TimedOut as exc:
            raise OutcomeUnknown(f"Telegram did not answer in time: {exc}") from exc

    return (await service.deliver_alerts(CHANNEL, send)).sent


def file_url(base_url: str) -> str:
    """The Bot API's file URL beside ``base_url`` (``…/bot`` -> ``…/file/bot``), as
    api.telegram.org and a self-hosted telegram-bot-api server lay them out."""
    head, sep, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot" if sep else BOT_FILE_URL


def start_failure(exc: BaseException, base_url: str, *, lost: bool = False) -> FaceUnavailable:
    """One line for a Telegram face that could not start (or, ``lost``, whose polling failed):
    what failed and what to do. Never the token (PTB's ``InvalidToken`` quotes it in full) nor
    the Bot API URL's token part."""
    where = base_url.split("://", 1)[-1].split("/", 1)[0]
    if isinstance(exc, InvalidToken):
        why = "the Bot API rejected MOONBOT_TELEGRAM_TOKEN: copy the token again from @BotFather"
    elif isinstance(exc, Forbidden):
        why = "the bot is not allowed to do this (missing permission): check its rights"
    elif isinstance(exc, NetworkError | OSError):
        why = f"cannot reach the Bot API at {where}: check the network or MOONBOT_TELEGRAM_API_URL"
    else:
        why = f"the Bot API refused to start the bot ({type(exc).__name__})"
    if lost:
        return FaceUnavailable(f"telegram lost its connection, retrying: {why}")
    return FaceUnavailable(f"telegram: {why} (or unset the token to run without Telegram)")


async def start_telegram(
    service: MoonbotService,
    settings: Settings,
    *,
    allowed_chat_ids: Collection[int] | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    poll_timeout: float = 10.0,
) -> TelegramApp:
    """Build, initialize, register the command menu and start long polling; returns the running
    ``Application`` (stop it with ``stop_telegram``). The Bot API is ``base_url``, by default
    ``settings.telegram_api_url``. A start that fails raises ``FaceUnavailable`` (one line)."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        raise ValueError("MOONBOT_TELEGRAM_TOKEN is not set")
    base_url = base_url or settings.telegram_api_url
    face = TelegramFace(
        service, admin_user_ids=settings.admin_user_ids, allowed_chat_ids=allowed_chat_ids
    )
    app = build_telegram(
        face,
        settings.telegram_token.get_secret_value(),
        base_url=base_url,
        base_file_url=base_file_url or file_url(base_url),
    )
    try:
        await app.initialize()
        await app.bot.set_my_commands(bot_commands())
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            timeout=timedelta(seconds=poll_timeout),
            allowed_updates=["message"],
            # one line per failed poll instead of PTB's traceback (it retries by itself)
            error_callback=lambda exc: log.warning(
                "%s", start_failure(exc, base_url or BOT_API_URL, lost=True)
            ),
        )
    except (TelegramError, OSError) as exc:
        failure = start_failure(exc, base_url)
        log.debug("telegram: start failed: %s", type(exc).__name__)
        await stop_telegram(app)
        await app.bot.shutdown()  # the HTTP clients a failed getMe leaves open
        raise failure from None
    log.info("telegram: polling as @%s", app.bot.username)
    return app


async def stop_telegram(app: TelegramApp) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
