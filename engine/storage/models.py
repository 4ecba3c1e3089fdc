"""The tables of DESIGN.md.

Unique keys make ingestion idempotent: a trade is (signature, wallet, mint, swap index), a snapshot
(mint, ts), a signal its mint (one signal per token), an alert (signal, channel). Timestamps are
stored as UTC and come back timezone-aware (``UTCDateTime``). Raw integer amounts sit beside
their float form, stored losslessly whatever their size (``RawAmount``).
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from engine.records import SnapshotRecord


class RawAmount(TypeDecorator[int]):
    """A raw token or lamport amount, lossless at any size a chain or a sum of them reaches.

    Solana amounts are u64 (up to 18,446,744,073,709,551,615; Token-2022 too), past the signed
    64-bit INTEGER of SQLite and BIGINT of PostgreSQL: NUMERIC(40, 0) on PostgreSQL, decimal text
    on SQLite (a TEXT column, so SQLite never turns a large value into a float). Negative values
    are refused. Nothing sorts or sums these columns in SQL; the float columns beside them do.
    """

    impl = sa.String(40)
    cache_ok = True
    MAX_DIGITS = 40

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(self.MAX_DIGITS, 0))
        return dialect.type_descriptor(sa.String(self.MAX_DIGITS))

    def process_bind_param(self, value: int | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if type(value) is not int or value < 0 or len(str(value)) > self.MAX_DIGITS:
            raise ValueError(f"a raw amount is a non-negative integer, not {value!r}")
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> int | None:
        return None if value is None else int(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _json(**kw: Any) -> Any:
    return Field(sa_type=sa.JSON, **kw)


def utcnow() -> datetime:
    return datetime.now(UTC)


def record_columns(name: str, record: type[Any], **columns: Any) -> Any:
    """A SQLModel (not a table) named ``name`` whose fields are the dataclass ``record``'s.

    Each field keeps the record's type and default; ``columns`` gives a field column options
    instead (``Field(index=True)``, ``_ts()``). A table that stores the record extends this class,
    so the field list is written once, in ``engine.records`` (which stays free of database imports
    and keeps its fast frozen slots dataclasses). Built at runtime, the class is ``Any`` to a type
    checker, so the table's class attributes for these columns (``MarketSnapshot.mcap_usd``) are
    ``Any``; the record itself is fully typed. The table's own columns (``id``) come after these.
    """
    if not is_dataclass(record):
        raise TypeError(f"{record!r} is not a dataclass")
    unknown = set(columns) - {f.name for f in fields(record)}
    if unknown:
        raise ValueError(f"{record.__name__} has no field {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(record)
    namespace: dict[str, Any] = {"__module__": __name__, "__annotations__": {}}
    for f in fields(record):
        namespace["__annotations__"][f.name] = hints[f.name]
        if f.name in columns:
            namespace[f.name] = columns[f.name]
        elif f.default is not MISSING:
            namespace[f.name] = f.default
    return types.new_class(name, (SQLModel,), exec_body=lambda ns: ns.update(namespace))


class Kol(SQLModel, table=True):
    wallet: str = Field(primary_key=True, max_length=44)
    name: str = Field(index=True)
    tier: str = Field(default="regular")
    added_at: datetime = _ts(default_factory=utcnow)
    cursor_signature: str | None = None  # newest signature already stored
    active: bool = True


class Token(SQLModel, table=True):
    mint: str = Field(primary_key=True, max_length=44)
    symbol: str = ""
    name: str = ""
    created_at: datetime = _ts()
    creator: str = ""
    decimals: int = 6
    bundle_pct: float | None = None


class Trade(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("signature", "wallet", "mint", "swap_index", name="uq_trade"),
        sa.Index("ix_trade_wallet_time", "wallet", "block_time"),
        sa.Index("ix_trade_mint_time", "mint", "block_time"),
    )
    id: int | None = Field(default=None, primary_key=True)
    signature: str = Field(max_length=88)
    wallet: str
    mint: str
    side: str
    token_amount_raw: int = Field(sa_type=RawAmount)
    decimals: int
    token_amount: float
    sol_amount_lamports: int = Field(sa_type=RawAmount)
    sol_amount: float
    price_sol: float
    block_time: datetime = _ts()
    slot: int = Field(sa_type=sa.BigInteger)
    program: str = "other"
    is_kol: bool = True  # False for token-creator trades (dev sells)
    # Issue 10 (see engine.records.TradeRecord); existing databases need a migration.
    swap_index: int = 0
    venue: str = "other"
    router: str | None = None
    quote_mint: str = "So11111111111111111111111111111111111111112"
    quote_amount_raw: int | None = Field(default=None, sa_type=RawAmount)
    sol_usd: float | None = None
    venue_fee_raw: int = Field(default=0, sa_type=RawAmount)
    network_fee_lamports: int = Field(default=0, sa_type=RawAmount)
    priority_fee_lamports: int = Field(default=0, sa_type=RawAmount)
    tip_lamports: int = Field(default=0, sa_type=RawAmount)
    router_fee_lamports: int = Field(default=0, sa_type=RawAmount)
    rent_lamports: int = Field(default=0, sa_type=sa.BigInteger)  # net: a refund is negative


class Position(SQLModel, table=True):
    """Derived from trades (engine.tracking.positions); rebuilt for a wallet when its trades change."""

    __table_args__ = (sa.UniqueConstraint("wallet", "mint", "opened_at", name="uq_position"),)
    id: int | None = Field(default=None, primary_key=True)
    wallet: str = Field(index=True)
    mint: str = Field(index=True)
    opened_at: datetime = _ts()
    closed_at: datetime | None = _ts(default=None)
    status: str = "open"
    tokens_bought_raw: int = Field(sa_type=RawAmount)
    tokens_sold_raw: int = Field(sa_type=RawAmount)
    cost_sol: float
    proceeds_sol: float
    realized_pnl_sol: float
    multiple: float | None = None
    peak_multiple: float | None = None


# The columns of a stored SnapshotRecord: its fields (one definition, engine.records).
SnapshotColumns: Any = record_columns(
    "SnapshotColumns", SnapshotRecord, mint=Field(index=True), ts=_ts()
)


class MarketSnapshot(SnapshotColumns, SQLModel, table=True):  # type: ignore[misc]  # base is Any
    """A ``SnapshotRecord`` as a row: the record's fields, plus the row id."""

    __table_args__ = (sa.UniqueConstraint("mint", "ts", name="uq_snapshot"),)
    id: int | None = Field(default=None, primary_key=True)


class MarketContext(SQLModel, table=True):
    ts: datetime = _ts(primary_key=True)
    sol_price_usd: float
    sentiment: float | None = None


class Signal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    mint: str = Field(unique=True)
    ts: datetime = _ts(index=True)
    trigger_wallet: str
    features: dict[str, float | None] = _json(default_factory=dict)
    entry_mcap: float | None = None
    rule_score: int = 0
    score: int = 0  # conviction: rule score + ML boost
    probabilities: list[float] | None = _json(default=None)
    model_version: str | None = None
    reasons: list[dict[str, Any]] | None = _json(default=None)
    created_at: datetime = _ts(default_factory=utcnow)
    # The promoted 3x+ net's score with the signal's (engine.signals.scoring.Score.threex_json):
    # {"p", "flag", "threshold", "version"}; None when no net was promoted then (revision 0002).
    threex: dict[str, Any] | None = _json(default=None)


class Outcome(SQLModel, table=True):
    signal_id: int = Field(primary_key=True, foreign_key="signal.id")
    max_mcap: float
    max_roi: float  # max_mcap / entry_mcap - 1
    time_to_peak_hours: float
    label: int
    labeled_at: datetime = _ts(default_factory=utcnow)
    # Where max_mcap was seen: "snapshot", "swap" or "candle" (engine.learning.labels); None on
    # rows labeled before the price path had sources.
    max_source: str | None = None


class Alert(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("signal_id", "channel", name="uq_alert"),)
    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="signal.id", index=True)
    channel: str
    kol_wallet: str  # the Diamond Hand KOL whose buy raised it
    buy_ts: datetime = _ts()
    dh_score: float | None = None
    # The token's score at that buy (live: features recomputed at the buy).
    rule_score: int = 0
    score: int = 0
    probabilities: list[float] | None = _json(default=None)
    reasons: list[dict[str, Any]] | None = _json(default=None)
    model_version: str | None = None
    threex: dict[str, Any] | None = _json(default=None)  # as Signal.threex, at this buy
    status: str = "pending"  # pending | sent | failed | skipped
    attempts: int = 0
    next_attempt_at: datetime | None = _ts(default=None)  # backoff after a failed send
    # Set just before a send and cleared when its outcome is recorded: still set on a pending row,
    # the sender died in the middle of that send, and the alert may have been delivered.
    attempt_started_at: datetime | None = _ts(default=None)
    # A sender's claim on this row: no other sender takes it before then (engine.signals.outbox).
    claimed_until: datetime | None = _ts(default=None)
    created_at: datetime = _ts(default_factory=utcnow)
    sent_at: datetime | None = _ts(default=None)
    last_error: str | None = None


class Subscription(SQLModel, table=True):
    """A chat channel that receives alerts ("telegram:<chat id>", "discord:<channel id>",
    "console"), with its own conviction threshold."""

    channel: str = Field(primary_key=True)
    enabled: bool = True
    threshold: int = 60
    created_at: datetime = _ts(default_factory=utcnow)


class ModelVersion(SQLModel, table=True):
    version: str = Field(primary_key=True)
    kind: str = "outcome"
    path: str
    feature_hash: str
    metrics: dict[str, Any] = _json(default_factory=dict)
    trained_at: datetime = _ts(default_factory=utcnow)
    n_samples: int = 0
    champion: bool = False


class AppState(SQLModel, table=True):
    """Small key/value state: poll cursors of market data, the clock of a replayed source."""

    key: str = Field(primary_key=True)
    value: str
