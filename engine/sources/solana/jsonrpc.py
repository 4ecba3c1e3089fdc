"""JSON-RPC 2.0 over HTTP: one ``httpx.AsyncClient``, batches, a rate limit, retries, no leaked key.

* **Batches.** ``call_many`` sends calls as JSON-RPC batches (a list body) of at most
  ``batch_size`` calls (per-method overrides in ``batch_sizes``), up to ``max_concurrency``
  requests at a time. A provider that refuses a batch (an HTTP 4xx other than 429, or a single
  error object instead of a list) gets the same calls again in smaller batches, stepping down
  ``BATCH_LADDER`` (100, 50, 20, 10, 5, then single requests); the smaller size sticks for that
  method. Helius, for one, takes 100 ``getTransaction`` calls per batch but only 10 of its other
  history methods (``getSignaturesForAddress``): set ``batch_sizes`` to skip the probing.
* **Rate limit.** A token bucket of ``requests_per_second``. A batch costs its number of calls
  (``batch_cost="calls"``, the default: providers meter each call in a batch, so this never
  trips their limit) or 1 (``"request"``, for a provider that counts HTTP requests).
* **Retries.** HTTP 429 and 5xx (``Retry-After`` honoured), timeouts, connection errors, a body
  that is not JSON, and transient JSON-RPC errors (``RpcTransientError``) are retried with
  jittered exponential backoff (``RetryPolicy``); in a batch only the calls that failed are sent
  again. Then ``RetriesExhausted`` (a ``SourceUnavailable``). Other HTTP errors raise
  ``SourceUnavailable`` at once, other JSON-RPC errors their ``RpcError``.
* **Metering.** ``meter`` counts every call sent (retries too: providers bill them) by method,
  for ``/status``'s calls and estimated credits per hour (``engine.sources.net.meter``).
* **The key.** The URL may hold an API key. The client only ever sees ``SecretUrl.address``
  (key replaced by ``***``); ``SecretUrlTransport`` puts the real URL on the wire. Every message
  built here uses the redacted URL, and server text is scrubbed of the key.

The client, the limiter, the retrier and the transient HTTP failures are
``engine.sources.net.http.HttpSource``'s; batching and JSON-RPC errors are this module's.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypeVar

import httpx
from pydantic import SecretStr

from engine.errors import BatchRejected, MalformedPayload, SourceUnavailable, TransientError
from engine.sources.net.http import HttpSource
from engine.sources.net.meter import CallMeter
from engine.sources.net.ratelimit import Clock, Sleep, is_urgent
from engine.sources.net.redact import SecretUrl
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.rpc_errors import rpc_error

log = logging.getLogger(__name__)

RpcCall: TypeAlias = tuple[str, Sequence[Any]]
"""(method, params) of one JSON-RPC call."""

BATCH_LADDER = (100, 50, 20, 10, 5, 1)
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_MAX_TEXT = 200
T = TypeVar("T")


class JsonRpcClient(HttpSource):
    def __init__(
        self,
        url: str | SecretStr,
        *,
        requests_per_second: float | None = 10.0,
        burst: float | None = None,
        batch_size: int = 100,
        batch_sizes: Mapping[str, int] | None = None,
        batch_cost: Literal["calls", "request"] = "calls",
        max_concurrency: int = 4,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        raw = url.get_secret_value() if isinstance(url, SecretStr) else url
        self._secret = SecretUrl(raw)
        self.url = self._secret.redacted
        """The endpoint with its key replaced by ``***``: safe to log."""
        super().__init__(
            timeout=timeout,
            transport=transport,
            secret=self._secret,
            headers={"Content-Type": "application/json"},
            requests_per_second=requests_per_second,
            burst=burst,
            retry=retry,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )
        self._batch_size = max(1, batch_size)
        self._batch_limits = {m: max(1, n) for m, n in (batch_sizes or {}).items()}
        self._batch_cost = batch_cost
        self._semaphore = asyncio.Semaphore(max(1, max_concurrency))
        # The urgent lane (engine.sources.net.ratelimit.urgent) has slots of its own, so a poll's
        # requests queued at the limiter never hold a pushed transaction's request back.
        self._urgent_slots = asyncio.Semaphore(max(1, max_concurrency))
        self._ids = itertools.count(1)
        self.meter = CallMeter(clock)
        """Calls sent by method (every attempt), for /status and the credit estimate."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @property
    def requests_per_second(self) -> float | None:
        return self._limiter.rate

    def batch_limit(self, method: str) -> int:
        """The most calls of ``method`` sent in one request now (it shrinks after a refusal)."""
        return self._batch_limits.get(method, self._batch_size)

    async def call(self, method: str, params: Sequence[Any]) -> Any:
        """The ``result`` of one call (``None`` included), retried as described above."""
        what = f"{method} at {self.url}"

        async def attempt() -> Any:
            body = self._envelope(next(self._ids), method, params)
            self.meter.add(method)
            payload = await self._post(body, cost=1, batch=False, what=what)
            if isinstance(payload, Mapping):
                error = payload.get("error")
                if error is not None:
                    raise rpc_error(error, method=method, scrub=self._scrub)
                if "result" in payload:
                    return payload["result"]
            raise MalformedPayload(f"{what}: the answer has neither result nor error")

        return await self._retrier.run(attempt, what)

    async def call_many(self, calls: Sequence[RpcCall]) -> list[Any]:
        """The results of ``calls``, in order, sent in batches (see the module docstring).

        The first call that fails for good raises (an ``RpcError`` that is not transient, or
        ``SourceUnavailable`` once retries are spent); the other requests are cancelled.
        """
        results: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        while pending:
            size = min(self.batch_limit(calls[i][0]) for i in pending)
            chunks = [pending[k : k + size] for k in range(0, len(pending), size)]
            leftovers = await _gather_or_cancel(
                [self._run_chunk(calls, chunk, results) for chunk in chunks]
            )
            pending = sorted(i for left in leftovers for i in left)
        return results

    async def _run_chunk(
        self, calls: Sequence[RpcCall], chunk: list[int], results: list[Any]
    ) -> list[int]:
        """Fill ``results`` for ``chunk``; returns the indices left over after a refused batch."""
        async with self._urgent_slots if is_urgent() else self._semaphore:
            if len(chunk) == 1:
                method, params = calls[chunk[0]]
                results[chunk[0]] = await self.call(method, params)
                return []
            todo = list(chunk)
            try:
                await self._send_batch(calls, todo, results)
            except BatchRejected as exc:
                smaller = next((n for n in BATCH_LADDER if n < len(chunk)), 1)
                for method in {calls[i][0] for i in chunk}:
                    self._batch_limits[method] = min(self.batch_limit(method), smaller)
                log.warning("%s; sending at most %d calls per request from now on", exc, smaller)
                return todo
            return []

    async def _send_batch(
        self, calls: Sequence[RpcCall], todo: list[int], results: list[Any]
    ) -> None:
        methods = "/".join(sorted({calls[i][0] for i in todo}))
        what = f"batch of {len(todo)} {methods} calls at {self.url}"

        async def attempt() -> None:
            ids = {next(self._ids): i for i in todo}
            body = [self._envelope(id_, *calls[i]) for id_, i in ids.items()]
            cost = len(body) if self._batch_cost == "calls" else 1
            for i in ids.values():
                self.meter.add(calls[i][0])
            payload = await self._post(body, cost=cost, batch=True, what=what)
            if not isinstance(payload, list) or _is_batch_error(payload):
                item = payload[0] if isinstance(payload, list) else payload
                if isinstance(item, Mapping) and item.get("error") is not None:
                    exc = rpc_error(item["error"], scrub=self._scrub)
                    if isinstance(exc, TransientError):
                        raise exc  # e.g. the whole batch rate limited: retry, keep the size
                raise BatchRejected(f"{what}: refused ({self._describe(payload)})")
            by_id = {item.get("id"): item for item in payload if isinstance(item, Mapping)}
            failures: list[TransientError] = []
            for id_, i in ids.items():
                item = by_id.get(id_)
                if item is None:
                    failures.append(TransientError("a call got no answer"))
                    continue
                error = item.get("error")
                if error is not None:
                    exc = rpc_error(error, method=calls[i][0], scrub=self._scrub)
                    if not isinstance(exc, TransientError):
                        raise exc
                    failures.append(exc)
                    continue
                if "result" not in item:
                    raise MalformedPayload(f"{what}: an answer has neither result nor error")
                results[i] = item["result"]
                todo.remove(i)
            if failures:
                hints = [f.retry_after for f in failures if f.retry_after is not None]
                raise TransientError(
                    f"{len(failures)} of {len(ids)} calls failed, first: {failures[0]}",
                    retry_after=max(hints) if hints else None,
                )

        await self._retrier.run(attempt, what)

    async def _post(self, body: Any, *, cost: int, batch: bool, what: str) -> Any:
        response = await self._request(
            "POST",
            self._secret.address,
            cost=cost,
            content=json.dumps(body, separators=(",", ":")),
        )
        status = response.status_code
        if status >= 300:
            text = self._scrub(" ".join(response.text.split()))[:_MAX_TEXT]
            if batch:
                raise BatchRejected(f"{what}: refused with HTTP {status} {text}")
            hint = " (check the RPC URL and its API key)" if status in (401, 403) else ""
            raise SourceUnavailable(f"{what}: HTTP {status}{hint} {text}".rstrip())
        return self._json(response)

    def _connection_failure(self, exc: httpx.TransportError) -> str:
        return f"{type(exc).__name__}: {self._scrub(str(exc))}"

    @staticmethod
    def _envelope(id_: int, method: str, params: Sequence[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}

    def _scrub(self, text: str) -> str:
        return self._secret.scrub(text)

    def _describe(self, payload: Any) -> str:
        item = payload[0] if isinstance(payload, list) and payload else payload
        if isinstance(item, Mapping) and item.get("error") is not None:
            return str(rpc_error(item["error"], scrub=self._scrub))
        return f"answered with a {type(payload).__name__}, not a list"


def _is_batch_error(payload: list[Any]) -> bool:
    """A one-item answer with ``id`` null and an error: the batch itself was refused."""
    return (
        len(payload) == 1
        and isinstance(payload[0], Mapping)
        and payload[0].get("id") is None
        and payload[0].get("error") is not None
    )


async def _gather_or_cancel(aws: Iterable[Awaitable[T]]) -> list[T]:
    """``asyncio.gather`` that cancels the rest when one fails (and raises that one, unwrapped)."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
