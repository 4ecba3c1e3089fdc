"""The shared HTTP plumbing: token bucket, backoff policy, Retry-After, the retry loop."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from engine.errors import RetriesExhausted, SourceUnavailable, TransientError
from engine.sources.net.ratelimit import TokenBucket
from engine.sources.net.retry import Retrier, RetryPolicy, parse_retry_after


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


def test_backoff_doubles_with_equal_jitter_and_a_ceiling() -> None:
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=5.0)
    rng = random.Random(0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)]:
        for _ in range(50):
            assert ceiling / 2 <= policy.delay(attempt, None, rng) <= ceiling


def test_retry_after_raises_the_wait_up_to_its_cap() -> None:
    policy = RetryPolicy(backoff_base_s=0.01, backoff_max_s=0.01, retry_after_max_s=30.0)
    rng = random.Random(0)
    assert policy.delay(1, 2.5, rng) == 2.5
    assert policy.delay(1, 3600.0, rng) == 30.0
    assert policy.delay(1, 0.0, rng) <= 0.01


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.05") == 0.05
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0  # past: now
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-4") == 0.0


async def test_retrier_retries_transient_errors_only() -> None:
    t = FakeTime()
    retrier = Retrier(
        RetryPolicy(max_attempts=3, backoff_base_s=0.1), sleep=t.sleep, rng=random.Random(1)
    )
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise TransientError("HTTP 503", retry_after=1.0 if attempts == 1 else None)
        return "ok"

    assert await retrier.run(flaky, "test call") == "ok"
    assert attempts == 3
    assert t.waits[0] == 1.0 and 0.1 <= t.waits[1] <= 0.2

    async def broken() -> str:
        raise SourceUnavailable("HTTP 401")

    with pytest.raises(SourceUnavailable, match="HTTP 401") as caught:
        await retrier.run(broken, "test call")
    assert not isinstance(caught.value, RetriesExhausted)


async def test_retrier_gives_up_with_the_last_error() -> None:
    t = FakeTime()
    retrier = Retrier(RetryPolicy(max_attempts=2, backoff_base_s=0.1), sleep=t.sleep)

    async def down() -> None:
        raise TransientError("timed out (ReadTimeout)")

    with pytest.raises(RetriesExhausted) as caught:
        await retrier.run(down, "getSlot at https://rpc.example/?api-key=***")
    assert caught.value.attempts == 2 and len(t.waits) == 1
    assert str(caught.value) == (
        "getSlot at https://rpc.example/?api-key=***: gave up after 2 attempts; "
        "last error: timed out (ReadTimeout)"
    )
