"""DexScreener client against a local fake API fed with a realistic ``tokens/v1`` answer.

tests/engine/dexscreener_tokens_v1.json follows the documented pair shape (no real Solana
answer could be found in public form): MOONCAT trades in a PumpSwap pool and a small Meteora
DLMM pool, WIFHAT in a Raydium CPMM pool that reports only ``fdv``, and CATDOG trades against
MOONCAT (there MOONCAT is the quote token, so that pair says nothing about MOONCAT's price).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.errors import SourceUnavailable
from engine.sources.dexscreener import DexScreener, parse_pair
from engine.sources.net.retry import RetryPolicy
from tests.fakes.dexscreener_api import FakeDexScreener
from tests.fakes.fake_http import FakeServer, Fault

PAIRS = json.loads((Path(__file__).parent / "dexscreener_tokens_v1.json").read_bytes())
MOONCAT = "5RktnEPdyjB9FsdrukyJw7uUbpUGEkLnh8mB9C31zGJL"
WIFHAT = "EKzyAiZzBpw8GLhkz5obhvFjSj6aTPmpAX2oyCpaBWnj"
CATDOG = "2aDYox41bgtyGB2mrUx8PFNwfcq2cnNfHR4ENzFaqeEf"
NOW = datetime(2026, 1, 3, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(dex=FakeDexScreener(PAIRS)) as running:
        yield running


def make_client(server: FakeServer, **kwargs: Any) -> DexScreener:
    options: dict[str, Any] = {
        "requests_per_second": None,
        "retry": RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002),
        "timeout": httpx.Timeout(2.0),
        "now": lambda: NOW,
        "rng": random.Random(4),
    }
    options.update(kwargs)
    return DexScreener(server.url, **options)


async def test_fixture_maps_into_snapshots(server: FakeServer) -> None:
    async with make_client(server) as dex:
        pairs = await dex.pairs([MOONCAT, WIFHAT])
    (request,) = server.requests
    assert request.http_method == "GET"
    assert request.path == f"/tokens/v1/solana/{MOONCAT},{WIFHAT}"

    moon = pairs[MOONCAT]  # the PumpSwap pool: $84k liquidity beats the DLMM pool's $3k
    assert moon.pair_address == "DVGzdBXGyFa9vk2vurtMw5UdWkvVvnhMwqVr3k4NBJVz"
    assert moon.dex_id == "pumpswap"
    assert moon.quote_mint == "So11111111111111111111111111111111111111112"
    assert moon.pair_created_at == datetime(2026, 1, 1, tzinfo=UTC)  # 1767225600000 ms
    s = moon.snapshot
    assert (s.mint, s.ts) == (MOONCAT, NOW)
    assert s.price_usd == 0.00008123  # from the string "0.00008123"
    assert s.mcap_usd == 81230.0
    assert s.liquidity_usd == 84213.55
    assert (s.volume_5m, s.volume_1h, s.volume_6h, s.volume_24h) == (
        7120.55,
        98233.4,
        612004.12,
        1843211.57,
    )
    assert (s.buys_1h, s.sells_1h, s.buys_24h, s.sells_24h) == (612, 455, 9120, 7702)
    assert (s.price_change_5m, s.price_change_1h, s.price_change_24h) == (2.31, -8.7, 412.0)
    assert s.holder_count is None and s.top10_pct is None  # holders come from the RPC

    hat = pairs[WIFHAT].snapshot
    assert hat.mcap_usd == 12_300_000.0  # no marketCap in the pair: fdv
    assert hat.price_change_5m is None and hat.price_change_1h is None  # absent, not 0
    assert hat.price_change_24h == 12.5 and hat.volume_5m == 0.0


async def test_a_pair_quoting_the_mint_is_not_its_price(server: FakeServer) -> None:
    async with make_client(server) as dex:
        snaps = await dex.snapshots([MOONCAT])
    # the CATDOG/MOONCAT pool came back too, with the most liquidity of all ($900k)
    assert CATDOG not in snaps
    assert snaps[MOONCAT].price_usd == 0.00008123
    async with make_client(server) as dex:
        assert (await dex.snapshots([CATDOG]))[CATDOG].price_usd == 0.001015


async def test_an_empty_answer_means_no_pool_yet_and_is_cached() -> None:
    clock = Clock()
    with FakeServer(dex=FakeDexScreener([])) as server:
        async with make_client(server, clock=clock) as dex:
            assert await dex.snapshots([MOONCAT]) == {}
            assert await dex.snapshots([MOONCAT]) == {}
        assert server.count() == 1


async def test_31_mints_go_in_2_requests(server: FakeServer) -> None:
    others = [f"Mint{i:02d}" + "1" * 36 for i in range(29)]
    mints = [MOONCAT, *others, WIFHAT]
    async with make_client(server) as dex:
        snaps = await dex.snapshots(mints)
    assert sorted(snaps) == sorted([MOONCAT, WIFHAT])
    assert [len(r) for r in server.dex.requested] == [30, 1]
    assert server.dex.requested[1] == [WIFHAT]


async def test_the_cache_answers_within_its_ttl_and_not_after(server: FakeServer) -> None:
    clock = Clock()
    async with make_client(server, clock=clock, cache_ttl_s=30.0) as dex:
        first = await dex.snapshots([MOONCAT, WIFHAT])
        clock.now += 29.0
        assert await dex.snapshots([WIFHAT, MOONCAT]) == first
        assert server.count() == 1
        clock.now += 2.0  # 31 s after the fetch
        await dex.snapshots([MOONCAT])
        assert server.count() == 2
        assert server.dex.requested[-1] == [MOONCAT]


async def test_malformed_pairs_are_skipped_with_a_log_line(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    no_price = {
        **PAIRS[2],
        "pairAddress": "NoPrice111",
        "priceUsd": "n/a",
        "liquidity": {"usd": 1e9},
    }
    no_mcap = {k: v for k, v in PAIRS[2].items() if k not in ("fdv", "marketCap")}
    no_mcap["pairAddress"] = "NoMcap111"
    no_mcap["liquidity"] = {"usd": 2e9}
    server.dex.extra = ["not a pair", {"baseToken": {}}, no_price, no_mcap, {"baseToken": None}]
    caplog.set_level(logging.WARNING, logger="engine.sources.dexscreener")
    async with make_client(server) as dex:
        snaps = await dex.snapshots([MOONCAT, WIFHAT])
    assert snaps[WIFHAT].liquidity_usd == 402113.9  # the well-formed pool, not the bigger junk
    assert snaps[MOONCAT].price_usd == 0.00008123
    skipped = [r.getMessage() for r in caplog.records if "skipped pair" in r.getMessage()]
    assert len(skipped) == 5
    assert any("NoPrice111" in m and "priceUsd" in m for m in skipped)
    assert any("NoMcap111" in m and "neither marketCap nor fdv" in m for m in skipped)


@pytest.mark.parametrize(
    "fault",
    [Fault.status(429, retry_after="0.01"), Fault.status(502), Fault.dropped(), Fault.malformed()],
    ids=lambda f: f"{f.kind}-{f.status_code}",
)
async def test_faults_are_retried(server: FakeServer, fault: Fault) -> None:
    server.inject(fault)
    async with make_client(server) as dex:
        assert MOONCAT in await dex.snapshots([MOONCAT])
        assert dex.http_requests == 2
    assert server.count() == 2


async def test_gives_up_as_source_unavailable(server: FakeServer) -> None:
    server.inject(*[Fault.status(503)] * 3)
    async with make_client(server) as dex:
        with pytest.raises(SourceUnavailable, match="gave up after 3 attempts"):
            await dex.snapshots([MOONCAT])


async def test_the_rate_limit_spaces_requests(server: FakeServer) -> None:
    clock = Clock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    async with make_client(server, requests_per_second=4.0, clock=clock, sleep=sleep) as dex:
        await dex.snapshots([f"Mint{i:03d}" + "1" * 35 for i in range(30 * 6)])
    # 6 requests at 4/s with a burst of 4: the 5th and 6th wait a quarter second each
    assert waits == pytest.approx([0.25, 0.25])


def test_parse_pair_accepts_numbers_where_strings_are_usual() -> None:
    pair = {**PAIRS[0], "priceUsd": 0.5, "txns": {"h1": {"buys": "7", "sells": 1.0}}}
    snap = parse_pair(pair, NOW).snapshot
    assert snap.price_usd == 0.5 and snap.buys_1h == 7 and snap.sells_1h == 1
    assert snap.buys_24h is None
