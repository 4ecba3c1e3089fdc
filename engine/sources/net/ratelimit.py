"""A token-bucket rate limiter for one data source: ``rate`` requests per second on average.

Two lanes share the bucket: a caller running under ``urgent()`` (the push path: a KOL buy that
was just notified) is served before every ordinary caller already waiting (the reconciliation
poll), so a long poll never sits between a notification and its alert. The long-run rate is the
same either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

_URGENT: contextvars.ContextVar[bool] = contextvars.ContextVar("moonbot_urgent", default=False)


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Inside this block (and the tasks it creates), requests take the urgent lane."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def is_urgent() -> bool:
    return _URGENT.get()


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up (default: one second's worth).

    ``acquire(cost)`` waits until the bucket holds ``min(cost, burst)`` tokens, then takes all
    ``cost`` of them. A cost above the burst (a large JSON-RPC batch counted per call) leaves the
    bucket in debt, so the next caller waits for it: the long-run rate holds either way. Callers
    are served one at a time: urgent ones first, then in arrival order. ``rate`` None or <= 0
    means no limit.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate if rate is not None and rate > 0 else None
        self.burst = max(1.0, burst if burst is not None else (self.rate or 1.0))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = asyncio.Lock()
        self._queue: list[tuple[int, int]] = []  # (lane, arrival): lane 0 urgent, 1 ordinary
        self._turn = asyncio.Condition(self._lock)
        self._arrivals = itertools.count()
        self._wakers: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, burst={self.burst})"

    async def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, waiting as long as needed; returns the seconds waited."""
        if self.rate is None:
            return 0.0
        ticket = (0 if is_urgent() else 1, next(self._arrivals))
        heapq.heappush(self._queue, ticket)  # queued on arrival, before the lock is free
        try:
            async with self._turn:
                try:
                    await self._turn.wait_for(lambda: self._queue[0] == ticket)
                    return await self._take(cost)
                finally:
                    self._leave(ticket)
                    self._turn.notify_all()
        finally:
            if ticket in self._queue:  # cancelled while waiting for the lock
                self._leave(ticket)
                waker = asyncio.ensure_future(self._wake())
                self._wakers.add(waker)
                waker.add_done_callback(self._wakers.discard)

    async def _take(self, cost: float) -> float:
        assert self.rate is not None
        self._refill()
        need = min(cost, self.burst)
        waited = 0.0
        if self._tokens < need:
            waited = (need - self._tokens) / self.rate
            await self._sleep(waited)
            self._refill()
        self._tokens -= cost
        return waited

    def _leave(self, ticket: tuple[int, int]) -> None:
        self._queue.remove(ticket)
        heapq.heapify(self._queue)

    async def _wake(self) -> None:
        async with self._turn:
            self._turn.notify_all()

    def _refill(self) -> None:
        assert self.rate is not None
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
