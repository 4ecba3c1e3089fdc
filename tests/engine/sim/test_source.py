"""SimSource replays the simulated market: nothing after ``until``, cursor paging per wallet."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.records import MarketSource, TradeRecord
from engine.sim import SimConfig, SimSource, SimWorld, generate

CONFIG = SimConfig(n_days=2, tokens_per_day=12, seed=13)


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return generate(CONFIG)


@pytest.fixture
def source(world: SimWorld) -> SimSource:
    return SimSource(world)


def test_it_is_a_market_source(source: SimSource) -> None:
    typed: MarketSource = source
    assert typed is source


async def test_kols_and_tokens(source: SimSource, world: SimWorld) -> None:
    assert await source.kols() == world.kols
    mints = [t.mint for t in reversed(world.tokens[:3])]
    unknown = "So11111111111111111111111111111111111111112"
    assert await source.tokens([*mints, unknown, mints[0]]) == world.tokens[:3]


async def test_polling_every_five_minutes_sees_every_trade_once(
    source: SimSource, world: SimWorld
) -> None:
    end = CONFIG.start + timedelta(days=1)
    cursors: dict[str, str | None] = {k.wallet: None for k in world.kols}
    seen = []
    now = CONFIG.start
    while now < end:
        now += timedelta(minutes=5)
        for wallet, cursor in cursors.items():
            got = await source.wallet_trades(wallet, cursor, now)
            batch = got.trades
            assert all(t.block_time <= now and t.wallet == wallet for t in batch)
            assert batch == sorted(batch, key=lambda t: (t.block_time, t.slot, t.signature))
            assert got.cursor == (batch[-1].signature if batch else None)
            if got.cursor is not None:
                cursors[wallet] = got.cursor
            seen.extend(batch)
    kols = set(cursors)
    expected = [t for t in world.trades if t.wallet in kols and t.block_time <= end]
    assert expected
    assert sorted(seen, key=lambda t: t.signature) == sorted(expected, key=lambda t: t.signature)


async def test_wallet_trades_paging(source: SimSource, world: SimWorld) -> None:
    wallet = max(world.kols, key=lambda k: sum(t.wallet == k.wallet for t in world.trades)).wallet
    mine = [t for t in world.trades if t.wallet == wallet]
    far = CONFIG.start + timedelta(days=30)

    async def trades(after: str | None, until: datetime, who: str = wallet) -> list[TradeRecord]:
        return (await source.wallet_trades(who, after, until)).trades

    assert await trades(None, far) == mine
    assert await trades(mine[1].signature, far) == mine[2:]
    assert await trades(mine[-1].signature, far) == []
    assert await trades(None, mine[0].block_time - timedelta(seconds=1)) == []
    assert await trades(None, mine[2].block_time) == [
        t for t in mine if t.block_time <= mine[2].block_time
    ]
    assert await trades("not-a-signature", far) == mine
    assert await trades(None, far, "Unknown1111111111111111111111111111111111111") == []


async def test_snapshots_creator_trades_and_context_respect_the_window(
    source: SimSource, world: SimWorld
) -> None:
    tokens = world.tokens[:4]
    mints = [t.mint for t in tokens]
    since = tokens[0].created_at + timedelta(minutes=30)
    until = since + timedelta(hours=5)
    snaps = await source.snapshots(mints, since, until)
    expected = [s for s in world.snapshots if s.mint in mints and since < s.ts <= until]
    assert snaps == expected and snaps
    assert await source.snapshots(mints, None, until) == [
        s for s in world.snapshots if s.mint in mints and s.ts <= until
    ]
    creators = {t.creator for t in tokens}
    far = until + timedelta(days=10)
    creator_trades = await source.creator_trades(mints, None, far)
    assert creator_trades == [t for t in world.trades if t.mint in mints and t.wallet in creators]
    assert all(t.block_time > since for t in await source.creator_trades(mints, since, far))
    context = await source.context(since, until)
    assert context == [c for c in world.contexts if since < c.ts <= until]
    assert len(context) == 5
    assert await source.context(None, CONFIG.start) == world.contexts[:1]
