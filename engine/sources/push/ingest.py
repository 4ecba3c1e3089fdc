"""From a push source to stored trades: every notified transaction read and handed on at once.

``PushIngest`` takes each ``PushedTransaction`` of a push source (``WebSocketPush`` or
``WebhookReceiver``) as it arrives and, in a task of its own (``concurrency`` at a time):

* fetches the transaction when the notification carries none (``logsNotification``, enhanced
  webhook). A node that cannot serve it yet (``null``, ``NotYet``) is asked again after
  ``RETRY_DELAYS`` for up to ``retry_for_s``; a source failure is retried the same way. After
  that the transaction is left to the poll, which reads it from the cursor (counted as
  ``left_to_poll``): nothing is dropped for good;
* takes its block time from the transaction, else from ``getBlockTime`` of its slot (a Helius
  ``transactionNotification`` carries none); a transaction without one is left to the poll;
* parses the swaps of each of its tracked wallets exactly as the poll does
  (``PushReader.pushed_trades``) and hands them to ``store`` (the tracker's ``ingest`` and the
  signal step, see ``engine.service``), then tells the reader they are stored so that the poll
  does not fetch that signature again.

Every request of this path runs in the rate limiter's urgent lane (``engine.sources.net.
ratelimit.urgent``): a reconciliation poll in progress never stands between a notification and
its alert. Idempotence is the store's: the trades' unique key makes a repeat a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from engine.errors import MalformedPayload, SourceError
from engine.records import TradeRecord
from engine.sources.net.ratelimit import Sleep, urgent
from engine.sources.push.factory import PushSource
from engine.sources.push.notifications import PushedTransaction
from engine.sources.solana.envelopes import one_line
from engine.sources.solana.rpc_types import NotYet, Transaction, TransactionResult

log = logging.getLogger(__name__)

__all__ = ["IngestCounters", "PushIngest", "PushReader", "Store"]

# Waits between asks for a transaction the node cannot serve yet (then 30 s each).
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

Store = Callable[[list[TradeRecord]], Awaitable[object]]
"""Stores trades and runs their signal step; raises when that fails (the poll repairs it)."""


@runtime_checkable
class PushReader(Protocol):
    """What the ingest needs of the live source (``engine.sources.solana.source.RpcSource``)."""

    async def fetch_pushed(self, signature: str) -> TransactionResult: ...

    async def block_time_of(self, slot: int) -> datetime | None: ...

    async def pushed_trades(
        self, tx: Transaction, wallet: str, signature: str, slot: int, block_time: datetime | None
    ) -> list[TradeRecord]: ...

    def mark_stored(self, wallet: str, signature: str) -> None: ...


@dataclass(slots=True)
class IngestCounters:
    received: int = 0  # records taken from the push source
    stored: int = 0  # transactions read and handed to the store (with or without trades)
    trades: int = 0  # trades handed to the store
    not_served_yet: int = 0  # asks the node answered null (each retry counts)
    left_to_poll: int = 0  # given up on: the poll reads them from the cursor
    unattributed: int = 0  # no tracked wallet named: nothing to read
    last_stored_at: datetime | None = None


class PushIngest:
    def __init__(
        self,
        push: PushSource,
        reader: PushReader,
        store: Store,
        *,
        concurrency: int = 8,
        retry_for_s: float = 120.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.push = push
        self.reader = reader
        self.store = store
        self.retry_for_s = retry_for_s
        self.counters = IngestCounters()
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._sleep = sleep
        self._clock = clock
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"PushIngest({self.push!r})"

    async def start(self) -> None:
        """Start the push source and the reading of its records."""
        if self._runner is not None:
            return
        await self.push.start()
        self._runner = asyncio.create_task(self._run(), name="push-ingest")

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.push.stop()

    async def idle(self) -> None:
        """Wait until every record taken so far has been dealt with (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self) -> None:
        async for pushed in self.push.events():
            self.counters.received += 1
            await self._slots.acquire()
            task = asyncio.create_task(self._guarded(pushed), name=f"push-{pushed.signature[:8]}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guarded(self, pushed: PushedTransaction) -> None:
        try:
            with urgent():
                await self.ingest(pushed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one transaction never stops the others; the poll repairs
            self.counters.left_to_poll += 1
            log.warning(
                "push: %s not stored, left to the poll: %s",
                pushed.signature,
                one_line(f"{type(exc).__name__}: {exc}"),
            )
        finally:
            self._slots.release()

    async def ingest(self, pushed: PushedTransaction) -> bool:
        """Read ``pushed`` and store its trades; False when it was left to the poll."""
        if not pushed.wallets:
            self.counters.unattributed += 1
            return False
        tx = pushed.transaction if pushed.transaction is not None else await self._fetch(pushed)
        if tx is None:
            return self._leave(pushed, "the node could not serve it")
        slot = pushed.slot if pushed.slot is not None else _int(tx.get("slot"))
        block_time = _block_time(tx)
        if block_time is None and slot is not None:
            block_time = await self.reader.block_time_of(slot)
        if block_time is None or slot is None:
            return self._leave(pushed, "no block time or slot known for it")
        trades: list[TradeRecord] = []
        for wallet in pushed.wallets:
            trades.extend(
                await self.reader.pushed_trades(tx, wallet, pushed.signature, slot, block_time)
            )
        await self.store(trades)
        for wallet in pushed.wallets:
            self.reader.mark_stored(wallet, pushed.signature)
        self.counters.stored += 1
        self.counters.trades += len(trades)
        self.counters.last_stored_at = datetime.now(UTC)
        return True

    async def _fetch(self, pushed: PushedTransaction) -> Transaction | None:
        started = self._clock()
        for attempt in itertools.count():
            try:
                result = await self.reader.fetch_pushed(pushed.signature)
            except (SourceError, MalformedPayload) as exc:
                log.info("push: fetching %s failed (%s); asking again", pushed.signature, exc)
                result = NotYet(pushed.signature)
            else:
                if not isinstance(result, NotYet):
                    return result
                self.counters.not_served_yet += 1
            wait = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            if self._clock() - started + wait > self.retry_for_s:
                return None
            await self._sleep(wait)
        raise AssertionError("unreachable")

    def _leave(self, pushed: PushedTransaction, why: str) -> bool:
        self.counters.left_to_poll += 1
        log.warning("push: %s left to the poll: %s", pushed.signature, why)
        return False


def _int(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _block_time(tx: Transaction) -> datetime | None:
    unix = _int(tx.get("blockTime"))
    return datetime.fromtimestamp(unix, UTC) if unix is not None and unix < 2**40 else None
