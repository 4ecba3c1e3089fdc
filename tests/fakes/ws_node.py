"""A fake Solana WebSocket node: ``logsSubscribe`` and Helius ``transactionSubscribe`` on
127.0.0.1, fed from the real frames in ../shared/fixtures/solana/ws.

* ``logsSubscribe`` takes exactly one address in ``mentions`` (more: JSON-RPC error -32602,
  as the RPC docs say: https://docs.shyft.to/solana/rpc-calls/websockets/logssubscribe);
  ``transactionSubscribe`` takes ``accountInclude``. Each answer is ``{"result": <id>}`` with an
  id unique across connections and reconnections (Helius-sized numbers), and every request is
  kept in ``requests``. ``refuse_next`` refuses that many subscribe requests.
* ``notify_logs`` sends a ``logsNotification`` (shape of
  https://solana.com/docs/rpc/websocket/logssubscribe: ``params.result = {context: {slot},
  value: {signature, err, logs}}``; no real frame of it exists in the fixtures) to every
  subscription mentioning the wallet; ``notify_transaction`` sends a real
  ``transactionNotification`` frame, re-stamped with the subscription id, to every
  subscription whose ``accountInclude`` meets the transaction's account keys. Sending the same
  one twice is a duplicate; sending them in any order is out of order.
* ``send_raw`` writes any text to every connection (malformed frames); ``drop_connections``
  aborts every TCP connection without a close frame (a dead link).
* ``get_transaction`` is what the node would answer to ``getTransaction`` for a signature of
  the fixture frames: ``None`` while the signature is in ``not_yet`` (pushed, not servable yet).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

from engine.sources.push.notifications import account_keys
from engine.sources.solana import load_transactions
from tests.paths import SOLANA_FIXTURES

WS_FIXTURES = SOLANA_FIXTURES / "ws"
TEN_FRAMES = (
    WS_FIXTURES
    / "helius_transactionNotification_jsonParsed_10frames_raydiumV4_swaps.concatenated.json"
)
DOCS_FRAME = WS_FIXTURES / "helius_transactionNotification_docs_example.json"


def load_frames() -> list[dict[str, Any]]:
    """The 10 real frames, in file order (concatenated with ",\\n", no brackets)."""
    text = TEN_FRAMES.read_text()
    frames: list[dict[str, Any]] = json.loads("[" + text.rstrip().rstrip(",") + "]")
    return frames


def frame_signature(frame: Mapping[str, Any]) -> str:
    signature: str = frame["params"]["result"]["signature"]
    return signature


def frame_fee_payer(frame: Mapping[str, Any]) -> str:
    (tx,) = load_transactions(frame)
    return account_keys(tx)[0]


@dataclass
class _Subscription:
    kind: str  # "logs" | "transaction"
    accounts: frozenset[str]
    connection: ServerConnection


class FakeWsNode:
    def __init__(self, frames: list[dict[str, Any]] | None = None) -> None:
        self.frames = frames if frames is not None else load_frames()
        self._by_signature = {frame_signature(f): f for f in self.frames}
        self.not_yet: set[str] = set()
        self.refuse_next = 0
        self.requests: list[dict[str, Any]] = []
        self.subscriptions: dict[int, _Subscription] = {}
        self.connections: set[ServerConnection] = set()
        self.accepted = 0  # connections ever accepted
        self._ids = itertools.count(2449504275713048)  # the fixture frames' id, then onward
        self._server: Server | None = None
        self.url = ""

    async def __aenter__(self) -> FakeWsNode:
        self._server = await serve(self._handle, "127.0.0.1", 0, compression=None)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/?api-key=fake-secret-key-123456"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    # --- the server ---------------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        self.connections.add(connection)
        self.accepted += 1
        try:
            async for message in connection:
                await self._answer(connection, json.loads(message))
        except Exception:  # noqa: BLE001 - a dropped link ends the handler like a real node
            pass
        finally:
            self.connections.discard(connection)
            for sid in [s for s, sub in self.subscriptions.items() if sub.connection is connection]:
                del self.subscriptions[sid]

    async def _answer(self, connection: ServerConnection, request: dict[str, Any]) -> None:
        self.requests.append(request)
        method, params, request_id = request["method"], request["params"], request["id"]
        if method == "logsSubscribe":
            accounts = params[0].get("mentions", [])
            if len(accounts) != 1:
                await self._error(
                    connection, request_id, "Invalid Request: Only 1 address supported"
                )
                return
            kind = "logs"
        elif method == "transactionSubscribe":
            accounts, kind = params[0]["accountInclude"], "transaction"
        else:
            await self._error(connection, request_id, f"Method not found: {method}", -32601)
            return
        if self.refuse_next > 0:
            self.refuse_next -= 1
            await self._error(connection, request_id, "Internal error", -32603)
            return
        sid = next(self._ids)
        self.subscriptions[sid] = _Subscription(kind, frozenset(accounts), connection)
        await connection.send(json.dumps({"jsonrpc": "2.0", "result": sid, "id": request_id}))

    async def _error(
        self, connection: ServerConnection, request_id: Any, message: str, code: int = -32602
    ) -> None:
        error = {"code": code, "message": message}
        await connection.send(json.dumps({"jsonrpc": "2.0", "error": error, "id": request_id}))

    # --- scripting ------------------------------------------------------------------------

    def subscribed(self, kind: str) -> list[frozenset[str]]:
        return [sub.accounts for sub in self.subscriptions.values() if sub.kind == kind]

    async def notify_logs(self, wallet: str, signature: str, slot: int, err: Any = None) -> int:
        """A logsNotification to each subscription mentioning ``wallet``; how many were sent."""
        sent = 0
        for sid, sub in list(self.subscriptions.items()):
            if sub.kind == "logs" and wallet in sub.accounts:
                value = {"signature": signature, "err": err, "logs": ["Program log: fake"]}
                frame = {
                    "jsonrpc": "2.0",
                    "method": "logsNotification",
                    "params": {
                        "result": {"context": {"slot": slot}, "value": value},
                        "subscription": sid,
                    },
                }
                await sub.connection.send(json.dumps(frame))
                sent += 1
        return sent

    async def notify_transaction(self, frame: Mapping[str, Any]) -> int:
        """A real transactionNotification to each subscription whose accounts it touches."""
        (tx,) = load_transactions(frame)
        keys = set(account_keys(tx))
        sent = 0
        for sid, sub in list(self.subscriptions.items()):
            if sub.kind == "transaction" and sub.accounts & keys:
                stamped = copy.deepcopy(dict(frame))
                stamped["params"]["subscription"] = sid
                await sub.connection.send(json.dumps(stamped))
                sent += 1
        return sent

    async def send_raw(self, text: str) -> None:
        for connection in list(self.connections):
            await connection.send(text)

    async def drop_connections(self) -> int:
        dropped = list(self.connections)
        for connection in dropped:
            connection.transport.abort()
        # the handlers notice at once; bounded, generously
        deadline = asyncio.get_running_loop().time() + 30
        while self.connections.intersection(dropped):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the dropped connections' handlers never noticed in 30 s")
            await asyncio.sleep(0.01)
        return len(dropped)

    def get_transaction(self, signature: str) -> Mapping[str, Any] | None:
        frame = self._by_signature.get(signature)
        if frame is None or signature in self.not_yet:
            return None
        (tx,) = load_transactions(frame)
        return tx
