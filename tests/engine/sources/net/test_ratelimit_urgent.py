"""The limiter's urgent lane: a pushed KOL buy's requests go before a poll's waiting ones."""

from __future__ import annotations

import asyncio

import pytest

from engine.sources.net.ratelimit import TokenBucket, urgent
from tests.fakes.clock import FakeTime


class YieldingTime(FakeTime):
    """Virtual time whose sleep also lets the other tasks run (as a real wait would)."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        await asyncio.sleep(0)


async def test_an_urgent_caller_goes_before_ordinary_ones_already_waiting() -> None:
    t = YieldingTime()
    bucket = TokenBucket(10.0, burst=1, clock=t.clock, sleep=t.sleep)
    order: list[str] = []

    async def take(name: str) -> None:
        await bucket.acquire()
        order.append(name)

    async def take_urgently(name: str) -> None:
        with urgent():
            await take(name)

    tasks = [asyncio.create_task(take(f"poll-{k}")) for k in range(4)]
    await asyncio.sleep(0)  # poll-0 has its token, poll-1 waits for one, the rest queue
    tasks.append(asyncio.create_task(take_urgently("push")))
    await asyncio.gather(*tasks)
    assert order == ["poll-0", "poll-1", "push", "poll-2", "poll-3"]
    # the rate holds: 5 tokens, 1 saved up, 4 more at 10/s
    assert t.now == pytest.approx(0.4)


async def test_a_caller_cancelled_in_the_queue_does_not_block_the_others() -> None:
    t = YieldingTime()
    bucket = TokenBucket(10.0, burst=1, clock=t.clock, sleep=t.sleep)
    await bucket.acquire()
    waiting = [asyncio.create_task(bucket.acquire()) for _ in range(3)]
    await asyncio.sleep(0)
    waiting[1].cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert [w for k, w in enumerate(done) if k != 1] == [pytest.approx(0.1)] * 2
    await asyncio.wait_for(bucket.acquire(), 5.0)  # the queue is clear
