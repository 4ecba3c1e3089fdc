"""A local HTTP server for tests: a fake Solana node (POST, JSON-RPC) and DexScreener (GET).

``FakeServer`` listens on 127.0.0.1 on a random port, in a thread, and records every request
(with its arrival time) so tests can count attempts. Faults are queued with ``inject``: each
incoming request takes the next one, in order, whatever it asks for:

* ``Fault.status(429, retry_after="0.05")`` / ``Fault.status(500)``: that HTTP status.
* ``Fault.timeout(delay_s)``: answer nothing for ``delay_s`` (beyond the client's timeout), then
  close the connection.
* ``Fault.dropped()``: close the connection without an answer.
* ``Fault.malformed()``: 200 with a truncated JSON body.
* ``Fault.rpc_error(code, message)``: 200 with a JSON-RPC error for every call of the request;
  with ``whole=True`` a batch gets one error object (``id`` null) instead of a list.

``random_faults(rate, faults, seed=...)`` adds a steady background of faults: while the queue is
empty, each request takes one of ``faults`` (drawn at random) with probability ``rate``.

Use it as a context manager (``with FakeServer() as server:``); it never touches the internet.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.dexscreener_api import FakeDexScreener
from tests.fakes.solana_node import FakeSolanaNode, rpc_error_object


@dataclass(frozen=True)
class Fault:
    kind: str
    status_code: int = 500
    retry_after: str | None = None
    delay_s: float = 2.0
    code: int = -32429
    message: str = "rate limited"
    whole: bool = False

    @classmethod
    def status(cls, code: int, retry_after: str | None = None) -> Fault:
        return cls("status", status_code=code, retry_after=retry_after)

    @classmethod
    def timeout(cls, delay_s: float = 2.0) -> Fault:
        return cls("timeout", delay_s=delay_s)

    @classmethod
    def dropped(cls) -> Fault:
        return cls("drop")

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def rpc_error(cls, code: int, message: str, *, whole: bool = False) -> Fault:
        return cls("rpc_error", code=code, message=message, whole=whole)


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    http_method: str
    path: str
    body: Any
    at: float
    fault: str | None

    @property
    def calls(self) -> int:
        """JSON-RPC calls in the request (a batch counts its items)."""
        return len(self.body) if isinstance(self.body, list) else 1

    @property
    def rpc_methods(self) -> list[str]:
        items = self.body if isinstance(self.body, list) else [self.body]
        return [item.get("method") for item in items if isinstance(item, dict)]


class FakeServer:
    def __init__(self, node: FakeSolanaNode | None = None, dex: FakeDexScreener | None = None):
        self.node = node or FakeSolanaNode()
        self.dex = dex or FakeDexScreener()
        self.requests: list[Recorded] = []
        self._faults: deque[Fault] = deque()
        self._random_faults: tuple[float, tuple[Fault, ...], random.Random] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def random_faults(self, rate: float, faults: Sequence[Fault], *, seed: int = 0) -> None:
        """From now on, fail a ``rate`` share of the requests with one of ``faults``."""
        with self._lock:
            self._random_faults = (rate, tuple(faults), random.Random(seed)) if faults else None

    def count(self, path_prefix: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.startswith(path_prefix))

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases handlers stalled by a timeout fault
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- called from the handler threads ------------------------------------------------------

    def _serve(self, handler: _Handler, http_method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            fault = self._faults.popleft() if self._faults else self._random_fault()
            self.requests.append(
                Recorded(http_method, handler.path, body, time.monotonic(), fault and fault.kind)
            )
        if fault is not None and self._apply(handler, fault, body):
            return
        if http_method == "POST":
            status, answer = self.node.handle(body)
        else:
            status, answer = self.dex.handle(handler.path)
        _send(handler, status, json.dumps(answer).encode())

    def _random_fault(self) -> Fault | None:
        if self._random_faults is None:
            return None
        rate, faults, rng = self._random_faults
        return rng.choice(faults) if rng.random() < rate else None

    def _apply(self, handler: _Handler, fault: Fault, body: Any) -> bool:
        """Act out ``fault``; False if the request should then be served normally."""
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            _send(handler, fault.status_code, b'{"error":"fault"}', headers)
        elif fault.kind == "timeout":
            self._stopping.wait(fault.delay_s)
            handler.close_connection = True
        elif fault.kind == "drop":
            handler.close_connection = True
        elif fault.kind == "malformed":
            _send(handler, 200, b'{"jsonrpc": "2.0", "result": {"trunc')
        elif fault.kind == "rpc_error":
            items = body if isinstance(body, list) else [body]
            errors = [
                rpc_error_object(
                    item.get("id") if isinstance(item, dict) else None, fault.code, fault.message
                )
                for item in items
            ]
            if fault.whole:
                errors = [rpc_error_object(None, fault.code, fault.message)]
            answer = errors if isinstance(body, list) and not fault.whole else errors[0]
            _send(handler, 200, json.dumps(answer).encode())
        else:
            return False
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left: nothing to report


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _Server

    def do_POST(self) -> None:
        self.server.fake._serve(self, "POST")

    def do_GET(self) -> None:
        self.server.fake._serve(self, "GET")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def running(
    node: FakeSolanaNode | None = None, dex: FakeDexScreener | None = None
) -> Iterator[FakeServer]:
    with FakeServer(node, dex) as server:
        yield server
