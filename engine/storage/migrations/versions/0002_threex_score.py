"""The 3x+ net's score stored with a signal's and an alert's score (issue 13).

Revision ID: 0002
Revises: 0001

``signal.threex`` and ``alert.threex``: the promoted 3x+ net's calibrated P(3x+), whether it
passed its threshold, the threshold and the net's version, as JSON; NULL on rows scored without a
promoted net (every row before this revision), which answers show as "no 3x+ net then".
Nullable, no default: adding them keeps every row as it is on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("signal", "alert")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in TABLES:
        # a database the baseline adopted from ``create_all`` of a newer moonbot may have it
        if "threex" not in {c["name"] for c in inspector.get_columns(table)}:
            op.add_column(table, sa.Column("threex", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:  # SQLite drops a column by a table copy
            batch.drop_column("threex")
