"""Push over Solana WebSocket subscriptions: ``logsSubscribe`` or Helius ``transactionSubscribe``.

``WebSocketPush`` keeps ``connections`` WebSocket connections (the ``websockets`` library) to one
URL and spreads the subscriptions over them (``plan_shards``):

* ``mode="logs"``: one ``logsSubscribe {"mentions": [wallet]}`` per wallet (the RPC takes one
  address per subscription, https://solana.com/docs/rpc/websocket/logssubscribe). A
  notification carries the signature only: the consumer fetches the transaction.
* ``mode="helius"``: ``transactionSubscribe`` with up to ``accounts_per_subscription`` wallets
  in ``accountInclude`` (https://www.helius.dev/docs/api-reference/rpc/websocket/transactionsubscribe);
  the full transaction is pushed.

A connection pings every ``ping_interval_s`` (Helius closes a WebSocket idle for 10 minutes and
asks for a ping a minute) and is dropped when a pong takes longer than ``ping_timeout_s``. After
any loss it reconnects with the jittered backoff of ``engine.sources.net.retry.RetryPolicy``
(forever: the attempt number only caps the wait) and sends every subscription again; the ids
the server answers are tracked per connection, and a notification for another id is dropped.
Duplicates are delivered once (``Deduper``), malformed frames are logged and dropped, and
``health()`` says how the connections are doing. The URL may hold an API key: it is only ever
shown redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from engine.errors import MalformedPayload
from engine.sources.net.ratelimit import Sleep
from engine.sources.net.redact import SecretUrl
from engine.sources.net.retry import RetryPolicy
from engine.sources.push.delivery import Delivery
from engine.sources.push.health import (
    Clock,
    ConnectionState,
    Counters,
    PushHealth,
    summarise,
    utc_now,
)
from engine.sources.push.notifications import (
    Deduper,
    PushedTransaction,
    decode_frame,
    logs_subscribe_request,
    read_logs_notification,
    read_transaction_notification,
    transaction_subscribe_request,
)
from engine.sources.solana.envelopes import one_line

log = logging.getLogger(__name__)

__all__ = ["WebSocketPush", "WsMode", "plan_shards"]

WsMode = Literal["logs", "helius"]
# Reconnect waits: 0.5 s doubling to 30 s, each drawn from [c/2, c] (RetryPolicy.delay).
RECONNECT_POLICY = RetryPolicy(max_attempts=1, backoff_base_s=0.5, backoff_max_s=30.0)
_MAX_FRAME_BYTES = 16 * 1024 * 1024  # a full jsonParsed transaction is ~15 KB; room for big ones


def plan_shards(
    wallets: Sequence[str],
    mode: WsMode,
    *,
    connections: int,
    subscriptions_per_connection: int,
    accounts_per_subscription: int = 1,
) -> tuple[list[list[tuple[str, ...]]], list[str]]:
    """(subscriptions of each connection, wallets left out).

    ``logs``: one wallet per subscription; ``helius``: ``accounts_per_subscription`` per
    subscription. Subscriptions go round-robin over as few connections as hold them (at most
    ``connections``, at most ``subscriptions_per_connection`` each); wallets beyond that capacity
    are left to the poll."""
    if connections < 1 or subscriptions_per_connection < 1 or accounts_per_subscription < 1:
        raise ValueError("connections and subscription sizes must be at least 1")
    unique = list(dict.fromkeys(wallets))
    size = 1 if mode == "logs" else accounts_per_subscription
    capacity = connections * subscriptions_per_connection * size
    kept, left_out = unique[:capacity], unique[capacity:]
    subscriptions = [tuple(kept[i : i + size]) for i in range(0, len(kept), size)]
    used = min(connections, -(-len(subscriptions) // subscriptions_per_connection))
    shards: list[list[tuple[str, ...]]] = [[] for _ in range(used)]
    for number, subscription in enumerate(subscriptions):
        shards[number % used].append(subscription)
    return shards, left_out


class _Refused(Exception):
    """The server refused a subscription: the connection is dropped and made again."""


@dataclass(slots=True)
class _Shard:
    number: int
    subscriptions: list[tuple[str, ...]]
    state: ConnectionState
    since: datetime
    active: dict[int, tuple[str, ...]] = field(default_factory=dict)  # server id -> wallets
    pending: dict[int, tuple[str, ...]] = field(default_factory=dict)  # request id -> wallets
    failures: int = 0  # losses since the last full subscription (sets the backoff)


class WebSocketPush:
    """Subscriptions for ``wallets`` over ``connections`` WebSockets (see the module doc).

    Use ``async with WebSocketPush(...) as push: async for pushed in push.events(): ...``, or
    ``start()`` / ``stop()``. ``events()`` yields each ``PushedTransaction`` once."""

    def __init__(
        self,
        url: str,
        wallets: Sequence[str],
        *,
        mode: WsMode = "logs",
        connections: int = 1,
        subscriptions_per_connection: int = 100,
        accounts_per_subscription: int = 1000,
        commitment: str = "confirmed",
        ping_interval_s: float = 30.0,
        ping_timeout_s: float = 20.0,
        open_timeout_s: float = 10.0,
        down_after_s: float = 60.0,
        reconnect: RetryPolicy = RECONNECT_POLICY,
        queue_size: int = 10_000,
        deduper: Deduper | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._url = SecretUrl(url)
        self.mode: WsMode = mode
        self.commitment = commitment
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.open_timeout_s = open_timeout_s
        self.down_after_s = down_after_s
        self._policy = reconnect
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock
        self.counters = Counters()
        self._delivery = Delivery(self.counters, deduper, queue_size)
        self._wallets = list(dict.fromkeys(wallets))
        plan, self.left_out = plan_shards(
            self._wallets,
            mode,
            connections=connections,
            subscriptions_per_connection=subscriptions_per_connection,
            accounts_per_subscription=accounts_per_subscription,
        )
        if self.left_out:
            log.warning(
                "push: %d wallets exceed %d connections x %d subscriptions; the poll covers them",
                len(self.left_out),
                connections,
                subscriptions_per_connection,
            )
        now = clock()
        self._shards = [_Shard(n, subs, "connecting", now) for n, subs in enumerate(plan)]
        self._tracked = frozenset(self._wallets) - frozenset(self.left_out)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        self._next_request = 0

    def __repr__(self) -> str:
        return (
            f"WebSocketPush({self._url.redacted!r}, mode={self.mode!r}, shards={len(self._shards)})"
        )

    # --- life ---------------------------------------------------------------------------

    async def __aenter__(self) -> WebSocketPush:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopped = False
        self._tasks = [
            asyncio.create_task(self._run(shard), name=f"push-ws-{shard.number}")
            for shard in self._shards
        ]

    async def stop(self) -> None:
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for shard in self._shards:
            self._set(shard, "stopped")

    async def events(self) -> AsyncIterator[PushedTransaction]:
        """Every new transaction, once, as it arrives (runs until cancelled)."""
        async for pushed in self._delivery.events():
            yield pushed

    async def get(self) -> PushedTransaction:
        """The next new transaction."""
        return await self._delivery.get()

    def health(self) -> PushHealth:
        """How the connections are doing (``idle`` before ``start``)."""
        state, up, down_since = summarise(
            [(shard.state, shard.since) for shard in self._shards],
            now=self._clock(),
            down_after_s=self.down_after_s,
            stopped=self._stopped,
        )
        if not self._tasks and not self._stopped:
            state, down_since = "idle", None
        return PushHealth(
            mode=self.mode,
            state=state,
            connections=len(self._shards),
            connected=up,
            subscriptions=sum(len(shard.active) for shard in self._shards),
            wallets=len(self._tracked),
            unsubscribed_wallets=len(self.left_out),
            down_since=down_since,
            counters=replace(self.counters),
        )

    def subscription_ids(self) -> dict[int, tuple[str, ...]]:
        """The subscription ids the servers answered, on every connection, with their wallets."""
        return {sid: wallets for shard in self._shards for sid, wallets in shard.active.items()}

    # --- one connection -------------------------------------------------------------------

    async def _run(self, shard: _Shard) -> None:
        while not self._stopped:
            try:
                async with connect(
                    self._url.reveal(),
                    open_timeout=self.open_timeout_s,
                    ping_interval=self.ping_interval_s,
                    ping_timeout=self.ping_timeout_s,
                    max_size=_MAX_FRAME_BYTES,
                    compression=None,
                ) as ws:
                    await self._subscribe(ws, shard)
                    async for message in ws:
                        self._on_message(shard, message)
                reason = "server closed the connection"
            except (OSError, TimeoutError, WebSocketException, _Refused) as exc:
                reason = self._url.scrub(one_line(f"{type(exc).__name__}: {exc}"))
            if self._stopped:
                break
            shard.failures += 1
            self.counters.reconnects += 1
            self.counters.last_error = reason
            self._lost(shard)
            wait = self._policy.delay(min(shard.failures, 32), None, self._rng)
            log.warning(
                "push: connection %d to %s lost (%s); reconnecting in %.1f s",
                shard.number,
                self._url.redacted,
                reason,
                wait,
            )
            await self._sleep(wait)

    def _lost(self, shard: _Shard) -> None:
        shard.active.clear()
        shard.pending.clear()
        if shard.state == "connected":
            self._set(shard, "reconnecting")  # a connection never up stays "connecting"

    def _set(self, shard: _Shard, state: ConnectionState) -> None:
        if shard.state != state:
            shard.state = state
            shard.since = self._clock()

    async def _subscribe(self, ws: ClientConnection, shard: _Shard) -> None:
        for wallets in shard.subscriptions:
            self._next_request += 1
            request_id = self._next_request
            if self.mode == "logs":
                request = logs_subscribe_request(request_id, wallets[0], self.commitment)
            else:
                request = transaction_subscribe_request(request_id, wallets, self.commitment)
            shard.pending[request_id] = wallets
            await ws.send(json.dumps(request))

    def _on_message(self, shard: _Shard, message: str | bytes) -> None:
        try:
            frame = decode_frame(message)
            if "id" in frame and "method" not in frame:
                self._on_answer(shard, frame)
            else:
                self._on_notification(shard, frame)
        except MalformedPayload as exc:
            self.counters.malformed += 1
            log.warning("push: connection %d: dropped a malformed frame: %s", shard.number, exc)

    def _on_answer(self, shard: _Shard, frame: Mapping[str, Any]) -> None:
        request_id = frame.get("id")
        wallets = shard.pending.pop(request_id, None) if type(request_id) is int else None
        if wallets is None:
            raise MalformedPayload(f"answer to unknown request id {request_id!r}")
        result = frame.get("result")
        if type(result) is not int:
            self.counters.subscribe_errors += 1
            error = one_line(str(frame.get("error")))
            # Reconnect (with backoff) and send every subscription again: simple, and a
            # refusal (rate limit, node restarting) is rare. The poll covers the gap.
            raise _Refused(f"subscription for {len(wallets)} wallets refused: {error}")
        shard.active[result] = wallets
        if not shard.pending and len(shard.active) == len(shard.subscriptions):
            shard.failures = 0
            self._set(shard, "connected")
            log.info(
                "push: connection %d subscribed (%d subscriptions)",
                shard.number,
                len(shard.active),
            )

    def _on_notification(self, shard: _Shard, frame: Mapping[str, Any]) -> None:
        method = frame.get("method")
        params = frame.get("params")
        subscription = params.get("subscription") if isinstance(params, Mapping) else None
        expected = "logsNotification" if self.mode == "logs" else "transactionNotification"
        if method != expected:
            raise MalformedPayload(f"unexpected frame method {method!r}")
        if type(subscription) is not int:
            raise MalformedPayload(f"{method}: no params.subscription")
        wallets = shard.active.get(subscription)
        if wallets is None:
            self.counters.unknown_subscription += 1
            log.debug("push: connection %d: notification for unknown subscription", shard.number)
            return
        if self.mode == "logs":
            _, pushed = read_logs_notification(frame, wallets[0])
        else:
            _, pushed = read_transaction_notification(frame, frozenset(wallets))
        self._delivery.deliver(pushed)
