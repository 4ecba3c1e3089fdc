"""pump.fun prices of our own: the bonding curve of a token before it migrates, and the PumpSwap
pool after.

**Accounts, decoded by the programs' published IDLs** (shared/fixtures/solana/idl; Anchor, Borsh,
little-endian, no padding; offsets count the 8-byte discriminator):

* ``BondingCurve`` (``pump.json``): owned by the pump program (its ``address``,
  ``PUMPFUN_PROGRAM``); discriminator sha256("account:BondingCurve")[:8] = ``17b7f83760d8ac60``.
  u64 ``virtual_token_reserves`` @8, ``virtual_quote_reserves`` @16 (``virtual_sol_reserves`` in
  older IDLs, e.g. the copy inside ``pump_amm.json``), ``real_token_reserves`` @24,
  ``real_quote_reserves`` @32, ``token_total_supply`` @40, bool ``complete`` @48 (the original
  layout ends at 49); pubkey ``creator`` @49; bools ``is_mayhem_mode`` @81, ``is_cashback_coin``
  @82; pubkey ``quote_mint`` @83 (ends at 115). No IDL states an account size and the real
  accounts are longer than the struct (154 and 151 bytes in the fixtures), so each field after
  ``complete`` is read only when the data holds it, and bytes past 115 are ignored. An absent or
  all-zero ``quote_mint`` means SOL. ``pump_amm.json`` lists an account of the same name and
  discriminator, so a curve is told apart by its **owner**, not by the discriminator alone.
* ``Pool`` (``pump_amm.json``): owned by ``PUMPSWAP_PROGRAM``; discriminator
  sha256("account:Pool")[:8] = ``f19a6d0411b16dbc``, which another program's pools share
  (SOURCES.md), so the owner is checked too. u8 ``pool_bump`` @8, u16 ``index`` @9, pubkeys
  ``creator`` @11, ``base_mint`` @43, ``quote_mint`` @75, ``lp_mint`` @107,
  ``pool_base_token_account`` @139, ``pool_quote_token_account`` @171, u64 ``lp_supply`` @203
  (older layout ends at 211, as the fixture does); pubkey ``coin_creator`` @211; bools
  ``is_mayhem_mode`` @243, ``is_cashback_coin`` @244. The pool has no reserves of its own: its
  two vault token accounts hold them.

**Addresses** (``find_program_address`` of ``engine.sources.solana.tokeninfo``): the curve is
the PDA ["bonding-curve", mint] under the pump program (``pump.json``, account
``bonding_curve`` of ``buy``); its tokens sit in its associated token account, the PDA
[curve, token program, mint] under the ATA program (``associated_bonding_curve``); the pool a
migration creates is ["pool", index u16 LE = 0, creator, base mint, quote mint] under PumpSwap
with creator = the pump PDA ["pool-authority", mint] (``pump_amm.json`` ``create_pool``; checked
on the fixture pool, whose ``lp_mint`` is ["pool_lp_mint", that pool]).

**Prices** (UI units: a raw amount / 10^decimals). pump.fun tokens have 6 decimals (every pump
mint's token balance in shared/fixtures/solana/getTransaction, e.g. ``pumpfun_create_0``; and
``token_total_supply`` 10^15 raw = the 1,000,000,000 supply); SOL has 9. The curve is a constant
product of its virtual reserves, so its spot price is their ratio:

* price (quote per token) = (virtual_quote_reserves / 10^quote_decimals)
  / (virtual_token_reserves / 10^token_decimals)
* market cap (quote) = price x token_total_supply / 10^token_decimals
* liquidity (quote) = real_quote_reserves / 10^quote_decimals: what sellers can take out
* progress = (INITIAL_REAL_TOKEN_RESERVES - real_token_reserves) / INITIAL_REAL_TOKEN_RESERVES,
  in [0, 1]; 1 once ``complete``.

The initial state is 30 SOL / 1,073,000,000 virtual tokens and 793,100,000 real tokens: the
create-and-buy of 1 SOL in ``getTransaction/pumpfun_create_0.json`` emits a TradeEvent with
``virtual_sol_reserves`` 31,000,000,000 and ``virtual_token_reserves`` 1,038,387,096,774,194
= ceil(1,073,000,000,000,000 x 30,000,000,000 / 31,000,000,000), and the drained curve fixture
(``accounts/pump_curve_drained_8t4tk.json``, sold back to its start) holds 1,073,000,000,000,000
/ 30,000,000,165 / 793,100,000,000,000. Virtual minus real tokens is 279,900,000 UI in both curve
fixtures, the MET-quoted one too, so the token side starts the same whatever the quote.

A pool's price is its vaults' ratio, with the decimals the node reports for each vault:
price = quote vault UI / base vault UI; market cap = price x supply; liquidity = both sides at
that price (2 x the quote vault), as DexScreener's ``liquidity.usd`` counts a pool.

**USD** = the quote price x the quote's USD price. A SOL curve needs SOL/USD; a curve quoted in
another token (``quote_mint``) needs that token's decimals *and* USD price: without both there
is no price in UI units or USD, and no snapshot (``to_snapshot`` returns None); nothing is
guessed and nothing is 0.

Bad input (no account, a foreign owner, a wrong discriminator, data too short, data that is not
base64) raises ``MalformedPayload`` with one line naming the account and the field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from engine.errors import MalformedPayload
from engine.records import SnapshotRecord
from engine.sources.base58 import b58decode, b58encode
from engine.sources.solana.holders import PUMPFUN_PROGRAM, PUMPSWAP_PROGRAM
from engine.sources.solana.programs import (
    ATA_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    WSOL_MINT,
)
from engine.sources.solana.tokeninfo import find_program_address

__all__ = [
    "BONDING_CURVE_DISCRIMINATOR",
    "INITIAL_REAL_TOKEN_RESERVES",
    "INITIAL_VIRTUAL_QUOTE_RESERVES",
    "INITIAL_VIRTUAL_TOKEN_RESERVES",
    "POOL_DISCRIMINATOR",
    "SOL_DECIMALS",
    "TOKEN_DECIMALS",
    "BondingCurve",
    "PumpSwapPool",
    "QuotedPrice",
    "associated_token_address",
    "bonding_curve_address",
    "canonical_pool_address",
    "curve_holder_accounts",
    "curve_quote",
    "decode_bonding_curve",
    "decode_pool",
    "parse_bonding_curve",
    "parse_pool",
    "pool_authority",
    "pool_quote",
    "to_snapshot",
]

BONDING_CURVE_DISCRIMINATOR: Final = hashlib.sha256(b"account:BondingCurve").digest()[:8]
POOL_DISCRIMINATOR: Final = hashlib.sha256(b"account:Pool").digest()[:8]
TOKEN_DECIMALS: Final = 6  # every pump.fun mint (see the module docstring)
SOL_DECIMALS: Final = 9
INITIAL_VIRTUAL_TOKEN_RESERVES: Final = 1_073_000_000 * 10**TOKEN_DECIMALS
INITIAL_VIRTUAL_QUOTE_RESERVES: Final = 30 * 10**SOL_DECIMALS  # a SOL curve
INITIAL_REAL_TOKEN_RESERVES: Final = 793_100_000 * 10**TOKEN_DECIMALS
CURVE_MIN_LENGTH: Final = 49  # the original layout: through ``complete``
POOL_MIN_LENGTH: Final = 211  # through ``lp_supply``
_ZERO_KEY: Final = bytes(32)

SOURCE_CURVE: Final = "pumpfun_curve"
SOURCE_POOL: Final = "pumpswap_pool"


@dataclass(frozen=True, slots=True)
class BondingCurve:
    """A decoded ``BondingCurve``; raw integers as stored. Optional fields are None when the
    account is too short to hold them. ``quote_mint`` is WSOL for a SOL curve."""

    address: str
    virtual_token_reserves: int
    virtual_quote_reserves: int
    real_token_reserves: int
    real_quote_reserves: int
    token_total_supply: int
    complete: bool
    data_length: int
    creator: str | None = None
    is_mayhem_mode: bool | None = None
    is_cashback_coin: bool | None = None
    quote_mint: str = WSOL_MINT

    @property
    def quote_is_sol(self) -> bool:
        return self.quote_mint == WSOL_MINT

    @property
    def progress(self) -> float:
        """Share of the initial real token reserve sold, 0..1 (1 once complete)."""
        if self.complete:
            return 1.0
        sold = INITIAL_REAL_TOKEN_RESERVES - self.real_token_reserves
        return min(1.0, max(0.0, sold / INITIAL_REAL_TOKEN_RESERVES))


@dataclass(frozen=True, slots=True)
class PumpSwapPool:
    """A decoded PumpSwap ``Pool``; the newer trailing fields are None when absent."""

    address: str
    pool_bump: int
    index: int
    creator: str
    base_mint: str
    quote_mint: str
    lp_mint: str
    pool_base_token_account: str
    pool_quote_token_account: str
    lp_supply: int
    data_length: int
    coin_creator: str | None = None
    is_mayhem_mode: bool | None = None
    is_cashback_coin: bool | None = None


@dataclass(frozen=True, slots=True)
class QuotedPrice:
    """A token's price, market cap and liquidity in UI units of ``quote_mint``."""

    quote_mint: str
    price: float
    mcap: float
    liquidity: float
    progress: float | None
    source: str


# --- addresses -------------------------------------------------------------------------------


def bonding_curve_address(mint: str) -> str:
    """The curve of ``mint``: the PDA ["bonding-curve", mint] under the pump program."""
    return find_program_address([b"bonding-curve", b58decode(mint)], PUMPFUN_PROGRAM)[0]


def associated_token_address(owner: str, mint: str, token_program: str = TOKEN_PROGRAM) -> str:
    """The associated token account of ``owner`` for ``mint``: [owner, token program, mint]
    under the ATA program (``pump.json``: ``associated_bonding_curve``)."""
    seeds = [b58decode(owner), b58decode(token_program), b58decode(mint)]
    return find_program_address(seeds, ATA_PROGRAM)[0]


def curve_holder_accounts(mint: str) -> frozenset[str]:
    """The curve of ``mint`` and its token accounts (SPL Token and Token-2022: a mint made by
    ``create_v2`` is a Token-2022 one), which hold the unsold supply: not a holder."""
    curve = bonding_curve_address(mint)
    return frozenset(
        {
            curve,
            *(
                associated_token_address(curve, mint, p)
                for p in (TOKEN_PROGRAM, TOKEN_2022_PROGRAM)
            ),
        }
    )


def pool_authority(mint: str) -> str:
    """The pump PDA ["pool-authority", mint]: the ``creator`` of the pool a migration makes."""
    return find_program_address([b"pool-authority", b58decode(mint)], PUMPFUN_PROGRAM)[0]


def canonical_pool_address(mint: str, quote_mint: str = WSOL_MINT, index: int = 0) -> str:
    """The PumpSwap pool a migration of ``mint`` creates: ["pool", index u16 LE, creator,
    base mint, quote mint] under PumpSwap, creator = ``pool_authority(mint)``."""
    seeds = [
        b"pool",
        index.to_bytes(2, "little"),
        b58decode(pool_authority(mint)),
        b58decode(mint),
        b58decode(quote_mint),
    ]
    return find_program_address(seeds, PUMPSWAP_PROGRAM)[0]


# --- decoding --------------------------------------------------------------------------------


def decode_bonding_curve(address: str, item: Any) -> BondingCurve:
    """A ``getMultipleAccounts`` entry (``base64`` encoding) as a curve; ``MalformedPayload``
    if it is not one."""
    data = account_data(address, item, PUMPFUN_PROGRAM, "bonding curve")
    return parse_bonding_curve(data, address)


def decode_pool(address: str, item: Any) -> PumpSwapPool:
    """A ``getMultipleAccounts`` entry (``base64`` encoding) as a PumpSwap pool."""
    return parse_pool(account_data(address, item, PUMPSWAP_PROGRAM, "PumpSwap pool"), address)


def account_data(address: str, item: Any, owner: str, what: str) -> bytes:
    """The data bytes of an account entry owned by ``owner``."""
    if item is None:
        raise MalformedPayload(f"{what} {address}: no account (null)")
    if not isinstance(item, Mapping):
        raise MalformedPayload(f"{what} {address}: the account is not an object")
    if item.get("owner") != owner:
        shown = str(item.get("owner"))[:44]
        raise MalformedPayload(f"{what} {address}: owner {shown} is not {owner}")
    data = item.get("data")
    if not (isinstance(data, list) and len(data) == 2 and data[1] == "base64"):
        raise MalformedPayload(f"{what} {address}: data is not [text, 'base64']")
    if not isinstance(data[0], str):
        raise MalformedPayload(f"{what} {address}: data is not base64 text")
    try:
        return base64.b64decode(data[0], validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPayload(f"{what} {address}: data does not decode as base64") from None


def parse_bonding_curve(data: bytes, address: str) -> BondingCurve:
    """Decode a curve account's data (owner already checked)."""
    what = f"bonding curve {address}"
    if data[:8] != BONDING_CURVE_DISCRIMINATOR:
        raise MalformedPayload(f"{what}: discriminator {data[:8].hex()} is not BondingCurve")
    if len(data) < CURVE_MIN_LENGTH:
        raise MalformedPayload(f"{what}: {len(data)} bytes, too short for complete (needs 49)")
    u64 = [int.from_bytes(data[k : k + 8], "little") for k in range(8, 48, 8)]
    quote = data[83:115] if len(data) >= 115 else _ZERO_KEY
    return BondingCurve(
        address=address,
        virtual_token_reserves=u64[0],
        virtual_quote_reserves=u64[1],
        real_token_reserves=u64[2],
        real_quote_reserves=u64[3],
        token_total_supply=u64[4],
        complete=_bool(data, 48, what, "complete"),
        data_length=len(data),
        creator=b58encode(data[49:81]) if len(data) >= 81 else None,
        is_mayhem_mode=_bool(data, 81, what, "is_mayhem_mode") if len(data) >= 83 else None,
        is_cashback_coin=_bool(data, 82, what, "is_cashback_coin") if len(data) >= 83 else None,
        quote_mint=WSOL_MINT if quote == _ZERO_KEY else b58encode(quote),
    )


def parse_pool(data: bytes, address: str) -> PumpSwapPool:
    """Decode a PumpSwap pool account's data (owner already checked)."""
    what = f"PumpSwap pool {address}"
    if data[:8] != POOL_DISCRIMINATOR:
        raise MalformedPayload(f"{what}: discriminator {data[:8].hex()} is not Pool")
    if len(data) < POOL_MIN_LENGTH:
        raise MalformedPayload(f"{what}: {len(data)} bytes, too short for lp_supply (needs 211)")

    def key(offset: int) -> str:
        return b58encode(data[offset : offset + 32])

    return PumpSwapPool(
        address=address,
        pool_bump=data[8],
        index=int.from_bytes(data[9:11], "little"),
        creator=key(11),
        base_mint=key(43),
        quote_mint=key(75),
        lp_mint=key(107),
        pool_base_token_account=key(139),
        pool_quote_token_account=key(171),
        lp_supply=int.from_bytes(data[203:211], "little"),
        data_length=len(data),
        coin_creator=key(211) if len(data) >= 243 else None,
        is_mayhem_mode=_bool(data, 243, what, "is_mayhem_mode") if len(data) >= 245 else None,
        is_cashback_coin=_bool(data, 244, what, "is_cashback_coin") if len(data) >= 245 else None,
    )


def _bool(data: bytes, offset: int, what: str, name: str) -> bool:
    if data[offset] > 1:
        raise MalformedPayload(f"{what}: {name} byte {data[offset]} is not a bool")
    return data[offset] == 1


# --- prices ----------------------------------------------------------------------------------


def curve_quote(
    curve: BondingCurve,
    *,
    token_decimals: int = TOKEN_DECIMALS,
    quote_decimals: int | None = None,
) -> QuotedPrice | None:
    """The curve's spot price, market cap and liquidity in its quote (formulas: module
    docstring). ``quote_decimals`` defaults to 9 for a SOL curve; for another quote it must be
    given, else None (unknown, not guessed). None too for empty virtual reserves."""
    if quote_decimals is None:
        if not curve.quote_is_sol:
            return None
        quote_decimals = SOL_DECIMALS
    if curve.virtual_token_reserves <= 0 or curve.virtual_quote_reserves <= 0:
        return None
    token_scale: int = 10**token_decimals
    quote_scale: int = 10**quote_decimals
    price = (curve.virtual_quote_reserves / quote_scale) / (
        curve.virtual_token_reserves / token_scale
    )
    return QuotedPrice(
        quote_mint=curve.quote_mint,
        price=price,
        mcap=price * curve.token_total_supply / token_scale,
        liquidity=curve.real_quote_reserves / quote_scale,
        progress=curve.progress,
        source=SOURCE_CURVE,
    )


def pool_quote(
    pool: PumpSwapPool,
    *,
    base_raw: int,
    base_decimals: int,
    quote_raw: int,
    quote_decimals: int,
    supply_raw: int,
) -> QuotedPrice | None:
    """The pool's price from its vault balances (raw, with the decimals the node reports);
    market cap over ``supply_raw`` of the base token. None for an empty vault."""
    if base_raw <= 0 or quote_raw <= 0:
        return None
    base_scale: int = 10**base_decimals
    quote_scale: int = 10**quote_decimals
    quote_ui = quote_raw / quote_scale
    price = quote_ui / (base_raw / base_scale)
    return QuotedPrice(
        quote_mint=pool.quote_mint,
        price=price,
        mcap=price * supply_raw / base_scale,
        liquidity=2 * quote_ui,
        progress=None,
        source=SOURCE_POOL,
    )


def to_snapshot(
    mint: str, ts: datetime, quoted: QuotedPrice, quote_usd: float | None
) -> SnapshotRecord | None:
    """A snapshot in USD, or None when the quote's USD price is unknown (or not a positive
    finite number). SOL-side fields are set for a SOL quote."""
    if quote_usd is None or not math.isfinite(quote_usd) or quote_usd <= 0:
        return None
    sol = quoted.quote_mint == WSOL_MINT
    return SnapshotRecord(
        mint=mint,
        ts=ts,
        price_usd=quoted.price * quote_usd,
        mcap_usd=quoted.mcap * quote_usd,
        liquidity_usd=quoted.liquidity * quote_usd,
        price_sol=quoted.price if sol else None,
        liquidity_sol=quoted.liquidity if sol else None,
        curve_progress=quoted.progress,
        source=quoted.source,
    )
