"""The log file (issue 15): data_dir/logs/moonbot.log, rotated, text or JSON lines; the HTTP
libraries' per-request lines stay out even with -v; secrets stay out."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import CHATTY, setup_logging
from engine.config import Settings

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"  # the shape of Telegram's documented example


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in CHATTY}
    hooks = sys.excepthook, threading.excepthook
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
    sys.excepthook, threading.excepthook = hooks


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_text_file_in_the_data_dir_and_nothing_before_a_line(tmp_path: Path) -> None:
    path = setup_logging(_settings(tmp_path))
    assert path == tmp_path / "logs" / "moonbot.log"
    assert not (tmp_path / "logs").exists()  # nothing logged yet: no folder, no file
    logging.getLogger("engine.tracking.tracker").info("poll: %d new trades", 12)
    logging.getLogger("engine.tracking.tracker").debug("not kept: below INFO")
    _flush()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(" INFO engine.tracking.tracker: poll: 12 new trades")


def test_json_lines(tmp_path: Path) -> None:
    path = setup_logging(_settings(tmp_path, log_json=True))
    log = logging.getLogger("bot.jobs")
    log.warning("job %s failed", "retrain", extra={"job": "retrain", "attempt": 2})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("with a traceback")
    _flush()
    first, second = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "bot.jobs"
    assert first["message"] == "job retrain failed"
    assert (first["job"], first["attempt"]) == ("retrain", 2)
    assert first["ts"].endswith("+00:00")  # UTC
    assert second["message"] == "with a traceback" and "ValueError: boom" in second["exc"]


def test_rotation_keeps_the_configured_number_of_files(tmp_path: Path) -> None:
    path = setup_logging(_settings(tmp_path, log_file_bytes=10_000, log_file_backups=2))
    log = logging.getLogger("engine.sim")
    for i in range(400):  # about 40 kB of lines
        log.info("line %04d %s", i, "x" * 60)
    _flush()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["moonbot.log", "moonbot.log.1", "moonbot.log.2"]
    assert all(p.stat().st_size <= 10_000 for p in path.parent.iterdir())
    assert "line 0399" in path.read_text(encoding="utf-8")  # the newest lines are in the live file


def test_verbose_does_not_log_every_http_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup_logging(_settings(tmp_path), verbose=True)
    # httpx logs each request at INFO ("HTTP Request: POST ... "HTTP/1.1 200 OK""), websockets
    # each frame at DEBUG; both stay out, moonbot's own INFO lines go in
    logging.getLogger("httpx").info('HTTP Request: POST https://rpc.example/ "HTTP/1.1 200 OK"')
    logging.getLogger("websockets.client").info("< TEXT '{...}'")
    logging.getLogger("aiohttp.access").info("GET / 200")
    logging.getLogger("engine.sources.solana.source").info("read 3 wallets")
    logging.getLogger("httpx").warning("a warning still shows")
    _flush()
    err = capsys.readouterr().err
    text = path.read_text(encoding="utf-8")
    for shown in (err, text):
        assert "HTTP Request" not in shown and "TEXT" not in shown and "GET / 200" not in shown
        assert "read 3 wallets" in shown and "a warning still shows" in shown


def test_without_verbose_stderr_has_warnings_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup_logging(_settings(tmp_path))
    logging.getLogger("engine.service").info("an info line")
    logging.getLogger("engine.service").warning("a warning line")
    _flush()
    err = capsys.readouterr().err
    assert "a warning line" in err and "an info line" not in err
    assert "an info line" in path.read_text(encoding="utf-8")  # the file keeps INFO


def test_secrets_stay_out_of_the_file(tmp_path: Path) -> None:
    path = setup_logging(_settings(tmp_path, telegram_token=TOKEN, dashboard_token="dash-s3cret"))
    log = logging.getLogger("telegram.ext")
    log.warning("POST https://api.telegram.org/bot%s/getMe failed", TOKEN)
    logging.getLogger("aiohttp.server").error("GET /?token=dash-s3cret failed")
    try:
        raise RuntimeError(f"url https://api.telegram.org/bot{TOKEN}/sendMessage")
    except RuntimeError:
        log.exception("send failed")
    _flush()
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text and "ABC-DEF1234ghIkl" not in text and "dash-s3cret" not in text
    assert text.count("<redacted>") >= 3


def test_setting_up_twice_keeps_one_set_of_handlers(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    setup_logging(_settings(tmp_path))
    setup_logging(_settings(tmp_path), verbose=True)
    assert len(root.handlers) == before + 2  # stderr and the file, once
