"""The swap parser on the real mainnet transactions in ../shared/fixtures/solana.

Every expected number below was derived by hand from the payloads (pre/post lamports of the
wallet and of the token accounts it owns, pre/post token balances by owner), then cross-checked
against the counterparty: the pool's or bonding curve's side of the same swap, plus the fees and
tips that the wallet paid to third parties in the same transaction. See the comments.

Every fixture is in ``json`` encoding; each one is also converted to ``jsonParsed`` (as the RPC
would send it) by ``to_json_parsed`` below, so both code paths run on real data.
"""

from __future__ import annotations

import copy
import json
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest

from engine.errors import MalformedPayload
from engine.sources.base58 import b58decode, b58encode
from engine.sources.solana import (
    ParsedTrade,
    load_transactions,
    parse_payload_bytes,
    parse_transaction,
)
from tests.paths import SOLANA_FIXTURES

# The repo root's sibling shared/ (…/work/main/tests/engine/solana -> …/work/shared).
FIXTURES = SOLANA_FIXTURES
TX_DIR = FIXTURES / "getTransaction"

WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"  # venues/jupiter_usdt_route_TyswJc
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
SYSTEM = "11111111111111111111111111111111"
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"


class Exp(NamedTuple):
    wallet: str
    side: str
    mint: str
    token_amount_raw: int
    decimals: int
    quote_mint: str
    quote_amount_raw: int
    fee_lamports: int
    program: str


def _got(trade: ParsedTrade) -> Exp:
    return Exp(
        trade.wallet,
        trade.side,
        trade.mint,
        trade.token_amount_raw,
        trade.decimals,
        trade.quote_mint,
        trade.quote_amount_raw,
        trade.fee_lamports,
        trade.program,
    )


# The trades of the fee payer (the default wallet) in each fixture.
EXPECTED: dict[str, list[Exp]] = {
    # OKX router (6m2CDdhR… at the top level) -> Raydium v4. Wallet paid 64313644 lamports
    # incl. the 139090 fee: 64174554 = pool WSOL +63629071 + OKX commission 545483.
    "OKXDEX_commissionSolSwap2.json": [
        Exp(
            "AG27WXxPym3K73JFKtpRxwbMfnRnuPu5bn6juzcvq5rp",
            "buy",
            "28ECNMKBj66GMBJxq1c3VyzJiKY5gDp2sEYc92Ybpump",
            5238716646,
            6,
            WSOL,
            63629071,
            139090,
            "okx_dex",
        ),
    ],
    # USDC -> WSOL -> token through OKX. Wallet USDC -250000000 (pool +249243111, commissions
    # 750000 + 6889). Lamports -3765347 = fee 1726067 + rent 2039280 of the wallet's new token
    # account, so SOL nets to 0 and USDC is the quote.
    "OKXDEX_commissionSplProxySwap.json": [
        # The quote is the WSOL leg at Raydium v4 (research table 2.2: the pool's WSOL vault
        # received 1154100000 from the USDC -> WSOL hop), not the wallet's USDC.
        Exp(
            "GKj54MVFppoYsxPU9jMn7CMniVRAuveFadyTtFhn1vXy",
            "buy",
            "DKu9kykSfbN5LBfFXtNNDPaX35o4Fv6vJ9FKk7pZpump",
            6373264828,
            6,
            WSOL,
            1154100000,
            1726067,
            "okx_dex",
        ),
    ],
    # Token-to-token swap: 358800 of the Token-2022 mint 7atg… out, 74619 ED5n… in, routed
    # through WSOL pools the wallet does not own. Its lamports -6156280 = fee 4117000 + rent
    # 2039280 of its new ED5n account: no quote leg, so no trade.
    "OKXDEX_swap_0.json": [
        # Token -> WSOL -> token: two swaps of the wallet (one per venue). Pool GpMZ… paid
        # 15742 lamports for the 358800 7atg… the wallet sent (344448 arrived: Token-2022
        # transfer fee); pool HMqa… took those 15742 and paid 74619 ED5n….
        Exp(
            "E8oVrS4Pk74ouemj4t6grJ6w5Ah7SFLYa8VoRtvtWpnw",
            "sell",
            "7atgF8KQo4wJrD5ATGX7t1V2zVvykPJbFfNeVf1icFv1",
            358800,
            2,
            WSOL,
            15742,
            4117000,
            "okx_dex",
        ),
        Exp(
            "E8oVrS4Pk74ouemj4t6grJ6w5Ah7SFLYa8VoRtvtWpnw",
            "buy",
            "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY",
            74619,
            6,
            WSOL,
            15742,
            0,
            "okx_dex",
        ),
    ],
    # 10000000000 lamports (+ fee 541958) -> pool WSOL +10000000000 (Meteora DLMM).
    "OKXDEX_swap_1.json": [
        Exp(
            "EfbbhahGNuhqEraRZXrwETfsaKxScngEttdQixWAW4WE",
            "buy",
            "KMnDBXcPXoz6oMJW5XG4tXdwSWpmWEP2RQM1Uujpump",
            998528432013,
            6,
            WSOL,
            10000000000,
            541958,
            "okx_dex",
        ),
    ],
    # Lamports +855730 after a 318143 fee: 1173873 = pool WSOL -1173873.
    "OKXDEX_swap_2.json": [
        Exp(
            "FeWbDQ9SpgWS8grNrpFesVquJfxVkRu1WNZerKsrkcbY",
            "sell",
            "HjhCs97TBaJBfaJf3ukzs8CEsGApYjgz88wrhdTPpump",
            58882325154,
            6,
            WSOL,
            1173873,
            318143,
            "okx_dex",
        ),
    ],
    # Jupiter route -> Raydium v4: lamports -402054195 = 400000000 (pool WSOL +400000000)
    # + fee 14915 + rent 2039280 of the wallet's new token account.
    "jupiterAggregatorV6_Route_1.json": [
        Exp(
            "3huskHPRJXT5pL6RW57HaA8pXRFojx6gfNVGL9cJ2vtB",
            "buy",
            "3p7eCgdQx1RiJUfr4t7Z8w6DpVbP7CMa9Z6Ff69tpump",
            3861519639304,
            6,
            WSOL,
            400000000,
            14915,
            "jupiter_v6",
        ),
    ],
    # Jupiter route -> Raydium CLMM: lamports +12296699 + fee 12573 = pool WSOL -12309272.
    "jupiterAggregatorV6_Route_2.json": [
        Exp(
            "63EazyqF9nJN8SdGTMUaLrRKxS3XnmUiFuDp5KZ9wEV8",
            "sell",
            "8SgNwESovnbG1oNEaPVhg6CR9mTMSK7jPvcYRe3wpump",
            100000000,
            6,
            WSOL,
            12309272,
            12573,
            "jupiter_v6",
        ),
    ],
    # Multi-hop USDC -> (85VB…, WSOL) -> ORE through Phoenix/Lifinity/Meteora pools: the
    # intermediate mints never touch the wallet, so ONE trade. Lamports -2048178 = fee 8898
    # + rent 2039280 of its new ORE account.
    "jupiterAggregatorV6_sharedAccountsRoute_1.json": [
        # A split route (research table 2.2): USDC 20000000 straight into an Invariant pool
        # (a program with no name here: "other") and WSOL 580838181 into Meteora DLMM after
        # a USDC -> WSOL hop; 188382438 + 756562732 = the wallet's +944945170 ORE.
        Exp(
            "AVYG9UHetNHT1FEDPLv9pN2sCCH4CLsjvkzGjVXBfEiS",
            "buy",
            "oreoN2tQbHXVaZsr3pf66A48miqcBXCDJozganhEJgz",
            188382438,
            9,
            USDC,
            20000000,
            8898,
            "jupiter_v6",
        ),
        Exp(
            "AVYG9UHetNHT1FEDPLv9pN2sCCH4CLsjvkzGjVXBfEiS",
            "buy",
            "oreoN2tQbHXVaZsr3pf66A48miqcBXCDJozganhEJgz",
            756562732,
            9,
            WSOL,
            580838181,
            0,
            "jupiter_v6",
        ),
    ],
    # Three hops, token -> WSOL -> BONK -> USDC, netted to ONE sell for USDC: the last pool
    # paid 47747735 USDC = 47461249 to the wallet + 286486 platform fee. Lamports -105000 =
    # exactly the fee.
    "jupiterAggregatorV6_sharedAccountsRoute_2.json": [
        # token -> WSOL -> BONK -> USDC: the swap is the WSOL leg at Raydium v4, which paid
        # 197485565 (research table 2.2); the BONK and USDC hops are the route's.
        Exp(
            "GKj54MVFppoYsxPU9jMn7CMniVRAuveFadyTtFhn1vXy",
            "sell",
            "CMjfdovtzmgRsnhE1cCzdwDFGKt1UzZB4oCGQchQpump",
            634862142081,
            6,
            WSOL,
            197485565,
            105000,
            "jupiter_v6",
        ),
    ],
    # DCA close: the user withdraws 225000000000 6T44… bought earlier by keeper transactions
    # and gets the DCA accounts' rent back (+6980880 lamports net of the fee). Token in and SOL
    # in: not a swap in this transaction.
    "jupiterDca_CloseDca_0.json": [],
    # DCA end-and-close signed by the keeper (JD25…): the keeper only pays the fee, and the
    # DCA owner (E4R1…) only gets rent back; no token moves.
    "jupiterDca_endAndClose_0.json": [],
    "jupiterDca_endAndClose_1.json": [],
    # DCA open: 217363000000 ED5n… deposited into the DCA vault and 6980880 lamports of rent
    # paid: token out and SOL out, not a swap.
    "jupiterDca_openDcaV2_0.json": [],
    # DCA open with 500000000 USDC: only quote mints move, no token leg.
    "jupiterDca_openDcaV2_1.json": [],
    # Photon (BSfD6SHZ… at the top level) -> pump.fun. 459999999 = curve 392079207 + pump.fun
    # fee 3920792 + Photon fee 4000000 + a 60000000 transfer to 7ks326H4… in the same
    # transaction; the 20005000 fee is apart.
    "photon_pumpfun_buy_0.json": [
        Exp(
            "DfMxre4cKmvogbLrPigxmibVTTQDuzjdXojWzjCXXhzj",
            "buy",
            "HQ4SzFMwYo8TXds1bHD2TvZdL7S75hK8w775rWrVpump",
            5609742876530,
            6,
            WSOL,
            392079207,
            20005000,
            "photon",
        ),
    ],
    # 105000000 = curve 98019801 + pump.fun fee 980199 + Photon fee 1000000 + 5000000 to
    # 7ks326H4…; the new token account's rent 2039280 is not counted.
    "photon_pumpfun_buy_1.json": [
        Exp(
            "2PhpwXnnnQWQCdiQwkG7Xbq5D3x72vCEGJEQ1kKrMHzi",
            "buy",
            "37AmZ9EYChwuK95dnP6sYYbqcoEbbvEZYJpinSLfpump",
            294233863538,
            6,
            WSOL,
            98019801,
            15000,
            "photon",
        ),
    ],
    # Lamports +1624442259 + fee 5005000; the curve paid 1667803326 of which pump.fun,
    # Photon and 7ks326H4… took their cut.
    "photon_pumpfun_sell.json": [
        Exp(
            "CzXW1cD5H9M6d8uFonRqQA5bvfLQtZdaZFJzqpie88HM",
            "sell",
            "4fSYiTPwwvU9Ym7CGXG4BNLKMcybg2GZXesYevS8pump",
            50287397622085,
            6,
            WSOL,
            1667803326,
            5005000,
            "photon",
        ),
    ],
    # 3070000000 = curve 3000000000 + pump.fun fee 30000000 + 30000000 + 10000000 to two
    # other accounts; + fee 4005001 + rent 2039280 = lamports -3076044281.
    "pumpfun_buy_0.json": [
        Exp(
            "EfbbhahGNuhqEraRZXrwETfsaKxScngEttdQixWAW4WE",
            "buy",
            "D66sbPtYqLnwPYcUqjDktrQtb52CnfF77C3sdpNpR8Si",
            56716561396327,
            6,
            WSOL,
            3000000000,
            4005001,
            "pumpfun",
        ),
    ],
    # 1020000000 = curve 1000000000 + pump.fun fee 10000000 + 10000000 to HWEoBxYs….
    "pumpfun_buy_1.json": [
        Exp(
            "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh",
            "buy",
            "7nYhDYAxQdFn2DRPcjBFPQQz5qb8HeFiJv9o9w6fpump",
            34612901212710,
            6,
            WSOL,
            1000000000,
            15000,
            "pumpfun",
        ),
    ],
    # Four signers buy in one transaction; the fee payer Gh6D… is the default wallet (the
    # others are tested below). Lamports -392020508 = fee 20000 (for the whole bundle)
    # + rent 2039280 + 389961228.
    "pumpfun_buy_bundle.json": [
        Exp(
            "Gh6D6DZcASQLc2XoLpctT74KbRr4nrHF8wNptweckHoA",
            "buy",
            "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY",
            12373970345963,
            6,
            WSOL,
            386100226,
            20000,
            "pumpfun",
        ),
    ],
    # pump.fun create WITH the creator's buy in the same transaction (no create-only fixture
    # exists here). The SOL leg also holds the creation costs the creator paid to others: mint
    # rent 1461600, bonding curve 1001231920 (1000000000 bought + 1231920 rent), curve token
    # account rent 2039280, metadata rent 15616720, fees 4000000 + 10000000 = 1034349520. The
    # creator's own token account rent (2039280) and the 525028 fee are not counted.
    "pumpfun_create_0.json": [
        Exp(
            "6xo262KbDXepWbF3vPTrFXysr5vJwk3mozBXmXk3hmMx",
            "buy",
            "5dNYcCZXEGfGgbdUdq7MMR7KLsNJLLLgL83wLH8Fpump",
            34612903225806,
            6,
            WSOL,
            1000000000,
            525028,
            "pumpfun",
        ),
    ],
    # 37052911064 = curve -37437283903 - pump.fun fee 374372839 - 10000000 to HWEoBxYs….
    "pumpfun_sell_0.json": [
        Exp(
            "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh",
            "sell",
            "CnNVDyM7GXBBcH8giuRYm17YCn6kpFTTbnd6Tx4hpump",
            592443959000000,
            6,
            WSOL,
            37437283903,
            36500,
            "pumpfun",
        ),
    ],
    # Raydium v4 through a temporary WSOL account (created and closed in the transaction, so it
    # is in no token balance list): pool paid 352936256, the wallet kept 348783354 after
    # transfers of 3152902 + 1000000 to two bot/tip accounts.
    "raydiumLiquidityPoolV4_swap_0.json": [
        Exp(
            "Do3UdALe5F7NRXB4uYcBzZtCbAt8ssu4a5kGZVucKhC5",
            "sell",
            "2CrtdajpSb7DpMRLKP4yMtFLbCsWZjMkEvgSTf4Ypump",
            836112233953,
            6,
            WSOL,
            352936256,
            1005000,
            "raydium_amm_v4",
        ),
    ],
    # Pool WSOL +100000000; the wallet paid 101900000 (1900000 to bot/tip accounts).
    "raydiumLiquidityPoolV4_swap_1.json": [
        Exp(
            "ECvj86nDupkVh1cDgxrJw3zJkw3ahcDiVB3pPTbpskjD",
            "buy",
            "E8yBUD4AGdxK7MbQEf85oaAvVBuSoRsGCvX2sMxSpump",
            43045438075,
            6,
            WSOL,
            100000000,
            1005000,
            "raydium_amm_v4",
        ),
    ],
    # Pool paid 2615124 into a WSOL account created and closed in the transaction; the wallet
    # then sent a 1000020 tip to DfXygSm4…: net 1615104.
    "raydiumLiquidityPoolV4_swap_2.json": [
        Exp(
            "orcACRJYTFjTeo2pV8TfYRTpmqfoYgbVi9GeANXTCc8",
            "sell",
            "AaJ6gmTzaQw9zxfK6BD9N89wzZLuSuwTRbi8YrTCpump",
            22254340082,
            6,
            WSOL,
            2615124,
            205002,
            "raydium_amm_v4",
        ),
    ],
    # An unknown program (AFW9…) creates the token account, then pump.fun at the top level.
    # 703581261 = curve 689364052 + pump.fun fee 6893640 + 5323569 + 2000000 to two others.
    "soltxs_pumpfun_buy_rpc.json": [
        Exp(
            "Geu1Jtgp2vkWmBq9KL4FozLFx1LAEjpntEfjFuWf6QW7",
            "buy",
            "9Tpa8ewVT3JaZgiSKoTHjcJj6NGRyF4bJT8CyXpxpump",
            3254684009577,
            6,
            WSOL,
            689364052,
            3005000,
            "pumpfun",
        ),
    ],
    # The same transaction as pumpfun_create_0 (signature 2s393PSY…), in a JSON-RPC envelope.
    "soltxs_pumpfun_create_rpc.json": [
        Exp(
            "6xo262KbDXepWbF3vPTrFXysr5vJwk3mozBXmXk3hmMx",
            "buy",
            "5dNYcCZXEGfGgbdUdq7MMR7KLsNJLLLgL83wLH8Fpump",
            34612903225806,
            6,
            WSOL,
            1000000000,
            525028,
            "pumpfun",
        ),
    ],
    # The same transaction as pumpfun_sell_0 (signature 3bYXWjjN…), in a JSON-RPC envelope.
    "soltxs_pumpfun_sell_rpc.json": [
        Exp(
            "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh",
            "sell",
            "CnNVDyM7GXBBcH8giuRYm17YCn6kpFTTbnd6Tx4hpump",
            592443959000000,
            6,
            WSOL,
            37437283903,
            36500,
            "pumpfun",
        ),
    ],
    # Pool WSOL +2000000000; the wallet paid 2020000000 (20000000 to bot/tip accounts).
    "soltxs_raydium_amm_v4_rpc.json": [
        Exp(
            "CWE3HQZxPyNT9tuLCtBwYjC16oJz2fgkmRRR1vBJzkVL",
            "buy",
            "HhUVkZ1qz8vfMqZDemLyxBFxrHFKVSYAk7a6227Lpump",
            92529930455,
            6,
            WSOL,
            2000000000,
            5005000,
            "raydium_amm_v4",
        ),
    ],
    # Plain SPL transfers: 15000000000 HbDH… out to five wallets, whose token accounts the
    # sender pays rent for. Token out and SOL out: no swap.
    "token_transfer_0.json": [],
    # transferChecked of 1776000000000 AZax… to eight wallets, same shape: no swap.
    "transferChecked_0.json": [],
}

# Not transactions at all: a JSON string, and a transaction with 2 of its 14 account keys cut.
BROKEN = ["broken_data_0.json", "broken_data_1.json"]


def load_fixture(name: str) -> Any:
    return json.loads((TX_DIR / name).read_bytes())


def fixture_tx(name: str) -> dict[str, Any]:
    """The one getTransaction result in a fixture file (a list of results or an envelope)."""
    txs = load_transactions(load_fixture(name))
    assert len(txs) == 1
    tx = txs[0]
    assert isinstance(tx, dict)
    return tx


# --- json -> jsonParsed, as the RPC builds it ----------------------------------------------

# Programs the RPC decodes in jsonParsed ({"program", "programId", "parsed"}); others keep
# {"programId", "accounts" (as pubkeys), "data"}.
_PARSED_PROGRAMS = {
    "11111111111111111111111111111111": "system",
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA": "spl-token",
    TOKEN_2022: "spl-token-2022",
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL": "spl-associated-token-account",
}


def _parsed(program_id: str, accounts: list[str], data: bytes) -> dict[str, Any]:
    """What the RPC's jsonParsed gives for the instructions the parser reads (the layouts of
    the System, SPL Token and Associated Token Account programs); others stay opaque."""
    u64 = struct.Struct("<Q")
    tag4 = int.from_bytes(data[:4], "little") if len(data) >= 4 else -1
    if program_id == SYSTEM and tag4 == 2:
        info = {
            "source": accounts[0],
            "destination": accounts[1],
            "lamports": u64.unpack_from(data, 4)[0],
        }
        return {"type": "transfer", "info": info}
    if program_id == SYSTEM and tag4 == 0:
        info = {
            "source": accounts[0],
            "newAccount": accounts[1],
            "lamports": u64.unpack_from(data, 4)[0],
        }
        return {"type": "createAccount", "info": info}
    if program_id == SYSTEM and tag4 == 3:
        # the field names of the RPC's own jsonParsed (ws/helius_transactionNotification_
        # jsonParsed_raydiumV4_initialize2_N7UtJo: "createAccountWithSeed")
        seed_len = u64.unpack_from(data, 36)[0]
        at = 44 + seed_len
        info = {
            "source": accounts[0],
            "newAccount": accounts[1],
            "base": b58encode(data[4:36]),
            "seed": data[44:at].decode(),
            "lamports": u64.unpack_from(data, at)[0],
            "space": u64.unpack_from(data, at + 8)[0],
            "owner": b58encode(data[at + 16 : at + 48]),
        }
        return {"type": "createAccountWithSeed", "info": info}
    if program_id in (TOKEN, TOKEN_2022) and data[:1] == b"\x01":
        # same fixture: "initializeAccount" {account, mint, owner, rentSysvar}
        info = {
            "account": accounts[0],
            "mint": accounts[1],
            "owner": accounts[2],
            "rentSysvar": accounts[3],
        }
        return {"type": "initializeAccount", "info": info}
    if program_id in (TOKEN, TOKEN_2022) and data[:1] == b"\x12":
        # same fixture: "initializeAccount3" {account, mint, owner}
        info = {"account": accounts[0], "mint": accounts[1], "owner": b58encode(data[1:33])}
        return {"type": "initializeAccount3", "info": info}
    if program_id in (TOKEN, TOKEN_2022) and data[:1] == b"\x03":
        info = {
            "source": accounts[0],
            "destination": accounts[1],
            "authority": accounts[2],
            "amount": str(u64.unpack_from(data, 1)[0]),
        }
        return {"type": "transfer", "info": info}
    if program_id in (TOKEN, TOKEN_2022) and data[:1] == b"\x0c":
        amount = {"amount": str(u64.unpack_from(data, 1)[0]), "decimals": data[9]}
        info = {
            "source": accounts[0],
            "mint": accounts[1],
            "destination": accounts[2],
            "authority": accounts[3],
            "tokenAmount": amount,
        }
        return {"type": "transferChecked", "info": info}
    if program_id == ATA and len(accounts) >= 4 and data[:1] in (b"", b"\x00", b"\x01"):
        info = {
            "source": accounts[0],
            "account": accounts[1],
            "wallet": accounts[2],
            "mint": accounts[3],
        }
        return {"type": "create", "info": info}
    return {"type": "opaque", "info": {}}


def to_json_parsed(tx: dict[str, Any]) -> dict[str, Any]:
    """The ``jsonParsed`` form of a ``json``-encoded getTransaction result.

    accountKeys become ``{pubkey, signer, writable, source}`` objects and include the v0
    lookup-table addresses (``source: "lookupTable"``); instructions name their ``programId``;
    the message has no header. Token balances, balances and loadedAddresses are unchanged.
    """
    message = tx["transaction"]["message"]
    meta = tx["meta"]
    loaded = meta.get("loadedAddresses") or {"writable": [], "readonly": []}
    static = message["accountKeys"]
    header = message["header"]
    n_signed = header["numRequiredSignatures"]
    keys: list[dict[str, Any]] = []
    for i, pubkey in enumerate(static):
        signer = i < n_signed
        if signer:
            writable = i < n_signed - header["numReadonlySignedAccounts"]
        else:
            writable = i < len(static) - header["numReadonlyUnsignedAccounts"]
        keys.append(
            {"pubkey": pubkey, "signer": signer, "writable": writable, "source": "transaction"}
        )
    for group, writable in (("writable", True), ("readonly", False)):
        keys += [
            {"pubkey": pubkey, "signer": False, "writable": writable, "source": "lookupTable"}
            for pubkey in loaded[group]
        ]
    full = [key["pubkey"] for key in keys]

    def instruction(ins: dict[str, Any]) -> dict[str, Any]:
        program_id = full[ins["programIdIndex"]]
        if program_id in _PARSED_PROGRAMS:
            accounts = [full[a] for a in ins["accounts"]]
            return {
                "program": _PARSED_PROGRAMS[program_id],
                "programId": program_id,
                "parsed": _parsed(program_id, accounts, b58decode(ins["data"])),
                "stackHeight": ins.get("stackHeight"),
            }
        return {
            "programId": program_id,
            "accounts": [full[a] for a in ins["accounts"]],
            "data": ins["data"],
            "stackHeight": ins.get("stackHeight"),
        }

    parsed_message: dict[str, Any] = {
        "accountKeys": keys,
        "instructions": [instruction(ins) for ins in message["instructions"]],
        "recentBlockhash": message["recentBlockhash"],
    }
    if "addressTableLookups" in message:
        parsed_message["addressTableLookups"] = message["addressTableLookups"]
    parsed_meta = dict(meta)
    parsed_meta["innerInstructions"] = [
        {"index": group["index"], "instructions": [instruction(i) for i in group["instructions"]]}
        for group in meta.get("innerInstructions") or []
    ]
    transaction = dict(tx["transaction"], message=parsed_message)
    return dict(tx, transaction=transaction, meta=parsed_meta)


def encoded(tx: dict[str, Any], encoding: str) -> dict[str, Any]:
    return tx if encoding == "json" else to_json_parsed(tx)


ENCODINGS = ["json", "jsonParsed"]


# --- every fixture -------------------------------------------------------------------------


def test_every_fixture_has_hand_checked_expectations() -> None:
    on_disk = {path.name for path in TX_DIR.glob("*.json")}
    assert on_disk == set(EXPECTED) | set(BROKEN)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_trades(name: str, encoding: str) -> None:
    tx = fixture_tx(name)
    trades = parse_transaction(encoded(tx, encoding))
    assert [_got(trade) for trade in trades] == EXPECTED[name]
    for trade in trades:
        assert trade.signature == tx["transaction"]["signatures"][0]
        assert trade.slot == tx["slot"]
        assert trade.block_time == datetime.fromtimestamp(tx["blockTime"], tz=UTC)
        assert trade.block_time is not None and trade.block_time.tzinfo is not None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_bytes_give_the_same_trades(name: str) -> None:
    trades = parse_payload_bytes((TX_DIR / name).read_bytes())
    assert [_got(trade) for trade in trades] == EXPECTED[name]


@pytest.mark.parametrize("name", BROKEN)
def test_broken_fixtures_are_malformed(name: str) -> None:
    with pytest.raises(MalformedPayload) as info:
        parse_payload_bytes((TX_DIR / name).read_bytes())
    assert "\n" not in str(info.value)


def test_block_time_is_utc_aware() -> None:
    (trade,) = parse_transaction(fixture_tx("pumpfun_buy_1.json"))
    assert trade.block_time == datetime(2024, 9, 18, 5, 37, 23, tzinfo=UTC)  # blockTime 1726637843


def test_the_same_transaction_in_two_fixture_files_gives_the_same_trade() -> None:
    assert parse_transaction(fixture_tx("pumpfun_create_0.json")) == parse_transaction(
        fixture_tx("soltxs_pumpfun_create_rpc.json")
    )


# --- the jsonParsed converter itself -------------------------------------------------------


def test_json_parsed_form_lists_loaded_addresses_in_account_keys() -> None:
    tx = fixture_tx("raydiumLiquidityPoolV4_swap_0.json")  # v0: 21 static + 2 + 4 loaded
    parsed = to_json_parsed(tx)
    keys = parsed["transaction"]["message"]["accountKeys"]
    assert len(tx["transaction"]["message"]["accountKeys"]) == 21
    assert len(keys) == len(tx["meta"]["preBalances"]) == 27
    assert [key["source"] for key in keys[21:]] == ["lookupTable"] * 6
    instructions = parsed["transaction"]["message"]["instructions"]
    assert all("programIdIndex" not in ins for ins in instructions)


# --- other wallets than the fee payer, v0 lookup tables, Token-2022 ------------------------

BUNDLE_OTHERS = [
    # Each signer's lamports = its SOL leg + rent 2039280 of its new token account; the four
    # buys add up to the bonding curve's +1570949359 plus the pump.fun fee 15709491.
    Exp(
        "7SPkzf8DSxdemSKMEEKquRKEYrdDjcuHaQwac5nvnB4b",
        "buy",
        "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY",
        12100159018198,
        6,
        WSOL,
        386820768,
        0,
        "pumpfun",
    ),
    Exp(
        "GdCFP1doq784rQTHJDuvpLchVWoMtJwdAM8MQTCHWTuz",
        "buy",
        "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY",
        12023935360031,
        6,
        WSOL,
        393794276,
        0,
        "pumpfun",
    ),
    Exp(
        "8rL9duqqeBRzZZyiz77xgfzDUdbR99TPjmVk5D1LNHuL",
        "buy",
        "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY",
        12044860698416,
        6,
        WSOL,
        404234089,
        0,
        "pumpfun",
    ),
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("expected", BUNDLE_OTHERS, ids=lambda e: e.wallet[:6])
def test_bundle_signers_other_than_the_fee_payer(expected: Exp, encoding: str) -> None:
    tx = encoded(fixture_tx("pumpfun_buy_bundle.json"), encoding)
    assert [_got(t) for t in parse_transaction(tx, expected.wallet)] == [expected]


def test_bundle_adds_up_to_the_curve_and_fee() -> None:
    tx = fixture_tx("pumpfun_buy_bundle.json")
    wallets = [EXPECTED["pumpfun_buy_bundle.json"][0].wallet] + [e.wallet for e in BUNDLE_OTHERS]
    # Settled amounts add up to the curve's lamport change; the venue fees to the pump.fun fee.
    paid = sum(parse_transaction(tx, w)[0].quote_amount_raw for w in wallets)
    assert paid == 1570949359
    fees = sum(sum(parse_transaction(tx, w)[0].venue_fees.values()) for w in wallets)
    assert fees == 15709491


RAYDIUM_AUTHORITY = "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_wallet_and_its_wsol_account_from_lookup_tables(encoding: str) -> None:
    # The Raydium v4 authority 5Q544f… is account 26, a loaded readonly address; its WSOL
    # vault (account 5) lost 352936256 lamports and its token vault gained the 836112233953
    # that the trader sold: seen from the pool, a buy for what the pool paid.
    tx = fixture_tx("raydiumLiquidityPoolV4_swap_0.json")
    assert tx["meta"]["loadedAddresses"]["readonly"][-1] == RAYDIUM_AUTHORITY
    trades = parse_transaction(encoded(tx, encoding), RAYDIUM_AUTHORITY)
    assert [_got(t) for t in trades] == [
        Exp(
            "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1",
            "buy",
            "2CrtdajpSb7DpMRLKP4yMtFLbCsWZjMkEvgSTf4Ypump",
            836112233953,
            6,
            WSOL,
            352936256,
            0,
            "raydium_amm_v4",
        ),
    ]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_token_2022_legs_seen_from_the_pools_of_a_token_to_token_route(encoding: str) -> None:
    # OKXDEX_swap_0 routes 7atg… (Token-2022, 2 decimals) -> WSOL -> ED5n…. Both pool owners
    # are loaded addresses (24 and 18). Pool GpMZ… received 344448 7atg… (358800 sent, a
    # Token-2022 transfer fee kept the rest) for 15742 lamports out of its WSOL vault; pool
    # HMqa… took those 15742 in and paid 74619 ED5n….
    tx = encoded(fixture_tx("OKXDEX_swap_0.json"), encoding)
    assert any(b["programId"] == TOKEN_2022 for b in tx["meta"]["postTokenBalances"])
    gpmz = "GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL"
    hmqa = "HMqacQogqMpdux9DgbZQ75saxmSYGF4dMcpuLNYQdNU6"
    assert [_got(t) for t in parse_transaction(tx, gpmz)] == [
        Exp(
            "GpMZbSM2GgvTKHJirzeGfMFoaZ8UR2X7F4v8vHTvxFbL",
            "buy",
            "7atgF8KQo4wJrD5ATGX7t1V2zVvykPJbFfNeVf1icFv1",
            344448,
            2,
            WSOL,
            15742,
            0,
            "okx_dex",
        ),
    ]
    assert [_got(t) for t in parse_transaction(tx, hmqa)] == [
        Exp(
            "HMqacQogqMpdux9DgbZQ75saxmSYGF4dMcpuLNYQdNU6",
            "sell",
            "ED5nyyWEzpPPiWimP8vYm7sD7TD3LAt3Q3gRTWHzPJBY",
            74619,
            6,
            WSOL,
            15742,
            0,
            "okx_dex",
        ),
    ]


def test_v0_transaction_without_its_loaded_addresses_is_malformed() -> None:
    tx = copy.deepcopy(fixture_tx("raydiumLiquidityPoolV4_swap_0.json"))
    del tx["meta"]["loadedAddresses"]
    with pytest.raises(MalformedPayload, match="21 account keys but 27 preBalances"):
        parse_transaction(tx)


def test_dca_owner_gets_only_rent_back() -> None:
    tx = fixture_tx("jupiterDca_endAndClose_0.json")
    assert parse_transaction(tx, "E4R1iXBJh8dN869akjGskM8DYkawncMRmtUsuYcTnM5S") == []


def test_wallet_not_in_the_transaction() -> None:
    assert parse_transaction(fixture_tx("pumpfun_buy_1.json"), "NotInThisTx111") == []


# --- rules on real transactions, changed in one place each ---------------------------------


def test_failed_transaction_gives_no_trade() -> None:
    tx = copy.deepcopy(fixture_tx("photon_pumpfun_buy_0.json"))
    tx["meta"]["err"] = {"InstructionError": [2, {"Custom": 6001}]}
    assert parse_transaction(tx) == []


def test_round_trip_to_the_same_mint_gives_no_trade() -> None:
    # Route_1's wallet ends with as many 3p7e… as it started with (0): only SOL changed.
    tx = copy.deepcopy(fixture_tx("jupiterAggregatorV6_Route_1.json"))
    for balance in tx["meta"]["postTokenBalances"]:
        if balance["owner"] == "3huskHPRJXT5pL6RW57HaA8pXRFojx6gfNVGL9cJ2vtB":
            balance["uiTokenAmount"]["amount"] = "0"
    assert parse_transaction(tx) == []


def _add_wallet_balance(
    tx: dict[str, Any], owner: str, index: int, mint: str, pre: str | None, post: str | None
) -> None:
    for key, amount in (("preTokenBalances", pre), ("postTokenBalances", post)):
        if amount is not None:
            tx["meta"][key].append(
                {
                    "accountIndex": index,
                    "mint": mint,
                    "owner": owner,
                    "programId": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
                    "uiTokenAmount": {
                        "amount": amount,
                        "decimals": 6,
                        "uiAmount": None,
                        "uiAmountString": "",
                    },
                }
            )


ROUTE_1_WALLET = "3huskHPRJXT5pL6RW57HaA8pXRFojx6gfNVGL9cJ2vtB"
ROUTE_1_TRADE = EXPECTED["jupiterAggregatorV6_Route_1.json"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_intermediate_hops_owned_by_the_wallet_net_out(encoding: str) -> None:
    # A SOL -> USDC -> BONK -> token route through the wallet's own intermediate accounts:
    # USDC and BONK come and go within the transaction (pre == post), so still ONE trade.
    # Accounts 7 and 8 are programs whose lamports do not change.
    tx = copy.deepcopy(fixture_tx("jupiterAggregatorV6_Route_1.json"))
    _add_wallet_balance(tx, ROUTE_1_WALLET, 7, USDC, "1500", "1500")
    _add_wallet_balance(
        tx, ROUTE_1_WALLET, 8, "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", "0", "0"
    )
    assert [_got(t) for t in parse_transaction(encoded(tx, encoding))] == ROUTE_1_TRADE


def test_sol_takes_precedence_over_usdc() -> None:
    tx = copy.deepcopy(fixture_tx("jupiterAggregatorV6_Route_1.json"))
    _add_wallet_balance(tx, ROUTE_1_WALLET, 7, USDC, "5000000", "4000000")
    assert [_got(t) for t in parse_transaction(tx)] == ROUTE_1_TRADE


def test_usdt_quote() -> None:
    tx = copy.deepcopy(fixture_tx("jupiterAggregatorV6_sharedAccountsRoute_2.json"))
    for key in ("preTokenBalances", "postTokenBalances"):
        for balance in tx["meta"][key]:
            if balance["mint"] == USDC:
                balance["mint"] = USDT
    # The stable is only the route's output: the swap's quote stays the WSOL leg at the venue.
    expected = EXPECTED["jupiterAggregatorV6_sharedAccountsRoute_2.json"][0]
    assert [_got(t) for t in parse_transaction(tx)] == [expected]


def test_two_tokens_bought_with_one_quote_share_it() -> None:
    # pumpfun_buy_1 plus 1000 of a second mint into the wallet (account 14, lamports 0 -> 0,
    # only in postTokenBalances): 1020000000 lamports split evenly.
    tx = copy.deepcopy(fixture_tx("pumpfun_buy_1.json"))
    wallet = "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh"
    second = "SecondMint1111111111111111111111111111111111"
    _add_wallet_balance(tx, wallet, 14, second, None, "1000")
    # A balance that no venue transfer moved is not a swap: the curve's trade is unchanged
    # (a real multi-buy gives one trade per venue transfer, each with its own settled quote).
    trades = parse_transaction(tx)
    assert [(t.mint, t.token_amount_raw, t.quote_amount_raw) for t in trades] == [
        ("7nYhDYAxQdFn2DRPcjBFPQQz5qb8HeFiJv9o9w6fpump", 34612901212710, 1000000000),
    ]


def test_closing_the_emptied_token_account_is_not_sol_received() -> None:
    # photon_pumpfun_sell left the wallet's token account (account 4) at 0. Had it also been
    # closed, the account would vanish from postTokenBalances and its 2039280 lamports of rent
    # would move to the wallet: the same trade.
    tx = copy.deepcopy(fixture_tx("photon_pumpfun_sell.json"))
    meta = tx["meta"]
    meta["postTokenBalances"] = [b for b in meta["postTokenBalances"] if b["accountIndex"] != 4]
    meta["postBalances"][0] += meta["postBalances"][4]
    meta["postBalances"][4] = 0
    assert [_got(t) for t in parse_transaction(tx)] == EXPECTED["photon_pumpfun_sell.json"]


def test_balances_without_owner_are_not_the_wallets() -> None:
    # Old transactions have no "owner" in token balances; they cannot be matched.
    tx = copy.deepcopy(fixture_tx("pumpfun_buy_1.json"))
    for key in ("preTokenBalances", "postTokenBalances"):
        for balance in tx["meta"][key]:
            del balance["owner"]
    assert parse_transaction(tx) == []


# --- which program routed it ---------------------------------------------------------------


def test_router_at_top_level_wins_over_the_amm_it_calls() -> None:
    # Photon at the top level calls pump.fun; OKX calls Raydium v4; Jupiter calls Raydium v4.
    assert parse_transaction(fixture_tx("photon_pumpfun_buy_0.json"))[0].program == "photon"
    assert parse_transaction(fixture_tx("OKXDEX_commissionSolSwap2.json"))[0].program == "okx_dex"
    assert parse_transaction(fixture_tx("jupiterAggregatorV6_Route_1.json"))[0].program == (
        "jupiter_v6"
    )


def _hide_top_level(tx: dict[str, Any], program_id: str) -> dict[str, Any]:
    """A copy where top-level calls of ``program_id`` name an unknown program instead."""
    tx = copy.deepcopy(tx)
    keys = (
        tx["transaction"]["message"]["accountKeys"]
        + tx["meta"]["loadedAddresses"]["writable"]
        + tx["meta"]["loadedAddresses"]["readonly"]
    )
    unknown = keys.index("ComputeBudget111111111111111111111111111111")
    for ins in tx["transaction"]["message"]["instructions"]:
        if keys[ins["programIdIndex"]] == program_id:
            ins["programIdIndex"] = unknown
    return tx


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_inner_instructions_when_the_top_level_names_nothing(encoding: str) -> None:
    photon = _hide_top_level(
        fixture_tx("photon_pumpfun_buy_0.json"), "BSfD6SHZigAfDWSjzD5Q41jw8LmKwtmjskPH9XW1mrRW"
    )
    assert parse_transaction(encoded(photon, encoding))[0].program == "pumpfun"
    # Jupiter appears among the inner instructions only as its event self-call, after Raydium
    # v4 and not above it in the tree: the venue names the trade.
    jupiter = _hide_top_level(
        fixture_tx("jupiterAggregatorV6_Route_1.json"),
        "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4",
    )
    assert parse_transaction(encoded(jupiter, encoding))[0].program == "raydium_amm_v4"


def test_other_when_no_known_program() -> None:
    tx = _hide_top_level(
        fixture_tx("pumpfun_buy_1.json"), "6EF8rrecthR5Dkzon8Nwu78hRvfCKubJ14M5uBEwF6P"
    )
    tx["meta"]["innerInstructions"] = []
    jupiter_log = "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 invoke [1]"
    tx["meta"]["logMessages"].append(jupiter_log)
    # Without its instructions no transfer shows a swap; the logs are never read.
    assert parse_transaction(tx) == []


# --- corrupted input ----------------------------------------------------------------------


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


_REPLACEMENTS: list[Any] = [None, "x", [], {}, -1, 1.5, 10**30, True]
_DELETE = object()


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", ["pumpfun_sell_0.json", "OKXDEX_commissionSplProxySwap.json"])
def test_any_single_corruption_gives_trades_or_malformed_payload(name: str, encoding: str) -> None:
    """Replace every node of a real transaction, one at a time, by a value of another type
    (or delete it): the parser returns a list or raises MalformedPayload, nothing else."""
    tx = copy.deepcopy(encoded(fixture_tx(name), encoding))
    paths = [p for p in _paths(tx) if p and p[:2] != ("meta", "logMessages")]
    tried = 0
    for path in paths:
        parent = tx
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        original = parent[last]
        variants: list[Any] = [*_REPLACEMENTS]
        if isinstance(parent, dict):
            variants.append(_DELETE)
        for variant in variants:
            if variant is _DELETE:
                del parent[last]
            else:
                parent[last] = variant
            try:
                result = parse_transaction(tx)
            except MalformedPayload as exc:
                assert "\n" not in str(exc)
            else:
                assert isinstance(result, list)
            finally:
                parent[last] = original
            tried += 1
    assert tried > 1000
