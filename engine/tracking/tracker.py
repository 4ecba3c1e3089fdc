"""The tracker: one poll of the data source stores whatever is new, exactly once.

For each tracked KOL, the trades after its cursor are stored and the cursor advanced in the same
database transaction, so a crash at any point loses no trade and duplicates none (the unique key
(signature, wallet, mint) makes a replayed batch a no-op). Then token facts for new mints, market
snapshots and creator trades of the active mints, and market context are stored, each keyed so
that a repeated poll changes nothing.

What a poll works on is durable state, not what one process remembers: the trade mark
(``tracker.trade_mark``, the newest KOL trade id a completed poll accounted for) moves in the
transaction that stores the token facts, so the KOL trades a killed poll stored (above the mark)
get their token, snapshots and creator trades from the next poll, as if it had not been killed;
and a recently traded mint whose token row is missing is asked for again on every poll. A wallet
whose trades cannot be read (the source fails for it, or its budget ran out) is logged, reported
and left with its cursor untouched for the next poll; the others go on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import StorageUnavailable
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
TRADE_MARK_KEY = "tracker.trade_mark"
UNFINISHED_KEY = "tracker.unfinished"  # the wallets a spent budget left: polled first next time


@dataclass(slots=True)
class PollResult:
    until: datetime
    # The KOL trades stored since the last completed poll: this poll's, and those of a poll that
    # was killed before it finished.
    new_trades: list[TradeRecord] = field(default_factory=list)
    new_tokens: int = 0
    new_snapshots: int = 0
    new_creator_trades: int = 0
    trade_mark: int = 0  # the newest KOL trade id this poll accounted for
    failed_wallets: list[str] = field(default_factory=list)  # the source failed: next poll
    unfinished_wallets: list[str] = field(default_factory=list)  # the budget ran out: next poll

    @property
    def new_kol_buys(self) -> list[TradeRecord]:
        return [t for t in self.new_trades if t.side == "buy"]

    @property
    def wallets_with_trades(self) -> set[str]:
        return {t.wallet for t in self.new_trades}


class Tracker:
    """``budget``: a poll stops starting wallets after this long (``clock`` in seconds, a
    monotonic clock unless a test gives one); the wallets left keep their cursors."""

    def __init__(
        self,
        db: Database,
        source: MarketSource,
        *,
        horizon: timedelta,
        budget: timedelta | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.source = source
        self.horizon = horizon
        self.budget = budget
        self.clock = clock

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
        started = self.clock()
        mark = await trade_mark(self.db)
        async with self.db.session() as session:
            kols = (await session.exec(select(Kol).where(Kol.active))).all()
            last_row = await session.get(AppState, LAST_POLL_KEY)
            left_row = await session.get(AppState, UNFINISHED_KEY)
        left = set(json.loads(left_row.value)) if left_row else set()
        kols = sorted(kols, key=lambda k: k.wallet not in left)  # no wallet waits forever
        last_poll = datetime.fromisoformat(last_row.value) if last_row else None

        for kol in kols:
            if self.budget is not None and self.clock() - started >= self.budget.total_seconds():
                result.unfinished_wallets.append(kol.wallet)
                continue
            try:
                await self._poll_wallet(kol.wallet, kol.cursor_signature, until)
            except StorageUnavailable:
                raise
            except Exception as exc:  # one wallet's failure never blocks the others
                log.warning("wallet %s not polled, left for the next poll: %s", kol.wallet, exc)
                result.failed_wallets.append(kol.wallet)
        if result.unfinished_wallets:
            log.warning(
                "poll budget of %s spent: %d wallets left for the next poll",
                self.budget,
                len(result.unfinished_wallets),
            )

        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Trade).where(Trade.is_kol, col(Trade.id) > mark).order_by(col(Trade.id))
                )
            ).all()
            result.new_trades = sorted((trade_record(r) for r in rows), key=lambda t: t.chain_order)
            result.trade_mark = max((r.id for r in rows if r.id is not None), default=mark)
            traded = {t.mint for t in result.new_trades}
            active_since = until - self.horizon - timedelta(hours=1)
            missing = set(
                (
                    await session.exec(
                        select(Trade.mint).where(
                            Trade.is_kol,
                            Trade.block_time >= active_since,
                            col(Trade.mint).not_in(select(Token.mint)),
                        )
                    )
                ).all()
            )
            known = set(
                (await session.exec(select(Token.mint).where(col(Token.mint).in_(traded)))).all()
            )
            new_mints = sorted((traded - known) | missing)
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
            await session.merge(AppState(key=TRADE_MARK_KEY, value=str(result.trade_mark)))
            if left or result.unfinished_wallets:
                value = json.dumps(result.unfinished_wallets)
                await session.merge(AppState(key=UNFINISHED_KEY, value=value))
        log.info(
            "poll until %s: %d trades, %d tokens, %d snapshots",
            until.isoformat(),
            len(result.new_trades),
            result.new_tokens,
            result.new_snapshots,
        )
        return result

    async def _poll_wallet(self, wallet: str, cursor: str | None, until: datetime) -> int:
        """Store the wallet's new trades and move its cursor, in one transaction."""
        batch = await self.source.wallet_trades(wallet, cursor, until)
        if not batch.trades and batch.cursor in (None, cursor):
            return 0
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
        return len(ids)


async def last_poll(db: Database) -> datetime | None:
    async with db.session() as session:
        row = await session.get(AppState, LAST_POLL_KEY)
    return datetime.fromisoformat(row.value) if row else None


async def trade_mark(db: Database) -> int:
    """The newest KOL trade id the last completed poll accounted for. A database from before the
    mark existed starts it at its newest trade (those were polled already); it is stored then."""
    async with db.session() as session:
        row = await session.get(AppState, TRADE_MARK_KEY)
        if row is not None:
            return int(row.value)
        mark = 0
        if await session.get(AppState, LAST_POLL_KEY) is not None:
            mark = await _newest_trade_id(session)
        session.add(AppState(key=TRADE_MARK_KEY, value=str(mark)))
        return mark


async def _newest_trade_id(session: AsyncSession) -> int:
    newest = (await session.exec(select(func.max(Trade.id)))).one()
    return int(newest or 0)
