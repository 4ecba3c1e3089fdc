"""Storage: SQLModel tables on an async engine (SQLite + aiosqlite by default, PostgreSQL +
asyncpg by URL), the schema's migrations (``migrations``), locks between processes (``locks``)."""

from engine.storage.db import Database
from engine.storage.models import (
    Alert,
    AppState,
    Kol,
    MarketContext,
    MarketSnapshot,
    ModelVersion,
    Outcome,
    Position,
    Signal,
    Subscription,
    Token,
    Trade,
)

__all__ = [
    "Alert",
    "AppState",
    "Database",
    "Kol",
    "MarketContext",
    "MarketSnapshot",
    "ModelVersion",
    "Outcome",
    "Position",
    "Signal",
    "Subscription",
    "Token",
    "Trade",
]
