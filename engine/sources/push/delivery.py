"""The hand-over from a push source to its consumer: drop failed and repeated transactions,
queue the rest, count everything (shared by the WebSocket and webhook sources)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

from engine.sources.push.health import Counters
from engine.sources.push.notifications import Deduper, PushedTransaction

log = logging.getLogger(__name__)

__all__ = ["Delivery"]


class Delivery:
    """A bounded queue of new ``PushedTransaction`` records, each (signature, wallet) once.

    A full queue drops the record (counted as ``overflow``): the poll repairs it."""

    def __init__(self, counters: Counters, deduper: Deduper | None, queue_size: int) -> None:
        self.counters = counters
        self._deduper = deduper or Deduper()
        self._queue: asyncio.Queue[PushedTransaction] = asyncio.Queue(queue_size)

    def deliver(self, pushed: PushedTransaction) -> None:
        self.counters.notifications += 1
        self.counters.last_notification_at = pushed.received_at
        if pushed.failed:
            self.counters.failed += 1  # failed on chain: no trades (DESIGN.md, Real sources)
            return
        fresh = self._deduper.fresh(pushed.signature, pushed.wallets)
        if fresh is None:
            self.counters.duplicates += 1
            return
        if fresh != pushed.wallets:
            pushed = replace(pushed, wallets=fresh)
        try:
            self._queue.put_nowait(pushed)
        except asyncio.QueueFull:
            self.counters.overflow += 1
            log.warning("push: queue full; %s left to the poll", pushed.signature)
            return
        self.counters.delivered += 1

    async def get(self) -> PushedTransaction:
        return await self._queue.get()

    async def events(self) -> AsyncIterator[PushedTransaction]:
        while True:
            yield await self._queue.get()
