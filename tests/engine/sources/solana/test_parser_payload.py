"""Payload envelopes, ``to_record``, and malformed input (always ``MalformedPayload``)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.errors import MalformedPayload
from engine.records import TradeRecord
from engine.sources.solana import load_transactions, parse_payload_bytes, parse_transaction
from tests.paths import SOLANA_FIXTURES

FIXTURES = SOLANA_FIXTURES
TX_DIR = FIXTURES / "getTransaction"
RPC_DIR = FIXTURES / "rpc"


def read(name: str) -> Any:
    return json.loads((TX_DIR / name).read_bytes())


def bare_result(name: str) -> dict[str, Any]:
    (tx,) = load_transactions(read(name))
    assert isinstance(tx, dict)
    return tx


# --- load_transactions ---------------------------------------------------------------------


def test_json_rpc_envelope() -> None:
    envelope = read("soltxs_pumpfun_sell_rpc.json")
    assert set(envelope) == {"jsonrpc", "result", "id"}
    assert load_transactions(envelope) == [envelope["result"]]


def test_list_of_bare_results() -> None:
    results = read("pumpfun_sell_0.json")
    assert isinstance(results, list)
    assert load_transactions(results) == results


def test_bare_result_and_batch_of_envelopes() -> None:
    envelope = read("soltxs_pumpfun_buy_rpc.json")
    result = envelope["result"]
    assert load_transactions(result) == [result]
    batch = [envelope, read("soltxs_raydium_amm_v4_rpc.json")]
    assert [tx["slot"] for tx in load_transactions(batch)] == [310945778, 310919903]


def test_json_rpc_error_is_malformed_with_one_line() -> None:
    error = {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": -32602, "message": "Invalid param:\nWrongSize"},
    }
    with pytest.raises(MalformedPayload, match=r"JSON-RPC error -32602: Invalid param: WrongSize"):
        load_transactions(error)
    with pytest.raises(MalformedPayload, match=r"JSON-RPC error \(item 1\)"):
        load_transactions([read("soltxs_pumpfun_buy_rpc.json"), error])


def test_null_result_is_not_silently_dropped() -> None:
    with pytest.raises(MalformedPayload, match="null"):
        load_transactions({"jsonrpc": "2.0", "result": None, "id": 1})


@pytest.mark.parametrize(
    "payload",
    [
        "This is a broken data file",  # broken_data_0.json
        42,
        None,
        [None],
        [[read("pumpfun_sell_0.json")[0]]],
        {"slot": 1, "meta": {}},
        {"jsonrpc": "2.0", "id": 1},
    ],
)
def test_shapes_that_are_not_transactions(payload: Any) -> None:
    with pytest.raises(MalformedPayload):
        load_transactions(payload)


@pytest.mark.parametrize(
    "name", ["getSignaturesForAddress_response.json", "getTokenLargestAccounts_response.json"]
)
def test_other_rpc_responses_are_not_transactions(name: str) -> None:
    with pytest.raises(MalformedPayload, match="not a getTransaction result|got list"):
        load_transactions(json.loads((RPC_DIR / name).read_bytes()))


# --- parse_payload_bytes -------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe\x00garbage", b"[" * 100_000])
def test_bytes_that_are_not_json(data: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_payload_bytes(data)


def test_bytes_for_another_wallet() -> None:
    data = (TX_DIR / "pumpfun_buy_bundle.json").read_bytes()
    (trade,) = parse_payload_bytes(data, wallet="GdCFP1doq784rQTHJDuvpLchVWoMtJwdAM8MQTCHWTuz")
    assert (trade.token_amount_raw, trade.quote_amount_raw, trade.fee_lamports) == (
        12023935360031,
        393794276,  # the curve's sol_amount in this buyer's TradeEvent (research table 2.2)
        0,
    )


# --- to_record -----------------------------------------------------------------------------


def test_to_record_of_a_sol_trade() -> None:
    (trade,) = parse_transaction(bare_result("pumpfun_sell_0.json"))
    assert trade.to_record() == TradeRecord(
        signature="3bYXWjjNkVZpz3VWrp8Sh12usVCnzEqhYCnNNMQrMu7C8XHssi2WBTW37zukC5oyYTsAKYRtUQ1xhwFMY"
        "FMH19VJ",
        wallet="4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh",
        mint="CnNVDyM7GXBBcH8giuRYm17YCn6kpFTTbnd6Tx4hpump",
        side="sell",
        token_amount_raw=592443959000000,
        decimals=6,
        # settled with the curve: TradeEvent sol_amount 37437283903 = the curve's lamport change
        sol_amount_lamports=37437283903,
        block_time=datetime(2024, 7, 20, 0, 40, tzinfo=UTC),
        slot=278536429,
        program="pumpfun",
        venue="pumpfun",
        quote_amount_raw=37437283903,
        venue_fee_raw=374372839,  # 1%: 37437283903 - 37052874564 - 36500 - 10000000
        network_fee_lamports=5000,
        priority_fee_lamports=31500,
        router_fee_lamports=10000000,  # to HWEoBxYs… (bloXroute per ext. lists only)
    )


def test_to_record_refuses_a_usdc_trade() -> None:
    usdc, _wsol = parse_transaction(bare_result("jupiterAggregatorV6_sharedAccountsRoute_1.json"))
    with pytest.raises(ValueError, match="not SOL"):
        usdc.to_record()
    # USDC 20000000 (20 USD) at 200 USD/SOL = 0.1 SOL, and the record says so
    record = usdc.to_record(sol_usd=200.0)
    assert (record.sol_amount_lamports, record.sol_usd) == (100000000, 200.0)


def test_to_record_refuses_a_trade_without_block_time() -> None:
    tx = copy.deepcopy(bare_result("pumpfun_sell_0.json"))
    tx["blockTime"] = None
    (trade,) = parse_transaction(tx)
    assert trade.block_time is None
    with pytest.raises(ValueError, match="no block time"):
        trade.to_record()


# --- malformed transactions ----------------------------------------------------------------


def _mutated(change: str) -> dict[str, Any]:
    tx = copy.deepcopy(bare_result("pumpfun_sell_0.json"))
    if not (
        _break_envelope(tx, change)
        or _break_balances(tx["meta"], change)
        or _break_token_balance(tx["meta"]["postTokenBalances"][1], change)
    ):
        raise AssertionError(change)
    return tx


def _break_envelope(tx: dict[str, Any], change: str) -> bool:
    """Apply ``change`` if it is to the meta, transaction, message, slot or block time."""
    message = tx["transaction"]["message"]
    if change == "no meta":
        del tx["meta"]
    elif change == "null meta":
        tx["meta"] = None
    elif change == "base64 transaction":
        tx["transaction"] = ["AQAB", "base64"]
    elif change == "no signatures":
        tx["transaction"]["signatures"] = []
    elif change == "keys not a list":
        message["accountKeys"] = "4Ddrf"
    elif change == "no keys":
        message["accountKeys"] = []
    elif change == "programIdIndex out of range":
        message["instructions"][-1]["programIdIndex"] = 99
    elif change == "slot as string":
        tx["slot"] = "278536429"
    elif change == "blockTime as string":
        tx["blockTime"] = "yesterday"
    elif change == "blockTime out of range":
        tx["blockTime"] = 10**30
    else:
        return False
    return True


def _break_balances(meta: dict[str, Any], change: str) -> bool:
    """Apply ``change`` if it is to the lamport balances, the fee or a token balance list."""
    if change == "balances not a list":
        meta["preBalances"] = "many"
    elif change == "short balances":
        meta["postBalances"].pop()
    elif change == "lamports as strings":
        meta["preBalances"] = [str(x) for x in meta["preBalances"]]
    elif change == "float lamports":
        meta["postBalances"][0] = 1.5
    elif change == "no fee":
        del meta["fee"]
    elif change == "token balances not a list":
        meta["preTokenBalances"] = "none"
    else:
        return False
    return True


def _break_token_balance(balance: dict[str, Any], change: str) -> bool:
    """Apply ``change`` if it is to one token balance of the wallet."""
    if change == "amount not a string":
        balance["uiTokenAmount"]["amount"] = 105061
    elif change == "amount not an integer":
        balance["uiTokenAmount"]["amount"] = "105061.5"
    elif change == "no uiTokenAmount":
        del balance["uiTokenAmount"]
    elif change == "accountIndex out of range":
        balance["accountIndex"] = 99
    elif change == "negative accountIndex":
        balance["accountIndex"] = -1
    else:
        return False
    return True


CHANGES = [
    "no meta",
    "null meta",
    "base64 transaction",
    "no signatures",
    "keys not a list",
    "no keys",
    "balances not a list",
    "short balances",
    "lamports as strings",
    "float lamports",
    "amount not a string",
    "amount not an integer",
    "no uiTokenAmount",
    "accountIndex out of range",
    "negative accountIndex",
    "programIdIndex out of range",
    "no fee",
    "slot as string",
    "blockTime as string",
    "blockTime out of range",
    "token balances not a list",
]


@pytest.mark.parametrize("change", CHANGES)
def test_malformed_transaction(change: str) -> None:
    tx = _mutated(change)
    with pytest.raises(MalformedPayload) as info:
        parse_transaction(tx)
    message = str(info.value)
    assert message and "\n" not in message


def test_malformed_message_names_the_signature() -> None:
    with pytest.raises(MalformedPayload, match=r"^transaction 3bYXWjjN\w+: missing field 'fee'$"):
        parse_transaction(_mutated("no fee"))


# --- raw amounts: u64, lossless, refused with the field named -------------------------------

U64_MAX = 18446744073709551615  # 2**64 - 1


def _wallet_balance(tx: dict[str, Any], key: str = "postTokenBalances") -> dict[str, Any]:
    balance: dict[str, Any] = tx["meta"][key][1]
    return balance


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda tx: _wallet_balance(tx)["uiTokenAmount"].update(decimals=19), "decimals 19"),
        (lambda tx: _wallet_balance(tx)["uiTokenAmount"].update(decimals=-1), "decimals -1"),
        (lambda tx: _wallet_balance(tx)["uiTokenAmount"].update(amount="-5"), "amount '-5'"),
        (lambda tx: _wallet_balance(tx)["uiTokenAmount"].update(amount="1e3"), "amount '1e3'"),
        (lambda tx: _wallet_balance(tx)["uiTokenAmount"].update(amount="²"), "amount '²'"),
        (lambda tx: _wallet_balance(tx)["uiTokenAmount"].update(amount=""), "amount ''"),
        (
            lambda tx: _wallet_balance(tx, "preTokenBalances")["uiTokenAmount"].update(
                amount=str(U64_MAX + 1)
            ),
            "preTokenBalances amount 18446744073709551616 is outside",
        ),
        (
            lambda tx: _wallet_balance(tx)["uiTokenAmount"].update(amount="9" * 400),
            "postTokenBalances amount '99999",
        ),
        (lambda tx: tx["meta"]["preBalances"].__setitem__(3, -1), "preBalances -1 is outside"),
        (
            lambda tx: tx["meta"]["postBalances"].__setitem__(3, U64_MAX + 1),
            "postBalances 18446744073709551616 is outside",
        ),
        (lambda tx: tx["meta"].update(fee=-5000), "fee -5000 is outside"),
    ],
)
def test_bad_raw_amounts_are_refused_naming_the_field(change: Any, message: str) -> None:
    tx = copy.deepcopy(bare_result("pumpfun_sell_0.json"))
    change(tx)
    with pytest.raises(MalformedPayload) as info:
        parse_transaction(tx)
    text = str(info.value)
    assert "\n" not in text and text.startswith("transaction 3bYXWjjN")
    assert message in text


def test_u64_amounts_are_kept_exactly() -> None:
    # A token balance of the largest u64 (18 decimals) on an account the swap does not touch
    # parses, and the trade is unchanged.
    tx = copy.deepcopy(bare_result("pumpfun_sell_0.json"))
    (expected,) = parse_transaction(tx)
    meta = tx["meta"]
    index = max(b["accountIndex"] for b in meta["postTokenBalances"]) + 1
    assert index < len(meta["postBalances"])
    for key in ("preTokenBalances", "postTokenBalances"):
        meta[key].append(
            {
                "accountIndex": index,
                "mint": "Max1111111111111111111111111111111111111111",
                "owner": "SomeoneElse111111111111111111111111111111111",
                "uiTokenAmount": {"amount": str(U64_MAX), "decimals": 18},
            }
        )
    assert parse_transaction(tx) == [expected]


def test_jsonparsed_transfer_amounts_are_checked() -> None:
    frames = (
        FIXTURES / "ws" / "helius_transactionNotification_jsonParsed_10frames_raydiumV4_swaps"
        ".concatenated.json"
    ).read_text()
    (tx,) = load_transactions(json.loads("[" + frames.rstrip().rstrip(",") + "]")[0])
    tx = copy.deepcopy(tx)
    for group in tx["meta"]["innerInstructions"]:
        for ins in group["instructions"]:
            parsed = ins.get("parsed")
            if isinstance(parsed, dict) and parsed.get("type") == "transfer":
                info = parsed["info"]
                if "amount" in info:
                    info["amount"] = str(U64_MAX + 1)
                else:
                    info["lamports"] = -1
    with pytest.raises(
        MalformedPayload, match=r"^transaction 4NnciVLN\w+: (transfer amount|lamports)"
    ):
        parse_transaction(tx)
