"""A token-bucket rate limiter for one data source: ``rate`` requests per second on average."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up (default: one second's worth).

    ``acquire(cost)`` waits until the bucket holds ``min(cost, burst)`` tokens, then takes all
    ``cost`` of them. A cost above the burst (a large JSON-RPC batch counted per call) leaves the
    bucket in debt, so the next caller waits for it: the long-run rate holds either way. Callers
    are served one at a time, in arrival order. ``rate`` None or <= 0 means no limit.
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

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, burst={self.burst})"

    async def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, waiting as long as needed; returns the seconds waited."""
        if self.rate is None:
            return 0.0
        async with self._lock:
            self._refill()
            need = min(cost, self.burst)
            waited = 0.0
            if self._tokens < need:
                waited = (need - self._tokens) / self.rate
                await self._sleep(waited)
                self._refill()
            self._tokens -= cost
            return waited

    def _refill(self) -> None:
        assert self.rate is not None
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
