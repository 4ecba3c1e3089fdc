"""WebSocketPush against the fake node (tests/fakes/ws_node.py) fed with the real WS frames."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from engine.sources.net.retry import RetryPolicy
from engine.sources.push import trades_of
from engine.sources.push.websocket import WebSocketPush, plan_shards
from tests.engine.sources.push.polling import eventually, take
from tests.engine.sources.solana.test_parser_venues import FRAME_TRADES, got
from tests.fakes.ws_node import (
    DOCS_FRAME,
    FakeWsNode,
    frame_fee_payer,
    frame_signature,
    load_frames,
)

FRAMES = load_frames()
SIGNATURES = [frame_signature(f) for f in FRAMES]
PAYERS = [frame_fee_payer(f) for f in FRAMES]  # ten distinct wallets, one per frame
FAST = RetryPolicy(max_attempts=1, backoff_base_s=0.01, backoff_max_s=0.05)
SLOT = 308454032  # every frame's slot


@pytest.fixture
async def node() -> AsyncIterator[FakeWsNode]:
    async with FakeWsNode() as fake:
        yield fake


def push_for(node: FakeWsNode, wallets: list[str], **options: object) -> WebSocketPush:
    options.setdefault("reconnect", FAST)
    return WebSocketPush(node.url, wallets, **options)  # type: ignore[arg-type]


def test_fixture_wallets_are_the_fee_payers_of_the_expected_trades() -> None:
    assert len(set(PAYERS)) == 10
    # frame #4 has two trades of one wallet, so the expected list has 11 rows
    assert [t.wallet for t in FRAME_TRADES] == PAYERS[:5] + PAYERS[4:]


def test_plan_shards() -> None:
    wallets = [f"w{i}" for i in range(10)]
    shards, left = plan_shards(wallets, "logs", connections=3, subscriptions_per_connection=4)
    assert [len(s) for s in shards] == [4, 3, 3] and left == []
    assert sorted(w for s in shards for (w,) in s) == sorted(wallets)
    shards, left = plan_shards(wallets, "logs", connections=2, subscriptions_per_connection=3)
    assert [len(s) for s in shards] == [3, 3] and left == wallets[6:]
    shards, left = plan_shards(wallets, "logs", connections=8, subscriptions_per_connection=5)
    assert [len(s) for s in shards] == [5, 5] and left == []  # as few connections as hold them
    shards, left = plan_shards(
        wallets,
        "helius",
        connections=2,
        subscriptions_per_connection=1,
        accounts_per_subscription=4,
    )
    assert shards == [[tuple(wallets[0:4])], [tuple(wallets[4:8])]] and left == wallets[8:]
    assert plan_shards(["a", "a"], "logs", connections=1, subscriptions_per_connection=9)[0] == [
        [("a",)]
    ]
    assert plan_shards([], "logs", connections=2, subscriptions_per_connection=2) == ([], [])


async def test_logs_subscriptions_one_wallet_each_sharded(node: FakeWsNode) -> None:
    async with push_for(node, PAYERS, connections=3, subscriptions_per_connection=4) as push:
        await eventually(lambda: push.health().state == "connected", "all subscribed")
        health = push.health()
        assert (health.connections, health.connected, health.subscriptions) == (3, 3, 10)
        assert len(node.connections) == 3
        assert sorted(sorted(a) for a in node.subscribed("logs")) == sorted([w] for w in PAYERS)
        for request in node.requests:
            assert request["method"] == "logsSubscribe"
            assert request["params"] == [
                {"mentions": [request["params"][0]["mentions"][0]]},
                {"commitment": "confirmed"},
            ]
        # the ids the server answered are the ones tracked
        assert set(push.subscription_ids()) == set(node.subscriptions)


async def test_resubscribes_every_subscription_after_a_forced_disconnect(
    node: FakeWsNode,
) -> None:
    async with push_for(node, PAYERS, connections=2, subscriptions_per_connection=5) as push:
        await eventually(lambda: push.health().subscriptions == 10, "first subscriptions")
        first_ids = set(push.subscription_ids())
        assert await node.drop_connections() == 2
        await eventually(
            lambda: node.accepted == 4 and push.health().subscriptions == 10, "resubscribed"
        )
        second_ids = set(push.subscription_ids())
        assert second_ids == set(node.subscriptions) and not second_ids & first_ids
        assert sorted(sorted(a) for a in node.subscribed("logs")) == sorted([w] for w in PAYERS)
        assert len(node.requests) == 20
        assert push.health().counters.reconnects == 2
        # a notification for a subscription of the dead connection is not delivered
        stale = {
            "jsonrpc": "2.0",
            "method": "logsNotification",
            "params": {
                "result": {"context": {"slot": 1}, "value": {"signature": "x", "err": None}},
                "subscription": min(first_ids),
            },
        }
        await node.send_raw(json.dumps(stale))
        assert await node.notify_logs(PAYERS[3], SIGNATURES[3], SLOT) == 1
        (pushed,) = await take(push, 1)
        assert (pushed.signature, pushed.wallets) == (SIGNATURES[3], (PAYERS[3],))
        assert push.health().counters.unknown_subscription == 2  # sent on both connections


async def test_logs_duplicates_once_out_of_order_and_not_yet_servable(node: FakeWsNode) -> None:
    node.not_yet = {SIGNATURES[0]}
    async with push_for(node, PAYERS[:3], connections=1) as push:
        await eventually(lambda: push.health().subscriptions == 3, "subscribed")
        # newest slot first, each notification twice (a resubscribing node repeats itself)
        for offset, i in enumerate([2, 0, 1]):
            for _ in range(2):
                await node.notify_logs(PAYERS[i], SIGNATURES[i], SLOT + 10 - offset)
        await node.notify_logs(PAYERS[1], SIGNATURES[9], SLOT - 5)  # a later sentinel
        got_ = await take(push, 4)
        assert [(p.signature, p.wallets, p.slot) for p in got_] == [
            (SIGNATURES[2], (PAYERS[2],), SLOT + 10),
            (SIGNATURES[0], (PAYERS[0],), SLOT + 9),
            (SIGNATURES[1], (PAYERS[1],), SLOT + 8),
            (SIGNATURES[9], (PAYERS[1],), SLOT - 5),
        ]
        assert {p.transaction for p in got_} == {None}  # logs carry the signature only
        assert {p.kind for p in got_} == {"logs"}
        assert push.health().counters.duplicates == 3
        # the caller's fetch: the node cannot serve #0 yet (null), later it can
        assert node.get_transaction(SIGNATURES[0]) is None
        node.not_yet.clear()
        tx = node.get_transaction(SIGNATURES[0])
        assert tx is not None
        trades = trades_of(replace(got_[1], transaction=tx))
        assert [got(t) for t in trades] == FRAME_TRADES[:1]


async def test_a_logs_notification_of_a_failed_transaction_is_not_delivered(
    node: FakeWsNode,
) -> None:
    async with push_for(node, PAYERS[:1]) as push:
        await eventually(lambda: push.health().subscriptions == 1, "subscribed")
        await node.notify_logs(PAYERS[0], "failed-sig", SLOT, err={"InstructionError": [0, 1]})
        await node.notify_logs(PAYERS[0], SIGNATURES[0], SLOT)
        (pushed,) = await take(push, 1)
        assert pushed.signature == SIGNATURES[0]
        assert push.health().counters.failed == 1


async def test_malformed_frames_are_logged_once_and_dropped(
    node: FakeWsNode, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [
        "{not json",
        "[1, 2]",
        json.dumps({"jsonrpc": "2.0", "method": "logsNotification", "params": {"result": 5}}),
        json.dumps({"jsonrpc": "2.0", "method": "slotNotification", "params": {}}),
    ]
    async with push_for(node, PAYERS[:1]) as push:
        await eventually(lambda: push.health().subscriptions == 1, "subscribed")
        sid = next(iter(push.subscription_ids()))
        no_signature = {
            "jsonrpc": "2.0",
            "method": "logsNotification",
            "params": {"result": {"context": {"slot": 1}, "value": {}}, "subscription": sid},
        }
        with caplog.at_level(logging.WARNING, logger="engine.sources.push"):
            for text in [*bad, json.dumps(no_signature)]:
                await node.send_raw(text)
            await node.notify_logs(PAYERS[0], SIGNATURES[0], SLOT)
            (pushed,) = await take(push, 1)
        assert pushed.signature == SIGNATURES[0]  # the stream went on
        assert push.health().counters.malformed == 5
        dropped = [r for r in caplog.records if "malformed frame" in r.getMessage()]
        assert len(dropped) == 5
        assert push.health().state == "connected" and push.health().counters.reconnects == 0


async def test_helius_frames_parse_into_the_expected_trades(node: FakeWsNode) -> None:
    async with push_for(
        node,
        PAYERS,
        mode="helius",
        connections=2,
        subscriptions_per_connection=2,
        accounts_per_subscription=4,
    ) as push:
        await eventually(lambda: push.health().subscriptions == 3, "subscribed")
        request = node.requests[0]
        assert request["method"] == "transactionSubscribe"
        assert request["params"][1]["encoding"] == "jsonParsed"
        assert request["params"][1]["maxSupportedTransactionVersion"] == 0
        assert sorted(len(a) for a in node.subscribed("transaction")) == [2, 4, 4]
        for frame in FRAMES:
            assert await node.notify_transaction(frame) >= 1
        received = await take(push, 10)
    by_signature = {p.signature: p for p in received}
    assert list(by_signature) != [] and set(by_signature) == set(SIGNATURES)
    trades: list[object] = []
    for signature, payer in zip(SIGNATURES, PAYERS, strict=True):
        pushed = by_signature[signature]
        assert pushed.kind == "helius" and pushed.slot == SLOT
        assert pushed.transaction is not None and payer in pushed.wallets
        trades.extend(got(t) for t in trades_of(replace(pushed, wallets=(payer,))))
    assert trades == FRAME_TRADES


async def test_helius_docs_frame_base64_is_attributed_by_its_decoded_keys() -> None:
    docs = json.loads(DOCS_FRAME.read_bytes())
    async with FakeWsNode(frames=[docs]) as node:
        payer = frame_fee_payer(docs)  # decoded from the base64 wire transaction
        async with push_for(node, [payer], mode="helius") as push:
            await eventually(lambda: push.health().subscriptions == 1, "subscribed")
            assert await node.notify_transaction(docs) == 1
            (pushed,) = await take(push, 1)
    assert pushed.signature == docs["params"]["result"]["signature"]
    assert pushed.wallets == (payer,) and pushed.slot == 224341380
    assert trades_of(pushed) == []  # a plain system transfer


async def test_a_refused_subscription_reconnects_and_subscribes_everything_again(
    node: FakeWsNode,
) -> None:
    node.refuse_next = 1
    async with push_for(node, PAYERS[:2]) as push:
        await eventually(lambda: push.health().state == "connected", "both subscribed")
        health = push.health()
        assert health.subscriptions == 2 and health.counters.subscribe_errors == 1
        assert health.counters.reconnects == 1 and node.accepted == 2
        assert len(node.requests) == 4
        assert "refused" in (health.counters.last_error or "")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_a_dead_websocket_is_reported_with_its_state(node: FakeWsNode) -> None:
    clock = Clock()
    gate = asyncio.Event()
    waits: list[float] = []

    async def held_sleep(seconds: float) -> None:
        waits.append(seconds)
        await gate.wait()

    push = push_for(node, PAYERS[:2], sleep=held_sleep, clock=clock, down_after_s=60.0)
    assert push.health().state == "idle" and push.health().down_since is None
    async with push:
        await eventually(lambda: push.health().state == "connected", "connected")
        await node.send_raw(json.dumps({"jsonrpc": "2.0", "method": "x"}))  # counted, dropped
        await node.notify_logs(PAYERS[0], SIGNATURES[0], SLOT)
        await take(push, 1)
        assert push.health().counters.last_notification_at is not None
        lost_at = clock.now
        await node.drop_connections()
        await eventually(lambda: push.health().state == "reconnecting", "reconnecting")
        health = push.health()
        assert (health.down_since, health.connected, health.subscriptions) == (lost_at, 0, 0)
        assert health.counters.last_error
        clock.now += timedelta(seconds=61)
        assert push.health().state == "down" and push.health().down_since == lost_at
        assert waits and all(0.005 <= w <= 0.05 for w in waits)  # RetryPolicy's jitter range
        gate.set()
        await eventually(lambda: push.health().state == "connected", "back")
        assert push.health().down_since is None
    assert push.health().state == "stopped"


async def test_an_unreachable_node_is_down_and_its_key_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeWsNode() as node:
        url = node.url
    # the node is gone: nothing listens on that port any more
    push = WebSocketPush(url, PAYERS[:1], reconnect=FAST, down_after_s=0.0)
    with caplog.at_level(logging.DEBUG):
        async with push:
            await eventually(lambda: push.health().counters.reconnects >= 2, "retrying")
            health = push.health()
            assert health.state == "down" and health.down_since is not None
            assert health.connected == 0
    assert "fake-secret-key" not in caplog.text
    assert "fake-secret-key" not in (health.counters.last_error or "")
    assert "fake-secret-key" not in repr(push)
