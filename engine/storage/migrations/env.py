"""Alembic's environment for moonbot: migrations run on the connection that
``engine.storage.migrations.upgrade`` hands over (``config.attributes["connection"]``), inside
its transaction. There is no alembic.ini and no offline mode: ``moonbot db upgrade`` (and every
start) runs them, and ``alembic revision`` is run by a developer as DEVELOPERS.md says."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import engine.storage.models  # noqa: F401  (registers every table on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "moonbot's migrations run through `moonbot db upgrade` (engine.storage.migrations)"
    )
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    compare_type=True,
    # SQLite cannot ALTER most things: a revision that changes a column uses batch mode.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
