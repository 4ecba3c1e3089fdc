"""Well-known Solana addresses the swap parser needs: quote mints and routing programs.

Program ids come from the programs' public deployments; the OKX DEX router and the Photon
program ids were read from the real transactions in ``shared/fixtures/solana/getTransaction``
(``OKXDEX_*.json`` call ``6m2CDdhR…``, ``photon_*.json`` call ``BSfD6SHZ…`` at the top level).
"""

from __future__ import annotations

from typing import Final

# Quote mints. Native SOL has no mint; it is reported under the wrapped-SOL mint.
WSOL_MINT: Final = "So11111111111111111111111111111111111111112"
USDC_MINT: Final = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDT_MINT: Final = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY2oNqhZpGbDtPcb"
QUOTE_MINTS: Final = frozenset({WSOL_MINT, USDC_MINT, USDT_MINT})

# Program names as stored in ``Trade.program``.
PUMPFUN: Final = "pumpfun"
PUMPSWAP: Final = "pumpswap"
RAYDIUM_AMM_V4: Final = "raydium_amm_v4"
JUPITER_V6: Final = "jupiter_v6"
OKX_DEX: Final = "okx_dex"
PHOTON: Final = "photon"
OTHER: Final = "other"

# Aggregators and trading routers: when one appears it names the trade, even though it calls
# an AMM below it.
ROUTER_PROGRAMS: Final[dict[str, str]] = {
    "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4": JUPITER_V6,
    "6m2CDdhRgxpH4WjvdzxAYbGxwdGUz5MziiL5jek2kBma": OKX_DEX,
    "BSfD6SHZigAfDWSjzD5Q41jw8LmKwtmjskPH9XW1mrRW": PHOTON,
}

# Venues that hold the liquidity.
AMM_PROGRAMS: Final[dict[str, str]] = {
    "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P": PUMPFUN,
    "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA": PUMPSWAP,
    "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8": RAYDIUM_AMM_V4,
}
