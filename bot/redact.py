"""Secrets out of everything a process writes: log lines (tracebacks included), uncaught
exceptions, the one-line errors of the CLI.

``protect(settings)`` registers every secret the settings hold (bot tokens, the RPC URL and the
key inside it, the WebSocket URL, the webhook's auth header, a database password: see
``Settings.secret_values``) and puts a redacting formatter on every handler of the root logger,
so a record is scrubbed after it is formatted, whatever logger wrote it and at any level (a
Bot API URL holds the token; httpx logs every URL at INFO, python-telegram-bot its base URL at
DEBUG). ``sys.excepthook`` and ``threading.excepthook`` scrub uncaught tracebacks the same way.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType

from engine.config import Settings

MASK = "<redacted>"


class _Secrets:
    def __init__(self) -> None:
        self.values: list[str] = []

    def add(self, values: Iterable[str]) -> None:
        merged = set(self.values) | {v for v in values if len(v) >= 4}
        self.values = sorted(merged, key=len, reverse=True)  # a longer secret goes first, whole

    def scrub(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text


SECRETS = _Secrets()


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``<redacted>``."""
    return SECRETS.scrub(text)


class RedactingFormatter(logging.Formatter):
    """Formats like the formatter it wraps, then removes the secrets from the whole text
    (message, arguments, traceback, stack)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self.inner.format(record))


def _guard(handler: logging.Handler) -> None:
    if not isinstance(handler.formatter, RedactingFormatter):
        handler.setFormatter(RedactingFormatter(handler.formatter))


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(scrub(text))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    name = args.thread.name if args.thread is not None else "?"
    sys.stderr.write(scrub(f"Exception in thread {name}:\n{text}"))


def protect(settings: Settings) -> None:
    """Register the settings' secrets and scrub every log handler and uncaught traceback
    (idempotent; call again after adding a handler)."""
    SECRETS.add(settings.secret_values())
    root = logging.getLogger()
    for handler in root.handlers:
        _guard(handler)
    if logging.lastResort is not None:
        _guard(logging.lastResort)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
