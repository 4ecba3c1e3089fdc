"""Every HTTP attempt has an overall deadline: an answer that trickles in byte by byte (httpx's
read timeout restarts with each chunk) is cut off and counts as a transient failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from engine.errors import TransientError
from engine.sources.net.http import HttpSource


async def _trickle() -> AsyncIterator[bytes]:
    while True:  # never finishes: one byte, then a pause shorter than any read timeout
        yield b" "
        await asyncio.sleep(0.01)


async def test_a_trickling_answer_is_cut_off_at_the_deadline() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=_trickle()))
    source = HttpSource(
        timeout=httpx.Timeout(5.0), transport=transport, requests_per_second=None, deadline=0.2
    )
    try:
        with pytest.raises(TransientError, match=r"no complete answer within 0.2 s"):
            await asyncio.wait_for(source._request("GET", "https://example.invalid/"), timeout=60)
        assert source.http_requests == 1
    finally:
        await source.aclose()


async def test_an_answer_within_the_deadline_is_returned() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    source = HttpSource(timeout=5.0, transport=transport, requests_per_second=None, deadline=30.0)
    try:
        response = await source._request("GET", "https://example.invalid/")
        assert source._json(response) == {"ok": True}
    finally:
        await source.aclose()
