"""The schema's Alembic migrations, run in code: every start and ``moonbot db upgrade``.

Revisions live in ``versions/`` (``0001`` is the schema before migrations); there is no
alembic.ini. ``upgrade`` runs on one connection inside its caller's transaction, under a lock
that makes concurrent starts wait for each other (PostgreSQL: an advisory transaction lock;
SQLite: ``BEGIN IMMEDIATE``), so two processes starting at once never both create a table.
A database that an earlier moonbot made with ``create_all`` (tables, no ``alembic_version``) is
adopted by the baseline revision, which adds what such a database may lack.

A new column: change ``engine.storage.models``, then write its revision (DEVELOPERS.md); the
test ``test_migrations`` fails while the models and the head revision differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

HERE = Path(__file__).parent
VERSION_TABLE = "alembic_version"
# The advisory lock id of moonbot's migrations: b"moonbot" read as a big-endian integer.
LOCK_KEY = int.from_bytes(b"moonbot", "big")
SQLITE_LOCK_WAIT_MS = 60_000


class SchemaTooOld(Exception):
    """A table an earlier moonbot made lacks a column a migration cannot add (the message says
    which); ``Database.upgrade`` turns it into one line."""


@dataclass(frozen=True, slots=True)
class SchemaUpgrade:
    """What ``upgrade`` did: the revision before (None: an empty or pre-migration database)
    and after, and whether it adopted tables an earlier moonbot had made."""

    before: str | None
    after: str | None
    adopted: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str | None:
    """The newest revision in the repository."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(connection: sa.Connection) -> str | None:
    """The database's revision (None: no ``alembic_version`` yet)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: sa.Connection, target: str = "head") -> SchemaUpgrade:
    """Migrate the database to ``target``, in the caller's transaction."""
    config = alembic_config(connection)
    ScriptDirectory.from_config(config).get_current_head()  # read the revisions before locking
    lock(connection)
    before = current(connection)
    tables = set(sa.inspect(connection).get_table_names()) - {VERSION_TABLE}
    command.upgrade(config, target)
    return SchemaUpgrade(before, current(connection), adopted=before is None and bool(tables))


def lock(connection: sa.Connection) -> None:
    """Hold the migration lock until the connection's transaction ends."""
    from engine.storage import db

    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite opens no transaction for DDL by itself: take the write lock now, waiting up
        # to a minute for another process's migration, then back to the usual busy timeout.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_MS}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.exec_driver_sql(f"PRAGMA busy_timeout={db.SQLITE_BUSY_MS}")


def drop_version_table(connection: sa.Connection) -> None:
    connection.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
