"""GeckoTerminal candles against a local fake API serving the real OHLCV answers.

The fixtures (../shared/fixtures/market/geckoterminal, SOURCES.md §D) are one pool of CBRL
(5LKHMd2…pump) against WSOL: 35 fifteen-minute candles from 1755725400 to 1755756000 and 235
hourly ones from 1755723600 to 1756569600, newest first, prices in USD. The body does not name the
pool, so the fake serves them under POOL (an address of the right form).

Highs checked by hand with jq on the fixture files:
``jq '[.data.attributes.ohlcv_list[][2]] | max'`` gives 0.00015232174514745713 for the minute15
file; its row is the last one (the oldest, ts 1755725400). Without that row
(``map(select(.[0] > 1755725400)) | max_by(.[2])``) the highest is 0.00014502149832369273 at
1755726300. The hourly file's highest is 0.000725639648617582 at 1755954000.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from engine.errors import MalformedPayload, RetriesExhausted
from engine.sources.candles import GeckoTerminal, MintCandles, PriceAt, parse_ohlcv
from engine.sources.net.retry import RetryPolicy
from tests.fakes.clock import FakeTime
from tests.fakes.fake_http import FakeServer, Fault
from tests.fakes.geckoterminal_api import FakeGeckoTerminal
from tests.paths import SHARED_FIXTURES

GECKO = SHARED_FIXTURES / "market" / "geckoterminal"
MINUTE15 = json.loads((GECKO / "ohlcv_minute15_CBRL-SOL_5LKHMd2-pump.json").read_bytes())
HOUR = json.loads((GECKO / "ohlcv_hour_CBRL-SOL_5LKHMd2-pump.json").read_bytes())
CBRL = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump"
POOL = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@pytest.fixture
def api() -> FakeGeckoTerminal:
    return FakeGeckoTerminal({(POOL, "minute"): MINUTE15, (POOL, "hour"): HOUR})


@pytest.fixture
def server(api: FakeGeckoTerminal) -> Iterator[FakeServer]:
    with FakeServer(dex=api) as running:  # type: ignore[arg-type]  # any GET API fits
        yield running


def client(server: FakeServer, fake: FakeTime | None = None, **kwargs: Any) -> GeckoTerminal:
    fake = fake or FakeTime()
    options: dict[str, Any] = {
        "timeframe": "minute",
        "aggregate": 15,
        "requests_per_second": 0.5,  # the public limit; the fake clock makes waits instant
        "retry": RetryPolicy(max_attempts=3, backoff_base_s=0.5, backoff_max_s=2.0),
        "timeout": httpx.Timeout(2.0),
        "clock": fake.clock,
        "sleep": fake.sleep,
        "rng": random.Random(3),
    }
    options.update(kwargs)
    return GeckoTerminal(server.url, **options)


async def test_the_fixture_parses_oldest_first_with_its_max_high(
    server: FakeServer, api: FakeGeckoTerminal
) -> None:
    async with client(server) as gecko:
        candles = await gecko.page(POOL, before=utc(1755756900), base_mint=CBRL)
    (request,) = server.requests
    assert request.path.startswith(f"/networks/solana/pools/{POOL}/ohlcv/minute?")
    assert api.queries == [
        {
            "aggregate": "15",
            "limit": "1000",
            "currency": "usd",
            "token": "base",
            "before_timestamp": "1755756900",
        }
    ]
    assert len(candles) == 35
    assert [c.ts for c in candles] == [utc(1755725400 + 900 * k) for k in range(35)]
    first = candles[0]  # the fixture's last row
    assert (first.open_usd, first.high_usd, first.low_usd, first.close_usd) == (
        7.908853828559325e-05,
        0.00015232174514745713,
        6.477105485869412e-05,
        0.00011075132832464755,
    )
    assert first.volume_usd == 261519.08337612322 and first.seconds == 900
    assert candles[-1].high_usd == 1.8577063943794163e-05  # the fixture's first row, 1755756000
    assert max(c.high_usd for c in candles) == 0.00015232174514745713


def test_order_of_the_rows_does_not_matter() -> None:
    shuffled = copy.deepcopy(MINUTE15)
    rows = shuffled["data"]["attributes"]["ohlcv_list"]
    random.Random(1).shuffle(rows)
    assert parse_ohlcv(shuffled, seconds=900) == parse_ohlcv(MINUTE15, seconds=900)


async def test_a_window_keeps_only_candles_wholly_inside_it(server: FakeServer) -> None:
    start, end = utc(1755725400), utc(1755745200)
    async with client(server) as gecko:
        candles = await gecko.candles(POOL, start, end, base_mint=CBRL)
    # 1755725400 starts at `start` (its high may be from before the window: out); the last kept
    # one starts at 1755744300 and ends at `end`: (1755744300 - 1755726300) / 900 + 1 = 21.
    assert [c.ts for c in candles] == [utc(1755726300 + 900 * k) for k in range(21)]
    assert max(c.high_usd for c in candles) == 0.00014502149832369273
    assert max(candles, key=lambda c: c.high_usd).ts == utc(1755726300)


async def test_a_long_window_pages_back_with_before_timestamp(
    server: FakeServer, api: FakeGeckoTerminal
) -> None:
    async with client(server, timeframe="hour", aggregate=1, page_limit=100) as gecko:
        candles = await gecko.candles(POOL, utc(1755720000), utc(1756573200), base_mint=CBRL)
    assert len(candles) == 235 and candles[0].ts == utc(1755723600)
    assert candles[-1].ts == utc(1756569600)
    # pages of 100, 100 and 35: each asks for candles before the oldest start of the last one
    # (.[99][0] is 1756209600 and .[199][0] is 1755849600 in the fixture)
    assert [q["before_timestamp"] for q in api.queries] == [
        "1756573200",
        "1756209600",
        "1755849600",
    ]
    assert max(c.high_usd for c in candles) == 0.000725639648617582


async def test_429_and_5xx_are_retried_with_backoff(server: FakeServer) -> None:
    fake = FakeTime()
    server.inject(Fault.status(429, retry_after="7"), Fault.status(503))
    async with client(server, fake) as gecko:
        candles = await gecko.page(POOL, base_mint=CBRL)
    assert len(candles) == 35 and server.count() == 3
    # The 429's Retry-After is honoured (7 s, which also refills the 0.5/s bucket); the 503's
    # backoff is drawn from [0.5, 1.0] (second failure: c = min(2, 0.5 * 2) = 1); then the
    # limiter waits for the rest of its token: (1 - 0.5 * backoff) / 0.5 s.
    backoff = fake.waits[1]
    assert fake.waits[0] == 7.0 and 0.5 <= backoff <= 1.0
    assert fake.waits[2] == pytest.approx(2.0 - backoff)
    assert len(fake.waits) == 3


async def test_a_source_that_keeps_failing_gives_up(server: FakeServer) -> None:
    server.inject(*[Fault.status(500)] * 3)
    async with client(server) as gecko:
        with pytest.raises(
            RetriesExhausted, match="gave up after 3 attempts; last error: HTTP 500"
        ):
            await gecko.page(POOL)


def _broken(change: Any) -> Any:
    payload = copy.deepcopy(MINUTE15)
    change(payload)
    return payload


def _set_row(i: int, k: int, value: Any) -> Any:
    return _broken(lambda p: p["data"]["attributes"]["ohlcv_list"][i].__setitem__(k, value))


ROWS = (
    "GeckoTerminal ohlcv 7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU: data.attributes.ohlcv_list"
)
MALFORMED = [
    (_broken(lambda p: p.pop("data")), "data is missing or not an object"),
    (_broken(lambda p: p["data"].pop("attributes")), "data.attributes is missing or not an object"),
    (
        _broken(lambda p: p["data"]["attributes"].__setitem__("ohlcv_list", {})),
        "data.attributes.ohlcv_list is missing or not a list",
    ),
    (
        _broken(lambda p: p["data"]["attributes"]["ohlcv_list"][3].pop()),
        "data.attributes.ohlcv_list[3] is not a list of 6 numbers [ts, o, h, l, c, volume]",
    ),
    (
        _set_row(0, 2, "0.0001"),
        "data.attributes.ohlcv_list[0][2] (high) is '0.0001', not a finite number",
    ),
    (
        _set_row(1, 2, None),
        "data.attributes.ohlcv_list[1][2] (high) is 'None', not a finite number",
    ),
    (
        _set_row(1, 4, True),
        "data.attributes.ohlcv_list[1][4] (close) is 'True', not a finite number",
    ),
    (
        _set_row(2, 3, -1e-05),
        "data.attributes.ohlcv_list[2][3] (low) is -1e-05, not a price above 0",
    ),
    (_set_row(2, 1, 0), "data.attributes.ohlcv_list[2][1] (open) is 0.0, not a price above 0"),
    (
        _set_row(4, 2, float("inf")),
        "data.attributes.ohlcv_list[4][2] (high) is 'inf', not a finite number",
    ),
    (
        _set_row(4, 2, float("nan")),
        "data.attributes.ohlcv_list[4][2] (high) is 'nan', not a finite number",
    ),
    (_set_row(5, 5, -3.0), "data.attributes.ohlcv_list[5][5] (volume) is -3.0, below 0"),
    (
        _set_row(6, 0, 1755750600.5),
        "data.attributes.ohlcv_list[6][0] (timestamp) is 1755750600.5, not epoch seconds",
    ),
    (
        _set_row(7, 2, 1e-06),
        "data.attributes.ohlcv_list[7][2] (high) 1e-06 is below its open, low or close",
    ),
    (_set_row(8, 0, 1755756000), "data.attributes.ohlcv_list[8][0] (timestamp) 1755756000 repeats"),
    (_broken(lambda p: p["meta"]["base"].pop("address")), "meta.base.address is missing"),
    (_broken(lambda p: p.pop("meta")), "meta is missing or not an object"),
    (
        _broken(lambda p: p["meta"].__setitem__("base", p["meta"]["quote"])),
        f"meta.base.address So11111111111111111111111111111111111111112 is not the mint {CBRL}",
    ),
]


@pytest.mark.parametrize(("payload", "reason"), MALFORMED)
async def test_a_malformed_payload_is_refused_naming_the_field(
    api: FakeGeckoTerminal, server: FakeServer, payload: Any, reason: str
) -> None:
    api.answers[(POOL, "minute")] = payload
    async with client(server) as gecko:
        with pytest.raises(MalformedPayload) as err:
            await gecko.candles(POOL, utc(1755725400), utc(1755760000), base_mint=CBRL)
    prefix = "GeckoTerminal ohlcv 7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU: "
    assert str(err.value) == prefix + reason
    assert "\n" not in str(err.value)
    assert server.count() == 1  # refused, not retried


async def test_a_mint_without_a_pool_has_no_candles(server: FakeServer) -> None:
    async def no_pool(mint: str) -> str | None:
        return None

    async def the_pool(mint: str) -> str | None:
        return POOL

    async with client(server) as gecko:
        assert await MintCandles(gecko, no_pool).candles(CBRL, utc(0), utc(1755760000)) == []
        assert server.count() == 0
        got = await MintCandles(gecko, the_pool).candles(CBRL, utc(1755725400), utc(1755745200))
    assert len(got) == 21


async def test_a_pool_that_is_not_an_address_is_refused(server: FakeServer) -> None:
    async with client(server) as gecko:
        with pytest.raises(MalformedPayload, match="pool '../../x' is not an address"):
            await gecko.page("../../x")
    assert server.count() == 0


@pytest.mark.parametrize(("timeframe", "aggregate"), [("minute", 4), ("hour", 5), ("week", 1)])
def test_timeframes_the_api_does_not_have_are_refused(timeframe: str, aggregate: int) -> None:
    with pytest.raises(ValueError, match=f"no '{timeframe}' candles of aggregate {aggregate}"):
        GeckoTerminal(timeframe=timeframe, aggregate=aggregate)


async def test_candles_are_a_setting_off_by_default_and_off_on_the_simulator() -> None:
    from engine.config import Settings
    from engine.sources.candles import candles_from_settings

    assert Settings(_env_file=None).candles is False  # type: ignore[call-arg]
    assert candles_from_settings(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    on_sim = Settings(_env_file=None, candles=True, source="sim")  # type: ignore[call-arg]
    assert candles_from_settings(on_sim) is None
    live = Settings(_env_file=None, candles=True, source="rpc", candles_aggregate=15)  # type: ignore[call-arg]
    feed = candles_from_settings(live)
    assert feed is not None and feed.gecko.seconds == 900
    assert feed.gecko.base_url == "https://api.geckoterminal.com/api/v2"
    await feed.aclose()


# --- a price at a past moment (stablecoin-quoted swaps valued in SOL at their block time) ---
# Closes checked by hand: ``jq '.data.attributes.ohlcv_list[] | select(.[0]==1755755100) | .[4]'``
# gives 1.613691542742065e-05 (the candle [1755755100, +900)); for 1755754200,
# 1.4647992091963596e-05; for 1755756000, the newest candle, 1.8111106133282376e-05.


async def the_pool(mint: str) -> str | None:
    return POOL


async def test_a_past_moment_is_priced_at_the_close_of_its_candle(server: FakeServer) -> None:
    async with client(server) as gecko:
        price_at = PriceAt(MintCandles(gecko, the_pool), CBRL)
        assert await price_at(utc(1755755100 + 300)) == 1.613691542742065e-05
        assert await price_at(utc(1755755100)) == 1.613691542742065e-05  # its first second
        assert await price_at(utc(1755754200 + 10)) == 1.4647992091963596e-05
        assert server.count() == 1  # one page (the candles before the first moment's) for all
        assert await price_at(utc(1755756000 + 899)) == 1.8111106133282376e-05
        assert server.count() == 2  # a later candle than that page held: one more


async def test_a_moment_without_a_candle_takes_the_last_close_within_the_gap(
    server: FakeServer,
) -> None:
    async with client(server) as gecko:
        price_at = PriceAt(MintCandles(gecko, the_pool), CBRL, max_gap=timedelta(hours=1))
        # two intervals after the newest candle: nothing traded since, its close holds
        assert await price_at(utc(1755756000 + 2 * 900 + 10)) == 1.8111106133282376e-05
        assert await price_at(utc(1755756000 + 3 * 3600)) is None  # beyond the gap
        assert await price_at(utc(1755725400 - 900)) is None  # before the pool's first candle


async def test_a_price_source_that_fails_gives_none_and_no_guess(server: FakeServer) -> None:
    async def no_pool(mint: str) -> str | None:
        return None

    async with client(server) as gecko:
        assert await PriceAt(MintCandles(gecko, no_pool), CBRL)(utc(1755755100)) is None
        server.inject(*[Fault.status(500)] * 3)
        assert await PriceAt(MintCandles(gecko, the_pool), CBRL)(utc(1755755100)) is None
