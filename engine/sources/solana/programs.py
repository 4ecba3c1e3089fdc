"""Well-known Solana addresses the swap parser needs: quote mints, venues, routers, tip accounts.

Every id has a source a reader can check in ``shared/fixtures/solana`` (paths relative to it):
an IDL's ``address`` field, or a real transaction that invokes the program (fixture file and the
first characters of its signature). A name is a label only: the parser reads every venue the
same way (see ``engine.sources.solana.parser``). Programs with no source in the fixtures (GMGN,
Axiom, Trojan, BonkBot, BullX) are deliberately absent; their trades are read all the same and
labelled by the venue they call.
"""

from __future__ import annotations

from typing import Final

# --- quote mints. Native SOL has no mint; it is reported under the wrapped-SOL mint. ---------
# idl/pump.json account ``wsol_mint``; the quote mint of accounts/pumpswap_pool_*.json.
WSOL_MINT: Final = "So11111111111111111111111111111111111111112"
# token balances of getTransaction/jupiterAggregatorV6_sharedAccountsRoute_1.json (51SfoFAg…).
USDC_MINT: Final = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
# token balances of venues/jupiter_usdt_route_TyswJc.json (TyswJcg7…).
USDT_MINT: Final = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
QUOTE_MINTS: Final = frozenset({WSOL_MINT, USDC_MINT, USDT_MINT})

# --- infrastructure programs: they move assets, they are never a venue or a router ----------
SYSTEM_PROGRAM: Final = "11111111111111111111111111111111"
TOKEN_PROGRAM: Final = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 (a program id)
TOKEN_2022_PROGRAM: Final = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # noqa: S105 (a program id)
ATA_PROGRAM: Final = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
COMPUTE_BUDGET_PROGRAM: Final = "ComputeBudget111111111111111111111111111111"
INFRA_PROGRAMS: Final = frozenset(
    {SYSTEM_PROGRAM, TOKEN_PROGRAM, TOKEN_2022_PROGRAM, ATA_PROGRAM, COMPUTE_BUDGET_PROGRAM}
)

# --- names as stored in ``Trade.venue`` / ``Trade.router`` / ``Trade.program`` ---------------
PUMPFUN: Final = "pumpfun"
PUMPSWAP: Final = "pumpswap"
RAYDIUM_AMM_V4: Final = "raydium_amm_v4"
RAYDIUM_CPMM: Final = "raydium_cpmm"
RAYDIUM_CLMM: Final = "raydium_clmm"
RAYDIUM_LAUNCHLAB: Final = "raydium_launchlab"
METEORA_DLMM: Final = "meteora_dlmm"
METEORA_DAMM_V2: Final = "meteora_damm_v2"
METEORA_DBC: Final = "meteora_dbc"
ORCA_WHIRLPOOL: Final = "orca_whirlpool"
JUPITER_V6: Final = "jupiter_v6"
JUPITER_DCA: Final = "jupiter_dca"
JUPITER_LIMIT_V1: Final = "jupiter_limit_v1"
JUPITER_LIMIT_V2: Final = "jupiter_limit_v2"
OKX_DEX: Final = "okx_dex"
DFLOW: Final = "dflow"
RAYDIUM_ROUTING: Final = "raydium_routing"
PHOTON: Final = "photon"
MAESTRO: Final = "maestro"
BANANA_GUN: Final = "banana_gun"
BLOOM: Final = "bloom"
MINTECH: Final = "mintech"
PUMP_MAYHEM: Final = "pump_mayhem"
OTHER: Final = "other"

PUMPFUN_PROGRAM: Final = "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
PUMPSWAP_PROGRAM: Final = "pAMMBay6oceH9fJKBRHGP5D4bD4sWpmSwMn52FMfXEA"

# Venues: the programs that hold the liquidity (pool, curve) and settle the swap.
VENUE_PROGRAMS: Final[dict[str, str]] = {
    # idl/pump.json "address"; top-level in getTransaction/pumpfun_buy_0.json (4U8kypMu…).
    PUMPFUN_PROGRAM: PUMPFUN,
    # idl/pump_amm.json "address"; top-level in venues/pumpswap_sell_3QvhUB.json (3QvhUBMp…).
    PUMPSWAP_PROGRAM: PUMPSWAP,
    # getTransaction/raydiumLiquidityPoolV4_swap_0.json (3aQZsNRU…).
    "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8": RAYDIUM_AMM_V4,
    # venues/raydiumCpmm_swap_2DAFiT.json (2DAFiTzY…), SwapBaseInput.
    "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C": RAYDIUM_CPMM,
    # venues/raydiumClmm_swap_2TLZzA.json (2TLZzAYX…), venues/raydiumClmm_swapV2_2cd7QQ.json.
    "CAMMCzo5YL8w4VFF8KVHrK22GGUsp5VTaW7grrKgrWqK": RAYDIUM_CLMM,
    # venues/raydiumLaunchLab_initializeAndBuyExactIn_mqSGNw.json (mqSGNwKK…), BuyExactIn.
    "LanMV9sAd7wArD4vJFi2qDdfnVhFxYSUg6eADduJ3uj": RAYDIUM_LAUNCHLAB,
    # venues/meteoraDlmm_swap_5YYoBQ.json (5YYoBQXE…), getTransaction/OKXDEX_swap_1.json.
    "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo": METEORA_DLMM,
    # venues/meteoraDammV2_swap_3jZxVj.json (3jZxVjWD…).
    "cpamdpZCGKUy5JxQXB4dcpGPiikHawvSWAd6mEn1sGG": METEORA_DAMM_V2,
    # venues/mintech_meteoraDbc_4wqy6E.json (4wqy6ETL…), inner Swap.
    "dbcij3LWUppWqq96dh6gJWwBifmcGfLSB5D4DuSMaqN": METEORA_DBC,
    # venues/dflow_whirlpool_5TXPbA.json (5TXPbAPG…), venues/jupiter_orcaWhirlpool_4EmApv.json.
    "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc": ORCA_WHIRLPOOL,
}

# Routers, aggregators, trading bots and order keepers: they call a venue (or sit beside it at
# the top level) and may take a fee; a trade records the first of them as its ``router``.
ROUTER_PROGRAMS: Final[dict[str, str]] = {
    # getTransaction/jupiterAggregatorV6_Route_1.json (2NPwsoX7…).
    "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4": JUPITER_V6,
    # getTransaction/jupiterDca_openDcaV2_0.json (63hssgYb…); venues/jupiterDca_fill_4J3eXq.json.
    "DCA265Vj8a9CEuX1eb1LWRnDT7uK6q1xMipnNyatn23M": JUPITER_DCA,
    # venues/jupiterLimitOrderV1_cancelOrder_5W6X8W.json (5W6X8W6e…); v1 per SOURCES.md §A.
    "j1o2qRpjcyUwEvwtcfhEQefh773ZgjxcVRry7LDqg5X": JUPITER_LIMIT_V1,
    # venues/jupiterLimitOrderV2_cancelOrder_FHiJf5.json (FHiJf5rG…); v2 per SOURCES.md §A.
    "jupoNjAxXgZ4rjzxzPMP4oxduvQsQtZzyknqvzYNrNu": JUPITER_LIMIT_V2,
    # getTransaction/OKXDEX_swap_1.json (31ycbQtF…), venues/okxRouter_pumpswap_buy_2zNeSn.json.
    "6m2CDdhRgxpH4WjvdzxAYbGxwdGUz5MziiL5jek2kBma": OKX_DEX,
    # venues/dflow_whirlpool_5TXPbA.json (5TXPbAPG…), "DFlow swap transaction".
    "DF1ow4tspfHX9JwWJsAb9epbkA8hmpSEAtxXy1V27QBH": DFLOW,
    # ws/helius_transactionNotification_jsonParsed_10frames_…json frame #1 (Ci5f6shg…).
    "routeUGWgWzqBWFcrCfv8tritsqukccJPu3q5GPP3xS": RAYDIUM_ROUTING,
    # getTransaction/photon_pumpfun_buy_0.json (628Q5CDN…), venues/photon_pumpswap_UeaUs9.json.
    "BSfD6SHZigAfDWSjzD5Q41jw8LmKwtmjskPH9XW1mrRW": PHOTON,
    # venues/maestro_pumpfun_5w7YKJ.json (5w7YKJBT…), "maestro swap transaction".
    "MaestroAAe9ge5HTc64VbBQZ6fP77pwvrhM8i1XWSAx": MAESTRO,
    # venues/bananagun_pumpswap_5UF9X1.json (5UF9X1wb…), "bananagun swap transaction".
    "BANANAjs7FJiPQqJTGFzkZJndT9o7UmKiYYGaJz6frGu": BANANA_GUN,
    # venues/bloom_pumpswap_3f8wSL.json (3f8wSLzx…), "bloom swap transaction".
    "b1oomGGqPKGD6errbyfbVMBuzSC8WtAAYo8MwNafWW1": BLOOM,
    # venues/mintech_meteoraDbc_4wqy6E.json (4wqy6ETL…), "mintech swap transaction".
    "minTcHYRLVPubRK8nt6sqe2ZpWrGDLQoNLipDJCGocY": MINTECH,
    # idl/pump.json account ``mayhem_program_id``; top-level in
    # venues/router_pumpfun_buy_jitoTip_53fG8S.json (53fG8Sh9…).
    "MAyhSmzXzV1pTf7LsNkrNwkWKTo4ougAJ1PPg47MD4e": PUMP_MAYHEM,
}

# Order keepers: their fills are signed by a keeper and belong to the order's owner, whose
# order account (a program-owned PDA) holds the input (venues/jupiterDca_fill_4J3eXq.json).
KEEPER_PROGRAMS: Final = frozenset(
    {
        "DCA265Vj8a9CEuX1eb1LWRnDT7uK6q1xMipnNyatn23M",
        "j1o2qRpjcyUwEvwtcfhEQefh773ZgjxcVRry7LDqg5X",
        "jupoNjAxXgZ4rjzxzPMP4oxduvQsQtZzyknqvzYNrNu",
    }
)

# Jito tip accounts: each is the destination of a system transfer from the fee payer in the
# fixture named (SOURCES.md: "Jito tip account present"). Two other tip accounts of Jito's list
# appear in no fixture and are left out; other tip services (bloXroute, Temporal) have no
# source in the fixtures, so their transfers count as router/bot fees.
TIP_ACCOUNTS: Final = frozenset(
    {
        "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",  # venues/pumpswap_sell_3QvhUB.json
        "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",  # venues/pumpswap_buy_59GXCx.json
        "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",  # raydiumLiquidityPoolV4_swap_2.json
        "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",  # getTransaction/pumpfun_buy_0.json
        "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",  # venues/jupiter_usdt_route_TyswJc.json
        "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",  # venues/pumpfun_sell_jitoTip_trjspF.json
    }
)

# Lamports of the base network fee per signature (every fixture: meta.fee = 5000 x signatures
# + the priority fee, e.g. source_parses/pumpswap_sell_3QvhUB…: 1255000 = 5000 + 1250000).
LAMPORTS_PER_SIGNATURE: Final = 5000
