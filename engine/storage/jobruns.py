"""The scheduled jobs' last runs, kept in the app state (key ``job:<name>``, a JSON object), so
that a process other than ``moonbot run`` (the dashboard) can show them. Written after each run
of a job, one small upsert; read by the dashboard through the facade."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from engine.storage.db import Database, insert_ignore
from engine.storage.models import AppState

PREFIX = "job:"


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def _ts(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


async def record_run(
    db: Database,
    name: str,
    *,
    last_run: datetime | None,
    last_result: str | None,
    ok: bool | None,
    next_run: datetime | None,
    recorded_at: datetime,
) -> None:
    value = json.dumps(
        {
            "last_run": _iso(last_run),
            "last_result": last_result,
            "ok": ok,
            "next_run": _iso(next_run),
            "recorded_at": _iso(recorded_at),
        }
    )
    async with db.session() as session:
        row = await session.get(AppState, PREFIX + name, with_for_update=True)
        if row is None:  # two schedulers on one database: the first insert stays
            await insert_ignore(session, AppState, [{"key": PREFIX + name, "value": value}])
        else:
            row.value = value
            session.add(row)


async def recorded_runs(db: Database) -> dict[str, dict[str, Any]]:
    """Each job's last recorded run: last_run, last_result, ok, next_run, recorded_at."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(AppState).where(col(AppState.key).startswith(PREFIX)).order_by(AppState.key)
            )
        ).all()
    runs: dict[str, dict[str, Any]] = {}
    for row in rows:
        raw = json.loads(row.value)
        runs[row.key.removeprefix(PREFIX)] = {
            "last_run": _ts(raw.get("last_run")),
            "last_result": raw.get("last_result"),
            "ok": raw.get("ok"),
            "next_run": _ts(raw.get("next_run")),
            "recorded_at": _ts(raw.get("recorded_at")),
        }
    return runs
