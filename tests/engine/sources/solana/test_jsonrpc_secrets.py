"""The API key in the RPC URL never shows: not in exceptions, tracebacks, log lines or reprs.

Every error path is triggered against a URL holding ``SECRET123`` (query-string style, as
Helius, and path style, as Alchemy/QuickNode); all log records of every logger (httpx's request
log included) are captured at DEBUG. The key must still reach the server.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from engine.errors import MoonbotError, SourceUnavailable
from engine.sources.net.redact import redact_url
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.rpc import SolanaRpc
from tests.fakes.fake_http import FakeServer, Fault
from tests.fakes.solana_node import FakeSolanaNode, fixture_transactions

KEY = "SECRET123"
SIG = sorted(fixture_transactions())[0]
# (URL path, the whole key in it); the server's error messages quote the whole key
PATHS = [("/?api-key=SECRET123", "SECRET123"), ("/v2/SECRET123abcdef4567/", "SECRET123abcdef4567")]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    node = FakeSolanaNode()
    node.load_fixture_transactions()
    with FakeServer(node) as running:
        yield running


def make_rpc(server: FakeServer, path: str) -> SolanaRpc:
    return SolanaRpc(
        server.url + path,
        requests_per_second=None,
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.001, backoff_max_s=0.002),
        timeout=httpx.Timeout(2.0, read=0.2),
        rng=random.Random(3),
    )


Scenario = tuple[list[Fault], Callable[[SolanaRpc], Awaitable[Any]]]


def _scenarios(key: str) -> dict[str, Scenario]:
    def one(rpc: SolanaRpc) -> Awaitable[Any]:
        return rpc.get_transaction(SIG)

    def batch(rpc: SolanaRpc) -> Awaitable[Any]:
        return rpc.get_transactions(sorted(fixture_transactions())[:3])

    return {
        "http 500 until give-up": ([Fault.status(500)] * 2, one),
        "429 until give-up": ([Fault.status(429, retry_after="0.01")] * 2, one),
        "timeouts until give-up": ([Fault.timeout(1.0)] * 2, one),
        "dropped until give-up": ([Fault.dropped()] * 2, one),
        "garbled until give-up": ([Fault.malformed()] * 2, one),
        "http 401": ([Fault.status(401)], one),
        "http 403": ([Fault.status(403)], one),
        "rpc error echoing the key": ([Fault.rpc_error(-32602, f"invalid api key {key}")], one),
        "transient rpc error echoing the key": (
            [Fault.rpc_error(-32429, f"key {key} is rate limited")] * 2,
            one,
        ),
        "batch errors until give-up": ([Fault.status(503)] * 2, batch),
    }


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


@pytest.mark.parametrize(("path", "key"), PATHS)
async def test_the_key_never_appears(
    server: FakeServer, path: str, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failures = 0
    async with make_rpc(server, path) as rpc:
        assert KEY not in repr(rpc) and KEY not in rpc.url
        for name, (faults, action) in _scenarios(key).items():
            server.inject(*faults)
            with pytest.raises(MoonbotError) as caught:
                await action(rpc)
            assert KEY not in _all_text(caught.value), name
            failures += 1
        # a refused batch (logged with its reason), then single requests that succeed
        server.node.max_batch = 0
        server.node.batch_refusal = "http"
        await rpc.get_transactions(sorted(fixture_transactions())[:2])
    assert failures == 10
    assert "HTTP Request: POST" in caplog.text  # httpx did log every request...
    assert "***" in caplog.text  # ...with the key masked
    assert KEY not in caplog.text
    assert all(KEY in r.path for r in server.requests)  # while the real URL went on the wire


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://mainnet.helius-rpc.com/?api-key=SECRET123",
            "https://mainnet.helius-rpc.com/?api-key=***",
        ),
        (
            "https://solana-mainnet.g.alchemy.com/v2/abcDEF123ghiJKL456mnoPQR789stu00",
            "https://solana-mainnet.g.alchemy.com/v2/***",
        ),
        (
            "https://old-frosty-pond.solana-mainnet.quiknode.pro/0123456789abcdef0123456789abcdef01234567/",
            "https://old-frosty-pond.solana-mainnet.quiknode.pro/***/",
        ),
        ("http://moon:SECRET123@10.0.0.5:8899/", "http://***@10.0.0.5:8899/"),
        ("http://127.0.0.1:8899", "http://127.0.0.1:8899"),
        ("https://api.mainnet-beta.solana.com", "https://api.mainnet-beta.solana.com"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


async def test_user_info_becomes_basic_auth_on_the_wire_only() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": None})

    async with SolanaRpc(
        "http://moon:SECRET123@10.0.0.5:8899/",
        transport=httpx.MockTransport(answer),
        requests_per_second=None,
    ) as rpc:
        assert KEY not in repr(rpc)
        await rpc.get_transaction(SIG)
    (request,) = seen
    assert str(request.url) == "http://10.0.0.5:8899/"
    assert request.headers["Authorization"] == "Basic bW9vbjpTRUNSRVQxMjM="  # moon:SECRET123


async def test_from_settings_reads_the_secret_url_and_rate(tmp_settings: Any) -> None:
    settings = tmp_settings.model_copy(
        update={
            "rpc_url": SecretStr("https://mainnet.helius-rpc.com/?api-key=SECRET123"),
            "rpc_requests_per_second": 3.0,
        }
    )
    async with SolanaRpc.from_settings(settings) as rpc:
        assert repr(rpc) == "SolanaRpc('https://mainnet.helius-rpc.com/?api-key=***')"
        assert rpc.requests_per_second == 3.0


async def test_from_settings_without_a_url_is_source_unavailable(tmp_settings: Any) -> None:
    with pytest.raises(SourceUnavailable, match="MOONBOT_RPC_URL"):
        SolanaRpc.from_settings(tmp_settings)
