"""Bounded waits for the push tests: poll a condition, never sleep and hope."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engine.sources.push.notifications import PushedTransaction

BOUND_S = 15.0  # generous: a slow CI machine still passes; a hang still fails


async def eventually(condition: Callable[[], bool], what: str, bound_s: float = BOUND_S) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {bound_s} s: {what}")
        await asyncio.sleep(0.005)


async def take(source: object, count: int, bound_s: float = BOUND_S) -> list[PushedTransaction]:
    """The next ``count`` records of a push source (anything with ``async get()``)."""
    get = source.get  # type: ignore[attr-defined]
    return [await asyncio.wait_for(get(), bound_s) for _ in range(count)]
