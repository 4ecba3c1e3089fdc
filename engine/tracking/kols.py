"""Tracked KOL wallets: add, remove, list, and back-fill a wallet's history.

Every function takes the ``Database`` (and, for the back-fill, the data source), so each
``MoonbotService`` method is one line. Inputs from people are checked here, so every face gets
the same one-line ``UserError``s, and nothing is written when a check fails.

* ``add_kol`` adds a wallet, or updates the name and tier of one already tracked (re-activating
  a removed one: its cursor and trades were kept).
* ``remove_kol`` stops tracking: the row stays, inactive, with its trades and positions, so
  its statistics and the signals it triggered keep their history.
* ``backfill`` reads the wallet's swaps of the last N days (``HistorySource.wallet_history``,
  the live Solana source only) and stores them as the tracker does (``insert_ignore`` on the
  unique (signature, wallet, mint), so it can be run again), then rebuilds the wallet's
  positions. It reads only what is *older* than the wallet's cursor: what is newer is the next
  poll's, which also turns it into signals and alerts. A wallet never polled gets its cursor
  set, in the same database transaction as its trades, to the newest signature read, so the
  next poll carries on from there. Back-filled swaps open no signal: a signal needs the market
  as it was at that time, which a live source cannot give.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import UnknownKol, UserError
from engine.records import TIERS, MarketSource, Tier
from engine.sources.address import validate_address
from engine.sources.solana.wallets import HistorySource
from engine.storage import Database, Kol, Trade
from engine.storage.convert import trade_row
from engine.storage.db import insert_ignore
from engine.tracking.positionstore import refresh_positions

MAX_NAME_LENGTH = 40
MAX_BACKFILL_DAYS = 365


@dataclass(frozen=True, slots=True)
class TrackedKol:
    wallet: str
    name: str
    tier: str
    added_at: datetime
    active: bool
    cursor_signature: str | None
    trades: int


@dataclass(frozen=True, slots=True)
class TrackChange:
    kol: TrackedKol
    action: Literal["added", "updated", "reactivated"]


@dataclass(frozen=True, slots=True)
class BackfillReport:
    wallet: str
    since: datetime
    signatures: int
    trades_found: int
    trades_stored: int
    unavailable: int
    truncated: bool
    cursor_set: bool


def check_tier(text: str) -> Tier:
    value = text.strip().lower()
    for tier in TIERS:
        if value == tier:
            return tier
    raise UserError(f"tier {text.strip()[:20]!r} is not one of {', '.join(TIERS)}")


def check_name(text: str | None, wallet: str) -> str:
    """The display name (default: the wallet shortened), one printable line."""
    if text is None or not text.strip():
        return f"{wallet[:4]}…{wallet[-4:]}"
    name = " ".join(text.split())
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"name is {len(name)} characters long; at most {MAX_NAME_LENGTH}")
    if not name.isprintable():
        raise UserError("name holds characters that cannot be shown")
    return name


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_BACKFILL_DAYS:
        raise UserError(f"days must be between 1 and {MAX_BACKFILL_DAYS}, not {days}")
    return days


async def add_kol(db: Database, wallet_text: str, name: str | None, tier: str) -> TrackChange:
    wallet = validate_address(wallet_text, "wallet")
    checked_tier = check_tier(tier)
    checked_name = check_name(name, wallet)
    async with db.session() as session:
        row = await session.get(Kol, wallet)
        if row is None:
            action: Literal["added", "updated", "reactivated"] = "added"
            row = Kol(wallet=wallet, name=checked_name, tier=checked_tier)
        else:
            action = "updated" if row.active else "reactivated"
            if name is not None and name.strip():
                row.name = checked_name
            row.tier = checked_tier
            row.active = True
        session.add(row)
        await session.flush()
        return TrackChange(await _view(session, row), action)


async def remove_kol(db: Database, wallet_text: str) -> TrackedKol:
    wallet = validate_address(wallet_text, "wallet")
    async with db.session() as session:
        row = await session.get(Kol, wallet)
        if row is None or not row.active:
            raise UnknownKol(f"wallet {wallet} is not tracked")
        row.active = False
        session.add(row)
        await session.flush()
        return await _view(session, row)


async def list_kols(db: Database, *, include_inactive: bool = False) -> list[TrackedKol]:
    async with db.session() as session:
        query = select(Kol).order_by(col(Kol.added_at), col(Kol.wallet))
        if not include_inactive:
            query = query.where(Kol.active)
        rows = (await session.exec(query)).all()
        counts = dict(
            (
                await session.exec(
                    select(Trade.wallet, func.count())
                    .where(Trade.is_kol)
                    .group_by(col(Trade.wallet))
                )
            ).all()
        )
    return [_make_view(r, int(counts.get(r.wallet, 0))) for r in rows]


async def find_kol(db: Database, query: str) -> Kol:
    """The KOL a person means: a wallet address (32+ characters) or a name, case-insensitive."""
    text = query.strip()
    async with db.session() as session:
        if len(text) >= 32:
            wallet = validate_address(text, "wallet")
            row = await session.get(Kol, wallet)
            if row is None:
                raise UnknownKol(f"wallet {wallet} is not a tracked KOL")
            return row
        # Compared in Python: SQLite's lower() folds ASCII only ("Émile" would not match "émile").
        wanted = _name_key(text)
        row = next(
            (k for k in (await session.exec(select(Kol))).all() if _name_key(k.name) == wanted),
            None,
        )
    if row is None:
        raise UnknownKol(f"no tracked KOL is named {text!r}: try /kol with a wallet address")
    return row


def _name_key(name: str) -> str:
    """A KOL name as compared: Unicode-normalised (NFKC), case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


async def kol_names(db: Database) -> dict[str, str]:
    """Every KOL's display name by wallet (removed KOLs included: their history stays)."""
    async with db.session() as session:
        return dict((await session.exec(select(Kol.wallet, Kol.name))).all())


async def tracked_cursors(db: Database) -> dict[str, str | None]:
    """Every active tracked wallet and its cursor: what the tracker will poll."""
    async with db.session() as session:
        rows = (
            await session.exec(select(Kol.wallet, Kol.cursor_signature).where(Kol.active))
        ).all()
    return {wallet: cursor for wallet, cursor in rows}


async def backfill(
    db: Database,
    source: MarketSource,
    wallet_text: str,
    *,
    days: int,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> BackfillReport:
    wallet = validate_address(wallet_text, "wallet")
    check_days(days)
    if not isinstance(source, HistorySource):
        raise UserError(
            "backfill reads the chain: set MOONBOT_SOURCE=rpc and MOONBOT_RPC_URL "
            "(the simulated market has no history to fetch)"
        )
    async with db.session() as session:
        row = await session.get(Kol, wallet)
        if row is None or not row.active:
            raise UnknownKol(f"wallet {wallet} is not tracked: add it first with `track add`")
        cursor = row.cursor_signature
    since = now - timedelta(days=days)
    history = await source.wallet_history(wallet, since=since, before=cursor, progress=progress)
    cursor_set = False
    async with db.session() as session:
        stored = await insert_ignore(
            session,
            Trade,
            [trade_row(t, is_kol=True) for t in history.trades],
            returning=Trade.id,
        )
        row = await session.get(Kol, wallet)
        if row is not None and row.cursor_signature is None and history.newest_signature:
            row.cursor_signature = history.newest_signature  # only if no poll set one meanwhile
            session.add(row)
            cursor_set = True
    await refresh_positions(db, [wallet])
    return BackfillReport(
        wallet=wallet,
        since=since,
        signatures=history.signatures,
        trades_found=len(history.trades),
        trades_stored=len(stored),
        unavailable=len(history.unavailable),
        truncated=history.truncated,
        cursor_set=cursor_set,
    )


async def _view(session: AsyncSession, row: Kol) -> TrackedKol:
    count = (
        await session.exec(
            select(func.count()).select_from(Trade).where(Trade.wallet == row.wallet, Trade.is_kol)
        )
    ).one()
    return _make_view(row, int(count))


def _make_view(row: Kol, trades: int) -> TrackedKol:
    return TrackedKol(
        wallet=row.wallet,
        name=row.name,
        tier=row.tier,
        added_at=row.added_at,
        active=row.active,
        cursor_signature=row.cursor_signature,
        trades=trades,
    )
