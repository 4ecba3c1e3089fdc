"""pump.fun curve and PumpSwap pool accounts, decoded from the real account fixtures
(../shared/fixtures/solana/accounts) by the IDLs' layouts; prices worked out by hand from the
decoded raw integers; PDAs checked against addresses that real payloads hold.

Expected raw values: the fixtures' own assertions (the drained curve's source asserts its UI
values; the MET curve's source asserts its quote mint and PDA; the pool's source gives every
field in ``expected_decode_by_source``) and research §4 of issue 10, which decoded them with an
independent stdlib script.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.errors import MalformedPayload
from engine.sources.base58 import b58decode, b58encode
from engine.sources.solana.pumpfun import (
    BONDING_CURVE_DISCRIMINATOR,
    INITIAL_REAL_TOKEN_RESERVES,
    INITIAL_VIRTUAL_QUOTE_RESERVES,
    INITIAL_VIRTUAL_TOKEN_RESERVES,
    POOL_DISCRIMINATOR,
    BondingCurve,
    associated_token_address,
    bonding_curve_address,
    canonical_pool_address,
    curve_holder_accounts,
    curve_quote,
    decode_bonding_curve,
    decode_pool,
    parse_bonding_curve,
    pool_authority,
    pool_quote,
    to_snapshot,
)
from engine.sources.solana.tokeninfo import find_program_address
from tests.fakes.solana_node import (
    FIXTURE_POOL,
    PUMP_AMM_PROGRAM,
    PUMP_PROGRAM,
    TOKEN_PROGRAM,
    base64_account,
    fixture_accounts,
    fixture_transaction,
)
from tests.paths import SOLANA_FIXTURES

WSOL = "So11111111111111111111111111111111111111112"
MET = "METvsvVRapdj9cFLzq4Tr43xK4tAjQfwX76z3n6mWQL"
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
DRAINED_MINT = "42pHP3TzLVX7Egx8zBwidnAFB4vUR9tzGgZssyGspump"
DRAINED_CURVE = "8t4tkjQkH3ArH2zmUVKmFbCUE1pHyCDq4Ac2ojbMh1wh"
MET_MINT = "3fM6NAMZuarJ9tmqaee5qNEesS9gePJGWzGkNDaYpump"
MET_CURVE = "3hcAKoHkBRW1HtamyvdZPyr5oHV8pGkoV2yUAnUuLVko"
POOL_MINT = "2fWkVf417bfxEgUemymkYNagXVitnmNxvq7dhUwnpump"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def entry(address: str) -> dict[str, Any]:
    owner, data = fixture_accounts()[address]
    return base64_account(owner, data)


def fixture_bytes(address: str) -> bytes:
    return base64.b64decode(fixture_accounts()[address][1])


# --- the IDLs ----------------------------------------------------------------------------------


def test_discriminators_are_the_idls() -> None:
    pump = json.loads((SOLANA_FIXTURES / "idl/pump.json").read_bytes())
    amm = json.loads((SOLANA_FIXTURES / "idl/pump_amm.json").read_bytes())
    curve = next(a for a in pump["accounts"] if a["name"] == "BondingCurve")
    pool = next(a for a in amm["accounts"] if a["name"] == "Pool")
    assert BONDING_CURVE_DISCRIMINATOR == bytes(curve["discriminator"])
    assert BONDING_CURVE_DISCRIMINATOR == hashlib.sha256(b"account:BondingCurve").digest()[:8]
    assert BONDING_CURVE_DISCRIMINATOR.hex() == "17b7f83760d8ac60"
    assert POOL_DISCRIMINATOR == bytes(pool["discriminator"])
    assert POOL_DISCRIMINATOR.hex() == "f19a6d0411b16dbc"
    assert (pump["address"], amm["address"]) == (PUMP_PROGRAM, PUMP_AMM_PROGRAM)


def test_the_initial_curve_is_the_one_a_real_create_and_buy_starts_from() -> None:
    # the TradeEvent (sha256("event:TradeEvent")[:8], logged as "Program data:") of the
    # 1 SOL create-and-buy in pumpfun_create_0; reserves are after the trade
    create = fixture_transaction("pumpfun_create_0.json")
    tag = hashlib.sha256(b"event:TradeEvent").digest()[:8]
    (event,) = [
        data
        for line in create["meta"]["logMessages"]
        if line.startswith("Program data: ")
        and (data := base64.b64decode(line[len("Program data: ") :]))[:8] == tag
    ]

    def u64(offset: int) -> int:
        return int.from_bytes(event[offset : offset + 8], "little")

    # mint @8, sol_amount @40, token_amount @48, is_buy @56, user @57, timestamp @89, then
    # virtual_sol @97, virtual_token @105, real_sol @113, real_token @121 (pump.json)
    sol_in, tokens_out = u64(40), u64(48)
    assert (sol_in, event[56]) == (1_000_000_000, 1)
    assert u64(97) == INITIAL_VIRTUAL_QUOTE_RESERVES + sol_in  # 31,000,000,000
    # x * y = k, rounded up for the curve: ceil(1,073e12 x 30e9 / 31e9)
    k = INITIAL_VIRTUAL_TOKEN_RESERVES * INITIAL_VIRTUAL_QUOTE_RESERVES
    assert u64(105) == -(-k // u64(97)) == 1038387096774194
    assert u64(105) == INITIAL_VIRTUAL_TOKEN_RESERVES - tokens_out
    assert u64(121) == INITIAL_REAL_TOKEN_RESERVES - tokens_out  # 758,487,096,774,194
    # virtual minus real tokens: 279,900,000 UI in both curve fixtures, the MET one too
    for address in (DRAINED_CURVE, MET_CURVE):
        curve = decode_bonding_curve(address, entry(address))
        gap = curve.virtual_token_reserves - curve.real_token_reserves
        assert gap == INITIAL_VIRTUAL_TOKEN_RESERVES - INITIAL_REAL_TOKEN_RESERVES


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mint", "curve"),
    [
        (DRAINED_MINT, DRAINED_CURVE),  # the drained curve fixture's account
        (MET_MINT, MET_CURVE),  # asserted by the MET fixture's source
        # SOURCES.md §B (bump 247)
        ("6cyvrMZwBpeeCmGgsksk2efmYknZBTgwT4UruVyfKpyX", "8Hz7uHZjxi5iav8LjQnC6YHSg7kffAkAHZuUQV5Yeg8u"),
        # MOO DOG's create (getTransaction/pumpfun_create_0.json, account key 3)
        ("5dNYcCZXEGfGgbdUdq7MMR7KLsNJLLLgL83wLH8Fpump", "CQrqvWERJtEjw2rCCQV6EqfM6V6jzTuKjhJjKNFmGB7r"),
    ],
)  # fmt: skip
def test_the_curve_is_the_pda_of_its_mint(mint: str, curve: str) -> None:
    assert bonding_curve_address(mint) == curve


def test_the_curve_token_account_is_the_one_a_real_create_funds() -> None:
    create = fixture_transaction("pumpfun_create_0.json")
    keys = create["transaction"]["message"]["accountKeys"]
    mint, curve = keys[1], keys[3]
    (curve_balance,) = [
        b for b in create["meta"]["postTokenBalances"] if b["owner"] == curve
    ]  # the curve holds the unsold supply in account key 4
    ata = associated_token_address(curve, mint, TOKEN_PROGRAM)
    assert (
        ata == keys[curve_balance["accountIndex"]] == "4fF4yd9RVjxpMfuN58AgaZRDT3SuLahM1zGFGcNwSwu5"
    )
    assert curve_holder_accounts(mint) == {
        curve,
        ata,
        associated_token_address(curve, mint, TOKEN_2022),
    }


def test_the_migration_pool_is_the_pda_of_the_fixture_pools_fields() -> None:
    pool = decode_pool(FIXTURE_POOL, entry(FIXTURE_POOL))
    assert pool_authority(POOL_MINT) == pool.creator  # the pump PDA ("pool-authority", mint)
    assert canonical_pool_address(POOL_MINT) == FIXTURE_POOL
    # the pool's lp mint is ("pool_lp_mint", pool): corroborates the pool address
    lp = find_program_address([b"pool_lp_mint", b58decode(FIXTURE_POOL)], PUMP_AMM_PROGRAM)[0]
    assert lp == pool.lp_mint


# --- decoding the real accounts ----------------------------------------------------------------


def test_the_drained_curve_decodes_to_its_raw_reserves() -> None:
    curve = decode_bonding_curve(DRAINED_CURVE, entry(DRAINED_CURVE))
    assert curve == BondingCurve(
        address=DRAINED_CURVE,
        virtual_token_reserves=1073000000000000,
        virtual_quote_reserves=30000000165,
        real_token_reserves=793100000000000,
        real_quote_reserves=165,
        token_total_supply=1000000000000000,
        complete=False,
        data_length=154,
        creator="GDt8NGuaGRLQ9TVWCQNr1Xw9CmHiZBoyRHJs5Jbx3sGv",
        is_mayhem_mode=False,
        is_cashback_coin=False,
        quote_mint=WSOL,  # bytes 83..115 are zero: SOL
    )
    assert curve.quote_is_sol
    assert curve.progress == 0.0  # real tokens back at the initial 793,100,000


def test_the_met_curve_decodes_with_its_quote_mint() -> None:
    curve = decode_bonding_curve(MET_CURVE, entry(MET_CURVE))
    assert curve == BondingCurve(
        address=MET_CURVE,
        virtual_token_reserves=1045225794522273,
        virtual_quote_reserves=12410948657,
        real_token_reserves=765325794522273,
        real_quote_reserves=321252847,
        token_total_supply=1000000000000000,
        complete=False,
        data_length=151,  # byte 115 (0xc8) is a trailing field outside the IDL: ignored
        creator="7n9jvPADeWJrqPeZXgUXQ1uauQoCNiP4fHsAxw5nfKwR",
        is_mayhem_mode=False,
        is_cashback_coin=False,
        quote_mint=MET,
    )
    # (793,100,000,000,000 - 765,325,794,522,273) / 793,100,000,000,000 tokens sold
    assert curve.progress == pytest.approx(27774205477727 / 793100000000000)
    assert curve.progress == pytest.approx(0.0350198, abs=1e-7)


def test_the_pool_decodes_to_every_field_its_source_expects() -> None:
    payload = json.loads(
        (SOLANA_FIXTURES / "accounts/pumpswap_pool_globalconfig_buyevent_lukks.json").read_bytes()
    )
    expected = payload["pool_account"]["expected_decode_by_source"]
    pool = decode_pool(FIXTURE_POOL, entry(FIXTURE_POOL))
    assert {name: getattr(pool, name) for name in expected} == expected
    assert expected == {
        "pool_bump": 255,
        "index": 0,
        "creator": "3X9pcDuzyVpN659g76tXYEhpCMR8vbM36faDeDBMGFnm",
        "base_mint": POOL_MINT,
        "quote_mint": WSOL,
        "lp_mint": "6793kQoqgH1B2ZDhrYLHTXJSC2JbjEiEBDhxDQYj8Ptx",
        "pool_base_token_account": "EqQTQtw3hpmyzWzxiAMwBceGb6i8e8Nsq7ZDLj8fcjJM",
        "pool_quote_token_account": "CuxEC31tUC4ZnydbUqM4XXuG8KZfMbcXJ6HanrGB2hW",
        "lp_supply": 4193388283912,
    }
    # 211 bytes: the older layout, without coin_creator and the flags
    assert (pool.data_length, pool.coin_creator, pool.is_mayhem_mode) == (211, None, None)


def test_shorter_curve_layouts_read_only_the_fields_they_hold() -> None:
    data = fixture_bytes(MET_CURVE)
    original = parse_bonding_curve(data[:49], MET_CURVE)
    assert original.virtual_quote_reserves == 12410948657 and original.complete is False
    assert (original.creator, original.is_mayhem_mode, original.quote_mint) == (None, None, WSOL)
    with_creator = parse_bonding_curve(data[:81], MET_CURVE)
    assert with_creator.creator == "7n9jvPADeWJrqPeZXgUXQ1uauQoCNiP4fHsAxw5nfKwR"
    assert with_creator.is_cashback_coin is None
    flags = parse_bonding_curve(data[:83], MET_CURVE)
    assert (flags.is_mayhem_mode, flags.is_cashback_coin, flags.quote_mint) == (False, False, WSOL)
    assert parse_bonding_curve(data[:115], MET_CURVE).quote_mint == MET


# --- prices by hand ----------------------------------------------------------------------------


def test_a_sol_curve_price_by_hand() -> None:
    curve = decode_bonding_curve(DRAINED_CURVE, entry(DRAINED_CURVE))
    quoted = curve_quote(curve)
    assert quoted is not None and quoted.quote_mint == WSOL
    # (30,000,000,165 / 10^9 SOL) / (1,073,000,000,000,000 / 10^6 tokens)
    price_sol = 30.000000165 / 1_073_000_000
    assert quoted.price == pytest.approx(price_sol, rel=1e-12)
    assert quoted.price == pytest.approx(2.7958993630e-08, rel=1e-10)
    # x 1,000,000,000 tokens of supply
    assert quoted.mcap == pytest.approx(27.958993630, rel=1e-10)
    assert quoted.liquidity == pytest.approx(165e-9)  # 165 lamports of real SOL
    assert quoted.progress == 0.0

    snap = to_snapshot(DRAINED_MINT, NOW, quoted, 142.51)
    assert snap is not None
    assert snap.price_usd == pytest.approx(price_sol * 142.51, rel=1e-12)
    assert snap.mcap_usd == pytest.approx(27.958993630 * 142.51, rel=1e-10)  # 3984.43 USD
    assert snap.liquidity_usd == pytest.approx(165e-9 * 142.51)
    assert (snap.price_sol, snap.liquidity_sol) == (quoted.price, quoted.liquidity)
    assert (snap.curve_progress, snap.source, snap.ts) == (0.0, "pumpfun_curve", NOW)


def test_usd_is_none_when_the_quote_price_is_unknown_never_zero() -> None:
    curve = decode_bonding_curve(DRAINED_CURVE, entry(DRAINED_CURVE))
    quoted = curve_quote(curve)
    assert quoted is not None
    for unknown in (None, 0.0, -1.0, float("nan"), float("inf")):
        assert to_snapshot(DRAINED_MINT, NOW, quoted, unknown) is None


def test_a_curve_in_another_quote_needs_its_decimals() -> None:
    curve = decode_bonding_curve(MET_CURVE, entry(MET_CURVE))
    assert curve_quote(curve) is None  # MET's decimals are not known: no price, no guess
    quoted = curve_quote(curve, quote_decimals=6)  # decimals given (a test value)
    assert quoted is not None and quoted.quote_mint == MET
    # (12,410,948,657 / 10^6 MET) / (1,045,225,794,522,273 / 10^6 tokens)
    assert quoted.price == pytest.approx(12410948657 / 1045225794522273, rel=1e-12)
    assert quoted.price == pytest.approx(1.187394027400e-05, rel=1e-10)
    assert quoted.liquidity == pytest.approx(321.252847)
    snap = to_snapshot(MET_MINT, NOW, quoted, 0.5)  # 0.5 USD per MET, a test value
    assert snap is not None and snap.price_usd == pytest.approx(quoted.price * 0.5)
    assert snap.price_sol is None and snap.liquidity_sol is None  # not a SOL quote


def test_a_pool_price_from_its_vaults_by_hand() -> None:
    pool = decode_pool(FIXTURE_POOL, entry(FIXTURE_POOL))
    # vault balances: the pool reserves of the BuyEvent in the same fixture (another pool's
    # numbers, used here as realistic amounts)
    quoted = pool_quote(
        pool,
        base_raw=72733296097610,
        base_decimals=6,
        quote_raw=507116588655,
        quote_decimals=9,
        supply_raw=1000000000000000,
    )
    assert quoted is not None and quoted.source == "pumpswap_pool"
    # 507.116588655 SOL / 72,733,296.097610 tokens
    assert quoted.price == pytest.approx(507.116588655 / 72733296.097610, rel=1e-12)
    assert quoted.price == pytest.approx(6.97228e-06, rel=1e-5)
    assert quoted.mcap == pytest.approx(quoted.price * 1_000_000_000)
    assert quoted.liquidity == pytest.approx(2 * 507.116588655)  # both sides, as DexScreener
    assert quoted.progress is None
    assert pool_quote(pool, base_raw=0, base_decimals=6, quote_raw=1, quote_decimals=9,
                      supply_raw=1) is None  # fmt: skip


def test_a_complete_curve_is_fully_sold() -> None:
    data = bytearray(fixture_bytes(DRAINED_CURVE))
    data[48] = 1
    assert parse_bonding_curve(bytes(data), DRAINED_CURVE).progress == 1.0


# --- bad input ---------------------------------------------------------------------------------


def curve_entry(data: bytes, owner: str = PUMP_PROGRAM) -> dict[str, Any]:
    return base64_account(owner, base64.b64encode(data).decode())


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (None, "no account"),
        ("nope", "not an object"),
        (curve_entry(b"", owner=PUMP_AMM_PROGRAM), f"owner {PUMP_AMM_PROGRAM}"),  # same disc.
        ({"data": ["", "base64"], "lamports": 1}, "owner None"),
        ({**curve_entry(b""), "data": {"parsed": {}}}, "data is not"),
        ({**curve_entry(b""), "data": [None, "base64"]}, "data is not base64 text"),
        ({**curve_entry(b""), "data": ["F7f4N2DY!!", "base64"]}, "does not decode as base64"),
        (curve_entry(POOL_DISCRIMINATOR + bytes(200)), "discriminator f19a6d0411b16dbc"),
        (curve_entry(BONDING_CURVE_DISCRIMINATOR + bytes(40)), "48 bytes, too short"),
        (curve_entry(BONDING_CURVE_DISCRIMINATOR + bytes(40) + b"\x02"), "complete byte 2"),
    ],
)
def test_a_foreign_or_malformed_curve_is_refused_naming_the_field(item: Any, field: str) -> None:
    with pytest.raises(MalformedPayload, match="bonding curve 8t4t") as caught:
        decode_bonding_curve(DRAINED_CURVE, item)
    message = str(caught.value)
    assert field in message and "\n" not in message


def test_a_foreign_or_short_pool_is_refused() -> None:
    data = fixture_bytes(FIXTURE_POOL)
    with pytest.raises(MalformedPayload, match=f"owner {PUMP_PROGRAM} is not"):
        decode_pool(FIXTURE_POOL, base64_account(PUMP_PROGRAM, base64.b64encode(data).decode()))
    with pytest.raises(MalformedPayload, match="210 bytes, too short for lp_supply"):
        decode_pool(
            FIXTURE_POOL, base64_account(PUMP_AMM_PROGRAM, base64.b64encode(data[:210]).decode())
        )
    with pytest.raises(MalformedPayload, match="is not Pool"):
        decode_pool(FIXTURE_POOL, entry(DRAINED_CURVE) | {"owner": PUMP_AMM_PROGRAM})


def test_a_newer_pool_layout_reads_its_trailing_fields() -> None:
    creator = bytes(range(32))
    data = fixture_bytes(FIXTURE_POOL) + creator + b"\x01\x00"
    pool = decode_pool(
        FIXTURE_POOL, base64_account(PUMP_AMM_PROGRAM, base64.b64encode(data).decode())
    )
    assert (pool.coin_creator, pool.is_mayhem_mode, pool.is_cashback_coin) == (
        b58encode(creator), True, False,
    )  # fmt: skip
