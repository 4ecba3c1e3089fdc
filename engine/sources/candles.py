"""Candles: GeckoTerminal's public OHLCV of a pool, the price path between two snapshots.

``GET {base}/networks/solana/pools/{pool}/ohlcv/{timeframe}`` with ``aggregate``,
``before_timestamp`` (epoch seconds), ``limit`` (at most 1000, default 100), ``currency`` (``usd``,
the default, or ``token``: the quote token) and ``token`` (``base``, the default, ``quote`` or an
address). Timeframes and aggregates: ``day`` 1, ``hour`` 1/4/12, ``minute`` 1/5/15. No key; the
public API allows 30 calls a minute. Sources: docs.coingecko.com/reference/pool-ohlcv-contract-address
("Pool OHLCV chart by Pool Address") and apiguide.geckoterminal.com/faq (the rate limit).

The answer (``../shared/fixtures/market/geckoterminal/ohlcv_*.json``, SOURCES.md §D)::

    {"data": {"id": <uuid>, "type": "ohlcv_request_response",
              "attributes": {"ohlcv_list": [[ts, open, high, low, close, volume], ...]}},
     "meta": {"base": {"address", "name", "symbol", "coingecko_coin_id"}, "quote": {...}}}

``ts`` is the candle's *start* in epoch seconds, the list is newest first, prices are USD per
base token here because ``currency=usd&token=base`` is always sent (said explicitly, so a change
of default cannot switch the unit), volume is USD. The pool address is not in the body; the base
token is (``meta.base.address``), and it must be the mint asked about: the pool comes from
DexScreener's most liquid pair *with the mint as its base* (``engine.sources.dexscreener``), so a
different base means the prices are some other token's.

A payload without that shape (a missing field, a non-numeric, negative, zero or non-finite
price, a row that is not 6 numbers, a high below its low/open/close, a repeated timestamp) is
refused whole with one ``MalformedPayload`` line naming the field; nothing of it is used.
One ``httpx.AsyncClient``, its token bucket and retries on 429/5xx/timeouts/garbled answers come
from ``engine.sources.net.http.HttpSource``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

from engine.config import Settings
from engine.errors import MalformedPayload, SourceError, SourceUnavailable
from engine.sources.dexscreener import DexScreener
from engine.sources.net.http import HttpSource
from engine.sources.net.ratelimit import Clock, Sleep
from engine.sources.net.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_URL: Final = "https://api.geckoterminal.com/api/v2"
MAX_LIMIT: Final = 1000
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
# Public API: 30 calls a minute (apiguide.geckoterminal.com/faq).
PUBLIC_REQUESTS_PER_SECOND: Final = 0.5
# timeframe -> (seconds of one unit, the aggregates the API accepts)
TIMEFRAMES: Final[dict[str, tuple[int, tuple[int, ...]]]] = {
    "minute": (60, (1, 5, 15)),
    "hour": (3600, (1, 4, 12)),
    "day": (86_400, (1,)),
}
_FIELDS: Final = ("timestamp", "open", "high", "low", "close", "volume")
_BASE58: Final = re.compile(r"[1-9A-HJ-NP-Za-km-z]{32,44}")

PoolOf = Callable[[str], Awaitable[str | None]]
"""The pool (pair address) whose candles price a mint, or None when it has none yet."""


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV interval ``[ts, ts + seconds)``; prices in USD per base token, volume in USD."""

    ts: datetime
    seconds: int
    open_usd: float
    high_usd: float
    low_usd: float
    close_usd: float
    volume_usd: float

    @property
    def end(self) -> datetime:
        return self.ts + timedelta(seconds=self.seconds)


def parse_ohlcv(
    payload: Any, *, seconds: int, base_mint: str | None = None, what: str = "GeckoTerminal ohlcv"
) -> list[Candle]:
    """The candles of one answer, oldest first; ``MalformedPayload`` naming the field otherwise.

    ``base_mint``: the token the prices must be of (``meta.base.address``)."""
    data = _field(payload, "data", what, "the answer")
    attributes = _field(data, "attributes", what, "data")
    rows = attributes.get("ohlcv_list")
    if not isinstance(rows, list):
        raise MalformedPayload(f"{what}: data.attributes.ohlcv_list is missing or not a list")
    if base_mint is not None:
        base = _field(_field(payload, "meta", what, "the answer"), "base", what, "meta")
        address = base.get("address")
        if not isinstance(address, str):
            raise MalformedPayload(f"{what}: meta.base.address is missing")
        if address != base_mint:
            shown = address if _BASE58.fullmatch(address) else repr(address[:44])
            raise MalformedPayload(f"{what}: meta.base.address {shown} is not the mint {base_mint}")
    candles: dict[int, Candle] = {}
    for i, row in enumerate(rows):
        ts, candle = _candle(row, f"{what}: data.attributes.ohlcv_list[{i}]", seconds)
        if ts in candles:
            raise MalformedPayload(
                f"{what}: data.attributes.ohlcv_list[{i}][0] (timestamp) {ts} repeats"
            )
        candles[ts] = candle
    return [candles[ts] for ts in sorted(candles)]


def _field(parent: Any, name: str, what: str, where: str) -> Mapping[str, Any]:
    value = parent.get(name) if isinstance(parent, Mapping) else None
    if not isinstance(value, Mapping):
        path = name if where == "the answer" else f"{where}.{name}"
        raise MalformedPayload(f"{what}: {path} is missing or not an object")
    return value


def _candle(row: Any, where: str, seconds: int) -> tuple[int, Candle]:
    if not isinstance(row, list) or len(row) != len(_FIELDS):
        raise MalformedPayload(f"{where} is not a list of 6 numbers [ts, o, h, l, c, volume]")
    values = [
        _number(value, f"{where}[{k}] ({name})")
        for k, (name, value) in enumerate(zip(_FIELDS, row, strict=True))
    ]
    ts, o, h, low, c, volume = values
    for k in range(1, 5):
        if not values[k] > 0:
            raise MalformedPayload(
                f"{where}[{k}] ({_FIELDS[k]}) is {values[k]!r}, not a price above 0"
            )
    if volume < 0:
        raise MalformedPayload(f"{where}[5] (volume) is {volume!r}, below 0")
    if ts != int(ts) or not 0 < ts < 2**40:
        raise MalformedPayload(f"{where}[0] (timestamp) is {ts!r}, not epoch seconds")
    if h < max(o, low, c) or low > min(o, c):
        raise MalformedPayload(f"{where}[2] (high) {h!r} is below its open, low or close")
    return int(ts), Candle(datetime.fromtimestamp(int(ts), UTC), seconds, o, h, low, c, volume)


def _number(value: Any, where: str) -> float:
    """A finite JSON number (the API sends floats; a string, bool or null is refused)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    raise MalformedPayload(f"{where} is {str(value)[:30]!r}, not a finite number")


class GeckoTerminal(HttpSource):
    """GeckoTerminal's OHLCV of Solana pools at one timeframe (default: 5-minute candles)."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeframe: str = "minute",
        aggregate: int = 5,
        requests_per_second: float | None = PUBLIC_REQUESTS_PER_SECOND,
        page_limit: int = MAX_LIMIT,
        max_pages: int = 8,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        unit, aggregates = TIMEFRAMES.get(timeframe, (0, ()))
        if aggregate not in aggregates:
            raise ValueError(
                f"GeckoTerminal has no {timeframe!r} candles of aggregate {aggregate} "
                f"(timeframes and aggregates: {', '.join(f'{t} {a}' for t, (_, a) in TIMEFRAMES.items())})"
            )
        if not 1 <= page_limit <= MAX_LIMIT:
            raise ValueError(f"page_limit must be 1..{MAX_LIMIT}, got {page_limit}")
        super().__init__(
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
            requests_per_second=requests_per_second,
            retry=retry,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )
        self.base_url = base_url.rstrip("/")
        self.timeframe = timeframe
        self.aggregate = aggregate
        self.seconds = unit * aggregate
        self.page_limit = page_limit
        self.max_pages = max_pages

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> GeckoTerminal:
        return cls(
            settings.candles_url,
            timeframe=settings.candles_timeframe,
            aggregate=settings.candles_aggregate,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"GeckoTerminal({self.base_url!r}, {self.timeframe!r}, aggregate={self.aggregate})"

    async def page(
        self,
        pool: str,
        *,
        before: datetime | None = None,
        base_mint: str | None = None,
    ) -> list[Candle]:
        """One request: up to ``page_limit`` candles of ``pool`` starting before ``before``,
        oldest first."""
        params: dict[str, str | int] = {
            "aggregate": self.aggregate,
            "limit": self.page_limit,
            "currency": "usd",
            "token": "base",
        }
        if before is not None:
            params["before_timestamp"] = math.ceil(before.timestamp())
        if not _BASE58.fullmatch(pool):
            raise MalformedPayload(f"GeckoTerminal ohlcv: pool {pool[:60]!r} is not an address")
        url = f"{self.base_url}/networks/solana/pools/{pool}/ohlcv/{self.timeframe}"
        what = f"GeckoTerminal ohlcv {pool}"

        async def attempt() -> Any:
            response = await self._request("GET", url, params=params)
            if response.status_code >= 300:
                raise SourceUnavailable(f"{what}: HTTP {response.status_code}")
            return self._json(response)

        payload = await self._retrier.run(attempt, what)
        return parse_ohlcv(payload, seconds=self.seconds, base_mint=base_mint, what=what)

    async def candles(
        self, pool: str, start: datetime, end: datetime, *, base_mint: str | None = None
    ) -> list[Candle]:
        """The candles of ``pool`` lying wholly inside the window: ``start < ts`` and
        ``ts + seconds <= end`` (a candle straddling ``start`` may hold a high from before it),
        oldest first, paging back from ``end`` with ``before_timestamp``."""
        found: dict[datetime, Candle] = {}
        before = end
        for _ in range(self.max_pages):
            page = await self.page(pool, before=before, base_mint=base_mint)
            found.update((c.ts, c) for c in page if start < c.ts and c.end <= end)
            if len(page) < self.page_limit or page[0].ts <= start:
                break
            before = page[0].ts
        else:
            log.warning("%r: %s: window not covered in %d pages", self, pool, self.max_pages)
        return [found[ts] for ts in sorted(found)]


class MintCandles:
    """The candles of a mint: its pool from ``pool_of``, then GeckoTerminal; no pool, none.
    ``aclose`` closes the GeckoTerminal client and the ``owned`` ones (the pool lookup's)."""

    def __init__(
        self, gecko: GeckoTerminal, pool_of: PoolOf, *, owned: Sequence[HttpSource] = ()
    ) -> None:
        self.gecko = gecko
        self.pool_of = pool_of
        self._owned = tuple(owned)

    def __repr__(self) -> str:
        return f"MintCandles({self.gecko!r})"

    async def candles(self, mint: str, start: datetime, end: datetime) -> Sequence[Candle]:
        pool = await self.pool_of(mint)
        if pool is None:
            return []
        return await self.gecko.candles(pool, start, end, base_mint=mint)

    async def aclose(self) -> None:
        for client in (self.gecko, *self._owned):
            await client.aclose()


class PriceAt:
    """The USD price of one mint at a past moment, from its pool's candles: the close of the
    latest candle starting at or before the moment, at most ``max_gap`` before it (an interval
    without trades has no candle: the price is then the last close). Each page of candles is
    read once and kept (``keep`` candles at most), so a backfill of a wallet's older
    stablecoin-quoted swaps costs one request per ``page_limit`` candles, not one a swap. A
    source that fails gives None (logged), never a guess."""

    def __init__(
        self,
        feed: MintCandles,
        mint: str,
        *,
        max_gap: timedelta = timedelta(hours=1),
        keep: int = 50_000,
    ) -> None:
        self.feed = feed
        self.mint = mint
        self.max_gap = max_gap
        self.keep = keep
        self._closes: dict[int, float] = {}  # candle start (epoch s) -> close
        self._covered: list[tuple[int, int]] = []  # (first, last) candle starts of each page
        self._pool: str | None = None

    def __repr__(self) -> str:
        return f"PriceAt({self.mint}, {self.feed!r})"

    async def __call__(self, moment: datetime) -> float | None:
        seconds = self.feed.gecko.seconds
        start = int(moment.timestamp()) // seconds * seconds
        if not any(first <= start <= last for first, last in self._covered):
            try:
                await self._read(start + seconds)
            except SourceError as exc:  # MalformedPayload among them
                log.info("no USD price of %s at %s: %s", self.mint, moment.isoformat(), exc)
                return None
        earliest = start - int(self.max_gap.total_seconds())
        for at in range(start, earliest - 1, -seconds):
            close = self._closes.get(at)
            if close is not None:
                return close
        return None

    async def _read(self, before: int) -> None:
        if self._pool is None:
            self._pool = await self.feed.pool_of(self.mint)
            if self._pool is None:
                raise SourceUnavailable(f"{self.mint} has no pool")
        when = datetime.fromtimestamp(before, tz=UTC)
        page = await self.feed.gecko.page(self._pool, before=when, base_mint=self.mint)
        if len(self._closes) + len(page) > self.keep:
            self._closes.clear()
            self._covered.clear()
        for candle in page:
            self._closes[int(candle.ts.timestamp())] = candle.close_usd
        seconds = self.feed.gecko.seconds
        last = before - seconds
        # a full page covers back to its oldest candle; a short one, all of the pool's past
        first = int(page[0].ts.timestamp()) if len(page) == self.feed.gecko.page_limit else 0
        self._covered.append((first, last))


def dexscreener_pools(dex: DexScreener) -> PoolOf:
    """A mint's pool: DexScreener's most liquid pair with the mint as base (``pairAddress``)."""

    async def pool_of(mint: str) -> str | None:
        pair = (await dex.pairs([mint])).get(mint)
        return None if pair is None else pair.pair_address

    return pool_of


def candles_from_settings(settings: Settings) -> MintCandles | None:
    """The candle feed the settings ask for: None unless ``candles`` is on; the simulated market
    has no candles (its snapshots already hold every tick the labels need)."""
    if not settings.candles:
        return None
    if settings.source == "sim":
        log.info("candles are off on the simulated market")
        return None
    dex = DexScreener.from_settings(settings)
    gecko = GeckoTerminal.from_settings(settings)
    return MintCandles(gecko, dexscreener_pools(dex), owned=(dex,))
