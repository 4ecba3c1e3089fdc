"""Where moonbot's log lines go: stderr (warnings; ``-v`` adds progress) and a rotating file in
the data directory, ``<data_dir>/logs/moonbot.log`` (INFO and above, always), as text or, with
``MOONBOT_LOG_JSON=true``, one JSON object a line.

The HTTP and WebSocket libraries log every request at INFO (httpx: "HTTP Request: POST …"), so
their loggers stay at WARNING even with ``-v``: a poll of 1,000 wallets is not 1,000 lines.
Every handler gets the secret scrubbing of ``bot.redact`` (a Bot API URL carries its token).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.config import Settings

LOG_FILE = Path("logs") / "moonbot.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log one line per request or frame at INFO/DEBUG.
CHATTY = (
    "httpx",
    "httpcore",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.server",
    "websockets",
    "discord.gateway",
    "discord.http",
    "telegram.ext.Updater",
    "apscheduler.executors.default",
    "apscheduler.scheduler",
    "urllib3",
    "alembic.runtime.plugins",  # one line per plugin at every start
)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per record: ts (UTC, ISO-8601), level, logger, message, and the
    traceback and any ``extra=`` fields when present."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, int | float | bool | None) else str(value)
        return json.dumps(line, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a test runner swaps it and
    closes its own), like logging's last-resort handler."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _LazyRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating file whose directory is made when the first line is written, so a command
    that logs nothing (``moonbot config``) leaves no trace in the data directory."""

    def _open(self):  # type: ignore[no-untyped-def]
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def log_path(settings: Settings) -> Path:
    return settings.data_dir / LOG_FILE


def setup_logging(settings: Settings, *, verbose: bool = False, debug: bool = False) -> Path:
    """Install moonbot's handlers on the root logger (replacing any earlier ones of ours) and
    return the log file's path. ``debug``: everything to stderr, the chatty libraries too."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_moonbot", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    stderr = _Stderr()
    stderr.setLevel(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    stderr.setFormatter(logging.Formatter(FORMAT))
    path = log_path(settings)
    file = _LazyRotatingFile(
        path,
        maxBytes=settings.log_file_bytes,
        backupCount=settings.log_file_backups,
        encoding="utf-8",
        delay=True,
    )
    file.setLevel(logging.INFO)
    file.setFormatter(JsonLines() if settings.log_json else logging.Formatter(FORMAT))
    for handler in (stderr, file):
        setattr(handler, "_moonbot", True)  # noqa: B010 (marks the handlers this module owns)
        root.addHandler(handler)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.WARNING)
    from bot.redact import protect

    protect(settings)
    return path
