"""The async database: engine, sessions, schema creation, idempotent bulk inserts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import StorageUnavailable
from engine.storage.models import AppState  # importing the models registers every table


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _add_nullable_columns(conn: sa.Connection) -> None:
    """Add the nullable columns that a table made by an earlier version lacks (``create_all``
    makes missing tables only). There are no migrations: a new non-null column still needs one."""
    inspector = sa.inspect(conn)
    quote = conn.dialect.identifier_preparer
    for table in SQLModel.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable or column.primary_key:
                continue
            kind = column.type.compile(dialect=conn.dialect)
            # Names and type come from our own metadata, not from input.
            conn.execute(
                sa.text(
                    f"ALTER TABLE {quote.format_table(table)} "  # noqa: S608
                    f"ADD COLUMN {quote.format_column(column)} {kind}"
                )
            )


class Database:
    """One async engine and its session factory. ``create()`` makes the missing tables, and the
    missing nullable columns of tables made by an earlier version."""

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
        with _storage_faults():
            async with self.engine.begin() as conn:
                await conn.run_sync(SQLModel.metadata.create_all)
                await conn.run_sync(_add_nullable_columns)

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
        async with self.session() as session:
            if await session.get(AppState, key) is None:
                session.add(AppState(key=key, value=value))

    async def drop_all(self) -> None:
        """Drop every moonbot table (the demo's reset; ``create`` builds them again)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)

    async def dispose(self) -> None:
        await self.engine.dispose()


@contextmanager
def _storage_faults() -> Iterator[None]:
    """The driver's "database is locked / readonly / disk is full" as one line, no SQL in it."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        cause = " ".join(str(exc.orig if exc.orig is not None else exc).split())[:200]
        raise StorageUnavailable(f"the database is unavailable: {cause}") from None


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
