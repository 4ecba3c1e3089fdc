"""Retries with jittered exponential backoff, honouring ``Retry-After``.

An attempt signals "worth repeating" by raising ``TransientError`` (HTTP 429 and 5xx, timeouts,
dropped connections, a garbled body, a JSON-RPC "rate limited" error...). Anything else ends the
call at once. After ``max_attempts`` the caller gets ``RetriesExhausted``, a
``SourceUnavailable`` (both classes live in ``engine.errors``). Messages and log lines are built
by the callers from redacted text only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from engine.errors import RetriesExhausted, TransientError
from engine.sources.net.ratelimit import Sleep

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry.

    After failed attempt n (1-based) the wait is drawn from [c/2, c] with
    c = min(backoff_max_s, backoff_base_s * 2**(n-1)) ("equal jitter": never 0, spread out so
    that many clients do not retry in step). A ``Retry-After`` from the server raises the wait to
    at least that many seconds, capped at ``retry_after_max_s``.
    """

    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 10.0
    retry_after_max_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        doubling: float = 2 ** (attempt - 1)  # int ** int is typed Any
        ceiling = min(self.backoff_max_s, self.backoff_base_s * doubling)
        wait = ceiling / 2 + rng.uniform(0.0, ceiling / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.retry_after_max_s))
        return wait


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds (fractions accepted) or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


class Retrier:
    """Runs an attempt until it succeeds, fails for good, or the policy's attempts run out."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def run(self, attempt: Callable[[], Awaitable[T]], what: str) -> T:
        """``what`` names the call in log lines and in the final error (already redacted)."""
        last: TransientError | None = None
        for number in range(1, self.policy.max_attempts + 1):
            try:
                return await attempt()
            except TransientError as exc:
                last = exc
                if number == self.policy.max_attempts:
                    break
                wait = self.policy.delay(number, exc.retry_after, self._rng)
                log.warning(
                    "%s: %s; retry %d of %d in %.2f s",
                    what,
                    exc,
                    number,
                    self.policy.max_attempts - 1,
                    wait,
                )
                await self._sleep(wait)
        assert last is not None
        raise RetriesExhausted(
            f"{what}: gave up after {self.policy.max_attempts} attempts; last error: {last}",
            attempts=self.policy.max_attempts,
            last=last,
        )
