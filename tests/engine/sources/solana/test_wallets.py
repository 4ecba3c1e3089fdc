"""New signatures since a cursor: paging back with ``before``, oldest first, many wallets batched.

The fake node pages like mainnet (newest first, ``before`` exclusive, stops above ``until``);
it can also shuffle each page or repeat the ``before`` entry, and the result must not change.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.rpc_types import SignatureInfo
from tests.fakes.fake_http import FakeServer, Fault
from tests.fakes.solana_node import FakeSolanaNode

WALLET = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


def history(n: int, *, prefix: str = "s", top_slot: int = 300_000_100) -> list[tuple[str, int]]:
    """n entries newest first; entries 3k, 3k+1 share a slot (two swaps in one block)."""
    out = []
    slot = top_slot
    for i in range(n):
        out.append((f"{prefix}{n - i:03d}", slot))
        if i % 3 != 0:
            slot -= 7
    return out


def make_rpc(server: FakeServer, **kwargs: Any) -> SolanaRpc:
    options: dict[str, Any] = {
        "requests_per_second": None,
        "retry": RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002),
        "timeout": httpx.Timeout(2.0),
        "rng": random.Random(5),
    }
    options.update(kwargs)
    return SolanaRpc(f"{server.url}/?api-key=SECRET123", **options)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeSolanaNode()) as running:
        yield running


def names(infos: list[SignatureInfo]) -> list[str]:
    return [i.signature for i in infos]


async def test_one_page_is_newest_first_with_the_node_fields(server: FakeServer) -> None:
    server.node.add_history(WALLET, history(5))
    async with make_rpc(server) as rpc:
        page = await rpc.get_signatures_for_address(WALLET, limit=2)
    assert names(page) == ["s005", "s004"]
    assert page[0].slot == 300_000_100 and not page[0].failed
    assert page[0].confirmation_status == "finalized"
    assert page[0].block_time is not None and page[0].block_time.tzinfo is not None
    params = server.requests[0].body["params"]
    assert params == [WALLET, {"limit": 2, "commitment": "confirmed"}]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("overlap", [False, True])
async def test_until_pages_back_to_the_cursor_and_returns_oldest_first(
    server: FakeServer, shuffle: bool, overlap: bool
) -> None:
    entries = history(25)  # s025 (newest) ... s001
    server.node.add_history(WALLET, entries)
    server.node.shuffle_pages = shuffle
    server.node.overlap_pages = overlap
    cursor = "s008"
    async with make_rpc(server) as rpc:
        new = await rpc.iter_new_signatures(WALLET, cursor, page_limit=5)
    # exactly the 17 newer than the cursor, once each, oldest first
    expected = [f"s{i:03d}" for i in range(9, 26)]
    assert sorted(names(new)) == expected
    assert [i.slot for i in new] == sorted(i.slot for i in new)
    if not shuffle:  # a shuffled page hides the order of two swaps in one slot, nothing more
        assert names(new) == expected
    calls = [r.body["params"][1] for r in server.requests]
    assert all(c["until"] == cursor and c["limit"] == 5 for c in calls)
    assert "before" not in calls[0]
    assert len(server.requests) >= 4  # 17 signatures, pages of 5


async def test_nothing_new_is_one_request_and_an_empty_list(server: FakeServer) -> None:
    server.node.add_history(WALLET, history(25))
    async with make_rpc(server) as rpc:
        assert await rpc.iter_new_signatures(WALLET, "s025") == []
    assert server.count() == 1


async def test_a_new_wallet_is_read_back_at_most_max_pages(server: FakeServer) -> None:
    server.node.add_history(WALLET, history(25))
    async with make_rpc(server) as rpc:
        got = await rpc.iter_new_signatures(WALLET, None, page_limit=4, max_pages=3)
    assert names(got) == [f"s{i:03d}" for i in range(14, 26)]  # the newest 12
    assert server.count() == 3


async def test_a_fault_while_paging_is_retried(server: FakeServer) -> None:
    server.node.add_history(WALLET, history(12))
    server.inject(Fault.status(500), Fault.dropped())
    async with make_rpc(server) as rpc:
        got = await rpc.iter_new_signatures(WALLET, "s002", page_limit=4)
    assert names(got) == [f"s{i:03d}" for i in range(3, 13)]


def wallets(n: int) -> list[str]:
    return [f"W{i:05d}" for i in range(n)]


async def test_a_poll_of_1000_quiet_wallets_takes_10_requests(server: FakeServer) -> None:
    cursors: dict[str, str | None] = {}
    for i, wallet in enumerate(wallets(1000)):
        server.node.add_history(wallet, history(3, prefix=f"w{i}-"))
        cursors[wallet] = f"w{i}-003"  # the newest: nothing new
    async with make_rpc(server) as rpc:
        found = await rpc.new_signatures_many(cursors)
        assert rpc.http_requests == 10
    assert found == {wallet: [] for wallet in cursors}
    assert server.count() == 10  # the benchmark bound is 20
    assert all(r.calls == 100 for r in server.requests)


async def test_many_wallets_page_only_where_a_page_was_full(server: FakeServer) -> None:
    cursors: dict[str, str | None] = {}
    for i, wallet in enumerate(wallets(150)):
        server.node.add_history(wallet, history(12, prefix=f"w{i}-"))
        # wallet 7 has 11 new signatures (3 pages of 5), wallet 8 has 2, the rest none
        cursors[wallet] = {7: f"w{i}-001", 8: f"w{i}-010"}.get(i, f"w{i}-012")
    async with make_rpc(server) as rpc:
        found = await rpc.new_signatures_many(cursors, page_limit=5)
    assert names(found["W00007"]) == [f"w7-{k:03d}" for k in range(2, 13)]
    assert names(found["W00008"]) == ["w8-011", "w8-012"]
    assert sum(len(v) for v in found.values()) == 13
    # round 1: 150 calls in 2 batches; rounds 2 and 3: wallet 7 alone
    assert [r.calls for r in server.requests][-2:] == [1, 1]
    assert sorted(r.calls for r in server.requests[:2]) == [50, 100]
    assert server.count() == 4
