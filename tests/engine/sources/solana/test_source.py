"""``RpcSource`` against the fake Solana node and DexScreener, fed with real mainnet transactions.

Expected trades are the hand-checked numbers of test_solana_parser.py (each derived there from
the payload's balances and cross-checked against the pool's side of the swap). Wallets are the
fee payers of the fixtures, with their real signatures, slots and block times; where a history
needs more transactions, fixtures are copied to the wallet under new signatures
(``resign_transaction``).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from engine.errors import UnknownKol, UserError
from engine.records import ContextRecord, TokenRecord, TradeRecord
from engine.sources.base58 import b58decode, b58encode
from engine.sources.dexscreener import DexScreener
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.holders import PUMPFUN_PROGRAM
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.source import RpcSource
from engine.sources.solana.tokeninfo import METADATA_PROGRAM, metadata_address
from engine.storage import Database, Kol, Trade
from engine.storage.convert import trade_record
from engine.storage.db import insert_ignore
from engine.tracking import kols
from engine.tracking.tracker import Tracker
from tests.conftest import ScriptedSource
from tests.fakes.dexscreener_api import FakeDexScreener
from tests.fakes.fake_http import FakeServer
from tests.fakes.solana_node import (
    TOKEN_PROGRAM,
    FakeSolanaNode,
    fixture_transaction,
    resign_transaction,
)
from tests.paths import REPO

WALLET_P = "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh"  # pumpfun_sell_0, pumpfun_buy_1
WALLET_O = "EfbbhahGNuhqEraRZXrwETfsaKxScngEttdQixWAW4WE"  # OKXDEX_swap_1, pumpfun_buy_0
WALLET_U = "GKj54MVFppoYsxPU9jMn7CMniVRAuveFadyTtFhn1vXy"  # two USDC-quoted swaps
MOODOG = "5dNYcCZXEGfGgbdUdq7MMR7KLsNJLLLgL83wLH8Fpump"  # created in pumpfun_create_0
MOODOG_CREATOR = "6xo262KbDXepWbF3vPTrFXysr5vJwk3mozBXmXk3hmMx"
MOODOG_CURVE = "CQrqvWERJtEjw2rCCQV6EqfM6V6jzTuKjhJjKNFmGB7r"  # its bonding curve (in that tx)
PUMP_MINT_AUTHORITY = "TSLvdd1pWpHVjahSpsvCXUbgwsL3JAcvokwaKt1eokM"
WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
CAT_HAT = "2aDYox41bgtyGB2mrUx8PFNwfcq2cnNfHR4ENzFaqeEf"  # a Token-2022 mint here
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAIRS = json.loads((REPO / "tests/engine/sources/dexscreener_tokens_v1.json").read_bytes())
MOONCAT = PAIRS[0]["baseToken"]["address"]


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def sig(tx: dict[str, Any]) -> str:
    signature: str = tx["transaction"]["signatures"][0]
    return signature


def new_signature(n: int) -> str:
    return b58encode(random.Random(n).randbytes(64))


SELL_0 = fixture_transaction("pumpfun_sell_0.json")
BUY_1 = fixture_transaction("pumpfun_buy_1.json")
OKX_1 = fixture_transaction("OKXDEX_swap_1.json")
BUY_0 = fixture_transaction("pumpfun_buy_0.json")
CREATE = fixture_transaction("pumpfun_create_0.json")

# The hand-checked trades (tests/engine/sources/solana/test_parser.py EXPECTED, and the research
# table in its comments) as the engine's records. ``sol_amount_lamports`` is what the curve or pool
# itself received or paid; the venue's fee and the wallet's other costs are recorded beside it.
SELL_0_TRADE = TradeRecord(
    sig(SELL_0), WALLET_P, "CnNVDyM7GXBBcH8giuRYm17YCn6kpFTTbnd6Tx4hpump", "sell",
    592443959000000, 6, 37437283903, at(1721436000), 278536429, "pumpfun",
    venue="pumpfun", quote_mint=WSOL, quote_amount_raw=37437283903,
    # curve -37437283903 (TradeEvent sol_amount); 1% pump.fun fee 374372839; fee 36500 = 5000 +
    # priority 31500; 10000000 to HWEoBxYs (a bloXroute tip account, named only by others'
    # code: counted as a router/bot fee). Lamports +37052874564 = the sum of those parts.
    venue_fee_raw=374372839, network_fee_lamports=5000, priority_fee_lamports=31500,
    router_fee_lamports=10000000,
)  # fmt: skip
BUY_1_TRADE = TradeRecord(
    sig(BUY_1), WALLET_P, "7nYhDYAxQdFn2DRPcjBFPQQz5qb8HeFiJv9o9w6fpump", "buy",
    34612901212710, 6, 1000000000, at(1726637843), 290484060, "pumpfun",
    venue="pumpfun", quote_mint=WSOL, quote_amount_raw=1000000000,
    # curve +1000000000; pump.fun fee 10000000; 10000000 to HWEoBxYs; fee 15000; rent 2039280
    # of the wallet's new token account.
    venue_fee_raw=10000000, network_fee_lamports=5000, priority_fee_lamports=10000,
    router_fee_lamports=10000000, rent_lamports=2039280,
)  # fmt: skip
OKX_1_TRADE = TradeRecord(
    sig(OKX_1), WALLET_O, "KMnDBXcPXoz6oMJW5XG4tXdwSWpmWEP2RQM1Uujpump", "buy",
    998528432013, 6, 10000000000, at(1721447465), 278561576, "okx_dex",
    venue="meteora_dlmm", router="okx_dex", quote_mint=WSOL, quote_amount_raw=10000000000,
    # pool WSOL +10000000000 (Meteora DLMM under the OKX router); fee 541958 = 5000 + 536958.
    network_fee_lamports=5000, priority_fee_lamports=536958,
)  # fmt: skip
BUY_0_TRADE = TradeRecord(
    sig(BUY_0), WALLET_O, "D66sbPtYqLnwPYcUqjDktrQtb52CnfF77C3sdpNpR8Si", "buy",
    56716561396327, 6, 3000000000, at(1726647738), 290506981, "pumpfun",
    venue="pumpfun", quote_mint=WSOL, quote_amount_raw=3000000000,
    # curve +3000000000; pump.fun fee 30000000; Jito tip 10000000 (ADuUkR4v); 30000000 to
    # another account; fee 4005001; rent 2039280: lamports -3076044281 in all.
    venue_fee_raw=30000000, network_fee_lamports=5000, priority_fee_lamports=4000001,
    tip_lamports=10000000, router_fee_lamports=30000000, rent_lamports=2039280,
)  # fmt: skip


def add_history(
    node: FakeSolanaNode, wallet: str, txs: Sequence[dict[str, Any]], failed: Sequence[str] = ()
) -> None:
    """``txs`` oldest first, served by the node; ``failed``: extra failed signatures."""
    for tx in txs:
        node.add_transaction(tx)
    entries = [(sig(tx), tx["slot"]) for tx in txs]
    times = {sig(tx): tx["blockTime"] for tx in txs}
    entries.sort(key=lambda e: -e[1])
    node.add_history(wallet, entries, block_times=times, failed=failed)


def pair_for(mint: str, **changes: Any) -> dict[str, Any]:
    pair: dict[str, Any] = copy.deepcopy(PAIRS[0])
    pair["baseToken"] = {"address": mint, "name": "x", "symbol": "x"}
    pair["pairAddress"] = f"pair-of-{mint[:8]}"
    pair.update(changes)
    return pair


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeSolanaNode(), FakeDexScreener()) as running:
        yield running


def make_source(server: FakeServer, **kwargs: Any) -> RpcSource:
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002)
    rpc = SolanaRpc(
        server.url,
        requests_per_second=None,
        retry=retry,
        timeout=httpx.Timeout(2.0),
        rng=random.Random(3),
    )
    dex = DexScreener(
        server.url,
        requests_per_second=None,
        retry=retry,
        timeout=httpx.Timeout(2.0),
        now=lambda: NOW,
        rng=random.Random(4),
    )
    options: dict[str, Any] = {"new_wallet_lookback": None}
    options.update(kwargs)
    return RpcSource(rpc, dex, **options)


async def open_db(path: Path, *wallets: str) -> Database:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create()
    for wallet in wallets:
        await kols.add_kol(db, wallet, None, "top")
    return db


async def stored_trades(db: Database) -> list[TradeRecord]:
    async with db.session() as session:
        rows = (await session.exec(select(Trade).order_by(col(Trade.id)))).all()
    return [trade_record(r) for r in rows]  # every column back, the costs by kind included


# --- wallet swaps ------------------------------------------------------------------------------


async def test_real_transactions_come_out_as_the_hand_checked_trades(server: FakeServer) -> None:
    add_history(server.node, WALLET_P, [SELL_0, BUY_1])
    add_history(server.node, WALLET_O, [OKX_1, BUY_0])
    async with make_source(server) as source:
        p = await source.wallet_trades(WALLET_P, None, NOW)
        o = await source.wallet_trades(WALLET_O, None, NOW)
    assert p.trades == [SELL_0_TRADE, BUY_1_TRADE]  # oldest first
    assert p.cursor == sig(BUY_1)
    assert o.trades == [OKX_1_TRADE, BUY_0_TRADE]
    assert o.cursor == sig(BUY_0)
    # per wallet: one signature page, one batch of its transactions
    assert [r.rpc_methods for r in server.requests] == [
        ["getSignaturesForAddress"],
        ["getTransaction", "getTransaction"],
        ["getSignaturesForAddress"],
        ["getTransaction", "getTransaction"],
    ]


async def test_routed_usdc_swaps_give_their_sol_legs_and_non_swaps_move_the_cursor(
    server: FakeServer,
) -> None:
    usdc_buy = fixture_transaction("OKXDEX_commissionSplProxySwap.json")  # USDC -> WSOL -> token
    usdc_sell = fixture_transaction("jupiterAggregatorV6_sharedAccountsRoute_2.json")  # -> USDC
    dca = resign_transaction(  # a DCA deposit: token and SOL both out, not a swap
        fixture_transaction("jupiterDca_openDcaV2_0.json"),
        signature=new_signature(1),
        slot=302_000_000,
        block_time=1731900000,
        wallet=WALLET_U,
    )
    failed = resign_transaction(
        BUY_1, signature=new_signature(2), slot=301_900_000, block_time=1731800000,
        wallet=WALLET_U, failed=True,
    )  # fmt: skip
    # the node lists the failed one with ``err`` set: it is never fetched
    add_history(server.node, WALLET_U, [usdc_buy, failed, dca, usdc_sell], failed=[sig(failed)])
    async with make_source(server) as source:
        got = await source.wallet_trades(WALLET_U, None, NOW)
    # The quote is what was exchanged against the token, the WSOL leg at the pool (research
    # table 2.2): a buy of 6373264828 DKu9… for 1154100000 and a sell of 634862142081 CMjf… for
    # 197485565, both at Raydium AMM v4; the USDC hops before and after them are not the quote.
    assert [
        (t.side, t.mint, t.token_amount_raw, t.sol_amount_lamports, t.quote_mint, t.venue)
        for t in got.trades
    ] == [
        ("buy", "DKu9kykSfbN5LBfFXtNNDPaX35o4Fv6vJ9FKk7pZpump", 6373264828, 1154100000, WSOL,
         "raydium_amm_v4"),
        ("sell", "CMjfdovtzmgRsnhE1cCzdwDFGKt1UzZB4oCGQchQpump", 634862142081, 197485565, WSOL,
         "raydium_amm_v4"),
    ]  # fmt: skip
    assert got.cursor == sig(usdc_sell)  # the newest: all four read
    fetched = [call["params"][0] for r in server.requests for call in r.body if r.calls > 1]
    assert sorted(fetched) == sorted([sig(usdc_buy), sig(dca), sig(usdc_sell)])


async def test_a_null_transaction_stops_the_cursor_before_it(server: FakeServer) -> None:
    photon = resign_transaction(
        fixture_transaction("photon_pumpfun_buy_0.json"), signature=new_signature(3),
        slot=300_000_000, block_time=1730000000, wallet=WALLET_P,
    )  # fmt: skip
    add_history(server.node, WALLET_P, [SELL_0, BUY_1, photon])
    server.node.not_yet.add(sig(BUY_1))
    async with make_source(server) as source:
        first = await source.wallet_trades(WALLET_P, None, NOW)
        assert first.trades == [SELL_0_TRADE]  # the photon buy after it waits too
        assert first.cursor == sig(SELL_0)

        server.node.not_yet.clear()
        second = await source.wallet_trades(WALLET_P, first.cursor, NOW)
        assert [t.signature for t in second.trades] == [sig(BUY_1), sig(photon)]
        assert second.trades[0] == BUY_1_TRADE
        assert second.trades[1].wallet == WALLET_P and second.trades[1].sol_amount_lamports == (
            392079207  # photon_pumpfun_buy_0: what the curve received (research table 2.2)
        )
        assert second.cursor == sig(photon)

        before = server.count()
        third = await source.wallet_trades(WALLET_P, second.cursor, NOW)
    assert third.trades == [] and third.cursor is None  # None: the stored cursor stays
    assert server.count() == before + 1  # one signature page, nothing fetched


async def test_a_new_wallet_reads_only_its_last_hour(server: FakeServer) -> None:
    recent = resign_transaction(
        fixture_transaction("photon_pumpfun_buy_1.json"), signature=new_signature(4),
        slot=350_000_000, block_time=int((NOW - timedelta(minutes=20)).timestamp()),
        wallet=WALLET_P,
    )  # fmt: skip
    add_history(server.node, WALLET_P, [SELL_0, BUY_1, recent])
    async with make_source(server, new_wallet_lookback=timedelta(hours=1)) as source:
        got = await source.wallet_trades(WALLET_P, None, NOW)
    assert [t.signature for t in got.trades] == [sig(recent)]
    assert got.cursor == sig(recent)
    assert server.node.calls["getTransaction"] == 1  # the older two were not fetched


# --- the tracker over the source ---------------------------------------------------------------


async def test_the_tracker_stores_each_trade_once_across_restarts(
    server: FakeServer, tmp_path: Path
) -> None:
    add_history(server.node, WALLET_P, [SELL_0, BUY_1])
    add_history(server.node, WALLET_O, [OKX_1, BUY_0])
    server.node.not_yet.add(sig(BUY_1))
    path = tmp_path / "moonbot.db"

    db = await open_db(path, WALLET_P, WALLET_O)
    source = make_source(server, tracked=partial(kols.tracked_cursors, db))
    first = await Tracker(db, source, horizon=timedelta(hours=72)).poll(NOW)
    assert sorted(first.new_trades, key=lambda t: t.slot) == [
        SELL_0_TRADE, OKX_1_TRADE, BUY_0_TRADE,
    ]  # fmt: skip
    await source.aclose()
    await db.dispose()

    # a restart: new objects over the same file; the late transaction is there now
    server.node.not_yet.clear()
    db = await open_db(path)
    source = make_source(server, tracked=partial(kols.tracked_cursors, db))
    tracker = Tracker(db, source, horizon=timedelta(hours=72))
    second = await tracker.poll(NOW + timedelta(minutes=5))
    assert second.new_trades == [BUY_1_TRADE]
    assert (await tracker.poll(NOW + timedelta(minutes=10))).new_trades == []

    # even a lost cursor only replays: the unique key keeps every trade once
    async with db.session() as session:
        for row in (await session.exec(select(Kol))).all():
            row.cursor_signature = None
            session.add(row)
    assert (await tracker.poll(NOW + timedelta(minutes=15))).new_trades == []
    assert sorted(await stored_trades(db), key=lambda t: t.slot) == [
        SELL_0_TRADE, OKX_1_TRADE, BUY_1_TRADE, BUY_0_TRADE,
    ]  # fmt: skip
    assert await kols.tracked_cursors(db) == {WALLET_P: sig(BUY_1), WALLET_O: sig(BUY_0)}
    await source.aclose()
    await db.dispose()


async def test_a_quiet_poll_of_many_wallets_is_a_few_batched_requests(
    server: FakeServer, tmp_path: Path
) -> None:
    wallets = [b58encode(random.Random(k).randbytes(32)) for k in range(250)]
    for k, wallet in enumerate(wallets):
        server.node.add_history(wallet, [(f"w{k}-2", 300_000_010), (f"w{k}-1", 300_000_000)])
    db = await open_db(tmp_path / "m.db")
    async with db.session() as session:
        rows = [{"wallet": w, "name": f"k{k}", "cursor_signature": f"w{k}-2"} for k, w in
                enumerate(wallets)]  # fmt: skip
        await insert_ignore(session, Kol, rows)
    source = make_source(server, tracked=partial(kols.tracked_cursors, db))
    result = await Tracker(db, source, horizon=timedelta(hours=72)).poll(NOW)
    assert result.new_trades == []
    posts = [r for r in server.requests if r.http_method == "POST"]
    assert sorted(r.calls for r in posts) == [50, 100, 100]  # 250 wallets, 3 requests
    assert [r.path for r in server.requests if r.http_method == "GET"] == [
        f"/tokens/v1/solana/{WSOL}"  # the SOL price
    ]
    await source.aclose()
    await db.dispose()


async def test_a_wallet_whose_reads_fail_is_skipped_and_the_others_go_on(
    server: FakeServer, tmp_path: Path
) -> None:
    add_history(server.node, WALLET_P, [SELL_0, BUY_1])
    add_history(server.node, WALLET_O, [OKX_1, BUY_0])
    server.node.fail_next(sig(BUY_1), -32009, "Slot 290484060 was skipped, or missing")
    db = await open_db(tmp_path / "m.db", WALLET_P, WALLET_O)
    source = make_source(server, tracked=partial(kols.tracked_cursors, db))
    tracker = Tracker(db, source, horizon=timedelta(hours=72))
    first = await tracker.poll(NOW)
    assert {t.wallet for t in first.new_trades} == {WALLET_O}
    assert source.skipped_wallets == 1
    assert (await kols.tracked_cursors(db))[WALLET_P] is None  # untouched
    second = await tracker.poll(NOW + timedelta(minutes=5))
    assert sorted(second.new_trades, key=lambda t: t.slot) == [SELL_0_TRADE, BUY_1_TRADE]
    await source.aclose()
    await db.dispose()


# --- tokens, snapshots, creator trades, context ------------------------------------------------


def metaplex_account(mint: str, name: str, symbol: str) -> dict[str, Any]:
    """A Metaplex metadata account as the node serves it (name and symbol NUL-padded)."""

    def borsh(text: str, size: int) -> bytes:
        raw = text.encode().ljust(size, b"\0")
        return len(raw).to_bytes(4, "little") + raw

    data = (
        bytes([4])
        + b58decode(PUMP_MINT_AUTHORITY)
        + b58decode(mint)
        + borsh(name, 32)
        + borsh(symbol, 10)
        + borsh("https://ipfs.io/ipfs/QmbeFeWTrm1u1ev5VreMoqNK4aVuxtBXKpMdTrjdnHj7P3", 200)
    )
    return {
        "data": [base64.b64encode(data).decode(), "base64"],
        "executable": False,
        "lamports": 15616720,
        "owner": METADATA_PROGRAM,
        "space": len(data),
    }


def mint_account(decimals: int, program: str = TOKEN_PROGRAM, **info: Any) -> dict[str, Any]:
    return {
        "data": {
            "parsed": {
                "info": {"decimals": decimals, "isInitialized": True, **info},
                "type": "mint",
            },
            "program": "spl-token" if program == TOKEN_PROGRAM else "spl-token-2022",
            "space": 82,
        },
        "executable": False,
        "lamports": 1461600,
        "owner": program,
    }


def script_moodog(node: FakeSolanaNode) -> None:
    """MOO DOG as created on mainnet in pumpfun_create_0: its mint, metadata account (name and
    symbol from the create instruction's data) and the metadata account's one transaction."""
    node.add_transaction(CREATE)
    node.add_account(MOODOG, mint_account(6))
    pda = metadata_address(MOODOG)
    node.add_account(pda, metaplex_account(MOODOG, "MOO DOG", "MOODOG"))
    node.add_history(pda, [(sig(CREATE), CREATE["slot"])], block_times={sig(CREATE): 1727637145})


async def test_tokens_read_identity_and_creation_from_the_chain(server: FakeServer) -> None:
    script_moodog(server.node)
    # a Token-2022 mint keeping its metadata inside the mint: no Metaplex account, no pool
    cat_hat_meta = {"extension": "tokenMetadata", "state": {"name": "Cat Hat ", "symbol": "CHAT"}}
    server.node.add_account(CAT_HAT, mint_account(9, TOKEN_2022, extensions=[cat_hat_meta]))
    server.dex.pairs = [pair_for(MOONCAT)]  # known to DexScreener only
    clock_now = datetime(2026, 3, 2, tzinfo=UTC)
    async with make_source(server, clock=lambda: clock_now) as source:
        tokens = await source.tokens([MOODOG, MOONCAT, CAT_HAT])
    assert tokens == [
        # 1727637145 is pumpfun_create_0's block time; its fee payer created the coin
        TokenRecord(MOODOG, "MOODOG", "MOO DOG", at(1727637145), MOODOG_CREATOR, 6),
        # creation unknown: the pool's creation (pairCreatedAt 1767225600000 ms) bounds it
        TokenRecord(MOONCAT, "", "", datetime(2026, 1, 1, tzinfo=UTC), "", 6),
        # nothing known but the mint: created by now at the latest
        TokenRecord(CAT_HAT, "CHAT", "Cat Hat", clock_now, "", 9),
    ]
    posts = [r.rpc_methods for r in server.requests if r.http_method == "POST"]
    assert sorted(posts) == [  # 4 batched reads whatever the number of mints
        ["getMultipleAccounts"],
        ["getMultipleAccounts"],
        ["getSignaturesForAddress"],
        ["getTransaction"],
    ]


async def test_creation_falls_back_to_the_first_swap_seen(server: FakeServer) -> None:
    add_history(server.node, WALLET_P, [SELL_0])
    async with make_source(server) as source:
        await source.wallet_trades(WALLET_P, None, NOW)
        (token,) = await source.tokens([SELL_0_TRADE.mint])
    assert token.created_at == SELL_0_TRADE.block_time and token.creator == ""


async def test_snapshots_join_dexscreener_and_holders(server: FakeServer) -> None:
    script_moodog(server.node)
    supply = 1_000_000_000 * 10**6
    server.node.add_token(
        MOODOG,
        supply,
        6,
        [
            ("CurveAta111111111111111111111111111111111111", MOODOG_CURVE, 600 * 10**12),
            ("DevAta11111111111111111111111111111111111111", MOODOG_CREATOR, 250 * 10**12),
            ("BobAta11111111111111111111111111111111111111", WALLET_O, 100 * 10**12),
        ],
        owner_programs={MOODOG_CURVE: PUMPFUN_PROGRAM},
    )
    server.dex.pairs = [pair_for(MOODOG), PAIRS[0]]  # MOONCAT: a pool, but no holder data
    async with make_source(server) as source:
        snaps = await source.snapshots([MOODOG, MOONCAT], None, NOW)
    by_mint = {s.mint: s for s in snaps}
    dog = by_mint[MOODOG]
    assert (dog.ts, dog.price_usd, dog.mcap_usd, dog.liquidity_usd) == (
        NOW, 0.00008123, 81230.0, 84213.55,
    )  # fmt: skip
    # the bonding curve is not a holder: dev 25 %, then 10 %
    assert (dog.top1_pct, dog.top3_pct, dog.top10_pct) == (25.0, 35.0, 35.0)
    assert dog.top_holder_is_dev is True
    cat = by_mint[MOONCAT]
    assert cat.price_usd == 0.00008123 and cat.top1_pct is None and cat.top_holder_is_dev is None


async def test_creator_trades_are_its_sells_of_the_mint(server: FakeServer) -> None:
    script_moodog(server.node)
    dev_sell = resign_transaction(
        SELL_0, signature=new_signature(5), slot=292_800_000, block_time=1727660000,
        wallet=MOODOG_CREATOR, mints={SELL_0_TRADE.mint: MOODOG},
    )  # fmt: skip
    other_sell = resign_transaction(  # the creator dumping another coin
        SELL_0, signature=new_signature(6), slot=292_900_000, block_time=1727670000,
        wallet=MOODOG_CREATOR,
    )  # fmt: skip
    add_history(server.node, MOODOG_CREATOR, [CREATE, dev_sell, other_sell])
    async with make_source(server) as source:
        got = await source.creator_trades([MOODOG], None, NOW)
        assert got == [
            dataclasses.replace(
                SELL_0_TRADE,
                signature=sig(dev_sell),
                wallet=MOODOG_CREATOR,
                mint=MOODOG,
                block_time=at(1727660000),
                slot=292_800_000,
            )
        ]  # the create-and-buy is a buy, the other sell is of another mint: left out
        assert await source.creator_trades([MOODOG], at(1727660000), NOW) == []
        assert await source.creator_trades([MOODOG], None, at(1727650000)) == []


async def test_context_is_the_sol_price_without_sentiment(server: FakeServer) -> None:
    sol_usdc = pair_for(WSOL, priceUsd="142.51", marketCap=None, fdv=8.1e10)
    sol_usdc["quoteToken"] = {"address": USDC, "name": "USD Coin", "symbol": "USDC"}
    server.dex.pairs = [sol_usdc, PAIRS[0]]  # MOONCAT/SOL quotes SOL: not SOL's price
    async with make_source(server) as source:
        assert await source.context(None, NOW) == [ContextRecord(NOW, 142.51, None)]


async def test_nothing_asked_is_nothing_requested(server: FakeServer) -> None:
    async with make_source(server) as source:
        assert await source.kols() == []
        assert await source.tokens([]) == []
        assert await source.snapshots([], None, NOW) == []
        assert await source.creator_trades([], None, NOW) == []
    assert server.count() == 0


# --- back-fill ---------------------------------------------------------------------------------


async def test_backfill_stores_the_window_once_and_sets_a_first_cursor(
    server: FakeServer, tmp_path: Path
) -> None:
    photon = resign_transaction(
        fixture_transaction("photon_pumpfun_buy_0.json"), signature=new_signature(7),
        slot=290_600_000, block_time=1726700000, wallet=WALLET_P,
    )  # fmt: skip
    late = resign_transaction(
        fixture_transaction("photon_pumpfun_buy_1.json"), signature=new_signature(8),
        slot=290_700_000, block_time=1726710000, wallet=WALLET_P,
    )  # fmt: skip
    add_history(server.node, WALLET_P, [SELL_0, BUY_1, photon, late])
    server.node.not_yet.add(sig(late))
    now = datetime(2024, 9, 20, tzinfo=UTC)  # 7 days back: BUY_1 (Sep 18) on, not SELL_0 (Jul)
    db = await open_db(tmp_path / "m.db", WALLET_P)
    async with make_source(server) as source:
        report = await kols.backfill(db, source, WALLET_P, days=7, now=now)
        assert (report.signatures, report.trades_found, report.trades_stored) == (3, 2, 2)
        assert report.unavailable == 1 and report.cursor_set and not report.truncated
        assert await kols.tracked_cursors(db) == {WALLET_P: sig(photon)}  # before the late one
        assert (await kols.backfill(db, source, WALLET_P, days=7, now=now)).trades_stored == 0

        # with a cursor, only what is older than it is read: SELL_0 and BUY_1, with 100 days
        server.node.not_yet.clear()
        report = await kols.backfill(db, source, WALLET_P, days=100, now=now)
        assert (report.trades_found, report.trades_stored, report.cursor_set) == (2, 1, False)
    assert sorted(t.signature for t in await stored_trades(db)) == sorted(
        [sig(SELL_0), sig(BUY_1), sig(photon)]
    )
    (kol,) = await kols.list_kols(db)
    assert kol.trades == 3
    await db.dispose()


async def test_backfill_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    db = await open_db(tmp_path / "m.db", WALLET_P)
    sim_like = ScriptedSource([], [], [], [])
    with pytest.raises(UserError, match="MOONBOT_SOURCE=rpc"):
        await kols.backfill(db, sim_like, WALLET_P, days=3, now=NOW)
    with pytest.raises(UserError, match="between 1 and 365"):
        await kols.backfill(db, sim_like, WALLET_P, days=0, now=NOW)
    with pytest.raises(UserError, match="not a valid Solana wallet"):
        await kols.backfill(db, sim_like, "nope", days=3, now=NOW)
    with FakeServer() as server:
        async with make_source(server) as source:
            with pytest.raises(UnknownKol, match="add it first"):
                await kols.backfill(db, source, WALLET_O, days=3, now=NOW)
    await db.dispose()


def split_route_near(now: datetime) -> dict[str, Any]:
    """jupiterAggregatorV6_sharedAccountsRoute_1: 100 USDC split into 20000000 raw USDC for
    188382438 raw oreo at Invariant, and 80 USDC -> WSOL 580838181 -> 756562732 oreo at Meteora
    DLMM, re-signed to a block time next to ``now``. Read off the inner Token transfers of
    instruction 3: J4uBbe… (the Invariant pool) sends 188382438 oreo and receives 20000000 USDC;
    AvQvbF… (DLMM) receives 580838181 WSOL and sends 756562732 oreo."""
    return resign_transaction(
        fixture_transaction("jupiterAggregatorV6_sharedAccountsRoute_1.json"),
        signature=new_signature(31), slot=303_000_000, block_time=int(now.timestamp()) - 60,
        wallet=WALLET_U,
    )  # fmt: skip


async def test_a_usdc_quoted_swap_is_valued_at_the_sol_price_of_its_block_time(
    server: FakeServer,
) -> None:
    sol_usdc = pair_for(WSOL, priceUsd="142.51", marketCap=None, fdv=8.1e10)
    sol_usdc["quoteToken"] = {"address": USDC, "name": "USD Coin", "symbol": "USDC"}
    server.dex.pairs = [sol_usdc]
    route = split_route_near(NOW)
    add_history(server.node, WALLET_U, [route])
    async with make_source(server) as source:
        got = await source.wallet_trades(WALLET_U, None, NOW)
    usdc = [t for t in got.trades if t.quote_mint == USDC]
    assert len(usdc) == 1 and len(got.trades) == 2  # the WSOL leg at DLMM is its own trade
    (trade,) = usdc
    assert (trade.side, trade.token_amount_raw, trade.quote_amount_raw) == (
        "buy",
        188382438,
        20000000,
    )
    # 20 USD at 142.51 USD per SOL = 0.140341028699... SOL
    assert trade.sol_amount_lamports == round(20.0 / 142.51 * 1e9) == 140341029
    assert trade.sol_usd == 142.51  # converted, and says at which price


async def test_without_a_sol_price_for_its_time_a_usdc_swap_is_skipped_not_guessed(
    server: FakeServer,
) -> None:
    route = split_route_near(NOW)  # DexScreener has no SOL pair here
    add_history(server.node, WALLET_U, [route])
    async with make_source(server) as source:
        got = await source.wallet_trades(WALLET_U, None, NOW)
    assert [t.quote_mint for t in got.trades] == [WSOL]  # the DLMM leg only
    assert got.cursor == sig(route)  # read: nothing waits on a price that will never come


async def test_an_older_usdc_swap_is_valued_at_the_sol_price_history_of_its_block_time(
    server: FakeServer,
) -> None:
    """Older than DexScreener's reading (SOL_PRICE_MAX_AGE), the swap is valued at the price
    ``sol_usd_history`` gives for its own block time (``PriceAt`` over SOL's candles in
    production; its reading of real candles is tested in tests/engine/sources/test_candles.py)."""
    sol_usdc = pair_for(WSOL, priceUsd="142.51", marketCap=None, fdv=8.1e10)
    sol_usdc["quoteToken"] = {"address": USDC, "name": "USD Coin", "symbol": "USDC"}
    server.dex.pairs = [sol_usdc]
    old = NOW - timedelta(days=2)
    route = split_route_near(old)
    add_history(server.node, WALLET_U, [route])
    asked: list[datetime] = []

    async def history(moment: datetime) -> float | None:
        asked.append(moment)
        return 160.0

    async with make_source(server, new_wallet_lookback=None, sol_usd_history=history) as source:
        got = await source.wallet_trades(WALLET_U, None, NOW)
    (trade,) = [t for t in got.trades if t.quote_mint == USDC]
    assert asked == [trade.block_time] and trade.block_time is not None
    assert abs(trade.block_time - (old - timedelta(seconds=60))) < timedelta(seconds=1)
    assert trade.sol_amount_lamports == round(20.0 / 160.0 * 1e9) == 125_000_000
    assert trade.sol_usd == 160.0


async def test_without_a_dexscreener_sol_pair_an_older_usdc_swap_is_valued_from_history(
    server: FakeServer,
) -> None:
    """DexScreener has no SOL pair at all here: the history still values the swap at its own
    block time (before, a missing pair skipped the swap without asking the history)."""
    route = split_route_near(NOW - timedelta(days=2))
    add_history(server.node, WALLET_U, [route])
    asked: list[datetime] = []

    async def history(moment: datetime) -> float | None:
        asked.append(moment)
        return 160.0

    async with make_source(server, sol_usd_history=history) as source:
        got = await source.wallet_trades(WALLET_U, None, NOW)
    (trade,) = [t for t in got.trades if t.quote_mint == USDC]
    assert asked == [trade.block_time]
    assert trade.sol_amount_lamports == round(20.0 / 160.0 * 1e9) == 125_000_000
