"""The tracker: one poll of the data source stores whatever is new, exactly once.

For each tracked KOL, the trades after its cursor are stored and the cursor advanced in the same
database transaction, so a crash at any point loses no trade and duplicates none (the unique key
(signature, wallet, mint) makes a replayed batch a no-op). Then token facts for new mints, market
snapshots and creator trades of the active mints, and market context are stored, each keyed so
that a repeated poll changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select

from engine.records import MarketSource, TradeRecord
from engine.storage import (
    AppState,
    Database,
    Kol,
    MarketContext,
    MarketSnapshot,
    Signal,
    Token,
    Trade,
)
from engine.storage.convert import context_row, snapshot_row, token_row, trade_record, trade_row
from engine.storage.db import insert_ignore

log = logging.getLogger(__name__)

LAST_POLL_KEY = "tracker.last_poll"


@dataclass(slots=True)
class PollResult:
    until: datetime
    new_trades: list[TradeRecord] = field(default_factory=list)
    new_tokens: int = 0
    new_snapshots: int = 0
    new_creator_trades: int = 0

    @property
    def new_kol_buys(self) -> list[TradeRecord]:
        return [t for t in self.new_trades if t.side == "buy"]

    @property
    def wallets_with_trades(self) -> set[str]:
        return {t.wallet for t in self.new_trades}


class Tracker:
    def __init__(self, db: Database, source: MarketSource, *, horizon: timedelta) -> None:
        self.db = db
        self.source = source
        self.horizon = horizon

    async def sync_kols(self) -> int:
        """Add the source's KOLs that are not tracked yet; returns how many were added."""
        kols = await self.source.kols()
        async with self.db.session() as session:
            added = await insert_ignore(
                session,
                Kol,
                [{"wallet": k.wallet, "name": k.name, "tier": k.tier} for k in kols],
                returning=Kol.wallet,
            )
        return len(added)

    async def poll(self, until: datetime) -> PollResult:
        result = PollResult(until=until)
        async with self.db.session() as session:
            kols = (await session.exec(select(Kol).where(Kol.active))).all()
            last_row = await session.get(AppState, LAST_POLL_KEY)
        last_poll = datetime.fromisoformat(last_row.value) if last_row else None

        for kol in kols:
            result.new_trades.extend(
                await self._poll_wallet(kol.wallet, kol.cursor_signature, until)
            )

        async with self.db.session() as session:
            traded = {t.mint for t in result.new_trades}
            known = set(
                (await session.exec(select(Token.mint).where(col(Token.mint).in_(traded)))).all()
            )
            new_mints = sorted(traded - known)
            active_since = until - self.horizon - timedelta(hours=1)
            active = set(
                (await session.exec(select(Signal.mint).where(Signal.ts >= active_since))).all()
            )
        old_mints = sorted((active | traded) - set(new_mints))

        tokens = await self.source.tokens(new_mints)
        snapshots = [
            *await self.source.snapshots(new_mints, None, until),
            *await self.source.snapshots(old_mints, last_poll, until),
        ]
        creator_trades = [
            *await self.source.creator_trades(new_mints, None, until),
            *await self.source.creator_trades(old_mints, last_poll, until),
        ]
        context = await self.source.context(last_poll, until)

        async with self.db.session() as session:
            result.new_tokens = len(
                await insert_ignore(
                    session, Token, [token_row(t) for t in tokens], returning=Token.mint
                )
            )
            result.new_snapshots = len(
                await insert_ignore(
                    session,
                    MarketSnapshot,
                    [snapshot_row(s) for s in snapshots],
                    returning=MarketSnapshot.id,
                )
            )
            result.new_creator_trades = len(
                await insert_ignore(
                    session,
                    Trade,
                    [trade_row(t, is_kol=False) for t in creator_trades],
                    returning=Trade.id,
                )
            )
            await insert_ignore(session, MarketContext, [context_row(c) for c in context])
            await session.merge(AppState(key=LAST_POLL_KEY, value=until.isoformat()))
        log.info(
            "poll until %s: %d trades, %d tokens, %d snapshots",
            until.isoformat(),
            len(result.new_trades),
            result.new_tokens,
            result.new_snapshots,
        )
        return result

    async def _poll_wallet(
        self, wallet: str, cursor: str | None, until: datetime
    ) -> list[TradeRecord]:
        batch = await self.source.wallet_trades(wallet, cursor, until)
        if not batch.trades and batch.cursor in (None, cursor):
            return []
        async with self.db.session() as session:
            ids = await insert_ignore(
                session,
                Trade,
                [trade_row(t, is_kol=True) for t in batch.trades],
                returning=Trade.id,
            )
            kol = await session.get(Kol, wallet)
            if kol is not None and batch.cursor is not None:
                kol.cursor_signature = batch.cursor
                session.add(kol)
            inserted = (
                (await session.exec(select(Trade).where(col(Trade.id).in_(ids)))).all()
                if ids
                else []
            )
            return sorted((trade_record(r) for r in inserted), key=lambda t: t.chain_order)


async def last_poll(db: Database) -> datetime | None:
    async with db.session() as session:
        row = await session.get(AppState, LAST_POLL_KEY)
    return datetime.fromisoformat(row.value) if row else None
