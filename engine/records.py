"""Records that cross the source boundary, and the protocol every data source implements.

The embedded simulated market (``engine.sim``) and the real clients (Solana RPC, DexScreener)
emit these same records, so nothing downstream knows which source it reads. Timestamps are UTC,
timezone-aware. Amounts keep their raw integer form beside the float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Tier = Literal["elite", "top", "regular"]
Side = Literal["buy", "sell"]
TIERS: tuple[Tier, ...] = ("elite", "top", "regular")
LAMPORTS_PER_SOL = 1_000_000_000


@dataclass(frozen=True, slots=True)
class KolRecord:
    """A tracked wallet."""

    wallet: str
    name: str
    tier: Tier


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token's identity and launch facts.

    ``bundle_pct`` is the share of supply (0..1) bought in the creation slot by wallets other
    than the creator (a "bundle"); None when unknown.
    """

    mint: str
    symbol: str
    name: str
    created_at: datetime
    creator: str
    decimals: int = 6
    bundle_pct: float | None = None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One swap by one wallet: ``side`` buy = SOL out, token in."""

    signature: str
    wallet: str
    mint: str
    side: Side
    token_amount_raw: int
    decimals: int
    sol_amount_lamports: int
    block_time: datetime
    slot: int
    program: str = "other"
    # Issue 10: the swap as its venue settled it (engine.sources.solana.parser). ``swap_index``
    # numbers the wallet's swaps in the transaction; a USDC/USDT quote was converted to
    # ``sol_amount_lamports`` at ``sol_usd`` (None: quoted in SOL, nothing converted).
    swap_index: int = 0
    venue: str = "other"
    router: str | None = None
    quote_mint: str = "So11111111111111111111111111111111111111112"
    quote_amount_raw: int | None = None
    sol_usd: float | None = None
    venue_fee_raw: int = 0
    network_fee_lamports: int = 0
    priority_fee_lamports: int = 0
    tip_lamports: int = 0
    router_fee_lamports: int = 0
    rent_lamports: int = 0

    @property
    def chain_order(self) -> tuple[datetime, int, str]:
        """Sort key in chain order: block time, slot, then signature for a stable tie-break."""
        return (self.block_time, self.slot, self.signature)

    @property
    def token_amount(self) -> float:
        scale: int = 10**self.decimals  # int ** int is typed Any (a negative power is a float)
        return self.token_amount_raw / scale

    @property
    def sol_amount(self) -> float:
        return self.sol_amount_lamports / LAMPORTS_PER_SOL

    @property
    def price_sol(self) -> float:
        """SOL per whole token."""
        return self.sol_amount / self.token_amount if self.token_amount_raw else 0.0


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """A token's market state at ``ts`` (DexScreener-like fields plus holder statistics).

    Volumes are USD over the trailing window; price changes are percent over the window, as
    DexScreener reports them. Holder fields are None when the source could not resolve holders.
    Holder percentages are 0..100 of supply and exclude pool, bonding-curve and burn accounts.
    These fields are also the columns of the ``MarketSnapshot`` table, which is built from them
    (``engine.storage.models.record_columns``): a field added here is stored.
    """

    mint: str
    ts: datetime
    price_usd: float
    mcap_usd: float
    liquidity_usd: float | None = None
    volume_5m: float | None = None
    volume_1h: float | None = None
    volume_6h: float | None = None
    volume_24h: float | None = None
    buys_1h: int | None = None
    sells_1h: int | None = None
    buys_24h: int | None = None
    sells_24h: int | None = None
    price_change_5m: float | None = None
    price_change_1h: float | None = None
    price_change_24h: float | None = None
    holder_count: int | None = None
    top1_pct: float | None = None
    top3_pct: float | None = None
    top10_pct: float | None = None
    holder_gini: float | None = None
    holder_median_balance: float | None = None
    top_holder_is_dev: bool | None = None
    # Where the price came from: "dexscreener", "pumpfun_curve" (the bonding curve's reserves),
    # "pumpswap_pool" (the pool's vaults); None for the simulated market.
    source: str | None = None
    # SOL per whole token and liquidity in SOL, where the price is read in SOL (a SOL curve or
    # pool); None otherwise.
    price_sol: float | None = None
    liquidity_sol: float | None = None
    # Share 0..1 of a pump.fun curve's initial real token reserve sold (1 = complete); None off
    # the curve (engine.sources.solana.pumpfun).
    curve_progress: float | None = None


@dataclass(frozen=True, slots=True)
class ContextRecord:
    """Market-wide context at ``ts``: SOL price and a sentiment index in [-1, 1] (None where the
    source has no such index)."""

    ts: datetime
    sol_price_usd: float
    sentiment: float | None = None


@dataclass(frozen=True, slots=True)
class WalletTrades:
    """A wallet's new swaps, and the cursor to store with them.

    ``cursor`` is the newest signature the source has fully processed for the wallet, trades or
    not (a transfer moves it too); None leaves the stored cursor as it is. A source must not move
    it past a transaction it could not read yet, so a restart re-reads that one.
    """

    trades: list[TradeRecord]
    cursor: str | None


class MarketSource(Protocol):
    """What the engine reads from a data source.

    ``until`` is the source's "now": a live source ignores it (it only knows the present), a
    replayed one (the simulated market) returns nothing that happens after it. Lists are ordered
    oldest first.
    """

    async def kols(self) -> list[KolRecord]:
        """Wallets the source knows as KOLs (a live source returns the configured ones)."""
        ...

    async def wallet_trades(
        self, wallet: str, after_signature: str | None, until: datetime
    ) -> WalletTrades:
        """Swaps of ``wallet`` newer than the cursor ``after_signature`` (all if None)."""
        ...

    async def tokens(self, mints: Sequence[str]) -> list[TokenRecord]:
        """Identity and launch facts of the given mints (unknown mints are left out)."""
        ...

    async def snapshots(
        self, mints: Sequence[str], since: datetime | None, until: datetime
    ) -> list[SnapshotRecord]:
        """Market snapshots of the mints with ``since < ts <= until`` (a live source: now)."""
        ...

    async def creator_trades(
        self, mints: Sequence[str], since: datetime | None, until: datetime
    ) -> list[TradeRecord]:
        """Swaps by the creators of the given mints with ``since < block_time <= until``."""
        ...

    async def context(self, since: datetime | None, until: datetime) -> list[ContextRecord]:
        """Market-wide context records with ``since < ts <= until``."""
        ...
