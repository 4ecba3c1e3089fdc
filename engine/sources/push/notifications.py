"""What the push sources deliver, and the pure reading of their frames (no I/O).

A push source (``engine.sources.push.websocket.WebSocketPush`` or
``engine.sources.push.webhooks.WebhookReceiver``) turns what a node or Helius pushes into
``PushedTransaction`` records and yields them from ``events()``; the consumer (the tracker) then:

* ``transaction is None`` (a ``logsNotification``, an enhanced webhook): fetch it with
  ``getTransaction`` (``maxSupportedTransactionVersion: 0``, commitment ``confirmed``). The node
  may answer ``null`` for a signature it has just pushed: retry later, never drop it; the poll
  repairs anything still missing.
* ``transaction`` set (a Helius ``transactionNotification``, a raw webhook): a ``getTransaction``
  result (``json``, ``jsonParsed`` or ``base64`` encoding; no ``blockTime`` in a WebSocket
  frame) ready for ``engine.sources.solana.parse_transaction(tx, wallet)``; ``trades_of`` does
  that for every wallet of the record.

``wallets`` are the tracked wallets the source attributes the transaction to (the wallet of a
``logsSubscribe``; the tracked accounts among the transaction's keys otherwise); empty when the
source cannot tell, and then the consumer decides (for example: every tracked wallet). Each
(signature, wallet) pair is delivered at most once while it is in the ``Deduper``'s window.

Frame shapes, each from its source:

* ``logsNotification`` (https://solana.com/docs/rpc/websocket/logssubscribe):
  ``{"method": "logsNotification", "params": {"result": {"context": {"slot"}, "value":
  {"signature", "err", "logs"}}, "subscription"}}``; ``mentions`` takes one address per
  subscription (https://docs.shyft.to/solana/rpc-calls/websockets/logssubscribe).
* ``transactionNotification`` (Helius,
  https://www.helius.dev/docs/api-reference/rpc/websocket/transactionsubscribe, and the real
  frames in ../shared/fixtures/solana/ws): ``params.result = {transaction: {transaction, meta,
  version}, signature, slot}``, ``params.subscription``.
* A subscribe answer: ``{"jsonrpc": "2.0", "result": <subscription id>, "id": <request id>}``.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from engine.errors import MalformedPayload
from engine.sources.solana import ParsedTrade, parse_transaction
from engine.sources.solana.envelopes import load_transactions, one_line
from engine.sources.solana.wire import WireError, wire_transaction

log = logging.getLogger(__name__)

__all__ = [
    "Deduper",
    "PushedTransaction",
    "account_keys",
    "decode_frame",
    "logs_subscribe_request",
    "read_logs_notification",
    "read_transaction_notification",
    "trades_of",
    "transaction_subscribe_request",
]

PushKind = Literal["logs", "helius", "webhook_raw", "webhook_enhanced"]


@dataclass(frozen=True, slots=True)
class PushedTransaction:
    """One transaction a push source announced (see the module doc for the contract)."""

    signature: str
    slot: int | None
    wallets: tuple[str, ...]
    transaction: Mapping[str, Any] | None
    kind: PushKind
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The frame says the transaction failed (``err`` set): it has no trades, and the sources
    # drop it instead of delivering it (counted as ``failed`` in their health).
    failed: bool = False


def trades_of(pushed: PushedTransaction) -> list[ParsedTrade]:
    """The trades of every wallet of ``pushed`` (the fee payer's when it names none).

    Raises ``ValueError`` when the record carries no transaction (fetch it first), and
    ``MalformedPayload`` when the transaction cannot be read."""
    if pushed.transaction is None:
        raise ValueError(f"{pushed.signature}: no transaction pushed; fetch it first")
    trades: list[ParsedTrade] = []
    for wallet in pushed.wallets or (None,):
        trades.extend(parse_transaction(pushed.transaction, wallet))
    return trades


# --- requests ---------------------------------------------------------------------------------


def logs_subscribe_request(request_id: int, wallet: str, commitment: str) -> dict[str, Any]:
    """``logsSubscribe`` for one wallet (the RPC accepts one address in ``mentions``)."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "logsSubscribe",
        "params": [{"mentions": [wallet]}, {"commitment": commitment}],
    }


def transaction_subscribe_request(
    request_id: int, wallets: Collection[str], commitment: str
) -> dict[str, Any]:
    """Helius ``transactionSubscribe``: any of ``wallets`` (``accountInclude``, at most 50,000
    addresses per the docs), full ``jsonParsed`` transactions, v0 included."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "transactionSubscribe",
        "params": [
            {"accountInclude": list(wallets), "failed": False},
            {
                "commitment": commitment,
                "encoding": "jsonParsed",
                "transactionDetails": "full",
                "showRewards": False,
                "maxSupportedTransactionVersion": 0,
            },
        ],
    }


# --- frames -----------------------------------------------------------------------------------


def decode_frame(text: str | bytes) -> Mapping[str, Any]:
    """One WebSocket text frame as a JSON object; ``MalformedPayload`` otherwise."""
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(one_line(f"frame is not JSON: {exc}")) from exc
    if not isinstance(frame, Mapping):
        raise MalformedPayload(f"frame is a JSON {type(frame).__name__}, not an object")
    return frame


def _params(frame: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]]:
    params = frame.get("params")
    if not isinstance(params, Mapping):
        raise MalformedPayload(f"{frame.get('method')}: no params object")
    subscription = params.get("subscription")
    result = params.get("result")
    if type(subscription) is not int or not isinstance(result, Mapping):
        raise MalformedPayload(f"{frame.get('method')}: no params.subscription or params.result")
    return subscription, result


def _slot(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def read_logs_notification(frame: Mapping[str, Any], wallet: str) -> tuple[int, PushedTransaction]:
    """(subscription id, record) of a ``logsNotification``; the transaction is not in it."""
    subscription, result = _params(frame)
    value = result.get("value")
    context = result.get("context")
    if not isinstance(value, Mapping) or type(value.get("signature")) is not str:
        raise MalformedPayload("logsNotification: no params.result.value.signature")
    slot = _slot(context.get("slot")) if isinstance(context, Mapping) else None
    pushed = PushedTransaction(
        signature=value["signature"],
        slot=slot,
        wallets=(wallet,),
        transaction=None,
        kind="logs",
        failed=value.get("err") is not None,
    )
    return subscription, pushed


def read_transaction_notification(
    frame: Mapping[str, Any], tracked: Collection[str]
) -> tuple[int, PushedTransaction]:
    """(subscription id, record) of a Helius ``transactionNotification``; ``wallets`` are the
    members of ``tracked`` among the transaction's account keys."""
    subscription, result = _params(frame)
    signature = result.get("signature")
    if type(signature) is not str:
        raise MalformedPayload("transactionNotification: no params.result.signature")
    (tx,) = load_transactions(frame)  # MalformedPayload when params.result.transaction is wrong
    meta = tx.get("meta")
    pushed = PushedTransaction(
        signature=signature,
        slot=_slot(result.get("slot")),
        wallets=tuple(key for key in account_keys(tx) if key in tracked),
        transaction=tx,
        kind="helius",
        failed=isinstance(meta, Mapping) and meta.get("err") is not None,
    )
    return subscription, pushed


def account_keys(tx: Mapping[str, Any]) -> list[str]:
    """Every account key of a ``getTransaction`` result, in order, without repeats: the static
    keys (strings in ``json``, ``{pubkey}`` objects in ``jsonParsed``, decoded for ``base64``)
    and then ``meta.loadedAddresses``. ``MalformedPayload`` when there are none."""
    transaction = tx.get("transaction")
    if not isinstance(transaction, Mapping):
        try:
            transaction = wire_transaction(transaction)
        except WireError as exc:
            raise MalformedPayload(f"transaction: {exc}") from None
    message = transaction.get("message")
    raw = message.get("accountKeys") if isinstance(message, Mapping) else None
    if not isinstance(raw, list) or not raw:
        raise MalformedPayload("transaction has no account keys")
    keys = [key.get("pubkey") if isinstance(key, Mapping) else key for key in raw]
    meta = tx.get("meta")
    loaded = meta.get("loadedAddresses") if isinstance(meta, Mapping) else None
    if isinstance(loaded, Mapping):
        for part in ("writable", "readonly"):
            more = loaded.get(part)
            if isinstance(more, list):
                keys.extend(more)
    return list(dict.fromkeys(key for key in keys if type(key) is str))


# --- duplicates ---------------------------------------------------------------------------------


class Deduper:
    """Remembers the last ``capacity`` (signature, wallet) pairs delivered.

    A node sends the same notification again after a resubscription, two connections can carry
    the same transaction, Helius retries a webhook: ``fresh`` keeps what was not delivered yet."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def fresh(self, signature: str, wallets: Iterable[str]) -> tuple[str, ...] | None:
        """The wallets not yet delivered for ``signature`` (``()`` stands for "no wallet"),
        marking them delivered; ``None`` when every one was delivered before."""
        wanted = tuple(wallets)
        new = tuple(wallet for wallet in wanted or ("",) if (signature, wallet) not in self._seen)
        for wallet in new:
            self._seen[(signature, wallet)] = None
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        if not new:
            return None
        return tuple(wallet for wallet in new if wallet)
