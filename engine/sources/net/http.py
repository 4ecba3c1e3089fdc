"""The part every HTTP data source shares: one ``httpx.AsyncClient``, a rate limit, retries.

``HttpSource`` owns the client (closed by ``aclose`` or ``async with``), a ``TokenBucket`` and a
``Retrier``, and sends one attempt with ``_request``: the limiter is waited on, the attempt is
counted in ``http_requests``, and timeouts, dropped connections, HTTP 429 and 5xx (``Retry-After``
honoured) become a ``TransientError`` for the retrier. ``_json`` reads a body, a garbled one
being transient too. What a 3xx/4xx means, and what the body must hold, is the subclass's call.

Every attempt has an overall ``deadline`` (connect, send, and the whole body) on top of httpx's
per-phase timeouts: httpx's read timeout restarts with every chunk, so an answer trickling one
byte every few seconds would otherwise hold a poll forever.

Given a ``SecretUrl``, the client is built on ``SecretUrlTransport``: it only ever addresses the
redacted URL, and the real one (with its API key) is put on the wire by the transport
(see ``engine.sources.net.redact``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from typing import Any, Self

import httpx

from engine.errors import TransientError
from engine.sources.net.ratelimit import Clock, Sleep, TokenBucket
from engine.sources.net.redact import SecretUrl, SecretUrlTransport, default_transport
from engine.sources.net.retry import Retrier, RetryPolicy, parse_retry_after

DEFAULT_DEADLINE = 30.0  # seconds for one attempt, start to last byte


class HttpSource:
    """One data source's HTTP client, rate limit and retrier; ``aclose`` it (or ``async with``)."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float,
        transport: httpx.AsyncBaseTransport | None = None,
        secret: SecretUrl | None = None,
        headers: Mapping[str, str] | None = None,
        requests_per_second: float | None,
        burst: float | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.deadline = deadline
        if secret is None:
            self._http = httpx.AsyncClient(transport=transport, timeout=timeout, headers=headers)
        else:
            self._http = httpx.AsyncClient(
                transport=SecretUrlTransport(
                    transport or default_transport(secret.reveal()), secret
                ),
                timeout=timeout,
                trust_env=False,  # proxies are resolved by default_transport, see engine.sources.net.redact
                follow_redirects=False,
                headers=headers,
            )
        self._limiter = TokenBucket(requests_per_second, burst=burst, clock=clock, sleep=sleep)
        self._retrier = Retrier(retry or RetryPolicy(), sleep=sleep, rng=rng)
        self.http_requests = 0
        """HTTP requests sent so far (every attempt counts)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self, method: str, url: str, *, cost: float = 1.0, **kwargs: Any
    ) -> httpx.Response:
        """One attempt, after ``cost`` tokens; transient failures raise ``TransientError``.

        Any other answer (2xx, or a 3xx/4xx the caller judges) is returned.
        """
        await self._limiter.acquire(cost)
        self.http_requests += 1
        try:
            async with asyncio.timeout(self.deadline):
                response = await self._http.request(method, url, **kwargs)
        except TimeoutError:
            raise TransientError(f"no complete answer within {self.deadline:g} s") from None
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"connection failed ({self._connection_failure(exc)})") from None
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise TransientError(f"HTTP {status}", retry_after=retry_after)
        return response

    def _connection_failure(self, exc: httpx.TransportError) -> str:
        """What a failed connection's message says. The exception's own text can quote the URL,
        so only its type by default; a subclass that can scrub the text may add it."""
        return type(exc).__name__

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        """The decoded body; one that is not JSON is a ``TransientError``."""
        try:
            return response.json()
        except ValueError:
            raise TransientError("the answer is not valid JSON") from None
