"""``moonbot db upgrade``, as a user runs it (a real process), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.storage import migrations

REPO = Path(__file__).resolve().parents[2]


def _moonbot(tmp_path: Path, url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOONBOT_")}
    env.update(PYTHONPATH=str(REPO), MOONBOT_DATA_DIR=str(tmp_path / "data"))
    if url is not None:
        env["MOONBOT_DATABASE_URL"] = url
    command = [sys.executable, "-c", "from bot.cli import main; main()", *args]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_db_upgrade_makes_the_schema_then_has_nothing_to_do(
    tmp_path: Path, db_url: str, backend: str
) -> None:
    url = None if backend == "sqlite" else db_url  # SQLite: the data dir's own file
    head = migrations.head()
    first = _moonbot(tmp_path, url, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Database ") and first.stdout.count("\n") == 1
    assert first.stdout.endswith(f": schema (none) -> {head}\n")
    again = _moonbot(tmp_path, url, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert again.stdout.endswith(f": schema {head}, the newest\n")
    password = make_url(db_url).password
    assert not password or password not in first.stdout + again.stdout
    if backend == "sqlite":
        assert (tmp_path / "data" / "moonbot.db").is_file()


def test_db_upgrade_without_a_server_is_one_line(tmp_path: Path) -> None:
    # Port 1 on the loopback: nothing listens there (tcpmux, long unassigned in practice).
    done = _moonbot(tmp_path, "postgresql+asyncpg://moonbot@127.0.0.1:1/moonbot", "db", "upgrade")
    assert done.returncode == 1
    assert done.stdout.startswith("error: cannot reach the database server: ")
    assert "Traceback" not in done.stdout + done.stderr
