"""The swap parser on the venue fixtures (venues/*.json: jowency wrappers with base64 wire
transactions, solana-swap-scan bare results, agavesim envelopes) and on the Helius
``transactionNotification`` frames in ws/.

Every number was derived by hand from the payload, not from the parser: the wallet's and the
pool's token-balance changes by owner (/tmp/work/owners.py-style), the transfers of the
instruction tree, and the venue's own event where it has one (PumpSwap Buy/SellEvent and
pump.fun TradeEvent decoded per idl/pump_amm.json and idl/pump.json). Each value matches the
research table (issue 10, section 2.2) unless a comment says why not. ``network`` is
5000 x signatures, ``priority`` is ``meta.fee`` minus that; ``tips`` go to Jito tip accounts;
``router`` fees are other lamports paid to a router's or bot's account; ``rent`` is lamports
left in accounts created in the transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest

from engine.sources.solana import (
    ParsedTrade,
    load_transactions,
    parse_payload_bytes,
    parse_transaction,
)
from tests.paths import SOLANA_FIXTURES

VENUES = SOLANA_FIXTURES / "venues"
WS = SOLANA_FIXTURES / "ws"
FRAMES = WS / "helius_transactionNotification_jsonParsed_10frames_raydiumV4_swaps.concatenated.json"

WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"


class T(NamedTuple):
    wallet: str
    side: str
    mint: str
    token_amount_raw: int
    quote_mint: str
    quote_amount_raw: int
    venue_fees: dict[str, int]
    network: int
    priority: int
    tips: int
    router_fees: int
    rent: int
    other_fees: tuple[tuple[str, str, int], ...]
    venue: str
    router: str | None


def got(trade: ParsedTrade) -> T:
    return T(
        trade.wallet,
        trade.side,
        trade.mint,
        trade.token_amount_raw,
        trade.quote_mint,
        trade.quote_amount_raw,
        trade.venue_fees,
        trade.network_fee,
        trade.priority_fee,
        trade.tips,
        trade.router_fees,
        trade.rent,
        trade.other_fees,
        trade.venue,
        trade.router,
    )


def trades_of(path: Any, wallet: str | None = None) -> list[T]:
    return [got(t) for t in parse_payload_bytes(path.read_bytes(), wallet)]


# The fee payer's trades in each venues/ file (an empty list: no trade, and why).
# fmt: off
VENUE_TRADES: dict[str, list[T]] = {
    # SellEvent (cpi 3): quote_amount_out 208735589, lp_fee 417472, protocol_fee 104368,
    # coin_creator_fee 0, cashback 1982989 (95 bps); the pool paid 206230760 to the wallet's
    # WSOL account (= user_quote_amount_out), 104368 to JCRGum's and the cashback 1982989 to
    # 7fuHoZ's. meta.fee 100000 = 5000 + 95000; Banana Gun (BANANAjs top-level) sends
    # 2062307 lamports to 36ZCrKd6. Wallet lamports +204068453 = 206230760 - 100000 - 2062307.
    "bananagun_pumpswap_5UF9X1.json": [
        T("7icYz9gzLUm2y2aHEyMGddKKN5idLbFLnThYAkxqJnPM", "sell",
          "GUfyGEF62BUUqj5f5PveZknhBQMWWFSXm2jqAdikpump", 169054631837, WSOL, 208735589,
          {"lp": 417472, "protocol": 104368, "creator": 0, "cashback": 1982989},
          5000, 95000, 0, 2062307, 0, (), "pumpswap", "banana_gun"),
    ],
    # BuyEvent (ix buy_exact_quote_in): 494559841 + lp 989120 + protocol 247280 + creator
    # 4203759 = 500000000; pool vault AdhxCL +495548961 = 494559841 + lp. Wallet lamports
    # -513274080 = 500000000 + fee 1000000 (5000 + 995000) + Bloom 5200000 -> 7HeD6sLL
    # + 5000000 -> nozxNBgW (not a Jito account: counted with the bot fees) + rent 2074080
    # left in its new Hc2CZz token account 6xTARh.
    "bloom_pumpswap_3f8wSL.json": [
        T("8NTAL7YTB2f18rzbicdoy8EV1pU6bEgmHahUPWtvh5nM", "buy",
          "Hc2CZzfiuBuSjTg6mpUByHVryy5e4yu8L7L4vtppump", 139189999037, WSOL, 494559841,
          {"lp": 989120, "protocol": 247280, "creator": 4203759},
          5000, 995000, 0, 10200000, 2074080, (), "pumpswap", "bloom"),
    ],
    # DFlow wraps 100000000 into the wallet's WSOL account DTJUPt, sends 810000 of it to
    # 2rbMgYvz's account 595S5w (inside DFlow's own invocation: its fee), and the Whirlpool
    # vault DUF7Qv receives 99190000. meta.fee 5321 = 5000 + 321.
    "dflow_whirlpool_5TXPbA.json": [
        T("AoixKyowYzhuoKUq8GKNHMik7e2maZa8oCFF6yTgSmFZ", "buy",
          "HZ1JovNiVvGrGNiiYvEozEVgZ58xaU3RKwX8eACQBCt3", 174361223, WSOL, 99190000,
          {}, 5000, 321, 0, 810000, 0, (), "orca_whirlpool", "dflow"),
    ],
    # Signed by the keeper JD25qVdt: the trade is the DCA owner's (tested below).
    "jupiterDca_fill_4J3eXq.json": [],
    # Cancels: USDC 1468692707 / TNSR 420000000000 refunded, nothing exchanged.
    "jupiterLimitOrderV1_cancelOrder_5W6X8W.json": [],
    "jupiterLimitOrderV2_cancelOrder_FHiJf5.json": [],
    # A circular USDC -> JupUSD -> 27G8Mt -> SOL -> USDC arbitrage (+2395 USDC): every leg is
    # quote for quote or an intermediate the wallet ends without; no trade.
    "jupiter_orcaWhirlpool_4EmApv.json": [],
    # LaunchLab SellExactIn: the pool vault paid 3791454 WSOL, 3761047 reached the wallet,
    # 28507 -> 56XVRVAs and 1900 -> 9sHpTfmV (LaunchLab's fee accounts: 30407 venue fees).
    # meta.fee 505000 = 5000 + 500000.
    "jupiter_raydiumLaunchLab_3s8VMV.json": [
        T("6r1P4fWTGsK71xvaYG1PK5Kfcj2buP4MW2vFgkTXKA9M", "sell",
          "9hagXq16LZMT3DmCf16S7npUaxESZpsHdKkWUQab3ray", 20261126631, WSOL, 3791454,
          {"venue": 30407}, 5000, 500000, 0, 0, 0, (), "raydium_launchlab", "jupiter_v6"),
    ],
    # SellEvent: quote_amount_out 124783773, lp 249568, protocol 62392, creator 374352; the
    # pool paid 124097461 to the wallet's WSOL account, which forwarded all of it to 9H6tua7j
    # (WSOL -> USDC 10838782), then MNFSTq (USDC -> USDT 10833254): both forwarded legs are
    # the route's, not fees. Jupiter's platform fee: 162498 USDT -> FMVHP1xw's account
    # (wallet USDT +10670756 = 10833254 - 162498). meta.fee 610000 = 2 x 5000 + 600000.
    "jupiter_usdt_pumpswap_UnpVKh.json": [
        T("D6GV79d1zB9JfQ3pHbXzvFUojkp4LBKYnx4zF4VBDjox", "sell",
          "2pFFgMtw7GkE6Kr6Xpg81mqDvEihhoafg64HdheKpump", 2432874000, WSOL, 124783773,
          {"lp": 249568, "protocol": 62392, "creator": 374352},
          10000, 600000, 0, 0, 0, (("router", USDT, 162498),), "pumpswap", "jupiter_v6"),
    ],
    # USDT 63669500 -> JupUSD -> USDC 63701771: quote for quote, no token; Jito tip 1100.
    "jupiter_usdt_route_TyswJc.json": [],
    # TradeEvent (283 bytes): sol_amount 794648607, fee 7549162 (95 bps), creator_fee 0.
    # Wallet lamports +774223450 = 794648607 - 7549162 - fee 5000 - Maestro 7870994
    # (-> MaestroUL88) - 5000001 (-> Astran35).
    "maestro_pumpfun_5w7YKJ.json": [
        T("GcQEREo3Tg1AAdzGp4tD3bzxue8QCAcs79s7Jyqhf6G2", "sell",
          "DFcWNX7eoQarpduYpjHaBDk5QhXaecnDCmkBhTmxpump", 5278858153234, WSOL, 794648607,
          {"protocol": 7549162, "creator": 0}, 5000, 0, 0, 12870995, 0, (), "pumpfun",
          "maestro"),
    ],
    # Pool WSOL vault +637326372; wallet lamports -637331523 = that + fee 5151 (5000 + 151).
    "meteoraDammV2_swap_3jZxVj.json": [
        T("HGvWwk2to7MrrSsihsHh6vRTaFVUYq8Y1JcyXU1rdqNw", "buy",
          "F9F3bKpvdaXgTYW43gvVcY6X5ds3yCGvyXfNdFQ76ZkJ", 6730447370930, WSOL, 637326372,
          {}, 5000, 151, 0, 0, 0, (), "meteora_damm_v2", None),
    ],
    # Two signers; the fee payer buys (pool +6768128530; lamports -6768140230 = that + fee
    # 11700 = 2 x 5000 + 1700). The second signer's sell is tested below.
    "meteoraDammV2_twoSwaps_2drUaX.json": [
        T("68JB6KNa7ognSGgN4JuHbVusYJxakMq7TRvEp3r1yqQS", "buy",
          "EhdHd1ma9zPdy5uz1iBv8sJsRAQjNt4JJsbLL4DDS75k", 10284665347857, WSOL, 6768128530,
          {}, 10000, 1700, 0, 0, 0, (), "meteora_damm_v2", None),
    ],
    # Failed (meta.err InstructionError [3, Custom 666]): only the fee moved.
    "meteoraDlmm_swap_5YYoBQ.json": [],
    # Sells 2431999 E1stSPsU for USD1 2 raw: USD1 is not a quote mint here.
    "mintech_meteoraDbc_4wqy6E.json": [],
    # BuyEvent: quote_amount_in 3608391, lp 7217, protocol 1805, creator 34280 (event user is
    # OKX's HV1KXxWF, not the wallet). Wallet lamports -5959630 = 3651693 (3608391 + the three
    # fees) + fee 37351 (5000 + 32351) + 200000 -> CyL8mfyc + 31305 -> 8ckLnP69 + rent 2039280
    # of its new token account DybuCH + 1 lamport left in OKX's WSOL account 2rikd7.
    "okxRouter_pumpswap_buy_2zNeSn.json": [
        T("G2341KGbNxuSAfCfqNuPhfLQtPB94hPfgyVPC89Faor4", "buy",
          "8k1DvnFBsbuWJw2t4JqTibR7cAgqadMveqiykMr1pump", 4374143343, WSOL, 3608391,
          {"lp": 7217, "protocol": 1805, "creator": 34280}, 5000, 32351, 0, 231305, 2039280,
          (), "pumpswap", "okx_dex"),
    ],
    # USDC 3751372 from the wallet into Raydium v4, which paid 44771532 WSOL to OKX's 2rikd7;
    # PumpSwap BuyEvent (buy_exact_quote_in): 44504503 + lp 89010 + protocol 22253 + creator
    # 155766 = 44771532. The USDC is forwarded along the route, not a fee; 200000 lamports
    # -> 4TQLFNWK at the top level is. meta.fee 5240 = 5000 + 240.
    "okxRouter_raydiumV4_pumpswap_JaVG5S.json": [
        T("3VM82rP993eArmKGY1J3dxZctHqmSndvuvw7Mzto67Kn", "buy",
          "ACtfUWtgvaXrQGNMiohTusi5jcx5RJf5zwu9aAxkpump", 995579517, WSOL, 44504503,
          {"lp": 89010, "protocol": 22253, "creator": 155766}, 5000, 240, 0, 200000, 0, (),
          "pumpswap", "okx_dex"),
    ],
    # SellEvent: quote_amount_out 1670778212, lp 334156 (2 bps), protocol 15538238 (93 bps),
    # creator 5012335; user_quote_amount_out 1649893483. Wallet +1633189549 = 1649893483 - fee
    # 105000 - Photon CollectFee 16498934 (-> AVUCZyuT) - 100000 (-> 7J7fe1H9).
    "photon_pumpswap_UeaUs9.json": [
        T("DGXengUJiFaTVRcpavPJK7vcRVUoSSvhhuuxstLprDBt", "sell",
          "3oQE6aocp6z4dBaeUp5ed5iGG5tLotMZxiALxb7zpump", 4292995878271, WSOL, 1670778212,
          {"lp": 334156, "protocol": 15538238, "creator": 5012335}, 5000, 100000, 0,
          16598934, 0, (), "pumpswap", "photon"),
    ],
    # A pump Migrate first, then Photon -> PumpSwap. SellEvent: quote_amount_out 3538673901,
    # lp 7077348, protocol 1769337, creator 1769337 (net 3528057879). Wallet +3432772301 =
    # 3528057879 - fee 30005000 - Photon 35280578 - 30000000 (-> BNvSMmg7).
    "photon_pumpswap_sell_withPumpMigrate_5dnX6d.json": [
        T("4ceopHPgw9wATNvAMnDdekQoLtRxs4ELvq4FAdMA8UQq", "sell",
          "Exms4qnKb7GtnPXom1Z4fWn1MnyX46jkcmAy3RWxpump", 8459930498924, WSOL, 3538673901,
          {"lp": 7077348, "protocol": 1769337, "creator": 1769337}, 5000, 30000000, 0,
          65280578, 0, (), "pumpswap", "photon"),
    ],
    # A migration (CreatePoolEvent), not a trade.
    "pumpfun_migrateToPumpswap_5gp7yz.json": [],
    # TradeEvent (225 bytes): sol_amount 62636785, fee 595050, creator_fee 31319. Wallet
    # +61789075 = 62636785 - 595050 - 31319 - fee 5000 - Jito tip 216341 (-> 3AVi9Tg9).
    "pumpfun_sell_jitoTip_trjspF.json": [
        T("G9yQLYTDiKY3zDu8FBCrEhrAUAQAXV7UFV5wPUBbgNck", "sell",
          "3cbRjHtNmGkzUvKT2Hia6pqeUB9S7XGNKZvG7mpP2drF", 947132252233, WSOL, 62636785,
          {"protocol": 595050, "creator": 31319}, 5000, 0, 216341, 0, 0, (), "pumpfun", None),
    ],
    # BuyEvent (ix buy): quote_amount_in 456722759 + lp 913446 + protocol 228362 + creator
    # 228362 = user_quote_amount_in 458092929. Wallet -458153179 = that + fee 5250 (5000
    # + 250) + Jito 55000 (-> ADaUMid9). No slot/blockTime in this file.
    "pumpswap_buy_59GXCx.json": [
        T("D9DSc7v7cFzfTjY6ggwozp8yKYcryzNxkryvd7i6V2Wk", "buy",
          "npB9cxTzwUiGt7jk2dXZa52xZve8SgVD6Et9Bpipump", 1806759473, WSOL, 456722759,
          {"lp": 913446, "protocol": 228362, "creator": 228362}, 5000, 250, 55000, 0, 0, (),
          "pumpswap", None),
    ],
    # Pool base = WSOL: the instruction is Buy, the wallet sells the token; base_amount_out
    # 201692493 WSOL, wallet +201687493 = that - fee 5000. The venue fees are in the token
    # (lp 1168829204129, protocol 233765840826): ``venue_fees`` holds the quote mint only, so
    # none are itemised here (see the report of issue 10).
    "pumpswap_buy_5bvyp1.json": [
        T("95rVs91daKmzom4SM41dg4MRmy5M7rMEHPerenZwWaCq", "sell",
          "EWV6bjhKF5zkXANCdWPvDs7dofRVk4pKyVTitqgEWj8E", 468934276696458, WSOL, 201692493,
          {}, 5000, 0, 0, 0, 0, (), "pumpswap", None),
    ],
    # Inverted pool again; the fee payer buys: base_amount_in 14939957472 WSOL, wallet
    # -14939972472 = that + fee 15000 (2 x 5000 + 5000). The second signer: below.
    "pumpswap_sellThenBuy_twoSwaps_gauADR.json": [
        T("35f43Y1q1EQuKPrDSN4KCuFCdR3oV8ahC4LxyRLYumsA", "buy",
          "2Dg6nRk3m9QfFS7TvLwgkfzTbzfbyErHt2aXym1Z8Gxy", 4805881562093, WSOL, 14939957472,
          {}, 10000, 5000, 0, 0, 0, (), "pumpswap", None),
    ],
    # Field by field in test_source_truth_pumpswap_sell below.
    "pumpswap_sell_3QvhUB.json": [
        T("DULT2ijn8FaUagyqTCbuidDiADUxXK9aJV1Ghi6EfhE5", "sell",
          "GhhhWpvhigZBt17qrehiwtoJNfkBuV9TaqaouWugpump", 1815370392047, WSOL, 2073260496,
          {"lp": 4146521, "protocol": 1036631, "creator": 1036631}, 5000, 1250000, 10000000,
          0, 0, (), "pumpswap", None),
    ],
    # CLMM SwapV2: pool +300000000 WSOL; wallet -300006500 = that + fee 6500 (5000 + 1500).
    "raydiumClmm_swapV2_2cd7QQ.json": [
        T("98QXkwe6DThTsTq7tukKF4g9Wc6WnRbZyTBZ1iBupY39", "buy",
          "7eR1yv7pUzhaqQneKJ2fmVTRuzY61ja5KwfbBrLsq1Gu", 807769528641, WSOL, 300000000,
          {}, 5000, 1500, 0, 0, 0, (), "raydium_clmm", None),
    ],
    # CLMM Swap: pool +1393314845; wallet -1393324845 = that + fee 10000 (5000 + 5000).
    "raydiumClmm_swap_2TLZzA.json": [
        T("AeBuVwhJkEbi2Wt4hbGACjrVahKUUwRKmP1CQHeMjwTS", "buy",
          "9216EVKKLoYFyCZGkQgUDiQAvynz85Nb56vGXpbT5Qkk", 405523564062, WSOL, 1393314845,
          {}, 5000, 5000, 0, 0, 0, (), "raydium_clmm", None),
    ],
    # CPMM SwapBaseInput of a Token-2022 mint: the wallet sent 24139725097425 (the pool got
    # 23335872251680, the rest is the mint's transfer fee); pool paid 5667226, wallet
    # +5662226 = that - fee 5000.
    "raydiumCpmm_swap_2DAFiT.json": [
        T("9Xi8kDLnfd8nWHXHWV7crFe1FmYR1uQtEnsHHPqXDU23", "sell",
          "92Wc1qXtTYoLLVqYZL53Py5dh2gjUPG4o3qd4fcmNrSE", 24139725097425, WSOL, 5667226,
          {}, 5000, 0, 0, 0, 0, (), "raydium_cpmm", None),
    ],
    # Initialize + BuyExactIn: 1000000000 into the vault FY85Bx (owner WLHv2UAZ). Rent:
    # LaunchLab's CreateAccounts 3876720 + 1461600 + 2039280 + 2039280, Metaplex metadata
    # 15115600 (-> empty RPq6JTsC), the wallet's token account 2039280 = 26571760. Wallet
    # lamports -1026591761 = 1000000000 + fee 20001 (2 x 5000 + 10001) + 26571760.
    "raydiumLaunchLab_initializeAndBuyExactIn_mqSGNw.json": [
        T("FeGbW3kbwQnV42hxUAFfbupVzDU5sKhcHswvtRbrYpn5", "buy",
          "AqFe2tk1BRx6czUuRPGUZ8mtvcBGDZYsG6oPvELwzray", 96087352138307, WSOL, 1000000000,
          {}, 10000, 10001, 0, 0, 26571760, (), "raydium_launchlab", None),
    ],
    # The fee payer Gygj9QQb only pays; the trader is the Mayhem vault (tested below).
    "router_pumpfun_buy_jitoTip_53fG8S.json": [],
}
# fmt: on


def test_every_venue_fixture_is_listed() -> None:
    assert sorted(p.name for p in VENUES.glob("*.json")) == sorted(VENUE_TRADES)


@pytest.mark.parametrize("name", sorted(VENUE_TRADES))
def test_venue_fixture(name: str) -> None:
    assert trades_of(VENUES / name) == VENUE_TRADES[name]


# --- trades of a wallet other than the fee payer -------------------------------------------


def test_dca_fill_is_the_owners_sell() -> None:
    # Keeper JD25qVdt moves 1000000000 A7bdiY out of the DCA account A1rgod8r's token account,
    # sells it at three prop AMMs in one Jupiter instruction: ZERor4xh 70000000 -> 233338839
    # USDC, AQU1FRd7 300000000 -> 1000064770, goonuddt 630000000 -> 2099437804; 233338839
    # + 1000064770 + 2099437804 = 3332841413 into the DCA's USDC account. DCA fee 3332841 ->
    # Cm1HrFkb, owner HPZPTb receives 3329508572 = 3332841413 - 3332841. The keeper pays the
    # 44722 fee: the owner has no network fee. The prop AMMs have no name here ("other").
    owner = "HPZPTbCwN3mRFKCEtcgtGzCCAUpzFzJ4EVdpiqSz7Yic"
    # fmt: off
    assert trades_of(VENUES / "jupiterDca_fill_4J3eXq.json", owner) == [
        T(owner, "sell", "A7bdiYdS5GjqGFtxf17ppRHtDKPkkRqbKtR27dxvQXaS", 1000000000, USDC,
          3332841413, {}, 0, 0, 0, 0, 0, (("router", USDC, 3332841),), "other", "jupiter_dca"),
    ]
    # fmt: on
    keeper = "JD25qVdtd65FoiXNmR89JjmoJdYk9sjYQeSTZAALFiMy"
    assert trades_of(VENUES / "jupiterDca_fill_4J3eXq.json", keeper) == []


def test_second_signers_and_non_signer_traders() -> None:
    # gauADR: base_amount_out 14785084951 WSOL to 4reQun for 4784285004634 token (fees in
    # token: not itemised); it paid no fee. 2drUaX: pool paid 7095970889 for 10793027507021.
    # 53fG8S: TradeEvent sol_amount 59144058 from the Mayhem vault BwWK17cb, fee 0 (mayhem).
    # fmt: off
    cases = [
        ("pumpswap_sellThenBuy_twoSwaps_gauADR.json",
         T("4reQunzDAHq7nttuigPPpmeuntKnaUoBj5dUfRCcBSsB", "sell",
           "2Dg6nRk3m9QfFS7TvLwgkfzTbzfbyErHt2aXym1Z8Gxy", 4784285004634, WSOL, 14785084951,
           {}, 0, 0, 0, 0, 0, (), "pumpswap", None)),
        ("meteoraDammV2_twoSwaps_2drUaX.json",
         T("JB2wzKZQFxCTMDZmkv9KmmWe6PfT3MgXdG5vP4AZhcG6", "sell",
           "EhdHd1ma9zPdy5uz1iBv8sJsRAQjNt4JJsbLL4DDS75k", 10793027507021, WSOL, 7095970889,
           {}, 0, 0, 0, 0, 0, (), "meteora_damm_v2", None)),
        ("router_pumpfun_buy_jitoTip_53fG8S.json",
         T("BwWK17cbHxwWBKZkUYvzxLcNQ1YVyaFezduWbtm2de6s", "buy",
           "ATdwsy2DHRyPQ36cyCyrs6aSV8NK2wB7T84EPJmxpump", 3645806451444, WSOL, 59144058,
           {"protocol": 0, "creator": 0}, 0, 0, 0, 0, 0, (), "pumpfun", "pump_mayhem")),
    ]
    # fmt: on
    for name, expected in cases:
        assert trades_of(VENUES / name, expected.wallet) == [expected]


def test_token_2022_transfer_fee_buy_is_what_the_account_received() -> None:
    # 2DAFiT seen from the CPMM authority GpMZbSM2 (the wallet sold it 92Wc1q…, a Token-2022
    # mint with a transfer fee): its vault 8uyedu9o went 7232881491367169 -> 7256217363618849
    # = +23335872251680 of the 24139725097425 sent (the mint withheld 803852845745), and its
    # WSOL vault 9GT7u5Cj -5667226. No fixture has an ordinary wallet buying such a token.
    # fmt: off
    expected = T("GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL", "buy",
                 "92Wc1qXtTYoLLVqYZL53Py5dh2gjUPG4o3qd4fcmNrSE", 23335872251680, WSOL, 5667226,
                 {}, 0, 0, 0, 0, 0, (), "raydium_cpmm", None)
    # fmt: on
    assert trades_of(VENUES / "raydiumCpmm_swap_2DAFiT.json", expected.wallet) == [expected]


# --- the one source-truth parse ------------------------------------------------------------


def test_source_truth_pumpswap_sell() -> None:
    """source_parses/pumpswap_sell_3QvhUB.solana-swap-scan_DexParser.json, field by field.
    Its ``outputToken.amountRaw`` 2068077344 is userQuoteAmountOut 2067040713 + protocolFee
    1036631: neither the venue's price nor the wallet's net, so the trade records the
    SellEvent's quoteAmountOut 2073260496 and the fees beside it."""
    source = json.loads(
        (
            SOLANA_FIXTURES
            / "source_parses"
            / "pumpswap_sell_3QvhUB.solana-swap-scan_DexParser.json"
        ).read_bytes()
    )
    (trade,) = parse_payload_bytes((VENUES / "pumpswap_sell_3QvhUB.json").read_bytes())
    (src,) = source["trades"]
    sell_event = source["moreEvents"]["Pumpswap"][0]["data"]
    assert trade.signature == src["signature"]
    assert trade.wallet == src["user"] == "DULT2ijn8FaUagyqTCbuidDiADUxXK9aJV1Ghi6EfhE5"
    assert trade.side == "sell" == src["type"].lower()
    assert trade.mint == src["inputToken"]["mint"]
    assert trade.token_amount_raw == int(src["inputToken"]["amountRaw"]) == 1815370392047
    assert trade.decimals == src["inputToken"]["decimals"] == 6
    assert trade.quote_mint == src["outputToken"]["mint"] == WSOL
    assert int(src["outputToken"]["amountRaw"]) == 2067040713 + 1036631
    assert trade.quote_amount_raw == int(sell_event["quoteAmountOut"]) == 2073260496
    assert (
        trade.venue_fees
        == {
            "lp": int(sell_event["lpFee"]),
            "protocol": int(sell_event["protocolFee"]),
            "creator": int(sell_event["coinCreatorFee"]),
        }
        == {"lp": 4146521, "protocol": 1036631, "creator": 1036631}
    )
    assert int(src["fee"]["amountRaw"]) == trade.venue_fees["protocol"]
    # quote_amount_out - lp - protocol - creator = userQuoteAmountOut, the wallet's WSOL +.
    assert trade.quote_amount_raw - sum(trade.venue_fees.values()) == int(
        sell_event["userQuoteAmountOut"]
    )
    assert trade.fee_lamports == int(source["fee"]["amount"]) == 1255000
    assert (trade.network_fee, trade.priority_fee) == (5000, 1250000)
    # solBalanceChange -11255000 = -fee 1255000 - Jito tip 10000000 (-> 96gYZGLn).
    change = int(source["solBalanceChange"]["change"]["amount"])
    assert change == -trade.fee_lamports - trade.tips == -11255000
    assert (trade.tips, trade.router_fees, trade.rent, trade.other_fees) == (10000000, 0, 0, ())
    assert (trade.venue, trade.router, trade.program) == ("pumpswap", None, "pumpswap")
    assert (trade.slot, trade.block_time, trade.swap_index) == (None, None, 0)


# --- ws/: Helius transactionNotification frames ---------------------------------------------

# Frames of the concatenated file, in order (jsonParsed, slot 308454032, no blockTime). Every
# swap is at Raydium v4; wallet = fee payer; the quote is the pool's WSOL vault change.
# fmt: off
FRAME_TRADES: list[T] = [
    # #0: pool +100000000; fee 7505001; 1000000 -> 9yMwSPk9 (Trojan's fee account, ext.).
    T("6sDY4GkAotY2wfMwxHyqkNQtsVevtU19YMzzRMeDTjho", "buy",
      "6YEhGNEJitUMARvy38BH2Z6gjtQTEMtnHq7NJcjbpump", 30963644580, WSOL, 100000000,
      {}, 5000, 7500001, 0, 1000000, 0, (), "raydium_amm_v4", None),
    # #1: through routeUGW (Raydium routing): pool -15609936162; fee 4005001.
    T("4FortT8cqCQudnxBXbaLmuGUjXPTk2w2ZZrwVz4rTBns", "sell",
      "HsNx7RirehVMy54xnFtcgCBPDMrwNnJKykageqdWpump", 460535925998, WSOL, 15609936162,
      {}, 5000, 4000001, 0, 0, 0, (), "raydium_amm_v4", "raydium_routing"),
    # #2: pool -56033717; wallet +50468380 = that - fee 5005000 - 560337 WSOL -> ZG98FUCj
    # (BonkBot's fee account, ext., sent inside CxvksNjw's PostTokenSwap). The 1057920 that
    # CxvksNjw put into DiKTVD came back when it closed it: no rent.
    T("HC3tzK1Vb3DPZtgtdcRybeCKU6ddkSVZLBojxdcL6skv", "sell",
      "bF2bieBQEBvgQpUVzJUtfC2QJ6rAyJKmzxhwjwypump", 26403150569, WSOL, 56033717,
      {}, 5000, 5000000, 0, 560337, 0, (), "raydium_amm_v4", None),
    # #3: routeUGW; pool +15000000000; wallet -15005044281 = that + fee 3005001 + rent 2039280.
    T("FUC1Pa8zVdWeuHoHegFfv2DRmBA5Dzmg4JEJQ3G9ZTKY", "buy",
      "6ogzHhzdrQr9Pgv6hZ2MNze7UrzBMAFyBBWUYp1Fhitx", 43213207861, WSOL, 15000000000,
      {}, 5000, 3000001, 0, 0, 2039280, (), "raydium_amm_v4", "raydium_routing"),
    # #4: token -> WSOL -> token in one routeUGW instruction: pool 5FjfKt paid 74924914 WSOL
    # into the wallet's WSOL account Eui9a4 for 252006264295 7tTMQN, which paid the same
    # 74924914 into pool 78Qq4y for 1115250260749 6EXCmH: two trades, one per pool, as for
    # getTransaction/OKXDEX_swap_0 (the research table lists "none (token<->token)"). Fee
    # 3005001 on the first; the 2039280 WSOL account is created and closed (no rent).
    T("GxqAGVpWTqPE5X5FdkP83HHwYRUHbhnNbJcceDys7bGt", "sell",
      "7tTMQNtJ8X1RFPy9CBeggVWvJk6DHk6HNvecr5Ndpump", 252006264295, WSOL, 74924914,
      {}, 5000, 3000001, 0, 0, 0, (), "raydium_amm_v4", "raydium_routing"),
    T("GxqAGVpWTqPE5X5FdkP83HHwYRUHbhnNbJcceDys7bGt", "buy",
      "6EXCmHZeCcspoLFFpbiwXBtAiPz6rNqydMncVnDhpump", 1115250260749, WSOL, 74924914,
      {}, 0, 0, 0, 0, 0, (), "raydium_amm_v4", "raydium_routing"),
    # #5: Jupiter -> Raydium v4: pool -964248099; fee 3309016; 1000000 -> botw1AHJ.
    T("GHa33oDG4yioeufqZkPUrbpYM5Vkb8pZFPaReZGRgd3w", "sell",
      "FVdo7CDJarhYoH6McyTFqx71EtzCPViinvdd1v86Qmy5", 11288441160, WSOL, 964248099,
      {}, 5000, 3304016, 0, 1000000, 0, (), "raydium_amm_v4", "jupiter_v6"),
    # #6: pool +194231121; fee 5000; Jito tip 800000 -> ADuUkR4v.
    T("DxEyMGDat253hpcvTxdJcRLT7VRRetEX8eqPGzgQGWc7", "buy",
      "Fj7qoqGJ7QSoPWNWcZag58AwCbHXgxzKHAwfiefHpump", 181542520507, WSOL, 194231121,
      {}, 5000, 0, 800000, 0, 0, (), "raydium_amm_v4", None),
    # #7: pool +500000000; fee 305001; 4500000 -> 9yMwSPk9 (Trojan, ext.).
    T("8hnZamLJMaHYzTXGxWTEGUnyCXkjdtTV3EQ4JWaUwzGF", "buy",
      "HhUVkZ1qz8vfMqZDemLyxBFxrHFKVSYAk7a6227Lpump", 7971544451, WSOL, 500000000,
      {}, 5000, 300001, 0, 4500000, 0, (), "raydium_amm_v4", None),
    # #8: Jupiter -> Raydium v4: pool +1000000000; fee 5000.
    T("8coMTgNPaW2xxCrwWVbyhZUt7YGBqg4aQfwqxuFo8Hka", "buy",
      "BvEfgDRxzWqhudTJ6tHtEywpAyFDU8xc8czUsAf9pump", 672804173207, WSOL, 1000000000,
      {}, 5000, 0, 0, 0, 0, (), "raydium_amm_v4", "jupiter_v6"),
    # #9: pool -3684657266; fee 22543 = 5000 + ceil(29238 x 600000 / 1e6) (default CU limit).
    T("6rRLHt3CSJ1nx8Kf3SqZ8dUwzJqYucVdmfeEHYQqECrv", "sell",
      "3nNmxCwJ6oTL59Pn9TmohMN44gnzMiZUHnavBokSpump", 577200577200, WSOL, 3684657266,
      {}, 5000, 17543, 0, 0, 0, (), "raydium_amm_v4", None),
]
# fmt: on


def test_concatenated_frames() -> None:
    trades = parse_payload_bytes(FRAMES.read_bytes())
    assert [got(t) for t in trades] == FRAME_TRADES
    assert {t.slot for t in trades} == {308454032}
    assert {t.block_time for t in trades} == {None}


def test_frames_one_at_a_time_give_the_same_trades() -> None:
    text = FRAMES.read_text()
    frames = json.loads("[" + text.rstrip().rstrip(",") + "]")
    assert len(frames) == 10
    trades = []
    for frame in frames:
        (tx,) = load_transactions(frame)
        trades.extend(got(t) for t in parse_transaction(tx))
    assert trades == FRAME_TRADES


def test_other_ws_frames_hold_no_trade() -> None:
    # initialize2 of a Raydium v4 pool by 39azUYFW (the LP mint EQRWgC is not bought); the
    # Helius docs example (base64 wire transaction) is a 100000-lamport system transfer.
    initialize = WS / "helius_transactionNotification_jsonParsed_raydiumV4_initialize2_N7UtJo.json"
    assert parse_payload_bytes(initialize.read_bytes()) == []
    docs = WS / "helius_transactionNotification_docs_example.json"
    (tx,) = load_transactions(json.loads(docs.read_bytes()))
    assert tx["transaction"][1] == "base64"
    assert parse_transaction(tx) == []


def test_wrapper_slot_and_block_time() -> None:
    (trade,) = parse_payload_bytes((VENUES / "raydiumClmm_swap_2TLZzA.json").read_bytes())
    wrapper = json.loads((VENUES / "raydiumClmm_swap_2TLZzA.json").read_bytes())
    assert trade.slot == wrapper["slot"] == 415623442
    assert trade.block_time == datetime.fromtimestamp(wrapper["blockTime"], tz=UTC)


def test_forwarded_amounts_are_not_router_fees() -> None:
    # OKXDEX_commissionSplProxySwap: the wallet's USDC 250000000 = 249250000 to OKX's account
    # HjkGLC (249243111 of it forwarded into Phoenix for the WSOL leg) + the commission 750000
    # to e24SXSTq's account 5HeHTk. Only the commission is a fee.
    path = SOLANA_FIXTURES / "getTransaction" / "OKXDEX_commissionSplProxySwap.json"
    (trade,) = parse_payload_bytes(path.read_bytes())
    assert (trade.router_fees, trade.other_fees) == (0, (("router", USDC, 750000),))
    # sharedAccountsRoute_1: USDC 80000000 forwarded to the USDC -> WSOL hop is no fee.
    path = SOLANA_FIXTURES / "getTransaction" / "jupiterAggregatorV6_sharedAccountsRoute_1.json"
    assert [t.other_fees for t in parse_payload_bytes(path.read_bytes())] == [(), ()]
