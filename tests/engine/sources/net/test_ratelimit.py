"""The token bucket that paces every data source's requests."""

from __future__ import annotations

import pytest

from engine.sources.net.ratelimit import TokenBucket
from tests.fakes.clock import FakeTime


async def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(10.0, burst=3, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        await bucket.acquire()
    # 3 saved up, then one every 0.1 s
    assert t.waits == pytest.approx([0.1, 0.1])


async def test_token_bucket_refills_while_idle_up_to_the_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(2.0, clock=t.clock, sleep=t.sleep)  # burst = 2
    await bucket.acquire(2)
    t.now += 100.0  # a long pause saves up no more than the burst
    await bucket.acquire(2)
    await bucket.acquire(1)
    assert t.waits == pytest.approx([0.5])


async def test_a_cost_above_the_burst_goes_into_debt() -> None:
    t = FakeTime()
    bucket = TokenBucket(10.0, burst=10, clock=t.clock, sleep=t.sleep)
    await bucket.acquire(100)  # a batch of 100 calls: starts at once with 10 saved up...
    await bucket.acquire(1)  # ...and the next caller pays: 91 tokens at 10/s
    assert t.waits == pytest.approx([9.1])


async def test_no_rate_means_no_waiting() -> None:
    t = FakeTime()
    bucket = TokenBucket(None, clock=t.clock, sleep=t.sleep)
    for _ in range(1000):
        await bucket.acquire(100)
    assert t.waits == []
