"""The backoff policy, Retry-After, and the retry loop every data source uses."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from engine.errors import RetriesExhausted, SourceUnavailable, TransientError
from engine.sources.net.retry import Retrier, RetryPolicy, parse_retry_after
from tests.fakes.clock import FakeTime


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
