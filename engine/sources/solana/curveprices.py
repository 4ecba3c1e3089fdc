"""``CurvePricer``: snapshots of pump.fun tokens from their own accounts, for ``RpcSource``.

A mint still on its bonding curve (DexScreener has no pair for it, or only its ``pumpfun`` pair
whose address is the curve) is priced from the curve account (``engine.sources.solana.pumpfun``
has the layouts and the formulas):

1. every such mint's curve PDA in **one** batched ``getMultipleAccounts`` (``base64``; 100 keys a
   call, the calls in one JSON-RPC batch);
2. a curve that is ``complete`` has migrated: its PumpSwap pool (the canonical PDA) and then the
   pool's two vaults (``jsonParsed``, which carry each vault's decimals) give the price until
   DexScreener lists a pair: two more batched reads, only when such mints exist;
3. USD from the quote's USD price (``usd_prices``: DexScreener's, SOL/USD for a SOL curve, as
   ``RpcSource.context`` reads it). A curve quoted in another token also needs that token's
   decimals, read once from its mint account. Without them: no snapshot, logged; never a
   guessed or zero price.

A missing account (a mint that is not pump.fun's, or not created yet) is logged at INFO; a
malformed or foreign one is refused with one WARNING line naming the account and the field
(``MalformedPayload``); a failed read is one WARNING. None of them stops the other mints.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.errors import MalformedPayload, SourceError
from engine.records import SnapshotRecord
from engine.sources.dexscreener import DexPair
from engine.sources.solana.programs import WSOL_MINT
from engine.sources.solana.pumpfun import (
    SOL_DECIMALS,
    TOKEN_DECIMALS,
    BondingCurve,
    PumpSwapPool,
    QuotedPrice,
    bonding_curve_address,
    canonical_pool_address,
    curve_holder_accounts,
    curve_quote,
    decode_bonding_curve,
    decode_pool,
    pool_quote,
    to_snapshot,
)
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.rpc_types import AccountInfo, TokenAmount

__all__ = ["CurvePricer", "UsdPrices"]

log = logging.getLogger(__name__)

UsdPrices = Callable[[Sequence[str]], Awaitable[Mapping[str, float]]]
"""USD price of each mint it can price (the others absent)."""

PUMPFUN_DEX_ID = "pumpfun"  # DexScreener's ``dexId`` of a pump.fun curve "pair"


class CurvePricer:
    """Curve and pool snapshots over ``rpc``; ``token_decimals``: the decimals known for mints
    (6, pump.fun's, where unknown). ``creators`` collects each curve's ``creator`` field."""

    def __init__(
        self,
        rpc: SolanaRpc,
        usd_prices: UsdPrices,
        *,
        clock: Callable[[], datetime],
        token_decimals: Mapping[str, int] | None = None,
    ) -> None:
        self.rpc = rpc
        self.creators: dict[str, str] = {}
        self._usd_prices = usd_prices
        self._clock = clock
        self._token_decimals = token_decimals if token_decimals is not None else {}
        self._quote_decimals: dict[str, int] = {WSOL_MINT: SOL_DECIMALS}
        self._curves: dict[str, str | None] = {}
        self._holder_accounts: dict[str, frozenset[str]] = {}

    def curve_address(self, mint: str) -> str | None:
        """The bonding-curve PDA of ``mint`` (cached); None for a mint that is not a key."""
        if mint not in self._curves:
            try:
                self._curves[mint] = bonding_curve_address(mint)
            except ValueError:
                log.info("%s: not a base58 address; no bonding curve", mint)
                self._curves[mint] = None
        return self._curves[mint]

    def priced_by_curve(self, mint: str, pair: DexPair | None) -> bool:
        """No pair (yet), or DexScreener's pair is the pump.fun curve itself."""
        curve = self.curve_address(mint)
        if curve is None:
            return False
        return pair is None or (pair.dex_id == PUMPFUN_DEX_ID and pair.pair_address == curve)

    def holder_accounts(self, mint: str) -> frozenset[str]:
        """The curve of ``mint`` and its token accounts (cached): never a holder."""
        if mint not in self._holder_accounts:
            try:
                self._holder_accounts[mint] = curve_holder_accounts(mint)
            except ValueError:
                self._holder_accounts[mint] = frozenset()
        return self._holder_accounts[mint]

    async def snapshots(self, mints: Sequence[str]) -> dict[str, SnapshotRecord]:
        """Snapshots of ``mints`` from their curves (or, once migrated, pools), now."""
        curves = await self._curves_of([m for m in mints if self.curve_address(m)])
        quoted = await self._pool_quotes({m: c for m, c in curves.items() if c.complete})
        for mint, curve in curves.items():
            if curve.complete:
                continue
            q = curve_quote(
                curve,
                token_decimals=self._token_decimals.get(mint, TOKEN_DECIMALS),
                quote_decimals=await self._decimals_of_quote(curve.quote_mint),
            )
            if q is None:
                log.info("%s: curve in %s not priced: quote decimals or reserves unknown",
                         mint, curve.quote_mint)  # fmt: skip
                continue
            quoted[mint] = q
        return await self._in_usd(quoted)

    async def _curves_of(self, mints: Sequence[str]) -> dict[str, BondingCurve]:
        if not mints:
            return {}
        addresses = [self._curves[m] or "" for m in mints]
        try:
            items = await self.rpc.get_account_entries(addresses, encoding="base64")
        except SourceError as exc:
            log.warning("bonding curves of %d mints unavailable: %s", len(mints), exc)
            return {}
        curves: dict[str, BondingCurve] = {}
        for mint, address, item in zip(mints, addresses, items, strict=True):
            if item is None:
                log.info("%s: no bonding curve at %s (not a pump.fun mint, or not yet)",
                         mint, address)  # fmt: skip
                continue
            try:
                curve = decode_bonding_curve(address, item)
            except MalformedPayload as exc:
                log.warning("%s: curve refused: %s", mint, exc)
                continue
            curves[mint] = curve
            if curve.creator:
                self.creators[mint] = curve.creator
        return curves

    async def _in_usd(self, quoted: Mapping[str, QuotedPrice]) -> dict[str, SnapshotRecord]:
        if not quoted:
            return {}
        usd = await self._usd_prices(sorted({q.quote_mint for q in quoted.values()}))
        now = self._clock()
        out: dict[str, SnapshotRecord] = {}
        for mint, q in quoted.items():
            snap = to_snapshot(mint, now, q, usd.get(q.quote_mint))
            if snap is None:
                log.warning("%s: priced in %s, whose USD price is unknown: no snapshot",
                            mint, q.quote_mint)  # fmt: skip
                continue
            out[mint] = snap
        return out

    async def _decimals_of_quote(self, quote_mint: str) -> int | None:
        """Decimals of a curve's quote mint: 9 for SOL, else read once from its mint account."""
        if quote_mint not in self._quote_decimals:
            try:
                (account,) = await self.rpc.get_multiple_accounts([quote_mint])
            except SourceError as exc:
                log.warning("%s: quote mint unavailable: %s", quote_mint, exc)
                return None
            info = account.parsed_info if account is not None else None
            decimals = info.get("decimals") if info is not None else None
            if not isinstance(decimals, int) or isinstance(decimals, bool):
                log.warning("%s: quote mint account without decimals", quote_mint)
                return None
            self._quote_decimals[quote_mint] = decimals
        return self._quote_decimals[quote_mint]

    async def _pool_quotes(self, migrated: Mapping[str, BondingCurve]) -> dict[str, QuotedPrice]:
        """Prices of migrated mints from their PumpSwap pools' vaults (two batched reads)."""
        if not migrated:
            return {}
        keys = {m: canonical_pool_address(m, c.quote_mint) for m, c in migrated.items()}
        try:
            items = await self.rpc.get_account_entries(list(keys.values()), encoding="base64")
            pools = _decoded_pools(keys, items)
            vaults = [
                v
                for p in pools.values()
                for v in (p.pool_base_token_account, p.pool_quote_token_account)
            ]
            balances = await self.rpc.get_account_entries(vaults)
        except SourceError as exc:
            log.warning("PumpSwap pools of %d mints unavailable: %s", len(migrated), exc)
            return {}
        out: dict[str, QuotedPrice] = {}
        for k, (mint, pool) in enumerate(pools.items()):
            base, quote = _token_balance(balances[2 * k]), _token_balance(balances[2 * k + 1])
            if pool.base_mint != mint or base is None or quote is None:
                log.warning("%s: migrated; pool %s has no usable vault balances",
                            mint, pool.address)  # fmt: skip
                continue
            q = pool_quote(
                pool,
                base_raw=base[0],
                base_decimals=base[1],
                quote_raw=quote[0],
                quote_decimals=quote[1],
                supply_raw=migrated[mint].token_total_supply,
            )
            if q is not None:
                out[mint] = q
        return out


def _decoded_pools(keys: Mapping[str, str], items: Iterable[Any]) -> dict[str, PumpSwapPool]:
    pools: dict[str, PumpSwapPool] = {}
    for (mint, key), item in zip(keys.items(), items, strict=True):
        try:
            pools[mint] = decode_pool(key, item)
        except MalformedPayload as exc:
            log.warning("%s: migrated; pool refused: %s", mint, exc)
    return pools


def _token_balance(item: Any) -> tuple[int, int] | None:
    """(raw amount, decimals) of a ``jsonParsed`` token account entry; None if it is not one."""
    try:
        account = AccountInfo.from_json("vault", item)
        info = account.parsed_info if account is not None else None
        if info is None:
            return None
        amount = TokenAmount.from_json(info.get("tokenAmount"), "vault")
    except MalformedPayload:
        return None
    return amount.amount_raw, amount.decimals
