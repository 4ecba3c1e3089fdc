"""``RpcSource``: the live ``MarketSource`` over Solana JSON-RPC and DexScreener.

* **Wallet swaps** (``wallet_trades``): the signatures newer than the wallet's cursor, read by
  ``engine.sources.solana.wallets.WalletReader``: failed ones passed over, the rest fetched in batches
  and parsed; SOL/WSOL-quoted swaps only (USDC/USDT-quoted ones are skipped: every amount
  downstream is in SOL and there is no honest SOL price at that block to convert with). The
  cursor is the newest signature before the first transaction the node answered ``null`` for,
  so a restart reads that one again; nothing unread is ever passed.
* **A poll of many wallets** costs a few requests: with ``tracked`` (an async callable giving
  every tracked wallet's cursor, e.g. ``engine.tracking.kols.tracked_cursors``), the first
  ``wallet_trades`` call for a wallet not read yet in this poll (a new ``until``) reads the new
  signatures of it and the next ``read_ahead`` (100) tracked wallets at once
  (``new_signatures_many``: 1,000 quiet wallets = 100 batched requests at Helius's 10 history
  calls a batch, 10 at a batch size of 100), and the later calls take their wallet's share;
  concurrent calls wait for that read. Reading a poll's wallets chunk by chunk lets the first
  wallets' trades (and alerts) through before the last wallets' signatures are read. An entry
  is used only for the exact cursor it was read for, and only once; anything else is read on
  its own.
* **Push** (``engine.sources.push``): ``fetch_pushed`` and ``pushed_trades`` read a notified
  transaction the same way; ``mark_stored`` records that its trades are stored, so the poll
  counts that signature as read without fetching it again (the cursor still moves only in the
  poll).
* **A new wallet** (no cursor) is read back one page, and only its swaps of the last
  ``new_wallet_lookback`` before ``until`` are fetched (older signatures count as read, so the
  cursor moves past them). Older history is ``wallet_history`` (``moonbot track backfill``).
* **Failures.** A wallet whose reads fail after the retries is skipped for this poll (its cursor
  stays, a warning says why) so one bad wallet does not stop the others; a failed read-ahead
  fails the poll before anything is stored. Tokens, snapshots, creator trades and context
  degrade to what could be read (a warning each), never failing the poll after trades were
  stored.
* **Tokens** (``tokens``): decimals, name, symbol, creation time and creator from the chain
  (``engine.sources.solana.tokeninfo``: the mint account, its Metaplex metadata account and that
  account's first transaction; 4 batched requests for any number of mints). Name and symbol
  stay "" and the creator "" when unknown. ``TokenRecord.created_at`` cannot be None, so when
  the creation is not found it is the earliest moment the token is *known* to have existed: its
  DexScreener pool's ``pairCreatedAt`` or the first swap of it this source has read, whichever
  is earlier (else now), logged as such. It is an upper bound: the token's age is then
  understated, never invented.
* **Snapshots**: one per mint *now*, with holder statistics from RPC (``fetch_holder_stats``;
  holder fields None where that fails; a pump.fun curve and its token accounts are never a
  holder) when they are due: for a mint this source has read a KOL trade of since its last
  statistics (a signal is opened or joined), and otherwise once every ``holder_refresh``
  (None: every snapshot). In between, the snapshot's holder fields are None, never the old
  ones restamped. A mint with a DEX pool gets DexScreener's (stamped with its fetch time, which
  may be a little after ``until``; ``source`` "dexscreener"). A mint still on its pump.fun bonding
  curve (no pair, or DexScreener's ``pumpfun`` pair whose address is the curve) is priced from
  its own curve account, or its PumpSwap pool once the curve is complete, stamped with the
  source's clock (``engine.sources.solana.curveprices``: the curves of every such mint of a
  call in one batched ``getMultipleAccounts``; USD from DexScreener's price of the quote, SOL/USD
  as in ``context``; no snapshot when that is unknown). If the curve cannot be priced, a
  ``pumpfun`` pair's own snapshot is kept.
* **Creator trades**: for mints whose creator is known, the creator's sells of that mint among
  its last ``creator_scan_limit`` signatures with ``since < block_time <= until``.
* **Context**: SOL/USD from DexScreener's most liquid pair with wrapped SOL as the base token;
  sentiment None (no such index here).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.config import Settings
from engine.errors import MalformedPayload, RetriesExhausted, RpcError, SourceError
from engine.records import (
    ContextRecord,
    KolRecord,
    SnapshotRecord,
    TokenRecord,
    TradeRecord,
    WalletTrades,
)
from engine.sources.candles import GeckoTerminal, MintCandles, PriceAt, dexscreener_pools
from engine.sources.dexscreener import DexPair, DexScreener
from engine.sources.net.ratelimit import is_urgent
from engine.sources.solana.curveprices import CurvePricer
from engine.sources.solana.holders import HolderStats, fetch_holder_stats
from engine.sources.solana.programs import WSOL_MINT
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.rpc_types import (
    NotYet,
    SignatureInfo,
    Transaction,
    TransactionResult,
)
from engine.sources.solana.tokeninfo import MintFacts, fetch_mint_facts
from engine.sources.solana.wallets import (
    HistorySource,
    WalletHistory,
    WalletReader,
    sol_trades,
)

__all__ = ["HistorySource", "RpcSource", "TrackedCursors", "WalletHistory"]

log = logging.getLogger(__name__)

TrackedCursors = Callable[[], Awaitable[Mapping[str, str | None]]]
"""Every tracked wallet and its stored cursor (None: never read)."""

DEFAULT_NEW_WALLET_LOOKBACK = timedelta(hours=1)
_STORED_MEMORY = 200_000  # (wallet, signature) pairs the push stored, remembered for the poll
_BLOCK_TIME_CACHE = 10_000  # slots
# How far from DexScreener's SOL/USD reading a swap's block time may be to be valued at it.
SOL_PRICE_MAX_AGE = timedelta(minutes=15)
# Failures that skip one wallet for one poll: retries spent, an error the node gave for this
# call, an answer of the wrong shape. Anything else (a refused API key...) stops the poll.
_WALLET_FAILURES = (RetriesExhausted, RpcError, MalformedPayload)


class RpcSource:
    """The live ``MarketSource``. Build it once (``from_settings``), ``aclose`` it at exit."""

    def __init__(
        self,
        rpc: SolanaRpc,
        dex: DexScreener,
        *,
        tracked: TrackedCursors | None = None,
        new_wallet_lookback: timedelta | None = DEFAULT_NEW_WALLET_LOOKBACK,
        new_wallet_pages: int = 1,
        tx_chunk: int = 500,
        max_poll_transactions: int | None = 2000,
        history_max_pages: int = 20,
        creator_scan_limit: int = 50,
        holder_concurrency: int = 4,
        holder_refresh: timedelta | None = None,
        read_ahead: int = 100,
        sol_usd_history: Callable[[datetime], Awaitable[float | None]] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.rpc = rpc
        self.dex = dex
        self.new_wallet_lookback = new_wallet_lookback
        self.new_wallet_pages = new_wallet_pages
        self.reader = WalletReader(rpc, tx_chunk=tx_chunk, history_max_pages=history_max_pages)
        self.max_poll_transactions = max_poll_transactions
        """Transactions one poll reads per wallet at most; a busier wallet catches up over polls."""
        self.creator_scan_limit = creator_scan_limit
        self.skipped_wallets = 0
        """Wallet reads skipped after a failure, since this source was built."""
        self._tracked = tracked
        self._holder_slots = asyncio.Semaphore(holder_concurrency)
        self._urgent_holder_slots = asyncio.Semaphore(holder_concurrency)  # the push path's
        self._clock = clock or (lambda: datetime.now(UTC))
        self._ahead: dict[tuple[str, str | None], list[SignatureInfo]] = {}
        self._ahead_until: datetime | None = None
        self._ahead_lock = asyncio.Lock()
        self.read_ahead = read_ahead
        """Tracked wallets whose new signatures one batched read takes."""
        self._cursors: dict[str, str | None] = {}
        self._order: dict[str, int] = {}
        self._read: set[str] = set()
        self.holder_refresh = holder_refresh
        self.sol_usd_history = sol_usd_history
        """SOL/USD at a past moment (``engine.sources.candles.PriceAt``), for the stablecoin-quoted
        swaps older than DexScreener's reading; None: those are skipped. ``aclose`` closes it."""
        self._holders_at: dict[str, datetime] = {}  # mint -> when its holder stats were read
        self._holders_due: set[str] = set()  # mints traded since their last holder stats
        self._block_times: OrderedDict[int, datetime] = OrderedDict()
        self._stored: OrderedDict[tuple[str, str], None] = OrderedDict()  # (wallet, signature)
        self._creators: dict[str, str | None] = {}
        self._first_seen: dict[str, datetime] = {}
        self._decimals: dict[str, int] = {}
        self.curves = CurvePricer(
            rpc, self._usd_prices, clock=self._clock, token_decimals=self._decimals
        )
        """Prices of pump.fun tokens from their curve (or pool) accounts."""

    @classmethod
    def from_settings(
        cls, settings: Settings, *, tracked: TrackedCursors | None = None, **kwargs: Any
    ) -> RpcSource:
        """The source over ``settings.rpc_url`` and ``settings.dexscreener_url``."""
        kwargs.setdefault("holder_refresh", timedelta(minutes=settings.holder_refresh_minutes))
        dex = DexScreener.from_settings(settings)
        if settings.candles and "sol_usd_history" not in kwargs:
            feed = MintCandles(GeckoTerminal.from_settings(settings), dexscreener_pools(dex))
            kwargs["sol_usd_history"] = PriceAt(feed, WSOL_MINT)
        return cls(
            SolanaRpc.from_settings(settings),
            dex,
            tracked=tracked,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"RpcSource({self.rpc!r}, {self.dex!r})"

    async def __aenter__(self) -> RpcSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.rpc.aclose()
        await self.dex.aclose()
        if isinstance(self.sol_usd_history, PriceAt):
            await self.sol_usd_history.feed.aclose()

    # --- wallets -----------------------------------------------------------------------------

    async def kols(self) -> list[KolRecord]:
        """None: tracked wallets live in the database (``moonbot track add``)."""
        return []

    async def wallet_trades(
        self, wallet: str, after_signature: str | None, until: datetime
    ) -> WalletTrades:
        if self._tracked is not None:
            async with self._ahead_lock:  # concurrent wallets of one poll share the reads
                await self._read_ahead(until, wallet)
        since = (
            until - self.new_wallet_lookback
            if after_signature is None and self.new_wallet_lookback is not None
            else None
        )
        try:
            infos = self._ahead.pop((wallet, after_signature), None)
            if infos is None:
                infos = (await self._new_signatures({wallet: after_signature}))[wallet]
            if not infos:
                return WalletTrades([], None)
            scan = await self.reader.scan(
                wallet,
                infos,
                since=since,
                stop_at_unavailable=True,
                max_transactions=self.max_poll_transactions,
                sol_usd=self._sol_usd_at,
                known={i.signature for i in infos if (wallet, i.signature) in self._stored},
            )
        except _WALLET_FAILURES as exc:
            self.skipped_wallets += 1
            log.warning("%s: skipped this poll, its cursor stays: %s", wallet, exc)
            return WalletTrades([], None)
        if scan.unavailable:
            log.info(
                "%s: transaction %s is not available yet; the cursor stops before it",
                wallet,
                scan.unavailable[0],
            )
        self._remember(scan.trades)
        return WalletTrades(scan.trades, scan.cursor)

    async def wallet_history(
        self,
        wallet: str,
        *,
        since: datetime,
        before: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> WalletHistory:
        """The wallet's swaps with ``block_time >= since`` among its signatures older than
        ``before`` (all when None), read back at most ``history_max_pages`` pages. Unlike
        ``wallet_trades`` it reads past a transaction that is not available (listing it)."""
        history = await self.reader.history(wallet, since=since, before=before, progress=progress)
        self._remember(history.trades)
        return history

    # --- push --------------------------------------------------------------------------------

    async def fetch_pushed(self, signature: str) -> TransactionResult:
        """A notified transaction (``NotYet`` while the node cannot serve it)."""
        return await self.rpc.get_transaction(signature)

    async def block_time_of(self, slot: int) -> datetime | None:
        """The block time of ``slot`` (a pushed frame carries none), cached."""
        if slot in self._block_times:
            return self._block_times[slot]
        unix = await self.rpc.get_block_time(slot)
        when = datetime.fromtimestamp(unix, UTC) if unix is not None else None
        if when is not None:
            self._block_times[slot] = when
            while len(self._block_times) > _BLOCK_TIME_CACHE:
                self._block_times.popitem(last=False)
        return when

    async def pushed_trades(
        self, tx: Transaction, wallet: str, signature: str, slot: int, block_time: datetime | None
    ) -> list[TradeRecord]:
        """The wallet's swaps in a pushed transaction, read as ``wallet_trades`` reads them."""
        info = SignatureInfo(signature, slot, block_time, failed=False)
        trades = await sol_trades(tx, wallet, info, self._sol_usd_at)
        self._remember(trades)
        return trades

    def mark_stored(self, wallet: str, signature: str) -> None:
        """``signature``'s trades of ``wallet`` are stored: the poll need not fetch it."""
        self._stored[(wallet, signature)] = None
        while len(self._stored) > _STORED_MEMORY:
            self._stored.popitem(last=False)

    def usage(self) -> dict[str, float]:
        """JSON-RPC calls per hour by method (``engine.sources.net.meter``)."""
        return self.rpc.meter.per_hour()

    def _remember(self, trades: Sequence[TradeRecord]) -> None:
        """Note each mint's earliest swap seen and its decimals (for ``tokens``), and that its
        holder statistics are due."""
        for trade in trades:
            self._holders_due.add(trade.mint)
            held = self._first_seen.get(trade.mint)
            if held is None or trade.block_time < held:
                self._first_seen[trade.mint] = trade.block_time
            self._decimals[trade.mint] = trade.decimals

    async def _read_ahead(self, until: datetime, wallet: str) -> None:
        """The new signatures of ``wallet`` and of the next ``read_ahead`` tracked wallets
        not read yet in this poll (a new ``until``), in one batched read."""
        assert self._tracked is not None
        if until != self._ahead_until:
            self._cursors = dict(await self._tracked())
            self._order = {w: n for n, w in enumerate(self._cursors)}
            self._ahead, self._read, self._ahead_until = {}, set(), until
        start = self._order.get(wallet)
        if start is None or wallet in self._read:
            return
        wallets = list(self._cursors)
        chunk = [w for w in wallets[start : start + self.read_ahead] if w not in self._read]
        found = await self._new_signatures({w: self._cursors[w] for w in chunk})
        self._read.update(chunk)
        self._ahead.update({(w, self._cursors[w]): infos for w, infos in found.items()})

    async def _new_signatures(
        self, cursors: Mapping[str, str | None]
    ) -> dict[str, list[SignatureInfo]]:
        known = {w: c for w, c in cursors.items() if c is not None}
        fresh: dict[str, str | None] = {w: None for w, c in cursors.items() if c is None}
        found: dict[str, list[SignatureInfo]] = {}
        if known:
            found.update(await self.rpc.new_signatures_many(known))
        if fresh:
            found.update(await self.rpc.new_signatures_many(fresh, max_pages=self.new_wallet_pages))
        return found

    # --- tokens ------------------------------------------------------------------------------

    async def tokens(self, mints: Sequence[str]) -> list[TokenRecord]:
        wanted = list(dict.fromkeys(mints))
        if not wanted:
            return []
        facts = await self._mint_facts(wanted)
        pairs = await self._pairs(wanted)
        out: list[TokenRecord] = []
        for mint in wanted:
            fact = facts.get(mint) or MintFacts(mint)
            decimals = fact.decimals if fact.decimals is not None else self._decimals.get(mint, 6)
            out.append(
                TokenRecord(
                    mint=mint,
                    symbol=fact.symbol or "",
                    name=fact.name or "",
                    created_at=fact.created_at or self._existed_by(mint, pairs.get(mint)),
                    creator=fact.creator or "",
                    decimals=decimals,
                )
            )
        return out

    def _existed_by(self, mint: str, pair: DexPair | None) -> datetime:
        known = [t for t in (pair and pair.pair_created_at, self._first_seen.get(mint)) if t]
        when = min(known) if known else self._clock()
        log.info(
            "%s: creation not found on chain; created_at = %s, the earliest time it is known "
            "to exist",
            mint,
            when.isoformat(),
        )
        return when

    async def _mint_facts(self, mints: Sequence[str]) -> dict[str, MintFacts]:
        """Facts of ``mints``, remembering each creator (None too) for later calls."""
        try:
            facts = await fetch_mint_facts(self.rpc, mints)
        except SourceError as exc:
            log.warning("token facts of %d mints unavailable: %s", len(mints), exc)
            return {}
        for mint, fact in facts.items():
            self._creators[mint] = fact.creator
        return facts

    async def _creators_of(self, mints: Sequence[str]) -> dict[str, str | None]:
        missing = [m for m in mints if m not in self._creators]
        if missing:
            await self._mint_facts(missing)
        return {m: self._creators.get(m) for m in mints}

    async def _pairs(self, mints: Sequence[str]) -> dict[str, DexPair]:
        try:
            return await self.dex.pairs(mints)
        except SourceError as exc:
            log.warning("DexScreener unavailable for %d mints: %s", len(mints), exc)
            return {}

    # --- market ------------------------------------------------------------------------------

    async def snapshots(
        self, mints: Sequence[str], since: datetime | None, until: datetime
    ) -> list[SnapshotRecord]:
        wanted = list(dict.fromkeys(mints))
        if not wanted:
            return []
        pairs = await self._pairs(wanted)
        on_curve = [m for m in wanted if self.curves.priced_by_curve(m, pairs.get(m))]
        found = {
            m: replace(pair.snapshot, source="dexscreener")
            for m, pair in pairs.items()
            if m not in on_curve
        }
        curve_snaps = await self.curves.snapshots(on_curve) if on_curve else {}
        for mint, creator in self.curves.creators.items():
            if self._creators.get(mint) is None:
                self._creators[mint] = creator
        for mint in on_curve:  # a curve that could not be priced: DexScreener's pumpfun pair
            snap = curve_snaps.get(mint)
            if snap is None and mint in pairs:
                snap = replace(pairs[mint].snapshot, source="dexscreener")
            if snap is not None:
                found[mint] = snap
        if not found:
            return []
        creators = await self._creators_of(list(found))
        stats = await asyncio.gather(
            *(
                self._holders(m, creators.get(m)) if self._holders_wanted(m) else _none()
                for m in found
            )
        )
        out = [
            s.apply(snap) if s is not None else snap
            for snap, s in zip(found.values(), stats, strict=True)
        ]
        return sorted(out, key=lambda s: (s.ts, s.mint))

    def _holders_wanted(self, mint: str) -> bool:
        """Whether ``mint``'s holder statistics are due (see the module doc)."""
        if self.holder_refresh is None or mint in self._holders_due:
            return True
        last = self._holders_at.get(mint)
        return last is None or self._clock() - last >= self.holder_refresh

    async def _holders(self, mint: str, creator: str | None) -> HolderStats | None:
        async with self._urgent_holder_slots if is_urgent() else self._holder_slots:
            self._holders_due.discard(mint)
            self._holders_at[mint] = self._clock()
            try:
                return await fetch_holder_stats(
                    self.rpc, mint, creator=creator, exclude=self.curves.holder_accounts(mint)
                )
            except SourceError as exc:
                log.warning("%s: holder statistics unavailable: %s", mint, exc)
                return None

    async def creator_trades(
        self, mints: Sequence[str], since: datetime | None, until: datetime
    ) -> list[TradeRecord]:
        wanted = list(dict.fromkeys(mints))
        if not wanted:
            return []
        by_creator: dict[str, set[str]] = {}
        for mint, creator in (await self._creators_of(wanted)).items():
            if creator:
                by_creator.setdefault(creator, set()).add(mint)
        if not by_creator:
            return []
        try:
            pages = await self.rpc.new_signatures_many(
                dict.fromkeys(by_creator), page_limit=self.creator_scan_limit, max_pages=1
            )
            todo = [
                (creator, info)
                for creator, infos in pages.items()
                for info in infos
                if not info.failed and _within(info.block_time, since, until)
            ]
            txs = await self.rpc.get_transactions([info.signature for _, info in todo])
        except SourceError as exc:
            log.warning("creator trades of %d mints unavailable: %s", len(wanted), exc)
            return []
        out: list[TradeRecord] = []
        for (creator, info), tx in zip(todo, txs, strict=True):
            if isinstance(tx, NotYet):
                continue
            out.extend(
                t
                for t in await sol_trades(tx, creator, info, self._sol_usd_at)
                if t.side == "sell"
                and t.mint in by_creator[creator]
                and _within(t.block_time, since, until)
            )
        return sorted(out, key=lambda t: t.chain_order)

    async def _usd_prices(self, mints: Sequence[str]) -> dict[str, float]:
        """DexScreener's USD price of each mint it has a pair for (wrapped SOL: its most liquid
        pair with SOL as the base token, the SOL/USD of ``context``)."""
        return {m: p.snapshot.price_usd for m, p in (await self._pairs(mints)).items()}

    async def _sol_usd_at(self, block_time: datetime) -> float | None:
        """SOL/USD at ``block_time`` for a USDC/USDT-quoted swap: DexScreener's price (the one
        ``context`` stores; cached by the DexScreener client) when the block time is within
        ``SOL_PRICE_MAX_AGE`` of its reading; otherwise — an older swap, or DexScreener without
        a SOL price or failing — ``sol_usd_history``'s price at its block time (the candles of
        SOL's most liquid pool, where candles are configured). None without a price (the swap is
        then skipped, never valued at a guess)."""
        try:
            pair = (await self._pairs([WSOL_MINT])).get(WSOL_MINT)
        except SourceError as exc:
            log.info("no SOL/USD price from DexScreener for a stablecoin-quoted swap: %s", exc)
            pair = None
        if (
            pair is not None
            and pair.snapshot.price_usd is not None
            and abs(block_time - pair.snapshot.ts) <= SOL_PRICE_MAX_AGE
        ):
            return float(pair.snapshot.price_usd)
        history = self.sol_usd_history
        return None if history is None else await history(block_time)

    async def context(self, since: datetime | None, until: datetime) -> list[ContextRecord]:
        pair = (await self._pairs([WSOL_MINT])).get(WSOL_MINT)
        if pair is None:
            return []
        return [ContextRecord(ts=pair.snapshot.ts, sol_price_usd=pair.snapshot.price_usd)]


async def _none() -> None:
    return None


def _within(when: datetime | None, since: datetime | None, until: datetime) -> bool:
    return when is not None and (since is None or when > since) and when <= until
