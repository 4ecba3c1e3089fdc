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

Wallets are read ``concurrency`` at a time (the source's rate limit paces them all), and
``on_stored`` (when set) is given each wallet's trades as soon as they are stored, so their
signals and alerts need not wait for the whole poll.

The push path (``ingest``) stores a notified transaction's trades through the same rows and
keys, and the token facts and snapshots of their mints at once; it never moves a cursor. The
next poll reads past those signatures (its cursor moves only there), so push and poll together
lose nothing (the poll repairs what push missed) and duplicate nothing (the unique key).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import StorageUnavailable
from engine.records import MarketSource, SnapshotRecord, TokenRecord, TradeRecord
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


@dataclass(slots=True)
class IngestResult:
    """What ``Tracker.ingest`` stored: the trades that were new, and their market rows."""

    new_trades: list[TradeRecord] = field(default_factory=list)
    new_tokens: int = 0
    new_snapshots: int = 0


@dataclass(slots=True)
class _Market:
    tokens: list[TokenRecord]
    snapshots: list[SnapshotRecord]
    creator_trades: list[TradeRecord]


OnStored = Callable[[list[TradeRecord]], Awaitable[object]]


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
        concurrency: int = 1,
        on_stored: OnStored | None = None,
    ) -> None:
        self.db = db
        self.source = source
        self.horizon = horizon
        self.budget = budget
        self.clock = clock
        self.concurrency = max(1, concurrency)
        self.on_stored = on_stored
        self._writes = asyncio.Lock()  # one write transaction at a time (SQLite's own rule)

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

        slots = asyncio.Semaphore(self.concurrency)

        async def read(kol: Kol) -> None:
            async with slots:
                budget = self.budget
                if budget is not None and self.clock() - started >= budget.total_seconds():
                    result.unfinished_wallets.append(kol.wallet)
                    return
                await self._read_wallet(kol, until, result)

        try:
            async with asyncio.TaskGroup() as group:  # StorageUnavailable stops the whole poll
                for kol in kols:
                    group.create_task(read(kol))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        order = {kol.wallet: n for n, kol in enumerate(kols)}
        result.unfinished_wallets.sort(key=order.__getitem__)
        result.failed_wallets.sort(key=order.__getitem__)
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

        market = await self._market(new_mints, old_mints, last_poll, until)
        context = await self.source.context(last_poll, until)

        async with self._writes, self.db.session() as session:
            stored = await _store_market(session, market)
            result.new_tokens, result.new_snapshots, result.new_creator_trades = stored
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

    async def _read_wallet(self, kol: Kol, until: datetime, result: PollResult) -> None:
        try:
            stored = await self._poll_wallet(kol.wallet, kol.cursor_signature, until)
        except StorageUnavailable:
            raise
        except Exception as exc:  # one wallet's failure never blocks the others
            log.warning("wallet %s not polled, left for the next poll: %s", kol.wallet, exc)
            result.failed_wallets.append(kol.wallet)
            return
        if stored and self.on_stored is not None:
            try:
                await self.on_stored(stored)
            except StorageUnavailable:
                raise
            except Exception as exc:  # the settle after the poll does it from durable state
                log.warning(
                    "wallet %s: early signal step failed, left to the poll: %s", kol.wallet, exc
                )

    async def _poll_wallet(
        self, wallet: str, cursor: str | None, until: datetime
    ) -> list[TradeRecord]:
        """Store the wallet's new trades and move its cursor, in one transaction; the trades
        when any was new."""
        batch = await self.source.wallet_trades(wallet, cursor, until)
        if not batch.trades and batch.cursor in (None, cursor):
            return []
        async with self._writes, self.db.session() as session:
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
        return list(batch.trades) if ids else []

    async def ingest(self, trades: Sequence[TradeRecord], now: datetime) -> IngestResult:
        """Store pushed KOL trades (each once, by the unique key) and, for their mints, the
        token facts still missing and a snapshot now; the cursors are the poll's alone."""
        result = IngestResult()
        if not trades:
            return result
        async with self._writes, self.db.session() as session:
            ids = await insert_ignore(
                session, Trade, [trade_row(t, is_kol=True) for t in trades], returning=Trade.id
            )
            rows = (await session.exec(select(Trade).where(col(Trade.id).in_(ids)))).all()
            mints = {t.mint for t in trades}
            known = set(
                (await session.exec(select(Token.mint).where(col(Token.mint).in_(mints)))).all()
            )
        result.new_trades = sorted((trade_record(r) for r in rows), key=lambda t: t.chain_order)
        if not result.new_trades and mints <= known:
            return result
        result.new_tokens, result.new_snapshots = await self.prepare(mints, now, known=known)
        return result

    async def prepare(
        self, mints: Collection[str], now: datetime, *, known: Collection[str] | None = None
    ) -> tuple[int, int]:
        """The token facts still missing and a snapshot now of ``mints`` (just bought by a
        KOL: their signal step needs them); how many tokens and snapshots were new."""
        if known is None:
            async with self.db.session() as session:
                known = set(
                    (await session.exec(select(Token.mint).where(col(Token.mint).in_(mints)))).all()
                )
        new_mints = sorted(set(mints) - set(known))
        old_mints = sorted(set(mints) & set(known))
        market = await self._market(new_mints, old_mints, await last_poll(self.db), now)
        async with self._writes, self.db.session() as session:
            tokens, snapshots, _ = await _store_market(session, market)
        return tokens, snapshots

    async def _market(
        self,
        new_mints: Collection[str],
        old_mints: Collection[str],
        since: datetime | None,
        until: datetime,
    ) -> _Market:
        new, old = sorted(new_mints), sorted(old_mints)
        return _Market(
            tokens=await self.source.tokens(new),
            snapshots=[
                *await self.source.snapshots(new, None, until),
                *await self.source.snapshots(old, since, until),
            ],
            creator_trades=[
                *await self.source.creator_trades(new, None, until),
                *await self.source.creator_trades(old, since, until),
            ],
        )


async def _store_market(session: AsyncSession, market: _Market) -> tuple[int, int, int]:
    """Insert tokens, snapshots and creator trades (each once); how many of each were new."""
    tokens = await insert_ignore(
        session, Token, [token_row(t) for t in market.tokens], returning=Token.mint
    )
    snapshots = await insert_ignore(
        session,
        MarketSnapshot,
        [snapshot_row(s) for s in market.snapshots],
        returning=MarketSnapshot.id,
    )
    creator = await insert_ignore(
        session,
        Trade,
        [trade_row(t, is_kol=False) for t in market.creator_trades],
        returning=Trade.id,
    )
    return len(tokens), len(snapshots), len(creator)


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
