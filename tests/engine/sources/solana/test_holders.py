"""Holder concentration: the pure math on hand-computed examples, then the RPC reads against the
fake node fed with the real ``getTokenLargestAccounts`` fixture and a real pump.fun bundle."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from engine.records import SnapshotRecord
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.holders import (
    PUMPFUN_PROGRAM,
    HolderBalance,
    fetch_holder_stats,
    gini,
    holder_stats,
)
from engine.sources.solana.rpc import SolanaRpc
from tests.fakes.fake_http import FakeServer
from tests.fakes.solana_node import RPC_DIR, FakeSolanaNode

RAYDIUM_V4_AUTHORITY = "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
INCINERATOR = "1nc1nerator11111111111111111111111111111111"


def test_gini_of_hand_computed_examples() -> None:
    assert gini([5, 5, 5, 5]) == 0.0
    # one holder has everything: (n - 1) / n
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)
    # sum |xi - xj| over ordered pairs = 20; / (2 n^2 mean = 80) = 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)
    assert gini([7]) == 0.0
    assert gini([]) is None and gini([0, 0]) is None


def test_holder_stats_by_hand() -> None:
    balances = [
        ("dev", 200),
        ("bob", 250),
        ("curve", 200),
        ("dev", 100),  # a second token account of the same holder
        ("carol", 100),
        ("burn", 50),
        ("dan", 50),
        ("erin", 0),  # empty accounts are not holders
    ]
    stats = holder_stats(1000, balances, excluded={"curve", "burn"}, creator="dev")
    assert stats.holders == (
        HolderBalance("dev", 300),
        HolderBalance("bob", 250),
        HolderBalance("carol", 100),
        HolderBalance("dan", 50),
    )
    assert stats.excluded == (HolderBalance("curve", 200), HolderBalance("burn", 50))
    assert stats.top1_pct == pytest.approx(30.0)
    assert stats.top3_pct == pytest.approx(65.0)
    assert stats.top10_pct == pytest.approx(70.0)
    # |diffs| of 300,250,100,50: 50+200+250+150+200+50 = 900, x2 = 1800; 2 n^2 mean = 5600
    assert stats.gini == pytest.approx(1800 / 5600)
    assert stats.top_holder_is_dev is True
    assert holder_stats(1000, balances, creator="bob").top_holder_is_dev is False
    assert holder_stats(1000, balances).top_holder_is_dev is None


def test_nothing_to_measure_gives_none() -> None:
    empty = holder_stats(1000, [("curve", 1000)], excluded={"curve"}, creator="dev")
    assert empty.holders == () and empty.top1_pct is None and empty.gini is None
    assert empty.top_holder_is_dev is None
    assert holder_stats(0, [("a", 5)]).top1_pct is None


def test_apply_sets_the_snapshot_holder_fields() -> None:
    snapshot = SnapshotRecord(
        mint="m", ts=datetime(2026, 3, 1, tzinfo=UTC), price_usd=1.0, mcap_usd=2.0
    )
    stats = holder_stats(100, [("a", 10), ("b", 5)], creator="a")
    out = stats.apply(snapshot)
    assert (out.top1_pct, out.top3_pct, out.top10_pct) == (10.0, 15.0, 15.0)
    assert out.holder_gini == pytest.approx(stats.gini)
    assert out.top_holder_is_dev is True and out.price_usd == 1.0


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeSolanaNode()) as running:
        yield running


def make_rpc(server: FakeServer) -> SolanaRpc:
    return SolanaRpc(
        f"{server.url}/?api-key=SECRET123",
        requests_per_second=None,
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.001),
        timeout=httpx.Timeout(2.0),
        rng=random.Random(2),
    )


async def test_the_real_largest_accounts_fixture(server: FakeServer) -> None:
    mint = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY2oNqhZpGbDtPcb"
    fixture = json.loads((RPC_DIR / "getTokenLargestAccounts_response.json").read_bytes())
    (entry,) = fixture["result"]["value"]  # 7247amx…: "1000" raw, 2 decimals
    holder = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
    server.node.add_token(mint, 4000, 2, [(entry["address"], holder, int(entry["amount"]))])
    server.node.largest[mint] = fixture["result"]["value"]  # served byte for byte
    async with make_rpc(server) as rpc:
        stats = await fetch_holder_stats(rpc, mint, creator=holder)
    assert stats.holders == (HolderBalance(holder, 1000),)
    assert (stats.top1_pct, stats.top3_pct, stats.top10_pct) == (25.0, 25.0, 25.0)
    assert stats.gini == 0.0 and stats.top_holder_is_dev is True


# pumpfun_buy_bundle.json: a 5-wallet bundled buy of ED5nyy…; post-balances of every token
# account, by owner. Ak4Cu8… is the bonding curve (its token account receives the SOL side).
BUNDLE_MINT = "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY"
BUNDLE = [
    (
        "6pDbEyhbWCfu1QKeBoWUitPqVgAWv8tXZPQuSx1VYhA7",
        "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA",
        12373970345963,
    ),
    (
        "9CDyTCwCfjtKK4Lh6cUgCsjCFDFHhMA34EKEErCxLi4N",
        "Ak4Cu8ZTTbaLvAubaCSpzdrEKbpwMpkF4RArSoRLRvMF",
        900361836482154,
    ),
    (
        "BpRGD9MnQc4dzLFLeD3H6KrThvAJ7RroWyTUAmyvzx82",
        "7SPkzf8DSxdemSKMEEKquRKEYrdDjcuHaQwac5nvnB4b",
        12100159018198,
    ),
    (
        "8opo1LMsGZ6dingcfaZUXxXjMPy2A68e5C3efsztDWuV",
        "GdCFP1doq784rQTHJDuvpLchVWoMtJwdAM8MQTCHWTuz",
        12023935360031,
    ),
    (
        "4JHzjXrxS53RtvrLMi8GUAFGJxtas1Q9GS95HGzUtfNf",
        "8rL9duqqeBRzZZyiz77xgfzDUdbR99TPjmVk5D1LNHuL",
        12044860698416,
    ),
]
CURVE = "Ak4Cu8ZTTbaLvAubaCSpzdrEKbpwMpkF4RArSoRLRvMF"
DEV = "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA"


async def test_a_pump_fun_bundle_without_its_bonding_curve(server: FakeServer) -> None:
    holdings = [
        *BUNDLE,
        # plus a graduated-pool vault under the Raydium v4 authority and a burn
        ("3FzWn3rTg9ZpDwbe8wjhHkD5KEmWy4gTHeFnGzFJ6gDQ", RAYDIUM_V4_AUTHORITY, 20_000_000_000_000),
        ("5Gj6zw2ovXGpArvC6ekPW8iMvcEYfXuAhXa5aMrPJETn", INCINERATOR, 15_000_000_000_000),
    ]
    server.node.add_token(BUNDLE_MINT, 10**15, 6, holdings, owner_programs={CURVE: PUMPFUN_PROGRAM})
    async with make_rpc(server) as rpc:
        stats = await fetch_holder_stats(rpc, BUNDLE_MINT, creator=DEV)
    assert [h.owner for h in stats.excluded] == [CURVE, RAYDIUM_V4_AUTHORITY, INCINERATOR]
    assert [h.owner for h in stats.holders][0] == DEV
    # of 1e15 raw: 12373970345963 -> 1.2373970345963 %; top 3 adds 12100159018198 and
    # 12044860698416; top 10 (all four) adds 12023935360031
    assert stats.top1_pct == pytest.approx(1.2373970345963)
    assert stats.top3_pct == pytest.approx(3.6518990062577)
    assert stats.top10_pct == pytest.approx(4.8542925422608)
    # four nearly equal holders: sum |xi - xj| / (2 n^2 mean), checked with exact fractions
    assert stats.gini == pytest.approx(0.0056929164649354765)
    assert stats.top_holder_is_dev is True
    # supply and largest accounts (2), owners of the token accounts (1), owner programs (1)
    assert server.count() == 4
    owner_lookup = server.requests[-1].body["params"]
    assert owner_lookup[1]["encoding"] == "base64"
    assert owner_lookup[1]["dataSlice"] == {"offset": 0, "length": 0}


async def test_the_caller_can_exclude_more(server: FakeServer) -> None:
    server.node.add_token(BUNDLE_MINT, 10**15, 6, BUNDLE, owner_programs={CURVE: PUMPFUN_PROGRAM})
    async with make_rpc(server) as rpc:
        stats = await fetch_holder_stats(rpc, BUNDLE_MINT, creator=DEV, exclude=[DEV])
    assert DEV not in {h.owner for h in stats.holders}
    assert stats.top1_pct == pytest.approx(1.2100159018198)
    assert stats.top_holder_is_dev is False


async def test_a_closed_token_account_is_skipped(server: FakeServer) -> None:
    server.node.add_token(BUNDLE_MINT, 10**15, 6, BUNDLE, owner_programs={CURVE: PUMPFUN_PROGRAM})
    del server.node.accounts[BUNDLE[0][0]]  # the dev's account closed after the largest read
    async with make_rpc(server) as rpc:
        stats = await fetch_holder_stats(rpc, BUNDLE_MINT, creator=DEV)
    assert len(stats.holders) == 3 and stats.top_holder_is_dev is False
