"""A virtual clock for rate limiters and retry loops."""

from __future__ import annotations


class FakeTime:
    """A clock and a sleep that advances it: waits are recorded, never slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
