"""Hourly market context: SOL/USD as a mean-reverting random walk around $150 and a sentiment
index as an AR(1) process clipped to [-1, 1]."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.records import ContextRecord
from engine.sim.rand import clip, stream

SOL_CENTER_USD = 150.0
HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class ContextSeries:
    """Hourly values from ``start`` (index i is at start + i hours)."""

    start: datetime
    sol_usd: tuple[float, ...]
    sentiment: tuple[float, ...]

    def index_at(self, seconds: float) -> int:
        """Index of the latest record at or before ``seconds`` after start (clamped)."""
        return min(max(int(seconds // HOUR_S), 0), len(self.sol_usd) - 1)

    def sol_at(self, seconds: float) -> float:
        return self.sol_usd[self.index_at(seconds)]

    def sentiment_at(self, seconds: float) -> float:
        return self.sentiment[self.index_at(seconds)]

    def records(self) -> list[ContextRecord]:
        return [
            ContextRecord(ts=self.start + timedelta(hours=i), sol_price_usd=p, sentiment=s)
            for i, (p, s) in enumerate(zip(self.sol_usd, self.sentiment, strict=True))
        ]


def generate_context(seed: int, start: datetime, hours: int) -> ContextSeries:
    rng = stream(seed, "context")
    log_dev, mood = 0.0, 0.0
    sol: list[float] = []
    sentiment: list[float] = []
    for _ in range(hours):
        sol.append(round(SOL_CENTER_USD * math.exp(log_dev), 4))
        sentiment.append(round(mood, 4))
        log_dev = 0.995 * log_dev + rng.gauss(0.0, 0.012)
        mood = clip(0.97 * mood + rng.gauss(0.0, 0.08), -1.0, 1.0)
    return ContextSeries(start=start, sol_usd=tuple(sol), sentiment=tuple(sentiment))
