"""DexScreener: market snapshots of Solana tokens, ``GET {base}/tokens/v1/solana/{mints}``.

Up to 30 comma-joined mints a request; the answer is a list of pairs (pools) in which any of
them trades. For each mint the pair where it is the *base* token with the most USD liquidity is
kept (a pair that quotes the mint against something else prices the other token). A mint with
no pair has no pool yet (a pump.fun token still on its bonding curve): it is simply absent from
the result, not an error. A pair without a base address, a USD price or a market cap/FDV is
skipped with a log line; other missing fields stay None.

One ``httpx.AsyncClient``, its own token-bucket rate limit (DexScreener allows 300 requests a
minute on this endpoint; the default is 4 a second), retries on 429/5xx/timeouts/garbled
answers (``engine.sources.net.http.HttpSource``), and a TTL cache per mint ("no pool" is cached
too).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from engine.config import Settings
from engine.errors import MalformedPair, MalformedPayload, SourceUnavailable
from engine.records import SnapshotRecord
from engine.sources.net.http import HttpSource
from engine.sources.net.ratelimit import Clock, Sleep
from engine.sources.net.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.dexscreener.com"
MAX_MINTS_PER_REQUEST = 30
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class DexPair:
    """The pair a mint's snapshot was read from (``pair_created_at`` has no field in the
    snapshot, so it travels here)."""

    mint: str
    pair_address: str | None
    dex_id: str | None
    quote_mint: str | None
    pair_created_at: datetime | None
    snapshot: SnapshotRecord


class DexScreener(HttpSource):
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        requests_per_second: float | None = 4.0,
        cache_ttl_s: float = 30.0,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        now: Callable[[], datetime] | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout,
            transport=transport,
            requests_per_second=requests_per_second,
            retry=retry,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )
        self.base_url = base_url.rstrip("/")
        self.cache_ttl_s = cache_ttl_s
        self._clock = clock
        self._now = now or (lambda: datetime.now(UTC))
        self._cache: dict[str, tuple[float, DexPair | None]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> DexScreener:
        return cls(settings.dexscreener_url, **kwargs)

    def __repr__(self) -> str:
        return f"DexScreener({self.base_url!r})"

    async def snapshots(self, mints: Sequence[str]) -> dict[str, SnapshotRecord]:
        """The snapshot of each mint that has a pool (mints without one are absent)."""
        return {mint: pair.snapshot for mint, pair in (await self.pairs(mints)).items()}

    async def pairs(self, mints: Sequence[str]) -> dict[str, DexPair]:
        """The most liquid pair of each mint that has one; cached for ``cache_ttl_s``."""
        wanted = list(dict.fromkeys(mints))
        now = self._clock()
        self._cache = {m: e for m, e in self._cache.items() if now - e[0] < self.cache_ttl_s}
        missing = [m for m in wanted if m not in self._cache]
        for k in range(0, len(missing), MAX_MINTS_PER_REQUEST):
            chunk = missing[k : k + MAX_MINTS_PER_REQUEST]
            found = await self._fetch(chunk)
            fetched_at = self._clock()
            for mint in chunk:
                self._cache[mint] = (fetched_at, found.get(mint))
        return {m: pair for m in wanted if (pair := self._cache[m][1]) is not None}

    async def _fetch(self, chunk: list[str]) -> dict[str, DexPair]:
        url = f"{self.base_url}/tokens/v1/solana/{','.join(chunk)}"
        what = f"DexScreener tokens/v1 ({len(chunk)} mints)"

        async def attempt() -> Any:
            response = await self._request("GET", url)
            if response.status_code >= 300:
                raise SourceUnavailable(f"{what}: HTTP {response.status_code}")
            return self._json(response)

        payload = await self._retrier.run(attempt, what)
        if isinstance(payload, Mapping) and "pairs" in payload:  # the older /latest/dex shape
            payload = payload["pairs"] or []
        if not isinstance(payload, list):
            raise MalformedPayload(f"{what}: the answer is not a list of pairs")
        return best_pairs(payload, chunk, self._now())


def best_pairs(items: Sequence[Any], mints: Sequence[str], ts: datetime) -> dict[str, DexPair]:
    """The most liquid well-formed pair per mint among ``items``, where the mint is the base."""
    wanted = set(mints)
    best: dict[str, DexPair] = {}
    for item in items:
        try:
            pair = parse_pair(item, ts)
        except MalformedPair as exc:
            address = item.get("pairAddress") if isinstance(item, Mapping) else None
            log.warning("DexScreener: skipped pair %s: %s", str(address)[:60], exc)
            continue
        if pair.mint not in wanted:
            continue  # the mint is this pair's quote token, or the answer has a stray pair
        held = best.get(pair.mint)
        if held is None or _rank(pair) > _rank(held):
            best[pair.mint] = pair
    return best


def parse_pair(item: Any, ts: datetime) -> DexPair:
    """One DexScreener pair as a snapshot at ``ts``; ``MalformedPair`` if a needed field lacks."""
    if not isinstance(item, Mapping):
        raise MalformedPair("not an object")
    base = _mapping(item.get("baseToken"))
    mint = base.get("address")
    if not isinstance(mint, str) or not mint:
        raise MalformedPair("no baseToken.address")
    price = _number(item.get("priceUsd"))
    if price is None:
        raise MalformedPair(f"{mint}: priceUsd {str(item.get('priceUsd'))[:30]!r} is not a number")
    mcap = _number(item.get("marketCap"))
    if mcap is None:
        mcap = _number(item.get("fdv"))
    if mcap is None:
        raise MalformedPair(f"{mint}: neither marketCap nor fdv")
    volume = _mapping(item.get("volume"))
    change = _mapping(item.get("priceChange"))
    txns = _mapping(item.get("txns"))
    h1, h24 = _mapping(txns.get("h1")), _mapping(txns.get("h24"))
    created = _number(item.get("pairCreatedAt"))
    snapshot = SnapshotRecord(
        mint=mint,
        ts=ts,
        price_usd=price,
        mcap_usd=mcap,
        liquidity_usd=_number(_mapping(item.get("liquidity")).get("usd")),
        volume_5m=_number(volume.get("m5")),
        volume_1h=_number(volume.get("h1")),
        volume_6h=_number(volume.get("h6")),
        volume_24h=_number(volume.get("h24")),
        buys_1h=_count(h1.get("buys")),
        sells_1h=_count(h1.get("sells")),
        buys_24h=_count(h24.get("buys")),
        sells_24h=_count(h24.get("sells")),
        price_change_5m=_number(change.get("m5")),
        price_change_1h=_number(change.get("h1")),
        price_change_24h=_number(change.get("h24")),
    )
    address, dex = item.get("pairAddress"), item.get("dexId")
    quote = _mapping(item.get("quoteToken")).get("address")
    return DexPair(
        mint=mint,
        pair_address=address if isinstance(address, str) else None,
        dex_id=dex if isinstance(dex, str) else None,
        quote_mint=quote if isinstance(quote, str) else None,
        pair_created_at=(
            datetime.fromtimestamp(created / 1000, UTC)
            if created is not None and 0 < created < 2**46
            else None
        ),
        snapshot=snapshot,
    )


def _rank(pair: DexPair) -> tuple[float, float, str]:
    s = pair.snapshot
    return (s.liquidity_usd or -1.0, s.volume_24h or -1.0, pair.pair_address or "")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    """A finite float from a JSON number or a numeric string (``priceUsd`` is a string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _count(value: Any) -> int | None:
    number = _number(value)
    if number is None or number < 0 or number != int(number):
        return None
    return int(number)
