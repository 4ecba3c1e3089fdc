"""Helius webhooks: an aiohttp receiver for raw and enhanced webhook posts.

Helius posts a JSON array of transactions to the webhook's URL and echoes the webhook's
``authHeader`` in the ``Authorization`` header; it wants a 200 within a second, and retries a
delivery that gets a 5xx, a 4xx other than 403, a timeout or a connection error up to 3 times
(https://www.helius.dev/docs/webhooks/faqs — one second apart there, one minute apart in
https://www.helius.dev/docs/faqs/webhooks). So the receiver:

* compares the header with the secret in constant time (``hmac.compare_digest``); a post
  without the right one gets 401 and is not read further;
* answers 200 at once and leaves the body on a queue (503 when that queue is full, so Helius
  retries); a worker reads it off the request;
* delivers each (signature, wallet) once (``Deduper``): a retried post is accepted and ignored;
* logs a malformed body or item once and drops it (the rest of the body goes on).

Bodies, per the Helius docs examples in ../shared/fixtures/webhooks: **raw**, each item a
``getTransaction`` result (``json`` encoding) plus ``indexWithinBlock``: the record carries it;
**enhanced**, Helius's own schema (``signature``, ``slot``, ``feePayer``, ``accountData``,
``nativeTransfers``, ``tokenTransfers``, ``transactionError``): the record carries only the
signature, and the consumer fetches the transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from engine.errors import MalformedPayload
from engine.sources.push.delivery import Delivery
from engine.sources.push.health import Clock, Counters, PushHealth, utc_now
from engine.sources.push.notifications import Deduper, PushedTransaction, account_keys
from engine.sources.solana.envelopes import load_transactions, one_line

log = logging.getLogger(__name__)

__all__ = ["WebhookReceiver", "read_webhook_item"]

Tracked = Collection[str] | Callable[[], Collection[str]]
_MAX_BODY_BYTES = 32 * 1024 * 1024


def read_webhook_item(item: Any, tracked: Collection[str]) -> PushedTransaction:
    """One item of a webhook body, raw or enhanced; ``MalformedPayload`` when it is neither."""
    if not isinstance(item, Mapping):
        raise MalformedPayload(f"webhook item is a JSON {type(item).__name__}, not an object")
    if "transaction" in item and "meta" in item:
        return _raw(item, tracked)
    if type(item.get("signature")) is str:
        return _enhanced(item, tracked)
    raise MalformedPayload("webhook item is neither a raw transaction nor an enhanced one")


def _raw(item: Mapping[str, Any], tracked: Collection[str]) -> PushedTransaction:
    (tx,) = load_transactions(item)
    transaction = tx["transaction"]
    signatures = transaction.get("signatures") if isinstance(transaction, Mapping) else None
    if not isinstance(signatures, list) or not signatures or type(signatures[0]) is not str:
        raise MalformedPayload("raw webhook item has no transaction.signatures")
    meta = tx["meta"]
    slot = tx.get("slot")
    return PushedTransaction(
        signature=signatures[0],
        slot=slot if type(slot) is int else None,
        wallets=tuple(key for key in account_keys(tx) if key in tracked),
        transaction=tx,
        kind="webhook_raw",
        failed=isinstance(meta, Mapping) and meta.get("err") is not None,
    )


def _enhanced(item: Mapping[str, Any], tracked: Collection[str]) -> PushedTransaction:
    named: list[Any] = [item.get("feePayer")]
    for part, keys in (
        ("accountData", ("account",)),
        ("nativeTransfers", ("fromUserAccount", "toUserAccount")),
        ("tokenTransfers", ("fromUserAccount", "toUserAccount")),
    ):
        entries = item.get(part)
        if isinstance(entries, list):
            named.extend(
                entry.get(key) for entry in entries if isinstance(entry, Mapping) for key in keys
            )
    slot = item.get("slot")
    return PushedTransaction(
        signature=item["signature"],
        slot=slot if type(slot) is int else None,
        wallets=tuple(key for key in dict.fromkeys(named) if type(key) is str and key in tracked),
        transaction=None,
        kind="webhook_enhanced",
        failed=item.get("transactionError") is not None,
    )


class WebhookReceiver:
    """An HTTP endpoint for Helius webhook posts (see the module doc).

    ``tracked`` (a collection, or a callable giving the current one) names the wallets a
    transaction is attributed to. ``app()`` is the aiohttp application (tests, or mounting
    elsewhere); ``start()`` serves it on ``host:port`` (``port`` 0: any free port, see
    ``bound_port``)."""

    def __init__(
        self,
        auth_secret: SecretStr,
        tracked: Tracked,
        *,
        path: str = "/helius/webhook",
        host: str = "127.0.0.1",
        port: int = 8787,
        inbox_size: int = 1000,
        queue_size: int = 10_000,
        deduper: Deduper | None = None,
        clock: Clock = utc_now,
    ) -> None:
        secret = auth_secret.get_secret_value()
        if not secret:
            raise ValueError("a webhook needs an auth secret (MOONBOT_WEBHOOK_AUTH)")
        self._secret = secret.encode()
        self._tracked = tracked
        self.path = path
        self.host = host
        self.port = port
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue(inbox_size)
        self._clock = clock
        self.counters = Counters()
        self._delivery = Delivery(self.counters, deduper, queue_size)
        self._runner: web.AppRunner | None = None
        self._worker: asyncio.Task[None] | None = None
        self._since = clock()
        self.bound_port: int | None = None

    def __repr__(self) -> str:
        return f"WebhookReceiver(path={self.path!r}, host={self.host!r}, port={self.port})"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY_BYTES)
        app.router.add_post(self.path, self._handle)
        return app

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve on ``host:port`` and start the worker."""
        if self._runner is not None:
            return
        self.start_worker()
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        addresses = runner.addresses
        self.bound_port = int(addresses[0][1]) if addresses else self.port
        self._since = self._clock()
        log.info("push: webhook receiver on %s:%s%s", self.host, self.bound_port, self.path)

    def start_worker(self) -> None:
        """Start reading posted bodies off the inbox (``start`` does it; for ``app()`` users)."""
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="push-webhook-worker")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def events(self) -> AsyncIterator[PushedTransaction]:
        """Every new transaction, once, as it is read (runs until cancelled)."""
        async for pushed in self._delivery.events():
            yield pushed

    async def get(self) -> PushedTransaction:
        return await self._delivery.get()

    async def drained(self) -> None:
        """Wait until every accepted body has been read."""
        await self._inbox.join()

    def health(self) -> PushHealth:
        serving = self._runner is not None or self._worker is not None
        return PushHealth(
            mode="webhook",
            state="connected" if serving else "stopped",
            connections=1,
            connected=1 if serving else 0,
            subscriptions=0,
            wallets=len(self._current_tracked()),
            unsubscribed_wallets=0,
            down_since=None if serving else self._since,
            counters=replace(self.counters),
        )

    def _current_tracked(self) -> Collection[str]:
        return self._tracked() if callable(self._tracked) else self._tracked

    # --- the request ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self._secret):
            self.counters.rejected_auth += 1
            return web.Response(status=401, text="unauthorized")
        body = await request.read()
        try:
            self._inbox.put_nowait(body)
        except asyncio.QueueFull:
            self.counters.overflow += 1
            log.warning("push: webhook inbox full; answering 503 so that Helius retries")
            return web.Response(status=503, text="busy")
        return web.Response(status=200, text="ok")

    # --- off the request --------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            body = await self._inbox.get()
            try:
                self._process(body)
            finally:
                self._inbox.task_done()

    def _process(self, body: bytes) -> None:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            self._malformed(f"body is not JSON: {exc}")
            return
        items = payload if isinstance(payload, list) else [payload]
        tracked = self._current_tracked()
        for position, item in enumerate(items):
            try:
                pushed = read_webhook_item(item, tracked)
            except MalformedPayload as exc:
                self._malformed(f"item {position}: {exc}")
                continue
            self._delivery.deliver(pushed)

    def _malformed(self, why: str) -> None:
        self.counters.malformed += 1
        self.counters.last_error = one_line(why)
        log.warning("push: dropped a malformed webhook post: %s", one_line(why))
