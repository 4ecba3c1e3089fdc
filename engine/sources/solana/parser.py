"""Swaps from ``getTransaction`` results, read from balance changes: pure functions, no I/O.

For one wallet (default: the fee payer, the first account key) and one transaction:

* **Token legs**: the net change per mint of the token accounts whose ``owner`` is the wallet,
  from ``meta.preTokenBalances`` / ``postTokenBalances`` (a side that is missing counts as 0;
  Token and Token-2022 accounts alike). Raw integers from ``uiTokenAmount.amount``.
* **SOL leg** (lamports): the wallet's own lamport change, plus the fee when the wallet paid it
  (reported apart as ``fee_lamports``), plus the lamport change of every token account the
  wallet owns. For a wrapped-SOL account that change is its WSOL amount change, so SOL and WSOL
  are one leg; for any other token account it is the rent deposit or refund, so opening or
  closing the wallet's own token accounts is not counted as SOL spent or received. What the
  wallet pays to others in the same transaction (router and bot fees, Jito tips, rent of
  accounts it creates for others, e.g. a pump.fun bonding curve) stays in the SOL leg.
* **Quote**: SOL, else USDC, else USDT: the first of these that moved against a token leg.
  A buy is token in / quote out, a sell is token out / quote in. Quote mints are never
  reported as the traded token.
* One trade per token mint that moved against the quote. Mints that net to 0 (dust, the
  intermediate hops of a multi-hop route, round trips) are dropped, so a Jupiter route gives one
  trade. When several mints move against the same quote (a multi-buy), the quote amount is
  split evenly between them, so the trades still add up to what the wallet paid or received.
* Failed transactions (``meta.err``) and transactions with no quote leg against a token leg
  (transfers, DCA deposits and withdrawals, token-to-token swaps) give no trade.
* The routing program comes from instruction program ids, never from logs: top-level
  instructions first (a router there wins over the AMM it calls), then inner instructions.

Both RPC encodings are read: ``json`` (account keys are strings, v0 transactions extend them
with ``meta.loadedAddresses.writable`` then ``.readonly``; instructions carry
``programIdIndex``) and ``jsonParsed`` (account keys are ``{"pubkey": ...}`` objects that
already include the loaded addresses; instructions carry ``programId``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.errors import MalformedPayload
from engine.records import Side, TradeRecord
from engine.sources.solana.programs import USDC_MINT, USDT_MINT, WSOL_MINT
from engine.sources.solana.routing import route_program

__all__ = ["ParsedTrade", "load_transactions", "parse_payload_bytes", "parse_transaction"]

log = logging.getLogger(__name__)

_MAX_MESSAGE = 300


@dataclass(frozen=True, slots=True)
class ParsedTrade:
    """One swap of one wallet, as read from one transaction.

    ``quote_amount_raw`` is in the quote mint's raw units (lamports for SOL/WSOL) and excludes
    the transaction fee, which is ``fee_lamports`` (0 when the wallet did not pay it).
    ``block_time`` is UTC and aware, or None when the node did not report it.
    """

    signature: str
    wallet: str
    side: Side
    mint: str
    token_amount_raw: int
    decimals: int
    quote_mint: str
    quote_amount_raw: int
    fee_lamports: int
    program: str
    slot: int
    block_time: datetime | None

    def to_record(self) -> TradeRecord:
        """The ``TradeRecord`` of this trade; only SOL/WSOL-quoted trades with a block time."""
        if self.quote_mint != WSOL_MINT:
            raise ValueError(
                f"trade {self.signature} is quoted in {self.quote_mint}, not SOL; "
                "TradeRecord holds SOL amounts only"
            )
        if self.block_time is None:
            raise ValueError(f"trade {self.signature} has no block time")
        return TradeRecord(
            signature=self.signature,
            wallet=self.wallet,
            mint=self.mint,
            side=self.side,
            token_amount_raw=self.token_amount_raw,
            decimals=self.decimals,
            sol_amount_lamports=self.quote_amount_raw,
            block_time=self.block_time,
            slot=self.slot,
            program=self.program,
        )


def parse_transaction(tx: Mapping[str, Any], wallet: str | None = None) -> list[ParsedTrade]:
    """The trades of ``wallet`` (default: the fee payer) in one ``getTransaction`` result.

    Raises ``MalformedPayload`` (one-line message) when the result does not have the shape of
    a transaction with metadata.
    """
    try:
        return _parse(tx, wallet)
    except MalformedPayload:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedPayload(_one_line(f"{_where(tx)}: {_describe(exc)}")) from exc


def load_transactions(payload: Any) -> list[Mapping[str, Any]]:
    """The ``getTransaction`` results in a decoded payload.

    Accepts a JSON-RPC response (``{"jsonrpc", "result", "id"}``), a bare result, or a list of
    either (a batch response, or a file of results). A JSON-RPC error, a null result, or
    anything that is not a transaction raises ``MalformedPayload``.
    """
    if isinstance(payload, list):
        return [_unwrap(item, position) for position, item in enumerate(payload)]
    return [_unwrap(payload, None)]


def parse_payload_bytes(data: bytes, wallet: str | None = None) -> list[ParsedTrade]:
    """``json.loads`` + ``load_transactions`` + ``parse_transaction`` over every result."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise MalformedPayload(_one_line(f"payload is not valid JSON: {exc}")) from exc
    trades: list[ParsedTrade] = []
    for tx in load_transactions(payload):
        trades.extend(parse_transaction(tx, wallet))
    return trades


# --- payload envelopes ---------------------------------------------------------------------


def _unwrap(item: Any, position: int | None) -> Mapping[str, Any]:
    at = "" if position is None else f" (item {position})"
    if isinstance(item, Mapping) and ("jsonrpc" in item or "error" in item or "result" in item):
        error = item.get("error")
        if error is not None:
            if isinstance(error, Mapping):
                text = f"{error.get('code')}: {error.get('message')}"
            else:
                text = str(error)
            raise MalformedPayload(_one_line(f"JSON-RPC error{at} {text}"))
        if "result" not in item:
            raise MalformedPayload(f"JSON-RPC response{at} has neither result nor error")
        item = item["result"]
        if item is None:
            raise MalformedPayload(
                f"getTransaction result{at} is null (transaction not found or not yet available)"
            )
    if not isinstance(item, Mapping):
        raise MalformedPayload(
            f"expected a getTransaction result object{at}, got {type(item).__name__}"
        )
    if "transaction" not in item:
        raise MalformedPayload(f"not a getTransaction result{at}: no 'transaction' field")
    return item


# --- one transaction -----------------------------------------------------------------------


def _parse(tx: Mapping[str, Any], wallet: str | None) -> list[ParsedTrade]:
    transaction, signature, meta = _checked_transaction(tx)
    if meta.get("err") is not None:
        return []  # failed: its balance changes are only the fee

    message, keys, pre, post = _accounts(transaction, meta, signature)
    fee_payer: str = keys[0]
    if wallet is None:
        wallet = fee_payer

    deltas, decimals, owned = _token_legs(meta, wallet, len(keys), signature)
    usdc = deltas.pop(USDC_MINT, 0)
    usdt = deltas.pop(USDT_MINT, 0)
    deltas.pop(WSOL_MINT, None)  # counted through the accounts' lamports below
    moving_in = any(delta > 0 for delta in deltas.values())
    moving_out = any(delta < 0 for delta in deltas.values())
    if not (moving_in or moving_out):
        return []  # no token moved: a transfer of SOL/stables, an arbitrage, or nothing

    fee = _integer(meta["fee"], "fee", signature) if fee_payer == wallet else 0
    sol = _sol_change(keys, pre, post, wallet, fee, owned, signature)
    quote = _quote(sol, usdc, usdt, moving_in=moving_in, moving_out=moving_out)
    if quote is None:
        return []  # tokens moved with no quote against them: transfer, deposit, token swap
    quote_mint, quote_delta = quote
    side: Side = "buy" if quote_delta < 0 else "sell"
    buying = side == "buy"
    legs = [(mint, delta) for mint, delta in deltas.items() if (delta > 0 if buying else delta < 0)]

    slot = _integer(tx["slot"], "slot", signature)
    block_time = _block_time(tx.get("blockTime"), signature)
    program = route_program(message, meta, keys, signature)
    share, remainder = divmod(abs(quote_delta), len(legs))
    if len(legs) > 1:
        log.debug(
            "transaction %s: %d mints against one quote; quote split evenly", signature, len(legs)
        )
    trades: list[ParsedTrade] = []
    for mint, delta in legs:
        trades.append(
            ParsedTrade(
                signature=signature,
                wallet=wallet,
                side=side,
                mint=mint,
                token_amount_raw=abs(delta),
                decimals=decimals[mint],
                quote_mint=quote_mint,
                quote_amount_raw=share + remainder,
                fee_lamports=fee,
                program=program,
                slot=slot,
                block_time=block_time,
            )
        )
        remainder = 0
    return trades


def _checked_transaction(
    tx: Mapping[str, Any],
) -> tuple[Mapping[str, Any], str, Mapping[str, Any]]:
    """The transaction object, its first signature and its status metadata."""
    if not isinstance(tx, Mapping):
        raise MalformedPayload(f"expected a getTransaction result object, got {type(tx).__name__}")
    transaction = tx["transaction"]
    if not isinstance(transaction, Mapping):
        raise MalformedPayload(
            "transaction is not an object: only the json and jsonParsed encodings are supported"
        )
    signatures = transaction["signatures"]
    if not isinstance(signatures, list) or not signatures or type(signatures[0]) is not str:
        raise MalformedPayload("transaction has no signature")
    signature: str = signatures[0]
    meta = tx.get("meta")
    if not isinstance(meta, Mapping):
        raise MalformedPayload(f"transaction {signature}: no meta (status metadata unavailable)")
    return transaction, signature, meta


def _accounts(
    transaction: Mapping[str, Any], meta: Mapping[str, Any], signature: str
) -> tuple[Any, list[Any], list[Any], list[Any]]:
    """The message, the full account keys (the fee payer's first, a string) and the lamport
    balances before and after, one per key."""
    pre = meta["preBalances"]
    post = meta["postBalances"]
    if type(pre) is not list or type(post) is not list:
        raise MalformedPayload(f"transaction {signature}: pre/postBalances are not lists")
    message = transaction["message"]
    keys = _account_keys(message["accountKeys"], meta, len(pre), signature)
    n = len(keys)
    if len(pre) != n or len(post) != n:
        raise MalformedPayload(
            f"transaction {signature}: {n} account keys but {len(pre)} preBalances "
            f"and {len(post)} postBalances"
        )
    if type(keys[0]) is not str:
        raise MalformedPayload(f"transaction {signature}: account keys are not strings")
    return message, keys, pre, post


def _token_legs(
    meta: Mapping[str, Any], wallet: str, n: int, signature: str
) -> tuple[dict[str, int], dict[str, int], set[int]]:
    """Token legs of the wallet: the net raw change per mint (quote mints included), each
    mint's decimals, and the indexes of the token accounts it owns."""
    deltas: dict[str, int] = {}
    decimals: dict[str, int] = {}
    owned: set[int] = set()
    for sign, balances_key in ((-1, "preTokenBalances"), (1, "postTokenBalances")):
        balances = meta.get(balances_key) or ()
        _add_balances(balances, wallet, sign, n, signature, deltas, decimals, owned)
    return deltas, decimals, owned


def _quote(
    sol: int, usdc: int, usdt: int, *, moving_in: bool, moving_out: bool
) -> tuple[str, int] | None:
    """The quote mint and its change: the first of SOL, USDC, USDT that moved against a token
    leg, or None."""
    for quote_mint, quote_delta in ((WSOL_MINT, sol), (USDC_MINT, usdc), (USDT_MINT, usdt)):
        if (quote_delta < 0 and moving_in) or (quote_delta > 0 and moving_out):
            return quote_mint, quote_delta
    return None


def _integer(value: Any, name: str, signature: str) -> int:
    if type(value) is not int:
        raise MalformedPayload(f"transaction {signature}: {name} is not an integer")
    return value


def _sol_change(
    keys: list[Any],
    pre: list[Any],
    post: list[Any],
    wallet: str,
    fee: int,
    owned: set[int],
    signature: str,
) -> int:
    """Lamports in (+) or out (-) of the wallet, fee given back, its token accounts included."""
    sol = fee
    if fee:
        sol += post[0] - pre[0]  # the fee payer is account 0
    else:
        try:
            index = keys.index(wallet)
        except ValueError:
            pass  # the wallet only appears as the owner of token accounts
        else:
            sol += post[index] - pre[index]
    for index in owned:  # WSOL amounts, and rent of the wallet's own token accounts
        sol += post[index] - pre[index]
    if type(sol) is not int:
        raise MalformedPayload(f"transaction {signature}: lamport balances are not integers")
    return sol


def _account_keys(raw: Any, meta: Mapping[str, Any], n_balances: int, signature: str) -> list[Any]:
    """The full account list: static keys, then loaded ``writable``, then loaded ``readonly``."""
    if type(raw) is not list or not raw:
        raise MalformedPayload(f"transaction {signature}: no account keys")
    # json: strings; jsonParsed: {"pubkey", "signer", "writable", "source"} objects.
    keys: list[Any] = raw if type(raw[0]) is str else [key["pubkey"] for key in raw]
    if len(keys) != n_balances:
        # json-encoded v0: the lookup-table addresses follow the static keys. (jsonParsed
        # lists them in accountKeys already, so the lengths match and nothing is added.)
        loaded = meta.get("loadedAddresses")
        if loaded:
            keys = keys + loaded["writable"] + loaded["readonly"]
    return keys


def _add_balances(
    balances: Iterable[Any],
    wallet: str,
    sign: int,
    n: int,
    signature: str,
    deltas: dict[str, int],
    decimals: dict[str, int],
    owned: set[int],
) -> None:
    for balance in balances:
        if balance.get("owner") != wallet:
            continue
        index = balance["accountIndex"]
        mint = balance["mint"]
        ui_amount = balance["uiTokenAmount"]
        amount = ui_amount["amount"]
        mint_decimals = ui_amount["decimals"]
        if type(index) is not int or not 0 <= index < n:
            raise MalformedPayload(
                f"transaction {signature}: token balance accountIndex {index!r} is not one of "
                f"the {n} accounts"
            )
        if type(amount) is not str or not amount.isdigit():
            raise MalformedPayload(
                f"transaction {signature}: token amount {amount!r} is not a raw integer string"
            )
        if type(mint) is not str or type(mint_decimals) is not int:
            raise MalformedPayload(f"transaction {signature}: token balance of wrong types")
        deltas[mint] = deltas.get(mint, 0) + sign * int(amount)
        decimals[mint] = mint_decimals
        owned.add(index)


def _block_time(value: Any, signature: str) -> datetime | None:
    if value is None:
        return None
    if type(value) is not int:
        raise MalformedPayload(f"transaction {signature}: blockTime is not an integer")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        message = f"transaction {signature}: blockTime {value} is out of range"
        raise MalformedPayload(message) from exc


# --- messages ------------------------------------------------------------------------------


def _where(tx: Any) -> str:
    try:
        signature = tx["transaction"]["signatures"][0]
    except Exception:  # the payload is malformed anyway; name it as well as we can
        signature = None
    return f"transaction {signature}" if type(signature) is str else "transaction"


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "missing field"
    return f"unexpected shape ({type(exc).__name__}: {exc})"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
