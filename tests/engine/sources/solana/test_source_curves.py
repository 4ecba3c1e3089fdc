"""``RpcSource`` snapshots of pump.fun tokens priced from their own accounts: the real bonding
curve and PumpSwap pool fixtures served by the fake node, DexScreener for SOL/USD only.

Prices are worked out by hand in test_pumpfun.py from the same raw values; here they are
checked once more through the source, with the SOL/USD price of the fake DexScreener.
"""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from engine.records import SnapshotRecord
from engine.sources.base58 import b58encode
from engine.sources.dexscreener import DexScreener
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.holders import fetch_holder_stats
from engine.sources.solana.pumpfun import (
    BONDING_CURVE_DISCRIMINATOR,
    associated_token_address,
    bonding_curve_address,
    curve_holder_accounts,
)
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.source import RpcSource
from engine.storage import Database
from engine.storage.convert import snapshot_record, snapshot_row
from engine.storage.db import insert_ignore
from engine.storage.models import MarketSnapshot
from tests.engine.sources.solana.test_pumpfun import (
    DRAINED_CURVE,
    DRAINED_MINT,
    MET,
    MET_MINT,
    POOL_MINT,
    fixture_bytes,
)
from tests.engine.sources.solana.test_source import PAIRS, pair_for
from tests.fakes.dexscreener_api import FakeDexScreener
from tests.fakes.fake_http import FakeServer, Fault
from tests.fakes.solana_node import (
    FIXTURE_POOL,
    PUMP_AMM_PROGRAM,
    PUMP_PROGRAM,
    FakeSolanaNode,
    base64_account,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
SOL_USD = 142.51
DRAINED_PRICE_SOL = 30.000000165 / 1_073_000_000  # virtual SOL / virtual tokens, UI


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeSolanaNode(), FakeDexScreener()) as running:
        running.node.load_fixture_accounts()
        yield running


def sol_pair(price: str = str(SOL_USD)) -> dict[str, Any]:
    pair = pair_for(WSOL, priceUsd=price, marketCap=None, fdv=8.1e10)
    pair["quoteToken"] = {"address": USDC, "name": "USD Coin", "symbol": "USDC"}
    return pair


def make_source(server: FakeServer) -> RpcSource:
    retry = RetryPolicy(max_attempts=2, backoff_base_s=0.001, backoff_max_s=0.002)
    rpc = SolanaRpc(server.url, requests_per_second=None, retry=retry,
                    timeout=httpx.Timeout(2.0), rng=random.Random(3))  # fmt: skip
    dex = DexScreener(server.url, requests_per_second=None, retry=retry,
                      timeout=httpx.Timeout(2.0), now=lambda: NOW, rng=random.Random(4))  # fmt: skip
    return RpcSource(rpc, dex, new_wallet_lookback=None, clock=lambda: NOW)


def curve_reads(server: FakeServer, *mints: str) -> list[list[str]]:
    """The keys of the base64 ``getMultipleAccounts`` requests that read the curve or the pool
    of any of ``mints``, one list per HTTP request; other reads (metadata...) are left out."""
    wanted = {bonding_curve_address(m) for m in mints} | {FIXTURE_POOL}
    out = []
    for r in server.requests:
        if r.http_method != "POST" or r.body is None:
            continue
        calls = r.body if isinstance(r.body, list) else [r.body]
        keys = [
            k
            for c in calls
            if c["method"] == "getMultipleAccounts" and c["params"][1]["encoding"] == "base64"
            for k in c["params"][0]
        ]
        if wanted.intersection(keys):
            out.append(keys)
    return out


def mint_key(n: int) -> str:
    return b58encode(random.Random(100 + n).randbytes(32))


def curve_bytes(*, vt: int, vq: int, rt: int, rq: int, complete: bool) -> bytes:
    """A curve in the 115-byte layout of pump.json (a test account, not a fixture)."""
    numbers = b"".join(n.to_bytes(8, "little") for n in (vt, vq, rt, rq, 10**15))
    return BONDING_CURVE_DISCRIMINATOR + numbers + bytes([complete]) + bytes(32 + 2 + 32)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_a_mint_on_its_curve_gets_its_snapshot_from_the_curve(server: FakeServer) -> None:
    server.dex.pairs = [sol_pair(), PAIRS[0]]  # MOONCAT has a pool: DexScreener prices it
    mooncat = PAIRS[0]["baseToken"]["address"]
    async with make_source(server) as source:
        snaps = await source.snapshots([DRAINED_MINT, mooncat], None, NOW)
    by_mint = {s.mint: s for s in snaps}
    drained = by_mint[DRAINED_MINT]
    assert drained.ts == NOW and drained.source == "pumpfun_curve"
    assert drained.price_sol == pytest.approx(DRAINED_PRICE_SOL, rel=1e-12)
    assert drained.price_usd == pytest.approx(DRAINED_PRICE_SOL * SOL_USD, rel=1e-12)
    # x 1,000,000,000 tokens: 27.958993630 SOL, 3984.43 USD
    assert drained.mcap_usd == pytest.approx(27.958993630 * SOL_USD, rel=1e-10)
    assert drained.liquidity_sol == pytest.approx(165e-9)  # real SOL: 165 lamports
    assert drained.liquidity_usd == pytest.approx(165e-9 * SOL_USD)
    assert drained.curve_progress == 0.0
    assert by_mint[mooncat].source == "dexscreener" and by_mint[mooncat].curve_progress is None
    # the curve read: one getMultipleAccounts, of the one mint without a pool
    assert curve_reads(server, DRAINED_MINT, mooncat) == [[DRAINED_CURVE]]


async def test_many_curves_are_one_batched_read(server: FakeServer) -> None:
    server.dex.pairs = [sol_pair()]
    mints = [DRAINED_MINT] + [mint_key(n) for n in range(150)]  # 150 without any account
    async with make_source(server) as source:
        snaps = await source.snapshots(mints, None, NOW)
    assert [s.mint for s in snaps] == [DRAINED_MINT]
    (request,) = curve_reads(
        server, *mints
    )  # one HTTP request: a batch of two calls (100 + 51 keys)
    assert request == [bonding_curve_address(m) for m in mints]


async def test_a_pumpfun_pair_at_the_curve_is_priced_from_the_curve(server: FakeServer) -> None:
    at_curve = pair_for(DRAINED_MINT, dexId="pumpfun", pairAddress=DRAINED_CURVE)
    elsewhere = pair_for(MET_MINT, dexId="pumpfun", pairAddress="SomeOtherPool")
    server.dex.pairs = [sol_pair(), at_curve, elsewhere]
    async with make_source(server) as source:
        snaps = {s.mint: s for s in await source.snapshots([DRAINED_MINT, MET_MINT], None, NOW)}
    assert snaps[DRAINED_MINT].source == "pumpfun_curve"
    assert snaps[DRAINED_MINT].price_usd == pytest.approx(DRAINED_PRICE_SOL * SOL_USD)
    assert snaps[MET_MINT].source == "dexscreener"  # its pair is not the curve: a real pool
    assert curve_reads(server, DRAINED_MINT, MET_MINT) == [[DRAINED_CURVE]]


async def test_without_a_sol_price_a_curve_gives_no_snapshot_never_zero(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_source(server) as source:  # DexScreener knows no SOL pair
        assert await source.snapshots([DRAINED_MINT], None, NOW) == []
    assert f"{DRAINED_MINT}: priced in {WSOL}, whose USD price is unknown" in caplog.text


async def test_a_curve_in_another_quote_needs_that_quotes_decimals_and_price(
    server: FakeServer,
) -> None:
    met_pair = pair_for(MET, priceUsd="0.5")  # test values: MET's price and decimals are not
    server.dex.pairs = [sol_pair()]  # in the fixtures
    async with make_source(server) as source:
        assert await source.snapshots([MET_MINT], None, NOW) == []  # MET's decimals unknown
    server.node.add_account(MET, {
        "data": {"parsed": {"info": {"decimals": 6, "isInitialized": True}, "type": "mint"},
                 "program": "spl-token", "space": 82},
        "executable": False, "lamports": 1461600,
        "owner": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    })  # fmt: skip
    async with make_source(server) as source:
        assert await source.snapshots([MET_MINT], None, NOW) == []  # no USD price of MET
    server.dex.pairs.append(met_pair)
    async with make_source(server) as source:
        (snap,) = await source.snapshots([MET_MINT], None, NOW)
    # (12,410,948,657 / 10^6 MET) / (1,045,225,794,522,273 / 10^6 tokens) x 0.5 USD
    assert snap.price_usd == pytest.approx(12410948657 / 1045225794522273 * 0.5, rel=1e-12)
    assert snap.liquidity_usd == pytest.approx(321.252847 * 0.5)
    assert snap.price_sol is None and snap.source == "pumpfun_curve"
    assert snap.curve_progress == pytest.approx(27774205477727 / 793100000000000)


async def test_a_migrated_curve_is_priced_by_its_pumpswap_pool(server: FakeServer) -> None:
    # a complete curve for the fixture pool's mint (a test account), the real pool account at
    # its PDA, and its vaults holding the BuyEvent reserves of the same fixture (test amounts)
    complete = curve_bytes(vt=0, vq=0, rt=0, rq=0, complete=True)
    server.node.add_account(
        bonding_curve_address(POOL_MINT), base64_account(PUMP_PROGRAM, b64(complete))
    )
    server.node.add_token_account("EqQTQtw3hpmyzWzxiAMwBceGb6i8e8Nsq7ZDLj8fcjJM", POOL_MINT,
                                  FIXTURE_POOL, 72733296097610, 6)  # fmt: skip
    server.node.add_token_account("CuxEC31tUC4ZnydbUqM4XXuG8KZfMbcXJ6HanrGB2hW", WSOL,
                                  FIXTURE_POOL, 507116588655, 9)  # fmt: skip
    server.dex.pairs = [sol_pair()]
    async with make_source(server) as source:
        (snap,) = await source.snapshots([POOL_MINT], None, NOW)
    price_sol = 507.116588655 / 72733296.097610  # quote vault / base vault, UI
    assert snap.source == "pumpswap_pool" and snap.curve_progress is None
    assert snap.price_sol == pytest.approx(price_sol, rel=1e-12)
    assert snap.price_usd == pytest.approx(price_sol * SOL_USD, rel=1e-12)
    assert snap.mcap_usd == pytest.approx(price_sol * 1_000_000_000 * SOL_USD, rel=1e-12)
    assert snap.liquidity_usd == pytest.approx(2 * 507.116588655 * SOL_USD)
    assert curve_reads(server, POOL_MINT) == [[bonding_curve_address(POOL_MINT)], [FIXTURE_POOL]]


async def test_bad_curve_accounts_are_refused_and_the_others_still_priced(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    good = fixture_bytes(DRAINED_CURVE)
    bad = {
        "owner": base64_account(PUMP_AMM_PROGRAM, b64(good)),  # same discriminator, wrong owner
        "discriminator": base64_account(PUMP_PROGRAM, b64(b"\x00" * 8 + good[8:])),
        "too short": base64_account(PUMP_PROGRAM, b64(good[:40])),
        "base64": base64_account(PUMP_PROGRAM, b64(good)) | {"data": ["%%%", "base64"]},
        "no owner": {"data": [b64(good), "base64"], "lamports": 1},
    }
    mints = {why: mint_key(k) for k, why in enumerate(bad)}
    for why, item in bad.items():
        server.node.add_account(bonding_curve_address(mints[why]), item)
    server.dex.pairs = [sol_pair()]
    caplog.set_level(logging.INFO, logger="engine.sources.solana.curveprices")
    async with make_source(server) as source:
        snaps = await source.snapshots([*mints.values(), mint_key(99), DRAINED_MINT], None, NOW)
    assert [s.mint for s in snaps] == [DRAINED_MINT]
    refused = [r.getMessage() for r in caplog.records if "curve refused" in r.getMessage()]
    assert len(refused) == len(bad)
    expected = {
        "owner": f"owner {PUMP_AMM_PROGRAM} is not {PUMP_PROGRAM}",
        "discriminator": "discriminator 0000000000000000 is not BondingCurve",
        "too short": "40 bytes, too short",
        "base64": "does not decode as base64",
        "no owner": "owner None is not",
    }
    for why, mint in mints.items():
        (line,) = [m for m in refused if m.startswith(mint)]
        assert expected[why] in line, line
    assert f"{mint_key(99)}: no bonding curve at" in caplog.text  # null: not a pump.fun mint


async def test_the_curve_and_its_token_account_are_not_holders(server: FakeServer) -> None:
    curve = DRAINED_CURVE
    ata = associated_token_address(curve, DRAINED_MINT)
    creator = "GDt8NGuaGRLQ9TVWCQNr1Xw9CmHiZBoyRHJs5Jbx3sGv"  # the curve's creator field
    server.node.add_token(
        DRAINED_MINT, 10**15, 6,
        [(ata, curve, 793_100_000 * 10**6), ("DevAta11111111111111111111111111111111111111",
          creator, 50_000_000 * 10**6)],
    )  # fmt: skip
    server.dex.pairs = [sol_pair()]
    async with make_source(server) as source:
        (snap,) = await source.snapshots([DRAINED_MINT], None, NOW)
    # the curve's 79.31 % is left out: the creator (known from the curve) leads with 5 %
    assert (snap.top1_pct, snap.top10_pct, snap.top_holder_is_dev) == (5.0, 5.0, True)


async def test_a_curve_snapshot_is_stored_with_its_new_columns(tmp_path: Path) -> None:
    snap = SnapshotRecord(
        DRAINED_MINT, NOW, price_usd=DRAINED_PRICE_SOL * SOL_USD, mcap_usd=3984.4,
        price_sol=DRAINED_PRICE_SOL, liquidity_sol=165e-9, curve_progress=0.0,
        source="pumpfun_curve",
    )  # fmt: skip
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await db.create()
    async with db.session() as session:
        await insert_ignore(session, MarketSnapshot, [snapshot_row(snap)])
    async with db.session() as session:
        (row,) = (await session.exec(select(MarketSnapshot))).all()
    assert snapshot_record(row) == snap
    await db.dispose()


async def test_holder_stats_leave_out_the_curve_token_account_by_address(
    server: FakeServer,
) -> None:
    mint = mint_key(7)
    curve = bonding_curve_address(mint)
    wallet = "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh"
    # the curve served as a System account: only its address tells it is no holder
    server.node.add_token(mint, 10**15, 6, [
        (associated_token_address(curve, mint), curve, 700_000_000 * 10**6),
        ("BobAta11111111111111111111111111111111111111", wallet, 30_000_000 * 10**6),
    ])  # fmt: skip
    async with make_source(server) as source:
        plain = await fetch_holder_stats(source.rpc, mint)
        stats = await fetch_holder_stats(source.rpc, mint, exclude=curve_holder_accounts(mint))
    assert plain.holders[0].owner == curve and plain.top1_pct == 70.0  # the control
    assert [h.owner for h in stats.holders] == [wallet] and stats.top1_pct == 3.0
    assert [h.owner for h in stats.excluded] == [curve]


async def test_a_failed_curve_read_leaves_the_other_snapshots(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.dex.pairs = [sol_pair(), PAIRS[0]]
    mooncat = PAIRS[0]["baseToken"]["address"]
    async with make_source(server) as source:
        await source.dex.pairs([DRAINED_MINT, mooncat])  # cached: the next request is the read
        server.inject(Fault.status(503), Fault.status(503))  # both attempts of the curve read
        snaps = await source.snapshots([DRAINED_MINT, mooncat], None, NOW)
    assert [s.mint for s in snaps] == [mooncat]
    assert "bonding curves of 1 mints unavailable" in caplog.text
