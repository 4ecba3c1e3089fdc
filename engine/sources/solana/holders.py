"""Holder concentration of a token: top-1/3/10 % of supply, Gini, and whether the dev leads.

From three RPC reads: ``getTokenSupply``, ``getTokenLargestAccounts`` (the 20 largest *token
accounts*) and ``getMultipleAccounts`` twice: once on those token accounts (``jsonParsed``:
whose wallet holds each one), once on the holders themselves (only their ``owner`` program).

Accounts that hold tokens without being holders are excluded (``HolderExclusions``):

* **Pools and bonding curves by owner program.** A pump.fun bonding curve is a PDA per mint,
  so it cannot be listed; but the curve account is owned by the pump.fun program, and the same
  holds for the pool or vault PDAs of PumpSwap, Raydium CLMM and LaunchLab pools, Orca
  Whirlpools and Meteora pools. A holder whose own account is owned by one of
  ``POOL_PROGRAMS`` is excluded. (Wallets are owned by the System program, or do not exist.)
* **Pool authorities by address.** Raydium AMM v4, CPMM and LaunchLab keep every pool's vaults
  under one authority PDA that holds no data and is owned by the System program, so the owner
  rule cannot see them: ``POOL_AUTHORITIES`` lists them.
* **Burn addresses** (``BURN_ADDRESSES``): tokens sent where no key can move them.
* Anything the caller adds (``exclude=``), e.g. a known CEX or a locker. An address there may
  be a holder or one token account: ``RpcSource`` adds a pump.fun mint's bonding curve and its
  associated token accounts (``engine.sources.solana.pumpfun.curve_holder_accounts``), so the
  curve is left out by address even before its owner program is read.

Percentages are of the total supply from ``getTokenSupply`` (pool and curve tokens stay in the
denominator: they are supply, just not held by anyone). Token accounts are added up per holder.
The Gini coefficient is over the holders found among the 20 largest accounts, so it measures
inequality at the top, not over every holder; ``holder_count`` and the median balance cannot be
had from these calls and are left unset.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from engine.records import SnapshotRecord
from engine.sources.solana.rpc import SolanaRpc

log = logging.getLogger(__name__)

PUMPFUN_PROGRAM = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
PUMPSWAP_PROGRAM = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"

POOL_PROGRAMS: frozenset[str] = frozenset(
    {
        PUMPFUN_PROGRAM,  # bonding curve PDA per mint
        PUMPSWAP_PROGRAM,  # pump.fun AMM pool PDA
        "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",  # Raydium AMM v4
        "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C",  # Raydium CPMM
        "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK",  # Raydium CLMM (pool state PDA)
        "LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj",  # Raydium LaunchLab (bonk.fun)
        "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc",  # Orca Whirlpools
        "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo",  # Meteora DLMM
        "Eo7WjKq67rjJQSZxS6z3YkapzY3eMj6Xy8X5EQVn5UaB",  # Meteora DAMM v1
        "cpamdpZCGKUy5JxQXB4dcpGPiikHawvSWAd6mEn1sGG",  # Meteora DAMM v2
        "24Uqj9JCLxUeoC3hGfh5W3s9FM9uCHDS2SG3LYwBpyTi",  # Meteora dynamic vaults (DAMM v1)
    }
)
"""Programs whose PDAs hold pool or bonding-curve tokens."""

POOL_AUTHORITIES: frozenset[str] = frozenset(
    {
        # owner of the pool vaults in every Raydium AMM v4 swap in shared/fixtures/solana
        "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1",
        # Raydium CPMM vault authority, passed to CPMM in OKXDEX_swap_0.json
        "GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL",
        # Raydium LaunchLab vault authority (PDA of "vault_auth_seed")
        "WLHv2UAZm6z4KyaaELi5pjdbJh6RESMva1Rnn8pJVVh",
    }
)
"""System-owned authority PDAs that hold the vaults of many pools."""

BURN_ADDRESSES: frozenset[str] = frozenset(
    {
        "1nc1nerator11111111111111111111111111111111",  # the Solana incinerator
        "11111111111111111111111111111111",  # the System program: no key, nothing moves out
    }
)


@dataclass(frozen=True, slots=True)
class HolderExclusions:
    """What is not a holder: these addresses, and holders whose account these programs own."""

    addresses: frozenset[str] = POOL_AUTHORITIES | BURN_ADDRESSES
    owner_programs: frozenset[str] = POOL_PROGRAMS

    def with_addresses(self, extra: Iterable[str]) -> HolderExclusions:
        return replace(self, addresses=self.addresses | frozenset(extra))


DEFAULT_EXCLUSIONS = HolderExclusions()


@dataclass(frozen=True, slots=True)
class HolderBalance:
    owner: str
    amount_raw: int


@dataclass(frozen=True, slots=True)
class HolderStats:
    """Concentration of a token's holders; percentages 0..100 of ``supply_raw``.

    ``holders`` (largest first) are the holders that count; ``excluded`` those left out.
    A value is None where it cannot be computed (zero supply, no holders, unknown creator).
    """

    supply_raw: int
    holders: tuple[HolderBalance, ...]
    excluded: tuple[HolderBalance, ...] = ()
    top1_pct: float | None = None
    top3_pct: float | None = None
    top10_pct: float | None = None
    gini: float | None = None
    top_holder_is_dev: bool | None = None

    def apply(self, snapshot: SnapshotRecord) -> SnapshotRecord:
        """``snapshot`` with its holder fields set from these statistics."""
        return replace(
            snapshot,
            top1_pct=self.top1_pct,
            top3_pct=self.top3_pct,
            top10_pct=self.top10_pct,
            holder_gini=self.gini,
            top_holder_is_dev=self.top_holder_is_dev,
        )


def gini(values: Sequence[float]) -> float | None:
    """Gini coefficient of non-negative values: 0 all equal, (n-1)/n one holds everything.

    G = 2 * sum_i(i * x_i) / (n * sum x) - (n + 1) / n, x sorted ascending, i from 1.
    None for no values or a zero total.
    """
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total <= 0:
        return None
    weighted = sum(i * x for i, x in enumerate(xs, start=1))
    return 2 * weighted / (n * total) - (n + 1) / n


def holder_stats(
    supply_raw: int,
    balances: Iterable[tuple[str, int]],
    *,
    excluded: Collection[str] = (),
    creator: str | None = None,
) -> HolderStats:
    """The statistics from (owner, raw amount) pairs; pure. Owners in ``excluded`` are left out;
    several token accounts of one owner are added up; zero balances are ignored."""
    per_owner: dict[str, int] = {}
    for owner, amount in balances:
        if amount > 0:
            per_owner[owner] = per_owner.get(owner, 0) + amount
    ranked = sorted(
        (HolderBalance(o, a) for o, a in per_owner.items()),
        key=lambda h: (-h.amount_raw, h.owner),
    )
    kept = tuple(h for h in ranked if h.owner not in excluded)
    left_out = tuple(h for h in ranked if h.owner in excluded)

    def top(k: int) -> float | None:
        if supply_raw <= 0:
            return None
        return 100.0 * sum(h.amount_raw for h in kept[:k]) / supply_raw

    return HolderStats(
        supply_raw=supply_raw,
        holders=kept,
        excluded=left_out,
        top1_pct=top(1) if kept else None,
        top3_pct=top(3) if kept else None,
        top10_pct=top(10) if kept else None,
        gini=gini([h.amount_raw for h in kept]),
        top_holder_is_dev=(kept[0].owner == creator) if kept and creator else None,
    )


async def fetch_holder_stats(
    rpc: SolanaRpc,
    mint: str,
    *,
    creator: str | None = None,
    exclusions: HolderExclusions = DEFAULT_EXCLUSIONS,
    exclude: Iterable[str] = (),
) -> HolderStats:
    """Read supply, largest accounts and their owners for ``mint`` and compute ``holder_stats``.

    Four RPC calls (supply and largest accounts run concurrently). Token accounts closed since
    the largest-accounts read are skipped.
    """
    supply, largest = await asyncio.gather(
        rpc.get_token_supply(mint), rpc.get_token_largest_accounts(mint)
    )
    token_accounts = await rpc.get_multiple_accounts([a.address for a in largest])
    excluded = set(exclusions.addresses) | set(exclude)
    balances: list[tuple[str, int]] = []
    for entry, account in zip(largest, token_accounts, strict=True):
        owner = account.token_owner if account is not None else None
        if owner is None:
            log.info("%s: token account %s is gone or not parsed; skipped", mint, entry.address)
            continue
        if entry.address in excluded:  # an excluded token account: its holder is left out
            excluded.add(owner)
        balances.append((owner, entry.amount_raw))
    owners = sorted({owner for owner, _ in balances})
    owner_accounts = await rpc.get_multiple_accounts(owners, encoding="base64", data_slice=(0, 0))
    excluded.update(
        info.pubkey
        for info in owner_accounts
        if info is not None and info.owner in exclusions.owner_programs
    )
    return holder_stats(supply.amount_raw, balances, excluded=excluded, creator=creator)
