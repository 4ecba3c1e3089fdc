"""Push wired into the tracker: a notified transaction is fetched (again while the node cannot
serve it), parsed, stored through the tracker's path and its signal opened at once; the poll
repairs whatever push missed and duplicates nothing.

The trades asserted are the hand-checked ones of the parser tests (tests/engine/sources/solana/
test_source.py BUY_1_TRADE, test_parser_venues.py FRAME_TRADES #0)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from bot import format as fmt
from engine.storage import Kol
from engine.tracking import kols
from tests.engine.sources.push.polling import BOUND_S, eventually
from tests.engine.sources.push.world import World, live_world
from tests.engine.sources.solana.test_source import (
    BUY_1,
    BUY_1_TRADE,
    OKX_1,
    OKX_1_TRADE,
    SELL_0,
    WALLET_O,
    WALLET_P,
    sig,
)
from tests.fakes.solana_node import resign_transaction
from tests.fakes.ws_node import frame_fee_payer, frame_signature, load_frames


async def stored_count(world: World) -> int:
    return len(await world.trades())


async def wait_for(world: World, what: str, condition: Callable[[World], Awaitable[bool]]) -> None:
    """``condition`` is an async predicate over the world, polled with a generous bound."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND_S
    while not await condition(world):
        if loop.time() > deadline:
            raise AssertionError(f"not within {BOUND_S} s: {what}")
        await asyncio.sleep(0.01)


async def test_a_notified_buy_is_fetched_once_served_stored_and_signalled(tmp_path: Path) -> None:
    async with live_world(tmp_path) as world:
        await world.service.track_add(WALLET_P, "p", "top")
        world.node.add_transaction(BUY_1)
        world.node.not_yet.add(sig(BUY_1))  # pushed before the node can serve it
        assert await world.service.start_push()
        await eventually(lambda: len(world.ws.subscribed("logs")) == 1, "subscribed")
        assert world.ws.subscribed("logs") == [frozenset({WALLET_P})]

        assert await world.ws.notify_logs(WALLET_P, sig(BUY_1), BUY_1["slot"]) == 1
        assert await world.ws.notify_logs(WALLET_P, sig(BUY_1), BUY_1["slot"]) == 1  # duplicate
        await eventually(lambda: world.node.calls["getTransaction"] >= 2, "asked again")
        assert await stored_count(world) == 0  # null is not stored, not dropped either
        world.node.not_yet.clear()
        await wait_for(world, "stored", lambda w: _has_trades(w, 1))
        assert await world.trades() == [BUY_1_TRADE]
        await wait_for(world, "signal opened", lambda w: _has_signal(w, BUY_1_TRADE.mint))
        await eventually(lambda: pushed(world) == 1, "its store step done")
        status = await world.service.status()
        assert status.feed is not None
        assert status.feed.push_state == "connected" and status.feed.stored == 1
        assert status.feed.notifications == 2 and status.feed.last_notification is not None
        assert status.feed.calls_per_hour["getTransaction"] > 0
        # Helius: 10 credits per getTransaction (engine.sources.net.meter)
        assert status.feed.credits_per_hour["getTransaction"] == (
            10 * status.feed.calls_per_hour["getTransaction"]
        )

        # The reconciliation poll: the signature is in the wallet's history; it is read past
        # (the cursor moves) without being fetched again, and nothing is stored twice.
        world.node.add_history(WALLET_P, [(sig(BUY_1), BUY_1["slot"])])
        asked = world.fetched(sig(BUY_1))
        report = await world.service.cycle(datetime.now(UTC))
        assert world.fetched(sig(BUY_1)) == asked
        assert await world.trades() == [BUY_1_TRADE]
        assert report.new_signals == 0  # opened by the push already
        assert (await kols.tracked_cursors(world.service.db))[WALLET_P] == sig(BUY_1)


def pushed(world: World) -> int:
    """Notified transactions the push has read and handed to the store (their steps done)."""
    push = world.service._push
    return push.counters.stored if push is not None else 0


async def _has_trades(world: World, n: int) -> bool:
    return await stored_count(world) >= n


async def _has_signal(world: World, mint: str) -> bool:
    return any(s.mint == mint for s in await world.signals())


async def test_a_disconnect_is_repaired_by_the_poll_and_late_notifications_add_nothing(
    tmp_path: Path,
) -> None:
    # Two swaps of WALLET_P, re-signed copies of real ones (tests/fakes/solana_node.py).
    first = resign_transaction(BUY_1, signature=sig(BUY_1), slot=290484060, block_time=1726637843)
    second = resign_transaction(
        SELL_0, signature="5" * 87 + "A", slot=290484070, block_time=1726637900, wallet=WALLET_P
    )
    async with live_world(tmp_path) as world:
        await world.service.track_add(WALLET_P, "p", "top")
        for tx in (first, second):
            world.node.add_transaction(tx)
        assert await world.service.start_push()
        await eventually(lambda: len(world.ws.subscribed("logs")) == 1, "subscribed")
        # The link dies; both swaps land while it is down: no notification reaches moonbot.
        dropped = await world.ws.drop_connections()
        assert dropped == 1
        world.node.add_history(WALLET_P, [(sig(second), 290484070), (sig(first), 290484060)])
        report = await world.service.cycle(datetime.now(UTC))  # the poll repairs the gap
        trades = await world.trades()
        assert [t.signature for t in trades] == [sig(first), sig(second)]
        assert report.new_trades == 2
        # Reconnected and resubscribed, the node replays them late and out of order.
        await eventually(lambda: len(world.ws.subscribed("logs")) == 1, "resubscribed")
        await world.ws.notify_logs(WALLET_P, sig(second), 290484070)
        await world.ws.notify_logs(WALLET_P, sig(first), 290484060)
        await world.ws.send_raw("{not json")  # a malformed frame: logged, dropped
        await eventually(
            lambda: world.service._push is not None and world.service._push.counters.stored == 2,
            "late notifications read",
        )
        assert await world.trades() == trades  # nothing stored twice
        health = world.service._push.push.health() if world.service._push else None
        assert health is not None and health.counters.malformed == 1
        assert health.counters.reconnects >= 1


async def test_a_helius_frame_carries_the_transaction_and_its_block_time_is_asked(
    tmp_path: Path,
) -> None:
    frame = load_frames()[0]
    wallet = frame_fee_payer(frame)
    slot = frame["params"]["result"]["slot"]
    async with live_world(tmp_path, push_mode="helius") as world:
        world.node.block_times[slot] = 1_734_000_000  # the node's getBlockTime answer
        await world.service.track_add(wallet, "h", "top")
        assert await world.service.start_push()
        await eventually(lambda: len(world.ws.subscribed("transaction")) == 1, "subscribed")
        assert await world.ws.notify_transaction(frame) == 1
        await wait_for(world, "stored", lambda w: _has_trades(w, 1))
        (trade,) = await world.trades()
        assert world.node.calls["getTransaction"] == 0  # the frame had it all
        assert world.node.calls["getBlockTime"] == 1
        assert (trade.signature, trade.wallet, trade.side) == (
            frame_signature(frame),
            wallet,
            "buy",
        )
        assert trade.mint == "6YEhGNEJitUMARvy38BH2Z6gjtQTEMtnHq7NJcjbpump"
        assert (trade.token_amount_raw, trade.sol_amount_lamports) == (30963644580, 100000000)
        assert trade.block_time == datetime.fromtimestamp(1_734_000_000, UTC)
        assert trade.slot == slot


async def test_a_transaction_without_a_block_time_is_left_to_the_poll(tmp_path: Path) -> None:
    frame = load_frames()[0]
    wallet = frame_fee_payer(frame)
    async with live_world(tmp_path, push_mode="helius") as world:
        await world.service.track_add(wallet, "h", "top")  # the node knows no block time
        assert await world.service.start_push()
        await eventually(lambda: len(world.ws.subscribed("transaction")) == 1, "subscribed")
        await world.ws.notify_transaction(frame)
        push = world.service._push
        assert push is not None
        await eventually(lambda: push.counters.left_to_poll == 1, "left to the poll")
        assert await world.trades() == []  # never a guessed block time


async def test_a_dead_websocket_falls_back_to_polling_and_status_says_so(tmp_path: Path) -> None:
    async with live_world(tmp_path, push_down_after_seconds=0.05) as world:
        await world.service.track_add(WALLET_P, "p", "top")
        world.ws.refuse_next = 10**9  # every subscription refused: never up
        assert await world.service.start_push()
        await eventually(world.service.push_down, "push down")
        status = await world.service.status()
        assert status.feed is not None
        assert status.feed.push_state == "down" and status.feed.fallback
        assert status.feed.down_since is not None
        text = fmt.status(status)
        assert "Push logs: down since" in text and "Push is down: polling often" in text
        assert "fake-secret-key" not in text  # the WebSocket URL's key never shows
        world.node.add_transaction(BUY_1)
        world.node.add_history(WALLET_P, [(sig(BUY_1), BUY_1["slot"])])
        report = await world.service.fallback_poll()  # no poll yet: it runs now
        assert report is not None and report.new_trades == 1
        assert await world.service.fallback_poll() is None  # one ran just now
        assert await world.trades() == [BUY_1_TRADE]


async def test_a_new_buy_in_a_poll_is_signalled_as_its_wallet_is_stored(tmp_path: Path) -> None:
    other = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
    async with live_world(tmp_path, push_mode="none") as world:
        await world.service.track_add(WALLET_P, "p", "top")
        await world.service.track_add(other, "q", "top")
        world.node.add_transaction(BUY_1)
        world.node.add_history(WALLET_P, [(sig(BUY_1), BUY_1["slot"])])
        seen: list[int] = []
        tracker = world.service.tracker
        inner = tracker.on_stored
        assert inner is not None

        async def spy(trades):  # type: ignore[no-untyped-def]
            await inner(trades)
            seen.append(len(await world.signals()))  # the signal exists before the poll ends

        tracker.on_stored = spy
        report = await world.service.cycle(datetime.now(UTC))
        assert seen == [1]
        assert report.new_signals == 1 and report.new_trades == 1
        async with world.service.db.session() as session:
            cursors = {k.wallet: k.cursor_signature for k in (await session.exec(select(Kol)))}
        assert cursors == {WALLET_P: sig(BUY_1), other: None}
        assert await world.trades() == [BUY_1_TRADE]


async def test_webhooks_store_at_once_and_a_dropped_delivery_is_repaired_by_the_poll(
    tmp_path: Path,
) -> None:
    from tests.fakes.webhook_sender import FakeHeliusSender

    second = resign_transaction(
        SELL_0, signature="5" * 87 + "A", slot=290484070, block_time=1726637900, wallet=WALLET_P
    )
    async with live_world(
        tmp_path, push_mode="webhook", webhook_auth="hook-secret-123", webhook_port=0
    ) as world:
        await world.service.track_add(WALLET_P, "p", "top")
        for tx in (BUY_1, second):
            world.node.add_transaction(tx)
        assert await world.service.start_push()
        push = world.service._push
        assert push is not None
        receiver = push.push
        url = f"http://127.0.0.1:{receiver.bound_port}{receiver.path}"  # type: ignore[union-attr]

        # A wrong auth header: 401, which Helius retries (any 4xx but 403), stored never.
        assert await FakeHeliusSender(url, "wrong").deliver([BUY_1]) == [401] * 4
        sender = FakeHeliusSender(url, "hook-secret-123")
        assert await sender.deliver([BUY_1]) == [200]
        assert await sender.deliver([BUY_1]) == [200]  # Helius retrying: accepted, ignored
        await wait_for(world, "stored", lambda w: _has_trades(w, 1))
        # The next delivery never gets through (404 at a wrong path): 1 try + 3 retries, lost.
        lost = FakeHeliusSender(url + "-gone", "hook-secret-123")
        assert await lost.deliver([second]) == [404, 404, 404, 404]
        await eventually(lambda: push.counters.stored == 1, "the first one read")
        assert [t.signature for t in await world.trades()] == [sig(BUY_1)]

        world.node.add_history(WALLET_P, [(sig(second), 290484070), (sig(BUY_1), 290484060)])
        await world.service.cycle(datetime.now(UTC))
        # only the missed one is fetched (the raw webhook carried the first)
        assert world.fetched(sig(BUY_1)) == 0 and world.fetched(sig(second)) >= 1
        assert [t.signature for t in await world.trades()] == [sig(BUY_1), sig(second)]
        health = receiver.health()
        assert health.counters.rejected_auth == 4 and health.counters.duplicates == 1

        # A wallet tracked after the start is attributed at once (the receiver asks each time).
        await world.service.track_add(WALLET_O, "o", "top")
        assert await sender.deliver([OKX_1]) == [200]
        await wait_for(world, "stored", lambda w: _has_trades(w, 3))
        assert (await world.trades())[-1] == OKX_1_TRADE


async def test_out_of_order_notifications_are_each_stored_once_and_the_poll_moves_the_cursor(
    tmp_path: Path,
) -> None:
    second = resign_transaction(
        SELL_0, signature="5" * 87 + "A", slot=290484070, block_time=1726637900, wallet=WALLET_P
    )
    async with live_world(tmp_path) as world:
        await world.service.track_add(WALLET_P, "p", "top")
        for tx in (BUY_1, second):
            world.node.add_transaction(tx)
        assert await world.service.start_push()
        await eventually(lambda: len(world.ws.subscribed("logs")) == 1, "subscribed")
        await world.ws.notify_logs(WALLET_P, sig(second), 290484070)  # the newer one first
        await world.ws.notify_logs(WALLET_P, sig(BUY_1), 290484060)
        await wait_for(world, "both stored", lambda w: _has_trades(w, 2))
        await eventually(lambda: pushed(world) == 2, "both store steps done")
        assert {t.signature for t in await world.trades()} == {sig(BUY_1), sig(second)}
        # Push never moves a cursor; the poll reads past both without fetching them again.
        assert (await kols.tracked_cursors(world.service.db))[WALLET_P] is None
        world.node.add_history(WALLET_P, [(sig(second), 290484070), (sig(BUY_1), 290484060)])
        asked = world.fetched(sig(BUY_1)), world.fetched(sig(second))
        await world.service.cycle(datetime.now(UTC))
        assert (world.fetched(sig(BUY_1)), world.fetched(sig(second))) == asked
        assert min(asked) >= 1  # each fetched by the push (a retry under load may add one)
        assert len(await world.trades()) == 2
        assert (await kols.tracked_cursors(world.service.db))[WALLET_P] == sig(second)


async def test_a_wallet_tracked_while_running_is_subscribed_and_its_buy_stored(
    tmp_path: Path,
) -> None:
    async with live_world(tmp_path) as world:
        await world.service.track_add(WALLET_P, "p", "top")
        assert await world.service.start_push()
        await eventually(lambda: len(world.ws.subscribed("logs")) == 1, "subscribed")
        await world.service.track_add(WALLET_O, "o", "top")
        want = {frozenset({WALLET_O}), frozenset({WALLET_P})}
        await eventually(
            lambda: (
                len(world.ws.subscribed("logs")) == 2 and set(world.ws.subscribed("logs")) == want
            ),
            "resubscribed",
        )
        world.node.add_transaction(OKX_1)
        await world.ws.notify_logs(WALLET_O, sig(OKX_1), OKX_1["slot"])
        await wait_for(world, "stored", lambda w: _has_trades(w, 1))
        assert (await world.trades())[0] == OKX_1_TRADE
        await world.service.track_remove(WALLET_P)
        await eventually(
            lambda: world.ws.subscribed("logs") == [frozenset({WALLET_O})], "unsubscribed"
        )
