"""A fake Helius webhook sender: posts a body with the webhook's ``authHeader`` in
``Authorization`` and retries as Helius says it does.

https://www.helius.dev/docs/webhooks/faqs: a delivery that gets a 5xx, a 4xx other than 403, a
timeout or a connection error is retried up to 3 times (so at most 4 attempts), one second
apart (https://www.helius.dev/docs/faqs/webhooks says one minute); after that the event is lost.
``interval_s`` defaults to 0 so tests do not wait; pass 1.0 to behave like the docs.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.paths import SHARED_FIXTURES

WEBHOOK_FIXTURES = SHARED_FIXTURES / "webhooks"
RAW_BODY = WEBHOOK_FIXTURES / "helius_raw_docs_example_nft_sale.json"
ENHANCED_BODY = WEBHOOK_FIXTURES / "helius_enhanced_docs_example_nft_sale.json"
HELIUS_RETRIES = 3


def body_of(path: Path) -> bytes:
    return path.read_bytes()


def retried(status: int) -> bool:
    return status >= 500 or (400 <= status < 500 and status != 403)


class FakeHeliusSender:
    def __init__(
        self,
        url: str,
        auth_header: str | None,
        *,
        retries: int = HELIUS_RETRIES,
        interval_s: float = 0.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.auth_header = auth_header
        self.retries = retries
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.attempts: list[list[int | str]] = []  # per delivery: status codes or error names

    async def deliver(self, body: bytes | list[Any]) -> list[int | str]:
        """Post ``body`` until it is acknowledged or the retries run out; the attempts made."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.auth_header is not None:
            headers["Authorization"] = self.auth_header
        outcomes: list[int | str] = []
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            for attempt in range(self.retries + 1):
                if attempt:
                    await asyncio.sleep(self.interval_s)
                try:
                    response = await client.post(self.url, content=data, headers=headers)
                except httpx.TimeoutException:
                    outcomes.append("timeout")
                    continue
                except httpx.TransportError:
                    outcomes.append("connection error")
                    continue
                outcomes.append(response.status_code)
                if not retried(response.status_code):
                    break
        self.attempts.append(outcomes)
        return outcomes
