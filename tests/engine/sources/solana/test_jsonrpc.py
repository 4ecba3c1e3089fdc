"""The Solana RPC client against a local fake node: retries, batches, ``null``, errors.

The fake node (tests/fakes) serves the real fixture transactions by signature; faults are
queued on the server and every HTTP request it receives is counted, so "retried once" means
exactly two requests arrived.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.errors import (
    MalformedPayload,
    RetriesExhausted,
    RpcInvalidRequest,
    RpcNotAvailable,
    RpcRateLimited,
    SourceUnavailable,
)
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana import parse_transaction
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.rpc_types import NotYet
from tests.fakes.fake_http import FakeServer, Fault
from tests.fakes.solana_node import TX_DIR, FakeSolanaNode, fixture_transactions

FAST = RetryPolicy(max_attempts=4, backoff_base_s=0.001, backoff_max_s=0.004)
TXS = fixture_transactions()
SIGS = sorted(TXS)
PUMP_BUY = json.loads((TX_DIR / "pumpfun_buy_0.json").read_bytes())[0]
PUMP_BUY_SIG = PUMP_BUY["transaction"]["signatures"][0]
V0_SIG = json.loads((TX_DIR / "pumpfun_buy_1.json").read_bytes())[0]["transaction"]["signatures"][0]


def make_rpc(server: FakeServer, **kwargs: Any) -> SolanaRpc:
    options: dict[str, Any] = {
        "requests_per_second": None,
        "retry": FAST,
        "timeout": httpx.Timeout(2.0),
        "rng": random.Random(1),
    }
    options.update(kwargs)
    return SolanaRpc(f"{server.url}/?api-key=SECRET123", **options)


def timeout_for(fault: Fault) -> httpx.Timeout:
    """A short read timeout where the fault is a stall (the fake stalls 1 s), else a safe one."""
    return httpx.Timeout(2.0, read=0.2) if fault.kind == "timeout" else httpx.Timeout(2.0)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    node = FakeSolanaNode()
    node.load_fixture_transactions()
    with FakeServer(node) as running:
        yield running


async def test_get_transaction_sends_v0_confirmed_and_returns_the_fixture(
    server: FakeServer,
) -> None:
    async with make_rpc(server) as rpc:
        tx = await rpc.get_transaction(PUMP_BUY_SIG)
    assert tx == PUMP_BUY
    (request,) = server.requests
    assert request.path == "/?api-key=SECRET123"  # the real URL, key included, is on the wire
    assert request.body["method"] == "getTransaction"
    assert request.body["params"] == [
        PUMP_BUY_SIG,
        {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"},
    ]
    assert isinstance(tx, dict)
    (trade,) = parse_transaction(tx)  # what the client returns is what the parser reads
    assert trade.side == "buy"


async def test_without_max_supported_version_the_node_refuses_v0(server: FakeServer) -> None:
    async with make_rpc(server) as rpc:
        with pytest.raises(RpcNotAvailable) as caught:
            await rpc.call("getTransaction", [V0_SIG, {"encoding": "json"}])
        assert await rpc.get_transaction(V0_SIG) == TXS[V0_SIG]
    assert caught.value.code == -32015
    assert server.count() == 2  # permanent: not retried; get_transaction asks the right way


FAULTS = [
    Fault.status(429),
    Fault.status(500),
    Fault.status(502),
    Fault.status(503),
    Fault.timeout(1.0),
    Fault.dropped(),
    Fault.malformed(),
    Fault.rpc_error(-32429, "Too many requests for a specific RPC call"),
    Fault.rpc_error(-32005, "Node is behind by 42 slots"),
    Fault.rpc_error(-32603, "Internal error"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.status_code}-{f.code}")
async def test_each_fault_is_retried_then_the_call_succeeds(
    server: FakeServer, fault: Fault
) -> None:
    server.inject(fault)
    async with make_rpc(server, timeout=timeout_for(fault)) as rpc:
        assert await rpc.get_transaction(PUMP_BUY_SIG) == PUMP_BUY
        assert rpc.http_requests == 2
    assert server.count() == 2
    assert server.requests[0].fault == fault.kind and server.requests[1].fault is None


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.status_code}-{f.code}")
async def test_each_fault_on_a_batch_is_retried(server: FakeServer, fault: Fault) -> None:
    server.inject(fault)
    async with make_rpc(server, timeout=timeout_for(fault)) as rpc:
        got = await rpc.get_transactions(SIGS[:5])
    assert got == [TXS[s] for s in SIGS[:5]]
    assert [r.calls for r in server.requests] == [5, 5]


async def test_a_batch_rate_limited_as_a_whole_is_retried_not_shrunk(server: FakeServer) -> None:
    server.inject(Fault.rpc_error(-32429, "Too many requests", whole=True))
    async with make_rpc(server) as rpc:
        got = await rpc.get_transactions(SIGS[:5])
        assert rpc.batch_limit("getTransaction") == 100
    assert got == [TXS[s] for s in SIGS[:5]]
    assert [r.calls for r in server.requests] == [5, 5]


async def test_retry_after_is_honoured(server: FakeServer) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    server.inject(Fault.status(429, retry_after="0.05"))
    async with make_rpc(server, sleep=sleep) as rpc:
        assert await rpc.get_transaction(PUMP_BUY_SIG) == PUMP_BUY
    # the backoff alone would wait at most 0.001 s
    assert waits and min(waits) >= 0.05
    first, second = server.requests
    assert second.at - first.at >= 0.05


async def test_gives_up_after_max_attempts_without_the_key(server: FakeServer) -> None:
    server.inject(*[Fault.status(500)] * 4)
    async with make_rpc(server) as rpc:
        with pytest.raises(SourceUnavailable) as caught:
            await rpc.get_transaction(PUMP_BUY_SIG)
    assert isinstance(caught.value, RetriesExhausted)
    assert caught.value.attempts == 4
    assert server.count() == 4
    message = str(caught.value)
    assert "gave up after 4 attempts" in message and "HTTP 500" in message
    assert "api-key=***" in message and "SECRET123" not in message


async def test_a_rate_limit_that_persists_ends_as_source_unavailable(server: FakeServer) -> None:
    server.inject(*[Fault.rpc_error(-32429, "rate limited")] * 4)
    async with make_rpc(server) as rpc:
        with pytest.raises(RetriesExhausted) as caught:
            await rpc.get_transaction(PUMP_BUY_SIG)
    assert isinstance(caught.value.last, RpcRateLimited)


@pytest.mark.parametrize(
    ("code", "error"),
    [(-32602, RpcInvalidRequest), (-32009, RpcNotAvailable), (-32007, RpcNotAvailable)],
)
async def test_permanent_rpc_errors_are_raised_at_once(
    server: FakeServer, code: int, error: type[Exception]
) -> None:
    server.inject(Fault.rpc_error(code, "Slot 123 was skipped, or missing"))
    async with make_rpc(server) as rpc:
        with pytest.raises(error) as caught:
            await rpc.get_transaction(PUMP_BUY_SIG)
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert server.count() == 1


async def test_http_401_is_not_retried_and_says_why(server: FakeServer) -> None:
    server.inject(Fault.status(401))
    async with make_rpc(server) as rpc:
        with pytest.raises(SourceUnavailable, match="check the RPC URL"):
            await rpc.get_transaction(PUMP_BUY_SIG)
    assert server.count() == 1


async def test_null_result_comes_back_as_not_yet(server: FakeServer) -> None:
    server.node.not_yet = {SIGS[1]}
    async with make_rpc(server) as rpc:
        assert await rpc.get_transaction(SIGS[1]) == NotYet(SIGS[1])
        got = await rpc.get_transactions(SIGS[:3])
    assert got == [TXS[SIGS[0]], NotYet(SIGS[1]), TXS[SIGS[2]]]
    assert server.count() == 2  # "not yet" is an answer, not a failure: no retry


async def test_transactions_go_in_batches_of_batch_size(server: FakeServer) -> None:
    async with make_rpc(server, batch_size=4) as rpc:
        got = await rpc.get_transactions(SIGS[:10])
    assert got == [TXS[s] for s in SIGS[:10]]
    assert sorted(r.calls for r in server.requests) == [2, 4, 4]
    assert server.node.calls["getTransaction"] == 10


async def test_only_the_failed_calls_of_a_batch_are_sent_again(server: FakeServer) -> None:
    server.node.fail_next(SIGS[2], -32429, "rate limited")
    async with make_rpc(server) as rpc:
        got = await rpc.get_transactions(SIGS[:5])
    assert got == [TXS[s] for s in SIGS[:5]]
    assert [r.calls for r in server.requests] == [5, 1]
    assert server.requests[1].body[0]["params"][0] == SIGS[2]


async def test_a_permanent_error_inside_a_batch_is_raised(server: FakeServer) -> None:
    server.node.fail_next(SIGS[3], -32602, "Invalid param: WrongSize")
    async with make_rpc(server) as rpc:
        with pytest.raises(RpcInvalidRequest, match="WrongSize"):
            await rpc.get_transactions(SIGS[:5])


async def test_a_refused_batch_falls_back_to_single_requests_and_remembers(
    server: FakeServer,
) -> None:
    server.node.max_batch = 0
    async with make_rpc(server) as rpc:
        first = await rpc.get_transactions(SIGS[:3])
        assert rpc.batch_limit("getTransaction") == 1
        second = await rpc.get_transactions(SIGS[3:6])
    assert first == [TXS[s] for s in SIGS[:3]] and second == [TXS[s] for s in SIGS[3:6]]
    assert [r.calls for r in server.requests] == [3, 1, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("refusal", ["json", "http"])
async def test_a_batch_limit_is_found_down_the_ladder(server: FakeServer, refusal: str) -> None:
    server.node.max_batch = 10
    server.node.batch_refusal = refusal
    async with make_rpc(server) as rpc:
        got = await rpc.get_transactions(SIGS[:25])
        assert rpc.batch_limit("getTransaction") == 10
    assert got == [TXS[s] for s in SIGS[:25]]
    # 25 refused; 20 refused and 5 served; then 10 + 10
    assert sorted(r.calls for r in server.requests) == [5, 10, 10, 20, 25]


async def test_the_rate_limit_spaces_requests() -> None:
    clock = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    node = FakeSolanaNode()
    node.load_fixture_transactions()
    with FakeServer(node) as server:
        async with make_rpc(
            server, requests_per_second=2.0, sleep=sleep, clock=lambda: clock[0], batch_size=3
        ) as rpc:
            await rpc.get_transactions(SIGS[:9])  # 3 batches of 3 calls, each call a token
    # bucket of 2 tokens at 2/s; a batch of 3 starts once 2 are there and leaves it at -1:
    # t=0 first batch (2 -> -1), t=1.5 second (refilled to 2 -> -1), t=3.0 third
    assert waits == pytest.approx([1.5, 1.5])


async def test_a_result_of_the_wrong_shape_is_a_malformed_payload() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        body = json.loads(request.content)
        result = {"context": {"slot": 1}, "value": {"amount": "-5", "decimals": 6}}
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})

    rpc = SolanaRpc(
        "https://rpc.example/?api-key=SECRET123",
        transport=httpx.MockTransport(answer),
        requests_per_second=None,
        retry=FAST,
    )
    async with rpc:
        with pytest.raises(MalformedPayload, match="not a non-negative integer"):
            await rpc.get_token_supply("So11111111111111111111111111111111111111112")
    assert seen == ["https://rpc.example/?api-key=SECRET123"]
