"""History is never skipped: a wallet with 25,000 new signatures since its cursor (25 pages of
1,000) is read down to the cursor, its swaps over as many polls as the per-poll transaction
budget needs, and its cursor only ever moves past what was read."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from engine.sources.dexscreener import DexScreener
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.source import RpcSource
from tests.fakes.dexscreener_api import FakeDexScreener
from tests.fakes.fake_http import FakeServer
from tests.fakes.solana_node import FakeSolanaNode, fixture_transaction, resign_transaction

WALLET = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
N = 25_000
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeSolanaNode(), FakeDexScreener()) as running:
        yield running


def make_source(server: FakeServer, *, max_poll_transactions: int) -> RpcSource:
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002)
    rpc = SolanaRpc(
        server.url, requests_per_second=None, retry=retry, timeout=httpx.Timeout(5.0),
        rng=random.Random(1),
    )  # fmt: skip
    dex = DexScreener(server.url, requests_per_second=None, retry=retry)
    return RpcSource(rpc, dex, max_poll_transactions=max_poll_transactions)


def script(node: FakeSolanaNode) -> tuple[str, list[str]]:
    """N signatures newer than the cursor, newest first. Three are real swaps (the pump.fun buy
    fixture under new signatures): the oldest new one, one in the middle, the newest. The other
    24,997 failed on chain (never fetched: they are only paged through)."""
    slot0 = 310_000_000
    cursor = "cursor-signature"
    swaps_at = {N - 1: "swap-oldest", N // 2: "swap-middle", 0: "swap-newest"}  # index from the top
    entries: list[tuple[str, int]] = []
    failed: list[str] = []
    for i in range(N):
        signature = swaps_at.get(i, f"failed-{i:05d}")
        entries.append((signature, slot0 + (N - i)))
        if i not in swaps_at:
            failed.append(signature)
    for i, signature in swaps_at.items():
        node.add_transaction(
            resign_transaction(
                fixture_transaction("pumpfun_buy_1.json"),
                signature=signature,
                slot=slot0 + (N - i),
                block_time=1_760_000_000 + (N - i),
                wallet=WALLET,
            )
        )
    node.add_history(WALLET, [*entries, (cursor, slot0)], failed=failed)
    return cursor, [swaps_at[N - 1], swaps_at[N // 2], swaps_at[0]]


async def test_25000_new_signatures_are_read_down_to_the_cursor_over_polls(
    server: FakeServer,
) -> None:
    cursor, swaps = script(server.node)
    async with make_source(server, max_poll_transactions=2) as source:
        first = await source.wallet_trades(WALLET, cursor, NOW)
        assert [t.signature for t in first.trades] == swaps[:2]  # oldest first, within budget
        # The cursor stops right before the next unread swap: everything up to it was read.
        assert first.cursor == f"failed-{1:05d}"
        second = await source.wallet_trades(WALLET, first.cursor, NOW)
        assert [t.signature for t in second.trades] == swaps[2:]
        assert second.cursor == swaps[2]
        third = await source.wallet_trades(WALLET, second.cursor, NOW)
        assert third.trades == [] and third.cursor is None  # nothing new: the cursor stays


async def test_without_a_budget_one_poll_reads_all_25000(server: FakeServer) -> None:
    cursor, swaps = script(server.node)
    async with make_source(server, max_poll_transactions=10_000) as source:
        got = await source.wallet_trades(WALLET, cursor, NOW)
    assert [t.signature for t in got.trades] == swaps
    assert got.cursor == swaps[-1]
