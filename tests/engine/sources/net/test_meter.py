"""Calls per hour by method, and their Helius credits (https://www.helius.dev/docs/billing/credits:
getTransaction and getSignaturesForAddress 10 credits, a standard call 1)."""

from __future__ import annotations

import pytest

from engine.sources.net.meter import CallMeter, credits_per_hour
from tests.fakes.clock import FakeTime


def test_calls_over_the_last_hour_scaled_while_younger() -> None:
    t = FakeTime()
    meter = CallMeter(t.clock)
    meter.add("getSignaturesForAddress", 100)
    meter.add("getTransaction", 3)
    t.now = 600.0  # ten minutes in: an hour is 6 times that
    meter.add("getMultipleAccounts")
    assert meter.per_hour() == pytest.approx(
        {"getMultipleAccounts": 6.0, "getSignaturesForAddress": 600.0, "getTransaction": 18.0}
    )
    t.now = 600.0 + 3700.0  # the first calls are more than an hour old now
    assert meter.per_hour() == {}
    assert meter.totals == {
        "getSignaturesForAddress": 100,
        "getTransaction": 3,
        "getMultipleAccounts": 1,
    }


def test_credits_at_helius_prices() -> None:
    calls = {"getSignaturesForAddress": 12_000.0, "getTransaction": 50.0, "getTokenSupply": 8.0}
    assert credits_per_hour(calls) == {
        "getSignaturesForAddress": 120_000.0,
        "getTransaction": 500.0,
        "getTokenSupply": 8.0,
    }


async def test_the_client_counts_every_call_of_a_batch() -> None:
    from engine.sources.solana.rpc import SolanaRpc
    from tests.fakes.fake_http import FakeServer
    from tests.fakes.solana_node import FakeSolanaNode

    with FakeServer(FakeSolanaNode()) as server:
        async with SolanaRpc(
            server.url, requests_per_second=None, batch_sizes={"getTransaction": 10}
        ) as rpc:
            await rpc.get_transactions([f"sig{k}" for k in range(25)])
            assert rpc.meter.totals == {"getTransaction": 25}
            assert len(server.requests) == 3  # 10 + 10 + 5
