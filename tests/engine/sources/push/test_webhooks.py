"""WebhookReceiver with the Helius docs bodies (../shared/fixtures/webhooks) and the fake
sender (tests/fakes/webhook_sender.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from engine.sources.push.webhooks import WebhookReceiver, read_webhook_item
from tests.engine.sources.push.polling import eventually, take
from tests.fakes.webhook_sender import (
    ENHANCED_BODY,
    HELIUS_RETRIES,
    RAW_BODY,
    FakeHeliusSender,
    body_of,
)

SECRET = "Bearer hook-secret-0123456789"
# In both docs bodies: the NFT buyer (fee payer) and the seller; OTHER is in neither.
BUYER = "CKs1E69a2e9TmH4mKKLrXFF8kD3ZnwKjoEuXa6sz9WqX"
SELLER = "1BWutmTvYPwDtmw9abTkS4Ssr8no61spGAvW1X6NDix"
OTHER = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
SIGNATURE = (
    "5nNtjezQMYBHvgSQmoRmJPiXGsPAWmJPoGSa64xanqrauogiVzFyGQhKeFataHGXq51jR2hjbzNTkPUpP787HAmL"
)
SLOT = 171942732


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver(SecretStr(SECRET), {BUYER, OTHER}, port=0)
    async with hook:
        yield hook


def url_of(hook: WebhookReceiver) -> str:
    return f"http://127.0.0.1:{hook.bound_port}{hook.path}"


async def test_raw_body_is_accepted_and_carries_the_transaction(receiver: WebhookReceiver) -> None:
    sender = FakeHeliusSender(url_of(receiver), SECRET)
    assert await sender.deliver(body_of(RAW_BODY)) == [200]
    (pushed,) = await take(receiver, 1)
    assert (pushed.signature, pushed.slot, pushed.kind) == (SIGNATURE, SLOT, "webhook_raw")
    assert pushed.wallets == (BUYER,)  # tracked ∩ account keys
    assert pushed.transaction is not None and pushed.transaction["blockTime"] == 1673445241


async def test_enhanced_body_carries_the_signature_only(receiver: WebhookReceiver) -> None:
    sender = FakeHeliusSender(url_of(receiver), SECRET)
    assert await sender.deliver(body_of(ENHANCED_BODY)) == [200]
    (pushed,) = await take(receiver, 1)
    assert (pushed.signature, pushed.slot, pushed.kind) == (SIGNATURE, SLOT, "webhook_enhanced")
    assert pushed.wallets == (BUYER,) and pushed.transaction is None


def test_enhanced_wallets_come_from_fee_payer_accounts_and_transfers() -> None:
    (item,) = json.loads(ENHANCED_BODY.read_bytes())
    assert read_webhook_item(item, {SELLER}).wallets == (SELLER,)  # a tokenTransfers sender
    assert read_webhook_item(item, {OTHER}).wallets == ()


async def test_wrong_or_missing_auth_is_401_and_stores_nothing(receiver: WebhookReceiver) -> None:
    for header in (None, "Bearer wrong", SECRET + "x", SECRET[:-1]):
        sender = FakeHeliusSender(url_of(receiver), header)
        # Helius retries every 4xx but 403, so a 401 is tried 1 + 3 times
        assert await sender.deliver(body_of(RAW_BODY)) == [401] * (1 + HELIUS_RETRIES)
    assert receiver.health().counters.rejected_auth == 4 * (1 + HELIUS_RETRIES)
    await FakeHeliusSender(url_of(receiver), SECRET).deliver(body_of(ENHANCED_BODY))
    (pushed,) = await take(receiver, 1)
    assert pushed.kind == "webhook_enhanced"  # the first thing that got through
    assert receiver.health().counters.notifications == 1


async def test_a_retried_post_is_accepted_and_delivered_once(receiver: WebhookReceiver) -> None:
    sender = FakeHeliusSender(url_of(receiver), SECRET)
    for _ in range(3):
        assert await sender.deliver(body_of(RAW_BODY)) == [200]
    await receiver.drained()
    assert await sender.deliver(body_of(ENHANCED_BODY)) == [200]  # same signature: a repeat too
    await receiver.drained()
    counters = receiver.health().counters
    assert (counters.notifications, counters.delivered, counters.duplicates) == (4, 1, 3)
    (pushed,) = await take(receiver, 1)
    assert pushed.kind == "webhook_raw"


async def test_malformed_bodies_are_logged_once_dropped_and_the_stream_goes_on(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    sender = FakeHeliusSender(url_of(receiver), SECRET)
    (raw_item,) = json.loads(RAW_BODY.read_bytes())
    broken = dict(raw_item, transaction={"message": {}})  # no signatures
    with caplog.at_level(logging.WARNING, logger="engine.sources.push"):
        for body in (b"{not json", b"[1]", json.dumps([{"type": "SWAP"}]).encode()):
            assert await sender.deliver(body) == [200]  # answered before it is read
        assert await sender.deliver([broken, raw_item]) == [200]
        await receiver.drained()
    (pushed,) = await take(receiver, 1)
    assert pushed.signature == SIGNATURE
    assert receiver.health().counters.malformed == 4
    assert len([r for r in caplog.records if "malformed webhook" in r.getMessage()]) == 4


async def test_answers_at_once_and_reads_the_body_off_the_request() -> None:
    hook = WebhookReceiver(SecretStr(SECRET), {BUYER}, inbox_size=1)
    async with TestServer(hook.app()) as server:  # no worker yet: nothing is read
        url = str(server.make_url(hook.path))
        sender = FakeHeliusSender(url, SECRET)
        assert await sender.deliver(body_of(RAW_BODY)) == [200]
        assert hook.health().counters.notifications == 0
        # the inbox is full: 503, which Helius retries
        assert await sender.deliver(body_of(RAW_BODY)) == [503] * (1 + HELIUS_RETRIES)
        hook.start_worker()
        (pushed,) = await take(hook, 1)
        assert pushed.signature == SIGNATURE
        await eventually(lambda: hook.health().counters.notifications == 1, "read")
        await hook.stop()


async def test_the_fake_sender_retries_like_helius() -> None:
    statuses = [500, 502, 200]
    seen: list[str | None] = []

    async def flaky(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(status=statuses[min(len(seen), len(statuses)) - 1])

    app = web.Application()
    app.router.add_post("/hook", flaky)
    async with TestServer(app) as server:
        url = str(server.make_url("/hook"))
        sender = FakeHeliusSender(url, SECRET)
        assert await sender.deliver(b"[]") == [500, 502, 200]
        assert seen == [SECRET] * 3
        statuses[:] = [403]
        seen.clear()
        assert await sender.deliver(b"[]") == [403]  # 403 is not retried
        statuses[:] = [500, 500, 500, 500, 500]
        seen.clear()
        assert await sender.deliver(b"[]") == [500] * 4  # then the event is lost
    dead = FakeHeliusSender(url, SECRET, timeout_s=2.0)  # the server is gone
    assert await dead.deliver(b"[]") == ["connection error"] * 4


def test_the_secret_is_never_in_a_repr_and_must_be_set() -> None:
    hook = WebhookReceiver(SecretStr(SECRET), {BUYER})
    assert SECRET not in repr(hook) and "hook-secret" not in repr(hook.__dict__.get("path"))
    with pytest.raises(ValueError, match="auth secret"):
        WebhookReceiver(SecretStr(""), {BUYER})


async def test_tracked_wallets_can_be_a_callable(receiver: WebhookReceiver) -> None:
    tracked = {OTHER}
    hook = WebhookReceiver(SecretStr(SECRET), lambda: tracked, port=0)
    async with hook:
        sender = FakeHeliusSender(url_of(hook), SECRET)
        tracked.add(BUYER)  # /track add after the receiver started
        await sender.deliver(body_of(RAW_BODY))
        (pushed,) = await take(hook, 1)
    assert pushed.wallets == (BUYER,)
