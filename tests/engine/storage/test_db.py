"""The database refusing (read-only, a data directory that cannot exist) is one line naming the
cause, a ``StorageUnavailable``, never a driver traceback with SQL in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import StorageUnavailable
from engine.storage import Database, Kol


async def test_a_read_only_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "moonbot.db"
    writable = Database(f"sqlite+aiosqlite:///{path}")
    await writable.create()
    await writable.dispose()
    # SQLite's read-only open mode (root ignores file permissions; this it cannot ignore).
    read_only = Database(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        assert await read_only.count(Kol) == 0  # reading works
        with pytest.raises(StorageUnavailable) as refused:
            async with read_only.session() as session:
                session.add(Kol(wallet="W" * 43, name="w", tier="regular"))
        message = str(refused.value)
        assert message == "the database is unavailable: attempt to write a readonly database"
    finally:
        await read_only.dispose()


def test_a_data_directory_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(
        StorageUnavailable, match="cannot create the data directory .*: Not a directory"
    ):
        Database(f"sqlite+aiosqlite:///{blocker / 'data' / 'moonbot.db'}")


async def test_a_postgresql_database_that_does_not_exist_is_one_line(
    db_url: str, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("a server's refusal: PostgreSQL only")
    from sqlalchemy.engine import make_url

    missing = make_url(db_url).set(database="moonbot_no_such_database")
    db = Database(missing.render_as_string(hide_password=False))
    try:
        with pytest.raises(StorageUnavailable) as refused:
            await db.upgrade()
        assert str(refused.value) == (
            'the database is unavailable: database "moonbot_no_such_database" does not exist'
        )
    finally:
        await db.dispose()
