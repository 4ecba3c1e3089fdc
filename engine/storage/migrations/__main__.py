"""``python -m engine.storage.migrations revision "MESSAGE"``: write the next revision (0002, …)
from what the models have that the head revision lacks (Alembic's autogenerate, against a
scratch SQLite database at head). Read it and edit it before committing: autogenerate names
moonbot's column types by import (``engine.storage.models.RawAmount``); a revision keeps its
own frozen types instead, as 0001 does, and PostgreSQL and SQLite must both run it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from engine.storage import migrations


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "revision":
        sys.stderr.write('usage: python -m engine.storage.migrations revision "MESSAGE"\n')
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        engine = sa.create_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        with engine.begin() as conn:
            migrations.upgrade(conn)
            config = migrations.alembic_config(conn)
            number = len(list(ScriptDirectory.from_config(config).walk_revisions())) + 1
            command.revision(config, argv[1], autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
