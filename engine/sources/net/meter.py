"""Calls by method over the last hour, and what they cost in provider credits.

``CallMeter.add(method, n)`` counts ``n`` calls (every attempt: a provider bills a retried call
again) in one-minute buckets; ``per_hour()`` is the calls of each method over the last hour,
scaled up to an hour while the meter is younger than that. ``credits_per_hour`` prices them at
``HELIUS_CREDITS`` (or another table).

Helius credit costs, from https://www.helius.dev/docs/billing/credits ("Credit Costs"): every
standard RPC call 1 credit; the archival methods ``getTransaction``, ``getSignaturesForAddress``,
``getBlockTime``, ``getBlock`` and ``getBlocks`` 10 each; ``getProgramAccounts`` 10; a webhook
event delivery 1 per event pushed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping

__all__ = ["HELIUS_CREDITS", "CallMeter", "credits_per_hour"]

HELIUS_CREDITS: Mapping[str, int] = {
    "getTransaction": 10,
    "getSignaturesForAddress": 10,
    "getBlockTime": 10,
    "getBlock": 10,
    "getBlocks": 10,
    "getProgramAccounts": 10,
}
DEFAULT_CREDITS = 1  # "Standard RPC Calls: all RPC calls except those listed separately"
_BUCKET_S = 60.0
_WINDOW_S = 3600.0


class CallMeter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._buckets: deque[tuple[float, dict[str, int]]] = deque()
        self.totals: dict[str, int] = {}
        """Calls of each method since the meter was made."""

    def add(self, method: str, calls: int = 1) -> None:
        now = self._clock()
        start = now - now % _BUCKET_S
        if not self._buckets or self._buckets[-1][0] != start:
            self._buckets.append((start, {}))
        counts = self._buckets[-1][1]
        counts[method] = counts.get(method, 0) + calls
        self.totals[method] = self.totals.get(method, 0) + calls
        self._expire(now)

    def per_hour(self) -> dict[str, float]:
        """Calls of each method in the last hour (extrapolated to an hour while younger)."""
        now = self._clock()
        self._expire(now)
        seen: dict[str, int] = {}
        for _, counts in self._buckets:
            for method, n in counts.items():
                seen[method] = seen.get(method, 0) + n
        span = min(_WINDOW_S, max(now - self._started, _BUCKET_S))
        scale = _WINDOW_S / span
        return {method: n * scale for method, n in sorted(seen.items())}

    def _expire(self, now: float) -> None:
        while self._buckets and self._buckets[0][0] + _BUCKET_S <= now - _WINDOW_S:
            self._buckets.popleft()


def credits_per_hour(
    calls_per_hour: Mapping[str, float], table: Mapping[str, int] = HELIUS_CREDITS
) -> dict[str, float]:
    """Estimated credits an hour, by method, at ``table``'s prices (1 for a method not in it)."""
    return {m: n * table.get(m, DEFAULT_CREDITS) for m, n in calls_per_hour.items()}
