"""Baseline: the schema of moonbot before migrations (main at d63fb56, ``create_all``).

Revision ID: 0001
Revises: (none)

The tables are written out here, frozen: later changes to ``engine.storage.models`` never alter
what this revision does. On an empty database it creates them. On a database that an earlier
moonbot made with ``create_all`` (tables, no ``alembic_version``) it adopts what is there: it
creates the tables that are missing, adds the missing nullable columns and the missing indexes
(what the old start-up did), and refuses, naming them, columns it cannot add (a NOT NULL column
without a value for the rows already there).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.storage.migrations import SchemaTooOld

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# engine.storage.models.RawAmount: NUMERIC(40, 0) on PostgreSQL, decimal text on SQLite.
RAW = sa.String(40).with_variant(sa.Numeric(40, 0), "postgresql")
TS = sa.DateTime()  # UTCDateTime: naive UTC in the column

meta = sa.MetaData()


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _s(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _c(name: str, kind: Any, *, null: bool = False) -> sa.Column[Any]:
    return sa.Column(name, kind, nullable=null)


sa.Table("appstate", meta, sa.Column("key", sa.String, primary_key=True), _s("value"))
sa.Table(
    "kol",
    meta,
    sa.Column("wallet", sa.String(44), primary_key=True),
    _s("name"),
    _s("tier"),
    _c("added_at", TS),
    _s("cursor_signature", nullable=True),
    _c("active", sa.Boolean),
    sa.Index("ix_kol_name", "name"),
)
sa.Table(
    "marketcontext",
    meta,
    sa.Column("ts", TS, primary_key=True),
    _c("sol_price_usd", sa.Float),
    _c("sentiment", sa.Float, null=True),
)
_SNAPSHOT_FLOATS = (
    "liquidity_usd volume_5m volume_1h volume_6h volume_24h".split(),
    "price_change_5m price_change_1h price_change_24h".split(),
)
sa.Table(
    "marketsnapshot",
    meta,
    _s("mint"),
    _c("ts", TS),
    _c("price_usd", sa.Float),
    _c("mcap_usd", sa.Float),
    *(_c(n, sa.Float, null=True) for n in _SNAPSHOT_FLOATS[0]),
    *(_c(n, sa.Integer, null=True) for n in "buys_1h sells_1h buys_24h sells_24h".split()),
    *(_c(n, sa.Float, null=True) for n in _SNAPSHOT_FLOATS[1]),
    _c("holder_count", sa.Integer, null=True),
    *(_c(n, sa.Float, null=True) for n in "top1_pct top3_pct top10_pct".split()),
    *(_c(n, sa.Float, null=True) for n in "holder_gini holder_median_balance".split()),
    _c("top_holder_is_dev", sa.Boolean, null=True),
    _s("source", nullable=True),
    *(_c(n, sa.Float, null=True) for n in "price_sol liquidity_sol curve_progress".split()),
    _id(),
    sa.UniqueConstraint("mint", "ts", name="uq_snapshot"),
    sa.Index("ix_marketsnapshot_mint", "mint"),
)
sa.Table(
    "modelversion",
    meta,
    sa.Column("version", sa.String, primary_key=True),
    _s("kind"),
    _s("path"),
    _s("feature_hash"),
    _c("metrics", sa.JSON),
    _c("trained_at", TS),
    _c("n_samples", sa.Integer),
    _c("champion", sa.Boolean),
)
sa.Table(
    "position",
    meta,
    _id(),
    _s("wallet"),
    _s("mint"),
    _c("opened_at", TS),
    _c("closed_at", TS, null=True),
    _s("status"),
    _c("tokens_bought_raw", RAW),
    _c("tokens_sold_raw", RAW),
    *(_c(n, sa.Float) for n in "cost_sol proceeds_sol realized_pnl_sol".split()),
    _c("multiple", sa.Float, null=True),
    _c("peak_multiple", sa.Float, null=True),
    sa.UniqueConstraint("wallet", "mint", "opened_at", name="uq_position"),
    sa.Index("ix_position_mint", "mint"),
    sa.Index("ix_position_wallet", "wallet"),
)
sa.Table(
    "signal",
    meta,
    _id(),
    sa.Column("mint", sa.String, nullable=False, unique=True),
    _c("ts", TS),
    _s("trigger_wallet"),
    _c("features", sa.JSON),
    _c("entry_mcap", sa.Float, null=True),
    _c("rule_score", sa.Integer),
    _c("score", sa.Integer),
    _c("probabilities", sa.JSON, null=True),
    _s("model_version", nullable=True),
    _c("reasons", sa.JSON, null=True),
    _c("created_at", TS),
    sa.Index("ix_signal_ts", "ts"),
)
sa.Table(
    "subscription",
    meta,
    sa.Column("channel", sa.String, primary_key=True),
    _c("enabled", sa.Boolean),
    _c("threshold", sa.Integer),
    _c("created_at", TS),
)
sa.Table(
    "token",
    meta,
    sa.Column("mint", sa.String(44), primary_key=True),
    _s("symbol"),
    _s("name"),
    _c("created_at", TS),
    _s("creator"),
    _c("decimals", sa.Integer),
    _c("bundle_pct", sa.Float, null=True),
)
sa.Table(
    "trade",
    meta,
    _id(),
    _s("signature", 88),
    _s("wallet"),
    _s("mint"),
    _s("side"),
    _c("token_amount_raw", RAW),
    _c("decimals", sa.Integer),
    _c("token_amount", sa.Float),
    _c("sol_amount_lamports", RAW),
    _c("sol_amount", sa.Float),
    _c("price_sol", sa.Float),
    _c("block_time", TS),
    _c("slot", sa.BigInteger),
    _s("program"),
    _c("is_kol", sa.Boolean),
    _c("swap_index", sa.Integer),
    _s("venue"),
    _s("router", nullable=True),
    _s("quote_mint"),
    _c("quote_amount_raw", RAW, null=True),
    _c("sol_usd", sa.Float, null=True),
    *(
        _c(n, RAW)
        for n in (
            "venue_fee_raw",
            "network_fee_lamports",
            "priority_fee_lamports",
            "tip_lamports",
            "router_fee_lamports",
        )
    ),
    _c("rent_lamports", sa.BigInteger),
    sa.UniqueConstraint("signature", "wallet", "mint", "swap_index", name="uq_trade"),
    sa.Index("ix_trade_mint_time", "mint", "block_time"),
    sa.Index("ix_trade_wallet_time", "wallet", "block_time"),
)
sa.Table(
    "alert",
    meta,
    _id(),
    sa.Column("signal_id", sa.Integer, sa.ForeignKey("signal.id"), nullable=False),
    _s("channel"),
    _s("kol_wallet"),
    _c("buy_ts", TS),
    _c("dh_score", sa.Float, null=True),
    _c("rule_score", sa.Integer),
    _c("score", sa.Integer),
    _c("probabilities", sa.JSON, null=True),
    _c("reasons", sa.JSON, null=True),
    _s("model_version", nullable=True),
    _s("status"),
    _c("attempts", sa.Integer),
    *(_c(n, TS, null=True) for n in ("next_attempt_at", "attempt_started_at", "claimed_until")),
    _c("created_at", TS),
    _c("sent_at", TS, null=True),
    _s("last_error", nullable=True),
    sa.UniqueConstraint("signal_id", "channel", name="uq_alert"),
    sa.Index("ix_alert_signal_id", "signal_id"),
)
sa.Table(
    "outcome",
    meta,
    sa.Column("signal_id", sa.Integer, sa.ForeignKey("signal.id"), primary_key=True),
    _c("max_mcap", sa.Float),
    _c("max_roi", sa.Float),
    _c("time_to_peak_hours", sa.Float),
    _c("label", sa.Integer),
    _c("labeled_at", TS),
    _s("max_source", nullable=True),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in meta.sorted_tables:
        if table.name not in present:
            table.create(bind)
        else:
            _adopt(bind, table)


def _adopt(bind: sa.Connection, table: sa.Table) -> None:
    """Bring a table an earlier moonbot made up to this revision's (columns and indexes)."""
    inspector = sa.inspect(bind)
    columns = {c["name"] for c in inspector.get_columns(table.name)}
    missing = [c for c in table.columns if c.name not in columns]
    required = [c.name for c in missing if not c.nullable]
    if required:
        raise SchemaTooOld(
            f"table {table.name} was made by a moonbot too old to upgrade: it lacks "
            f"{', '.join(required)}"
        )
    for column in missing:
        op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(bind)


def downgrade() -> None:
    for table in reversed(meta.sorted_tables):
        table.drop(op.get_bind())
