"""A notified transaction the node cannot serve yet is asked for again on a schedule, then left
to the poll; a store that fails leaves it to the poll too (never marked as read)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.records import TradeRecord
from engine.sources.push.ingest import RETRY_DELAYS, PushIngest
from engine.sources.push.notifications import PushedTransaction
from engine.sources.push.websocket import WebSocketPush
from tests.engine.sources.push.world import live_source
from tests.engine.sources.solana.test_source import BUY_1, BUY_1_TRADE, WALLET_P, sig
from tests.fakes.clock import FakeTime
from tests.fakes.dexscreener_api import FakeDexScreener
from tests.fakes.fake_http import FakeServer
from tests.fakes.solana_node import FakeSolanaNode


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeSolanaNode(), FakeDexScreener()) as running:
        running.node.add_transaction(BUY_1)
        yield running


def notified() -> PushedTransaction:
    return PushedTransaction(sig(BUY_1), BUY_1["slot"], (WALLET_P,), None, "logs")


async def test_not_yet_served_is_asked_again_then_left_to_the_poll(server: FakeServer) -> None:
    server.node.not_yet.add(sig(BUY_1))
    t = FakeTime()
    stored: list[list[TradeRecord]] = []

    async def store(trades: list[TradeRecord]) -> None:
        stored.append(trades)

    async with live_source(server) as source:
        push = WebSocketPush("ws://127.0.0.1:9/", [WALLET_P])  # never started here
        ingest = PushIngest(push, source, store, retry_for_s=10.0, sleep=t.sleep, clock=t.clock)
        assert await ingest.ingest(notified()) is False
    # 0.25 + 0.5 + 1 + 2 + 4 = 7.75 s waited; the next wait (8 s) would pass 10 s: given up
    assert t.waits == list(RETRY_DELAYS[:5])
    assert server.node.calls["getTransaction"] == 6
    assert ingest.counters.not_served_yet == 6 and ingest.counters.left_to_poll == 1
    assert stored == []
    assert (WALLET_P, sig(BUY_1)) not in source._stored  # the poll will fetch it


async def test_served_after_a_while_is_stored_and_marked_read(server: FakeServer) -> None:
    server.node.not_yet.add(sig(BUY_1))
    t = FakeTime()
    stored: list[list[TradeRecord]] = []

    async def served_later(seconds: float) -> None:
        await t.sleep(seconds)
        if len(t.waits) == 2:
            server.node.not_yet.clear()

    async def store(trades: list[TradeRecord]) -> None:
        stored.append(trades)

    async with live_source(server) as source:
        push = WebSocketPush("ws://127.0.0.1:9/", [WALLET_P])
        ingest = PushIngest(push, source, store, sleep=served_later, clock=t.clock)
        assert await ingest.ingest(notified()) is True
    assert stored == [[BUY_1_TRADE]]
    assert server.node.calls["getTransaction"] == 3
    assert (WALLET_P, sig(BUY_1)) in source._stored


async def test_a_failing_store_leaves_the_transaction_to_the_poll(server: FakeServer) -> None:
    async def store(trades: list[TradeRecord]) -> None:
        raise RuntimeError("database is locked")

    async with live_source(server) as source:
        push = WebSocketPush("ws://127.0.0.1:9/", [WALLET_P])
        ingest = PushIngest(push, source, store)
        await ingest._slots.acquire()
        await ingest._guarded(notified())
    assert ingest.counters.left_to_poll == 1 and ingest.counters.stored == 0
    assert (WALLET_P, sig(BUY_1)) not in source._stored
