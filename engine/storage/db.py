"""The async database: engine, sessions, schema migrations, idempotent bulk inserts."""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel, col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import StorageUnavailable
from engine.storage import locks
from engine.storage.models import AppState  # importing the models registers every table

if TYPE_CHECKING:
    from engine.storage.migrations import SchemaUpgrade

SQLITE_BUSY_MS = 5_000  # how long a write waits for another connection's (ms)
WAL_ATTEMPTS = 5

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")  # first: the others may wait on it
    for attempt in range(1, WAL_ATTEMPTS + 1):
        # Two connections turning a new file to WAL at once: SQLite refuses one at once rather
        # than deadlock (no busy wait). Its next try waits for the other's switch, then finds WAL.
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except Exception as exc:  # the driver's OperationalError
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS:
                raise
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class Database:
    """One async engine and its session factory. ``create()`` (``upgrade()``) brings the schema
    to the newest migration (``engine.storage.migrations``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            path = sa.engine.make_url(url).database
            if path and path.startswith("file:"):  # an SQLite URI filename: its path follows
                path = path.removeprefix("file:")
            if path and path != ":memory:":
                try:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageUnavailable(
                        f"cannot create the data directory {Path(path).parent}: {exc.strerror}"
                    ) from None
        self.engine: AsyncEngine = create_async_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    async def create(self) -> None:
        """Make the schema, or bring it up to date: ``upgrade()``."""
        await self.upgrade()

    async def upgrade(self) -> SchemaUpgrade:
        """Run the migrations this database has not had (none: nothing changes), in one
        transaction, under a lock that concurrent starts wait on."""
        from engine.storage import migrations

        try:
            with _storage_faults():
                async with self.engine.begin() as conn:
                    done = await conn.run_sync(migrations.upgrade)
        except migrations.SchemaTooOld as exc:
            raise StorageUnavailable(f"cannot upgrade the database: {exc}") from None
        if done.changed:
            log.info(
                "database schema: %s -> %s%s",
                done.before or "(new)",
                done.after,
                " (tables of an earlier moonbot adopted)" if done.adopted else "",
            )
        return done

    async def revision(self) -> str | None:
        """The schema revision the database is at (None: not made yet)."""
        from engine.storage import migrations

        with _storage_faults():
            async with self.engine.connect() as conn:
                return await conn.run_sync(migrations.current)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits at the end of the block, or rolls back on error. The
        database refusing (locked, read-only, full) is ``StorageUnavailable``, one line."""
        with _storage_faults():
            async with self._sessions() as session, session.begin():
                yield session

    async def count(self, table: type[SQLModel], *where: Any) -> int:
        """How many rows of ``table`` (matching every ``where`` clause)."""
        async with self.session() as session:
            query = select(func.count()).select_from(table).where(*where)
            return int((await session.exec(query)).one())

    async def remember(self, key: str, value: str) -> None:
        """Store ``key`` in the app state unless it is there already (the first value stays)."""
        async with self.session() as session:  # two processes at once: one row, no error
            await insert_ignore(session, AppState, [{"key": key, "value": value}])

    async def recall(self, key: str) -> str | None:
        """The app state's value of ``key`` (None: not set)."""
        async with self.session() as session:
            row = await session.get(AppState, key)
            return row.value if row is not None else None

    async def mark_source(self, source: str) -> None:
        """Record which source fills this database: the first one, except that a real source
        (anything but "sim") replaces "sim": a database that has held live data stays marked
        live, and the demo's reset refuses it (``engine.sim.demo``)."""
        async with self.session() as session:  # two statements, each atomic on its own
            await insert_ignore(session, AppState, [{"key": "source", "value": source}])
            if source != "sim":
                await session.exec(
                    update(AppState)
                    .where(col(AppState.key) == "source", col(AppState.value) == "sim")
                    .values(value=source)
                )

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Hold the lock ``name`` that every process on this database shares, for the block:
        PostgreSQL, a session advisory lock on a connection of its own; SQLite, a ``flock`` on a
        file beside the database (``engine.storage.locks``). Either is dropped by the system when
        its holder dies; an in-memory SQLite database has one process and no lock."""
        if self.engine.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")
            key -= 1 << 63  # a signed bigint
            with _storage_faults():
                conn = await self.engine.connect()
            try:
                with _storage_faults():
                    await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
                    await conn.commit()  # a session lock: it outlives the transaction
                yield
            finally:
                try:  # a pooled connection keeps a session lock: unlock before it goes back
                    await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await conn.commit()
                except Exception:  # broken: dropped, and the server ends the session and lock
                    await conn.invalidate()
                finally:
                    await conn.close()
            return
        path = self._sqlite_path()
        if path is None:
            yield
            return
        async with locks.held(path.with_name(f"{path.name}.{name}.lock")):
            yield

    def _sqlite_path(self) -> Path | None:
        path = sa.engine.make_url(self.url).database
        if path and path.startswith("file:"):  # an SQLite URI filename: its path follows
            path = path.removeprefix("file:").partition("?")[0]
        return Path(path) if path and path != ":memory:" else None

    async def drop_all(self) -> None:
        """Drop every moonbot table and the migration mark (the demo's reset; ``create`` builds
        them again). On PostgreSQL a table another connection holds makes it wait 15 s at most,
        then fail as ``StorageUnavailable``, instead of waiting forever."""
        from engine.storage import migrations

        with _storage_faults():
            async with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    await conn.execute(sa.text("SET LOCAL lock_timeout = '15s'"))
                await conn.run_sync(SQLModel.metadata.drop_all)
                await conn.run_sync(migrations.drop_version_table)

    async def dispose(self) -> None:
        await self.engine.dispose()


@contextmanager
def _storage_faults() -> Iterator[None]:
    """The driver's "database is locked / readonly / disk is full", and a server that cannot be
    reached or refuses the login (no such database or role: asyncpg's errors arrive as a plain
    ``DBAPIError``), as one line, no SQL in it. Integrity and data errors stay what they are."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise StorageUnavailable(f"the database is unavailable: {_cause(exc)}") from None
    except sa.exc.DBAPIError as exc:
        if type(exc) is not sa.exc.DBAPIError:
            raise
        raise StorageUnavailable(f"the database is unavailable: {_cause(exc)}") from None
    except (ConnectionError, socket.gaierror) as exc:
        raise StorageUnavailable(f"cannot reach the database server: {exc}") from None


def _cause(exc: sa.exc.DBAPIError) -> str:
    return " ".join(str(exc.orig if exc.orig is not None else exc).split())[:200]


async def insert_ignore(
    session: AsyncSession,
    table: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    *,
    returning: Any = None,
) -> list[Any]:
    """INSERT rows, skipping those that hit a unique key. With ``returning`` (a column), return
    that column of the rows actually inserted."""
    if not rows:
        return []
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).on_conflict_do_nothing()
    if returning is None:
        await session.exec(stmt, params=list(rows))
        return []
    result = await session.exec(stmt.returning(returning), params=list(rows))
    return list(result.scalars().all())
