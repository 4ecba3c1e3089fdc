"""Shared test helpers: hand-built records for a tiny market, and the databases tests run on.

The storage, tracker, outbox and service tests (``BOTH_DATABASES``) run twice: on a temp-file
SQLite and on a fresh database of the PostgreSQL server that ``MOONBOT_TEST_POSTGRES_URL`` names
(``.ci/run`` starts one: ``postgresql+asyncpg://moonbot@127.0.0.1:PORT/postgres``); without it
the PostgreSQL runs are skipped, saying so. Their ``tmp_settings`` and ``db_url`` point there.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.records import (
    ContextRecord,
    KolRecord,
    SnapshotRecord,
    TokenRecord,
    TradeRecord,
    WalletTrades,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Valid 32-byte base58 addresses (system-style keys, checked with engine.sources.address).
WALLET_A = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"
WALLET_B = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
WALLET_C = "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
CREATOR = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
MINT_X = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
MINT_Y = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY2oNqhZpGbDtPcb"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


_sig_counter = iter(range(1, 10**9))


def trade(
    wallet: str,
    mint: str,
    side: str,
    tokens: float,
    sol: float,
    minutes: float,
    sig: str | None = None,
) -> TradeRecord:
    n = next(_sig_counter)
    return TradeRecord(
        signature=sig or f"sig{n:06d}",
        wallet=wallet,
        mint=mint,
        side=side,  # type: ignore[arg-type]
        token_amount_raw=int(round(tokens * 1_000_000)),
        decimals=6,
        sol_amount_lamports=int(round(sol * 1_000_000_000)),
        block_time=at(minutes),
        slot=300_000_000 + int(minutes * 150),
        program="pump.fun",
    )


def token(
    mint: str = MINT_X,
    name: str = "Doge Rocket",
    symbol: str = "DROCK",
    bundle_pct: float | None = 0.02,
) -> TokenRecord:
    return TokenRecord(
        mint=mint,
        symbol=symbol,
        name=name,
        created_at=at(-60),
        creator=CREATOR,
        bundle_pct=bundle_pct,
    )


def snapshot(mint: str, minutes: float, mcap: float, **kw: object) -> SnapshotRecord:
    base: dict[str, object] = dict(
        liquidity_usd=mcap * 0.2,
        volume_5m=1_000.0,
        volume_1h=12_000.0,
        volume_6h=40_000.0,
        volume_24h=48_000.0,
        buys_1h=120,
        sells_1h=80,
        buys_24h=300,
        sells_24h=180,
        price_change_5m=2.0,
        price_change_1h=10.0,
        price_change_24h=150.0,
        holder_count=400,
        top1_pct=6.0,
        top3_pct=14.0,
        top10_pct=28.0,
        holder_gini=0.7,
        holder_median_balance=150_000.0,
        top_holder_is_dev=False,
    )
    base.update(kw)
    return SnapshotRecord(mint=mint, ts=at(minutes), price_usd=mcap / 1e9, mcap_usd=mcap, **base)  # type: ignore[arg-type]


POSTGRES_ENV = "MOONBOT_TEST_POSTGRES_URL"
# Test paths (relative to the repository) whose database tests run on SQLite and PostgreSQL.
BOTH_DATABASES = (
    "tests/engine/storage/",
    "tests/engine/tracking/",
    "tests/engine/signals/test_outbox",
    "tests/engine/test_service",
    "tests/engine/test_two_processes",
    "tests/engine/sim/test_demo",
    "tests/bot/test_cli_db",
)
_ROOT = Path(__file__).resolve().parent.parent


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    where = Path(str(metafunc.definition.fspath)).resolve().relative_to(_ROOT).as_posix()
    if where.startswith(BOTH_DATABASES):
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database a test runs on: "sqlite", or "postgresql" in ``BOTH_DATABASES``."""
    return str(getattr(request, "param", "sqlite"))


def _admin(url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server outside any test's event loop."""
    import asyncpg  # the driver the app uses; a plain DSN without "+asyncpg"

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of the test's backend (PostgreSQL: dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'moonbot.db'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (.ci/run starts one)")
    name = f"moonbot_test_{uuid.uuid4().hex[:12]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url

    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def tmp_settings(tmp_path, db_url):  # type: ignore[no-untyped-def]
    from engine.config import Settings

    url = None if db_url.startswith("sqlite") else db_url  # SQLite: the data dir's own file
    return Settings(data_dir=tmp_path / "data", database_url=url, _env_file=None)  # type: ignore[call-arg]


class ScriptedSource:
    """A MarketSource over fixed lists: the test's stand-in for the outside world."""

    def __init__(self, kols, tokens, trades, snapshots, creator_trades=(), context=()):  # type: ignore[no-untyped-def]
        self._kols = list(kols)
        self._tokens = {t.mint: t for t in tokens}
        self._trades = sorted(trades, key=lambda t: (t.block_time, t.slot, t.signature))
        self._snapshots = sorted(snapshots, key=lambda s: s.ts)
        self._creator = sorted(creator_trades, key=lambda t: t.block_time)
        self._context = sorted(context, key=lambda c: c.ts)

    async def kols(self):  # type: ignore[no-untyped-def]
        return list(self._kols)

    async def wallet_trades(self, wallet, after_signature, until):  # type: ignore[no-untyped-def]
        mine = [t for t in self._trades if t.wallet == wallet and t.block_time <= until]
        if after_signature is not None:
            idx = [t.signature for t in mine].index(after_signature)
            mine = mine[idx + 1 :]
        return WalletTrades(mine, mine[-1].signature if mine else None)

    async def tokens(self, mints):  # type: ignore[no-untyped-def]
        return [self._tokens[m] for m in mints if m in self._tokens]

    async def snapshots(self, mints, since, until):  # type: ignore[no-untyped-def]
        return [
            s
            for s in self._snapshots
            if s.mint in set(mints) and (since is None or s.ts > since) and s.ts <= until
        ]

    async def creator_trades(self, mints, since, until):  # type: ignore[no-untyped-def]
        return [
            t
            for t in self._creator
            if t.mint in set(mints)
            and (since is None or t.block_time > since)
            and t.block_time <= until
        ]

    async def context(self, since, until):  # type: ignore[no-untyped-def]
        return [c for c in self._context if (since is None or c.ts > since) and c.ts <= until]


def world(cls: type[ScriptedSource] = ScriptedSource) -> ScriptedSource:
    """Two KOLs, two tokens: X is bought at t=0 and runs to 9.64x at 72 h; Y is bought later."""
    return cls(
        kols=[KolRecord(WALLET_A, "alpha", "elite"), KolRecord(WALLET_B, "beta", "regular")],
        tokens=[token(MINT_X), token(MINT_Y, name="Plain", symbol="PLN")],
        trades=[
            trade(WALLET_A, MINT_X, "buy", 1000, 2.0, 0),
            trade(WALLET_B, MINT_X, "buy", 500, 1.0, 30),
            trade(WALLET_A, MINT_X, "sell", 1000, 6.0, 120),
            trade(WALLET_B, MINT_Y, "buy", 10, 1.0, 200),
        ],
        snapshots=[snapshot(MINT_X, m, 50_000 + 100 * m) for m in range(-30, 72 * 60 + 60, 30)]
        + [snapshot(MINT_Y, m, 20_000.0) for m in range(150, 300, 30)],
        creator_trades=[trade(CREATOR, MINT_X, "sell", 100, 1.0, 60)],
        context=[ContextRecord(at(m), 150.0, 0.1) for m in range(-60, 5000, 60)],
    )
