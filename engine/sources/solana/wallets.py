"""One wallet's swaps from Solana RPC: signatures, then transactions, then SOL-quoted trades.

* ``WalletReader.scan`` takes signatures (oldest first), passes over the failed ones (``err``)
  and those older than ``since`` unread, fetches the rest in JSON-RPC batches, ``tx_chunk`` at a
  time, and parses each for the wallet. Its ``cursor`` is the newest signature before the first
  transaction the node answered ``null`` for (``NotYet``): everything up to it has been read.
  With ``stop_at_unavailable`` it stops there (a poll: the rest is read again next time);
  without, it reads on and lists the unavailable ones (a back-fill). ``max_transactions``
  bounds one poll's work: a wallet with a larger backlog catches up over several polls, its
  cursor moving only past what was read.
* ``WalletReader.history`` pages back from ``before`` (exclusive; the newest when None) until a
  page reaches ``since`` or comes back short, at most ``history_max_pages`` pages.
* ``sol_trades``: every swap becomes a ``TradeRecord`` in SOL. A USDC/USDT-quoted swap is
  valued at the SOL/USD price of its block time given by ``sol_usd`` (the record keeps the quote,
  its amount and the price, marked converted); without a price for that time it is skipped with
  a log line, never valued at a guess. A transaction the parser cannot read counts as read, with
  a warning: reading it again would not help.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from engine.errors import MalformedPayload
from engine.records import TradeRecord
from engine.sources.solana.parser import parse_transaction
from engine.sources.solana.programs import WSOL_MINT
from engine.sources.solana.rpc import MAX_SIGNATURES_PER_PAGE, SolanaRpc
from engine.sources.solana.rpc_types import NotYet, SignatureInfo, Transaction

log = logging.getLogger(__name__)

SolUsdAt = Callable[[datetime], Awaitable[float | None]]
"""USD per SOL at a block time, or None when the source does not know it for that time (asked
only for a USDC/USDT-quoted swap, so a poll without one costs no price request)."""


@dataclass(slots=True)
class Scan:
    """What ``WalletReader.scan`` read: the trades, the cursor, the unavailable signatures."""

    trades: list[TradeRecord]
    cursor: str | None
    unavailable: list[str]


@dataclass(frozen=True, slots=True)
class WalletHistory:
    """A wallet's swaps over a window, read by ``WalletReader.history``.

    ``newest_signature`` is the newest signature read before the first one the node could not
    serve yet (a cursor candidate, None if there is none). ``unavailable`` are the signatures
    answered ``null``: their swaps are missing (read again later). ``truncated``: the page bound
    was hit before the start of the window.
    """

    wallet: str
    trades: list[TradeRecord]
    signatures: int
    newest_signature: str | None
    unavailable: list[str]
    truncated: bool


@runtime_checkable
class HistorySource(Protocol):
    """A source that can read a wallet's past (the live one; the simulated market cannot)."""

    async def wallet_history(
        self,
        wallet: str,
        *,
        since: datetime,
        before: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> WalletHistory: ...


class WalletReader:
    def __init__(self, rpc: SolanaRpc, *, tx_chunk: int = 500, history_max_pages: int = 20):
        self.rpc = rpc
        self.tx_chunk = tx_chunk
        self.history_max_pages = history_max_pages

    async def scan(
        self,
        wallet: str,
        infos: Sequence[SignatureInfo],
        *,
        since: datetime | None = None,
        stop_at_unavailable: bool,
        max_transactions: int | None = None,
        sol_usd: SolUsdAt | None = None,
        known: Container[str] = frozenset(),
        progress: Callable[[int, int], None] | None = None,
    ) -> Scan:
        """Read ``infos`` (oldest first) in order. With ``max_transactions``, stop once that many
        transactions were fetched: the cursor is then the last signature read, and the rest
        is read by the next poll (nothing is skipped, the work of one poll stays bounded).
        Signatures in ``known`` (their trades are stored already: the push path read them)
        count as read without being fetched. ``progress(read, to read)`` follows each chunk."""
        scan = Scan([], None, [])
        if max_transactions is not None:
            infos = _within_budget(infos, max_transactions, since)
        for start in range(0, len(infos), self.tx_chunk):
            chunk = infos[start : start + self.tx_chunk]
            wanted = [
                i.signature
                for i in chunk
                if not i.failed
                and i.signature not in known
                and (since is None or i.block_time is None or i.block_time >= since)
            ]
            fetched = dict(zip(wanted, await self.rpc.get_transactions(wanted), strict=True))
            for info in chunk:
                result = fetched.get(info.signature)
                if isinstance(result, NotYet):
                    scan.unavailable.append(info.signature)
                    if stop_at_unavailable:
                        return scan
                    continue
                if result is not None:
                    scan.trades.extend(await sol_trades(result, wallet, info, sol_usd))
                if not scan.unavailable:
                    scan.cursor = info.signature
            if progress is not None:
                progress(min(start + self.tx_chunk, len(infos)), len(infos))
        return scan

    async def history(
        self,
        wallet: str,
        *,
        since: datetime,
        before: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> WalletHistory:
        infos, truncated = await self._history_signatures(wallet, since, before)
        scan = await self.scan(wallet, infos, stop_at_unavailable=False, progress=progress)
        return WalletHistory(
            wallet=wallet,
            trades=scan.trades,
            signatures=len(infos),
            newest_signature=scan.cursor,
            unavailable=scan.unavailable,
            truncated=truncated,
        )

    async def _history_signatures(
        self, wallet: str, since: datetime, before: str | None
    ) -> tuple[list[SignatureInfo], bool]:
        """Signatures older than ``before`` back to ``since``, oldest first; and whether the
        page bound cut them short."""
        seen: dict[str, tuple[int, SignatureInfo]] = {}
        truncated = True
        for _ in range(self.history_max_pages):
            page = await self.rpc.get_signatures_for_address(wallet, before=before)
            for info in page:
                seen.setdefault(info.signature, (len(seen), info))
            if len(page) < MAX_SIGNATURES_PER_PAGE:
                truncated = False
                break
            oldest = min(reversed(page), key=lambda info: info.slot)
            if oldest.block_time is not None and oldest.block_time < since:
                truncated = False
                break
            before = oldest.signature
        if truncated:
            log.warning(
                "%s: stopped after %d pages of history before reaching %s",
                wallet,
                self.history_max_pages,
                since.isoformat(),
            )
        ordered = sorted(seen.values(), key=lambda pair: (pair[1].slot, -pair[0]))
        window = [
            info for _, info in ordered if info.block_time is None or info.block_time >= since
        ]
        return window, truncated


async def sol_trades(
    tx: Transaction, wallet: str, info: SignatureInfo, sol_usd: SolUsdAt | None = None
) -> list[TradeRecord]:
    """The swaps of ``wallet`` in ``tx`` in SOL (block time from ``info`` if the transaction has
    none); USDC/USDT-quoted ones converted at ``sol_usd`` of their block time."""
    try:
        parsed = parse_transaction(tx, wallet)
    except MalformedPayload as exc:
        log.warning(
            "%s: transaction %s cannot be read, passed over: %s", wallet, info.signature, exc
        )
        return []
    out: list[TradeRecord] = []
    for trade in parsed:
        if trade.block_time is None:
            if info.block_time is None:
                log.warning("%s: transaction %s has no block time: skipped", wallet, info.signature)
                continue
            trade = dataclasses.replace(trade, block_time=info.block_time)
        assert trade.block_time is not None
        price = None
        if trade.quote_mint != WSOL_MINT:
            price = await sol_usd(trade.block_time) if sol_usd is not None else None
            if price is None:
                log.info(
                    "%s: %s of %s is quoted in %s and no SOL/USD price of %s is known: skipped",
                    trade.signature,
                    trade.side,
                    trade.mint,
                    trade.quote_mint,
                    trade.block_time.isoformat(),
                )
                continue
        out.append(trade.to_record(price))
    return out


def _within_budget(
    infos: Sequence[SignatureInfo], budget: int, since: datetime | None
) -> Sequence[SignatureInfo]:
    """The oldest-first prefix of ``infos`` in which at most ``budget`` transactions are fetched
    (failed ones and those before ``since`` are not fetched, so they cost nothing)."""
    fetched = 0
    for end, info in enumerate(infos):
        if not info.failed and (
            since is None or info.block_time is None or info.block_time >= since
        ):
            if fetched == budget:
                return infos[:end]
            fetched += 1
    return infos
