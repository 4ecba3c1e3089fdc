from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from engine.errors import MalformedPayload, SourceUnavailable
from engine.learning.labels import BOUNDARIES, CLASSES, LabelRun, label_due, label_for_multiple
from engine.sources.candles import Candle
from engine.storage import Database, MarketContext, MarketSnapshot, Outcome, Signal, Trade


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.0, "rug"),
        (1.0, "rug"),
        (1.4999, "rug"),
        (1.5, "small_win"),
        (4.9999, "small_win"),
        (5.0, "medium_win"),
        (9.9999, "medium_win"),
        (10.0, "big_win"),
        (49.999, "big_win"),
        (50.0, "moonshot"),
        (99.999, "moonshot"),
        (100.0, "mega_moon"),
        (12_345.0, "mega_moon"),
    ],
)
def test_boundaries_belong_to_the_class_above(ratio: float, expected: str) -> None:
    assert CLASSES[label_for_multiple(ratio)] == expected


def test_boundaries_are_the_design_ones() -> None:
    assert BOUNDARIES == (1.5, 5.0, 10.0, 50.0, 100.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_nonsense_ratio_is_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        label_for_multiple(bad)


# --- the price path: snapshots, tracked swaps, candles ------------------------------------------
#
# One token, entry $100k at T (price $0.0001, so supply = 100_000 / 0.0001 = 1e9 tokens), polled
# at T+5m ($120k), T+10m ($110k), T+60m ($90k) and T+72h ($50k): from the snapshots alone the max
# is $120k at T+5m, 1.2x, a rug. SOL/USD is $150 from T-30m. Values below are worked by hand.

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HORIZON = timedelta(hours=72)
AFTER = T + HORIZON + timedelta(hours=1)
MINT_A = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
MINT_B = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY2oNqhZpGbDtPcb"
KOL = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
SNAPSHOTS = [(0, 100_000.0), (5, 120_000.0), (10, 110_000.0), (60, 90_000.0), (72 * 60, 50_000.0)]


def minutes(m: float) -> datetime:
    return T + timedelta(minutes=m)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'labels.db'}")
    await database.create()
    yield database
    await database.dispose()


async def add_token(
    db: Database, mint: str, *, sol_usd_from: float = -30, shift: float = 0
) -> None:
    """A signal at T + ``shift`` minutes with SNAPSHOTS (shifted), and SOL/USD $150 hourly."""
    async with db.session() as session:
        session.add(Signal(mint=mint, ts=minutes(shift), trigger_wallet=KOL, entry_mcap=100_000.0))
        for m, mcap in SNAPSHOTS:
            session.add(
                MarketSnapshot(
                    mint=mint, ts=minutes(m + shift), price_usd=mcap / 1e9, mcap_usd=mcap
                )
            )
        if await session.get(MarketContext, minutes(sol_usd_from)) is None:
            for h in range(0, 80):
                session.add(MarketContext(ts=minutes(sol_usd_from + 60 * h), sol_price_usd=150.0))


async def add_swap(db: Database, mint: str, m: float, tokens: float, sol: float) -> None:
    async with db.session() as session:
        session.add(
            Trade(
                signature=f"sig-{mint[:4]}-{m}",
                wallet=KOL,
                mint=mint,
                side="sell",
                token_amount_raw=round(tokens * 1e6),
                decimals=6,
                token_amount=tokens,
                sol_amount_lamports=round(sol * 1e9),
                sol_amount=sol,
                price_sol=sol / tokens,
                block_time=minutes(m),
                slot=1,
            )
        )


async def outcomes(db: Database) -> dict[str, tuple[float, int, float, str | None]]:
    async with db.session() as session:
        rows = (await session.exec(select(Signal.mint, Outcome).join(Outcome))).all()
    return {m: (o.max_mcap, o.label, o.time_to_peak_hours, o.max_source) for m, o in rows}


def candle(m: float, high_usd: float, seconds: int = 300) -> Candle:
    return Candle(minutes(m), seconds, 1e-4, high_usd, 1e-4, 1e-4, 10_000.0)


class Feed:
    """A candle feed: fixed candles per mint, or an exception to raise for a mint."""

    def __init__(self, by_mint: dict[str, list[Candle] | Exception]) -> None:
        self.by_mint = by_mint
        self.asked: list[tuple[str, datetime, datetime]] = []

    async def candles(self, mint: str, start: datetime, end: datetime) -> list[Candle]:
        self.asked.append((mint, start, end))
        got = self.by_mint.get(mint, [])
        if isinstance(got, Exception):
            raise got
        return got


async def test_snapshots_alone_give_the_poll_max(db: Database) -> None:
    await add_token(db, MINT_A)
    run = await label_due(db, AFTER, HORIZON)
    assert run == LabelRun(labeled=1, skipped=0, failed=0)
    assert (await outcomes(db))[MINT_A] == (120_000.0, 0, 5 / 60, "snapshot")


async def test_a_peak_seen_only_in_a_tracked_swap(db: Database) -> None:
    await add_token(db, MINT_A)
    # At T+7m, between the polls, a KOL sells 1,000,000 tokens for 3 SOL: 3e-6 SOL a token
    # x $150 x 1e9 tokens = $450,000, 4.5x: small_win.
    await add_swap(db, MINT_A, 7, 1_000_000, 3.0)
    await label_due(db, AFTER, HORIZON)
    max_mcap, label, hours, source = (await outcomes(db))[MINT_A]
    assert max_mcap == pytest.approx(450_000.0, rel=1e-12)
    assert (label, source) == (1, "swap") and hours == pytest.approx(7 / 60)


async def test_the_signal_block_itself_is_not_after_the_signal(db: Database) -> None:
    await add_token(db, MINT_A)
    await add_swap(db, MINT_A, 0, 1_000_000, 3.0)  # at t: not in (t, t + horizon]
    await add_swap(db, MINT_A, 72 * 60 + 1, 1_000_000, 3.0)  # after the horizon
    await label_due(db, AFTER, HORIZON)
    assert (await outcomes(db))[MINT_A] == (120_000.0, 0, 5 / 60, "snapshot")


async def test_a_swap_without_a_sol_price_is_left_out(db: Database) -> None:
    # SOL/USD rows start at T+8m: the swap at T+7m has none at or before it (the next one is
    # not used; a row older than 2 h would not be either).
    await add_token(db, MINT_A, sol_usd_from=8)
    await add_swap(db, MINT_A, 7, 1_000_000, 3.0)
    await label_due(db, AFTER, HORIZON)
    assert (await outcomes(db))[MINT_A] == (120_000.0, 0, 5 / 60, "snapshot")


async def test_a_swap_ten_times_over_its_polls_is_left_out(db: Database) -> None:
    await add_token(db, MINT_A)
    # 33 SOL for 1e6 tokens: 3.3e-5 x 150 x 1e9 = $4.95M, over 10 x $120k (the poll before it)
    await add_swap(db, MINT_A, 7, 1_000_000, 33.0)
    await add_swap(db, MINT_A, 8, 1_000_000, 2.0)  # $300k: kept
    await label_due(db, AFTER, HORIZON)
    max_mcap, label, _, source = (await outcomes(db))[MINT_A]
    assert max_mcap == pytest.approx(300_000.0, rel=1e-12) and (label, source) == (1, "swap")


async def test_a_peak_seen_only_in_a_candle(db: Database) -> None:
    await add_token(db, MINT_A)
    await add_swap(db, MINT_A, 7, 1_000_000, 3.0)  # $450k
    # The 5-minute candle from T+20m has a high of $0.0008: 0.0008 x 1e9 = $800k, 8x: medium_win,
    # timed at the candle's start.
    feed = Feed({MINT_A: [candle(15, 2e-4), candle(20, 8e-4)]})
    await label_due(db, AFTER, HORIZON, candles=feed)
    assert feed.asked == [(MINT_A, T, T + HORIZON)]
    max_mcap, label, hours, source = (await outcomes(db))[MINT_A]
    assert max_mcap == pytest.approx(800_000.0, rel=1e-12)
    assert (label, source) == (2, "candle") and hours == pytest.approx(20 / 60)


async def test_a_bad_candle_payload_skips_that_mint_only(db: Database) -> None:
    await add_token(db, MINT_A)
    await add_token(db, MINT_B, shift=1)
    bad = MalformedPayload("GeckoTerminal ohlcv X: data.attributes.ohlcv_list[3][2] (high) is -1.0")
    feed = Feed({MINT_A: bad, MINT_B: [candle(21, 8e-4)]})
    run = await label_due(db, AFTER, HORIZON, candles=feed)
    assert run == LabelRun(labeled=1, skipped=0, failed=1)
    got = await outcomes(db)
    assert MINT_A not in got  # nothing stored for it
    assert got[MINT_B][3] == "candle"
    # The next run tries it again, and labels it once the candles are readable.
    feed.by_mint[MINT_A] = [candle(20, 8e-4)]
    assert await label_due(db, AFTER, HORIZON, candles=feed) == LabelRun(1, 0, 0)
    assert (await outcomes(db))[MINT_A][1:] == (2, pytest.approx(20 / 60), "candle")


async def test_candles_that_stay_unreadable_give_way_after_the_grace(db: Database) -> None:
    await add_token(db, MINT_A)
    feed = Feed({MINT_A: SourceUnavailable("GeckoTerminal ohlcv X: gave up after 5 attempts")})
    assert await label_due(db, AFTER, HORIZON, candles=feed) == LabelRun(0, 0, 1)
    late = T + HORIZON + timedelta(days=1)
    assert await label_due(db, late, HORIZON, candles=feed) == LabelRun(1, 0, 0)
    assert (await outcomes(db))[MINT_A] == (120_000.0, 0, 5 / 60, "snapshot")


async def test_a_crash_mid_run_then_a_rerun_gives_the_same_labels(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.learning.labels as labels

    monkeypatch.setattr(labels, "_BATCH", 1)  # commit after each signal
    await add_token(db, MINT_A)
    await add_token(db, MINT_B, shift=1)
    await add_swap(db, MINT_A, 7, 1_000_000, 3.0)
    good = {MINT_A: [candle(20, 8e-4)], MINT_B: [candle(30, 3e-4)]}
    crashing = Feed({**good, MINT_B: RuntimeError("killed")})
    with pytest.raises(RuntimeError):
        await label_due(db, AFTER, HORIZON, candles=crashing)
    assert set(await outcomes(db)) == {MINT_A}  # the first batch was committed
    rerun = await label_due(db, AFTER, HORIZON, candles=Feed(good))
    assert rerun == LabelRun(1, 0, 0)
    assert await label_due(db, AFTER, HORIZON, candles=Feed(good)) == LabelRun(0, 0, 0)

    clean = Database(f"sqlite+aiosqlite:///{tmp_path / 'clean.db'}")
    await clean.create()
    try:
        await add_token(clean, MINT_A)
        await add_token(clean, MINT_B, shift=1)
        await add_swap(clean, MINT_A, 7, 1_000_000, 3.0)
        await label_due(clean, AFTER, HORIZON, candles=Feed(good))
        assert await outcomes(db) == await outcomes(clean)
        assert await db.count(Outcome) == 2
    finally:
        await clean.dispose()


async def test_an_older_database_gets_the_max_source_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE outcome (signal_id INTEGER PRIMARY KEY, max_mcap FLOAT NOT NULL,"
            " max_roi FLOAT NOT NULL, time_to_peak_hours FLOAT NOT NULL, label INTEGER NOT NULL,"
            " labeled_at DATETIME NOT NULL)"
        )
        conn.execute("INSERT INTO outcome VALUES (1, 2.0, 1.0, 3.0, 1, '2026-01-01 00:00:00')")
    old = Database(f"sqlite+aiosqlite:///{path}")
    await old.create()
    try:
        async with old.session() as session:
            row = await session.get(Outcome, 1)
        assert row is not None and row.max_source is None and row.label == 1
    finally:
        await old.dispose()


async def test_the_real_candles_through_geckoterminal_set_the_max(db: Database) -> None:
    """End to end over the local fake API serving the real minute15 answer (CBRL/WSOL).

    Signal at 1755725000, 400 s before the fixture's first candle; entry $80k at a price of
    $0.00008 (supply 80_000 / 0.00008 = 1e9); polls $100k at +20 min and $20k at +72 h: the polls
    alone give 1.25x, a rug. The highest candle high in the window is the oldest row's,
    0.00015232174514745713 (jq, see tests/engine/sources/test_candles.py): x 1e9 =
    $152,321.74514745713, 1.904x: small_win, 400 s after the signal.
    """
    import json

    from engine.sources.candles import GeckoTerminal, MintCandles
    from tests.fakes.fake_http import FakeServer
    from tests.fakes.geckoterminal_api import FakeGeckoTerminal
    from tests.paths import SHARED_FIXTURES

    cbrl, pool = "5LKHMd2rMSRaG9y4iHwSLRtrJ3dCrJ2CytvBeak8pump", KOL
    path = (
        SHARED_FIXTURES / "market" / "geckoterminal" / "ohlcv_minute15_CBRL-SOL_5LKHMd2-pump.json"
    )
    t = datetime.fromtimestamp(1755725000, UTC)
    async with db.session() as session:
        session.add(Signal(mint=cbrl, ts=t, trigger_wallet=KOL, entry_mcap=80_000.0))
        for m, mcap in ((0, 80_000.0), (20, 100_000.0), (72 * 60, 20_000.0)):
            at_ = t + timedelta(minutes=m)
            session.add(MarketSnapshot(mint=cbrl, ts=at_, price_usd=mcap / 1e9, mcap_usd=mcap))

    async def pool_of(mint: str) -> str | None:
        return pool if mint == cbrl else None

    api = FakeGeckoTerminal({(pool, "minute"): json.loads(path.read_bytes())})
    with FakeServer(dex=api) as server:  # type: ignore[arg-type]
        gecko = GeckoTerminal(server.url, aggregate=15, requests_per_second=None)
        feed = MintCandles(gecko, pool_of)
        try:
            run = await label_due(db, t + HORIZON + timedelta(hours=1), HORIZON, candles=feed)
        finally:
            await feed.aclose()
    assert run == LabelRun(1, 0, 0)
    max_mcap, label, hours, source = (await outcomes(db))[cbrl]
    assert max_mcap == pytest.approx(152_321.74514745713, rel=1e-12)
    assert (label, source) == (1, "candle") and hours == pytest.approx(400 / 3600)
    assert api.queries[0]["before_timestamp"] == str(1755725000 + 72 * 3600)


async def test_a_signal_whose_multiple_is_not_finite_fails_alone(db: Database) -> None:
    """entry_mcap 1e-320 (subnormal) makes 120_000 / entry infinite: that signal is reported as
    failed, the other one is labeled."""
    await add_token(db, MINT_A)
    await add_token(db, MINT_B)
    async with db.session() as session:
        signal = (await session.exec(select(Signal).where(Signal.mint == MINT_B))).one()
        signal.entry_mcap = 1e-320
        session.add(signal)
    run = await label_due(db, AFTER, HORIZON)
    assert run == LabelRun(labeled=1, skipped=0, failed=1)
    assert set(await outcomes(db)) == {MINT_A}
