"""Swaps from ``getTransaction`` results, as their venues settled them: pure functions, no I/O.

Encodings: ``json`` (account keys are strings, v0 transactions extend them with
``meta.loadedAddresses.writable`` then ``.readonly``; instructions carry ``programIdIndex``),
``jsonParsed`` (keys are ``{"pubkey", ...}`` objects that already include loaded addresses;
instructions carry ``programId``; system and token instructions come ``parsed``) and ``base64``
(``transaction = [text, "base64"]``: the wire message is decoded by ``wire``). Envelopes: a
JSON-RPC response, a bare result, a list of either, a Helius ``transactionNotification`` frame
(several frames may be concatenated without brackets), a fixture wrapper ``{"raw": result}``.
``slot`` and ``blockTime`` may be missing (None).

One ``ParsedTrade`` per swap the wallet made (default wallet: the fee payer, account 0; any
other wallet of the transaction when asked, a bundle's other signers for example). How the swaps
are found, venue-agnostically, is in ``swaps``: the instruction tree (inner instructions placed
by ``stackHeight``, see ``transfers``) tells which program made each transfer; a token transfer
made by a venue's invocation between the wallet's (linked) accounts and a pool is a swap.

The amounts of a trade, all raw integers:

* ``token_amount_raw``: the token the wallet received from (buy) or sent to (sell) the venue:
  for a Token-2022 mint with a transfer fee, what reached its account (buy: the amount sent
  less the fee the mint withheld, read from the account's balance change, ``transfers.withhold``)
  or what left it (sell: the fee included).
* ``quote_amount_raw`` (in ``quote_mint``: WSOL for SOL and WSOL alike, USDC or USDT): the
  quote the pool, curve or maker itself received (buy) or paid (sell) in that venue invocation,
  read from its transfers (or, for a curve that pays lamports without a transfer, from the
  curve's lamport change), **venue fees excluded**: a fee the venue keeps in the pool (PumpSwap
  LP fee, cashback) is taken from the venue's event and removed. The quote is the asset the
  venue exchanged against the token: for a USDC -> WSOL -> token route, the WSOL leg.
* ``venue_fees`` (same mint as the quote): what the venue took beside the price, by kind:
  ``protocol``/``creator`` (pump.fun TradeEvent; for its old events that lack them, the
  venue's transfers to third parties, or on a sell the curve's payment minus what reached the
  wallet), ``lp``/``protocol``/``creator``/``cashback`` (PumpSwap Buy/SellEvent), ``venue``
  (transfers to third parties inside any other venue's invocation).
* The wallet's other costs, in lamports, on its first trade of the transaction (0 on the
  others): ``network_fee`` = 5000 x signatures and ``priority_fee`` = ``meta.fee`` minus it
  (only when the wallet paid the fee; ``fee_lamports`` is their sum); ``tips`` = transfers to a
  tip account (``programs.TIP_ACCOUNTS``) outside the venues; ``router_fees`` = other lamports
  the wallet (or a router's account on its route) sent outside the venues to accounts that
  already existed (a router's or bot's fee account); ``rent`` = lamports into accounts created
  in the transaction (for the wallet: the rent left in its own token accounts, net of refunds of
  those it closed; for others: ``CreateAccount`` funding and transfers into empty accounts).
  Fees in other mints (a router's USDC commission, Jupiter's platform fee, a DCA fee) are in
  ``other_fees`` as ``(kind, mint, raw amount)``.
* ``venue`` / ``router``: labels of the venue program and of the router, bot or keeper through
  which it was reached (None when called directly); ``program`` is the router, else the venue.

Failed transactions (``meta.err``) give no trade. A keeper-filled order (Jupiter DCA) is the
trade of the order's owner (its order account's token accounts count as the owner's); the
keeper that signed it has none. A malformed transaction raises ``MalformedPayload`` with one
line naming the field.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.errors import MalformedPayload
from engine.records import LAMPORTS_PER_SOL, Side, TradeRecord
from engine.sources.solana.envelopes import decode_payload, load_transactions, one_line
from engine.sources.solana.programs import (
    LAMPORTS_PER_SIGNATURE,
    OTHER,
    USDC_MINT,
    USDT_MINT,
    VENUE_PROGRAMS,
    WSOL_MINT,
)
from engine.sources.solana.routing import router_of
from engine.sources.solana.swaps import (
    Balances,
    Hop,
    WalletCosts,
    find_hops,
    linked_accounts,
    order_owners,
    wallet_accounts,
    wallet_costs,
    wallet_sol_delta,
)
from engine.sources.solana.transfers import U64_MAX, raw_amount, read_tree, withhold
from engine.sources.solana.wire import WireError, wire_transaction

__all__ = ["ParsedTrade", "load_transactions", "parse_payload_bytes", "parse_transaction"]

log = logging.getLogger(__name__)

# USDC and USDT have 6 decimals (token balances of jupiterAggregatorV6_sharedAccountsRoute_1 and
# venues/jupiter_usdt_route_TyswJc: "decimals": 6).
_STABLE_DECIMALS = {USDC_MINT: 6, USDT_MINT: 6}
# No SPL mint in the fixtures has more than 9 decimals; 18 is the most any chain's token uses
# and keeps 10**decimals exact in a float's range for the UI amounts computed downstream.
_MAX_DECIMALS = 18
_U64_DIGITS = len(str(U64_MAX))


# Not frozen: a frozen dataclass sets each of the 22 fields through object.__setattr__, which
# made building a trade ~1 us (4% of the parse) slower. Nothing changes a trade after the parse.
@dataclass(slots=True)
class ParsedTrade:
    """One swap of one wallet, as read from one transaction (see the module doc for each
    amount). ``block_time`` is UTC and aware; it and ``slot`` are None when not reported."""

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
    slot: int | None
    block_time: datetime | None
    swap_index: int = 0
    venue: str = OTHER
    router: str | None = None
    venue_fees: dict[str, int] = field(default_factory=dict)
    network_fee: int = 0
    priority_fee: int = 0
    tips: int = 0
    router_fees: int = 0
    rent: int = 0
    other_fees: tuple[tuple[str, str, int], ...] = ()

    def to_record(self, sol_usd: float | None = None) -> TradeRecord:
        """The ``TradeRecord`` of this trade. A USDC/USDT quote is converted to lamports at
        ``sol_usd`` (USD per SOL at the block time), and the record says so."""
        if self.block_time is None or self.slot is None:
            raise ValueError(f"trade {self.signature} has no block time or slot")
        if self.quote_mint == WSOL_MINT:
            lamports, price = self.quote_amount_raw, None
        elif self.quote_mint in _STABLE_DECIMALS and sol_usd is not None and sol_usd > 0:
            usd = self.quote_amount_raw / 10 ** _STABLE_DECIMALS[self.quote_mint]
            lamports, price = round(usd / sol_usd * LAMPORTS_PER_SOL), sol_usd
        else:
            raise ValueError(
                f"trade {self.signature} is quoted in {self.quote_mint}, not SOL; "
                "give the SOL/USD price of its block time to convert it"
            )
        return TradeRecord(
            signature=self.signature,
            wallet=self.wallet,
            mint=self.mint,
            side=self.side,
            token_amount_raw=self.token_amount_raw,
            decimals=self.decimals,
            sol_amount_lamports=lamports,
            block_time=self.block_time,
            slot=self.slot,
            program=self.program,
            swap_index=self.swap_index,
            venue=self.venue,
            router=self.router,
            quote_mint=self.quote_mint,
            quote_amount_raw=self.quote_amount_raw,
            sol_usd=price,
            venue_fee_raw=sum(self.venue_fees.values()),
            network_fee_lamports=self.network_fee,
            priority_fee_lamports=self.priority_fee,
            tip_lamports=self.tips,
            router_fee_lamports=self.router_fees,
            rent_lamports=self.rent,
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
        raise MalformedPayload(one_line(f"{_where(tx)}: {_describe(exc)}")) from exc


def parse_payload_bytes(data: bytes, wallet: str | None = None) -> list[ParsedTrade]:
    """``json.loads`` + ``load_transactions`` + ``parse_transaction`` over every result.
    WebSocket frames written one after another (``{...},\\n{...}``) are read as a list."""
    payload = decode_payload(data)
    trades: list[ParsedTrade] = []
    for tx in load_transactions(payload):
        trades.extend(parse_transaction(tx, wallet))
    return trades


# --- one transaction -----------------------------------------------------------------------


def _parse(tx: Mapping[str, Any], wallet: str | None) -> list[ParsedTrade]:
    transaction, signature, meta = _checked_transaction(tx)
    if meta.get("err") is not None:
        return []  # failed: its balance changes are only the fee
    message, keys, pre, post = _accounts(transaction, meta, signature)
    fee_payer: str = keys[0]
    wallet = fee_payer if wallet is None else wallet
    bal = _balances(meta, keys, pre, post, signature)
    inner = meta.get("innerInstructions")
    tree = read_tree(message["instructions"], inner, keys, signature, bal.mint)
    withhold(tree, bal.amount_pre, bal.amount_post)
    orders: Collection[str] = ()
    if wallet in tree.keeper_accounts:  # listed by a keeper's order instruction
        signers = _signers(transaction, message, keys)
        orders = order_owners(tree, bal, wallet, signers)
        if orders and wallet in signers:
            return []  # the keeper of a filled order: the trade is the order owner's
    own = wallet_accounts(tree, bal, wallet, orders)
    linked = linked_accounts(tree, own)
    used: set[int] = set()
    hops = find_hops(tree, bal, own, linked, used)
    if not hops:
        return []
    slot = tx.get("slot")
    if slot is not None:
        slot = _integer(slot, "slot", signature)
    block_time = _block_time(tx.get("blockTime"), signature)
    fee = meta["fee"]
    if type(fee) is not int or not 0 <= fee <= U64_MAX:
        raw_amount(_integer(fee, "fee", signature), "fee", signature)  # raises, naming it
    fee = fee if fee_payer == wallet else 0
    network = min(fee, LAMPORTS_PER_SIGNATURE * len(transaction["signatures"]))
    costs = wallet_costs(tree, bal, wallet, own, linked, used)
    _fee_from_balance(hops, bal, own, fee, costs)
    trades = []
    for index, hop in enumerate(hops):
        first = index == 0
        router = router_of(tree, hop.call)
        venue = VENUE_PROGRAMS.get(hop.venue_program, OTHER)
        # positional, in the field order: 22 keyword arguments cost ~2 us a trade to match
        trades.append(
            ParsedTrade(
                signature,
                wallet,
                "buy" if hop.side == "buy" else "sell",
                hop.mint,
                hop.token_amount,  # token_amount_raw
                bal.decimals.get(hop.mint, 0),
                hop.quote_mint,
                hop.quote_amount,  # quote_amount_raw
                fee if first else 0,  # fee_lamports
                router or venue,  # program
                slot,
                block_time,
                index,  # swap_index
                venue,
                router,
                hop.venue_fees,
                network if first else 0,  # network_fee
                fee - network if first else 0,  # priority_fee
                costs.tips if first else 0,
                costs.router_fees if first else 0,
                costs.rent if first else 0,
                tuple(costs.other_fees) if first else (),
            )
        )
    return trades


def _fee_from_balance(
    hops: list[Hop], bal: Balances, own: set[str], fee: int, costs: WalletCosts
) -> None:
    """A curve that paid lamports without a transfer: its venue fee is what it paid minus what
    reached the wallet (the wallet's lamport change with its other costs given back)."""
    if len(hops) == 1:  # (a hop pending here is quoted in WSOL: the curve's lamports)
        hop = hops[0]
        if not hop.fee_from_balance:
            return
    else:
        pending = [hop for hop in hops if hop.fee_from_balance]
        if len(pending) != 1 or [h.quote_mint for h in hops].count(WSOL_MINT) != 1:
            return
        hop = pending[0]
    received = wallet_sol_delta(bal, own) + fee + costs.tips + costs.router_fees + costs.rent
    venue_fee = hop.quote_amount - received
    if 0 < venue_fee < hop.quote_amount:
        hop.venue_fees = {"protocol": venue_fee}


def _signers(
    transaction: Mapping[str, Any], message: Mapping[str, Any], keys: list[str]
) -> set[str]:
    raw = message["accountKeys"]
    if raw and type(raw[0]) is not str and isinstance(raw[0], Mapping):
        return {key["pubkey"] for key in raw if key.get("signer")}
    return set(keys[: len(transaction["signatures"])])


def _balances(
    meta: Mapping[str, Any], keys: list[str], pre: list[Any], post: list[Any], signature: str
) -> Balances:
    if not _all_u64(pre + post):  # (checked in C; the loop names the first that is not u64)
        for name, values in (("preBalances", pre), ("postBalances", post)):
            for value in values:
                if type(value) is not int:
                    raise MalformedPayload(
                        f"transaction {signature}: lamport balances are not integers"
                    )
                if not 0 <= value <= U64_MAX:
                    raw_amount(value, name, signature)  # raises, naming the field
    n = len(keys)
    index = dict(zip(keys, range(n), strict=True))  # account -> its index
    if len(index) < n:  # a key repeats (malformed): its first index, written last
        index = dict(zip(reversed(keys), range(n - 1, -1, -1), strict=True))
    bal = Balances(keys, pre, post, {}, {}, {}, {}, {}, index)
    owners, mints, decimals_of = bal.owner, bal.mint, bal.decimals
    for name, amounts in (
        ("preTokenBalances", bal.amount_pre),
        ("postTokenBalances", bal.amount_post),
    ):
        balances = meta.get(name) or []
        if type(balances) is not list:
            raise MalformedPayload(f"transaction {signature}: {name} is not a list")
        for balance in balances:
            at = balance["accountIndex"]
            mint = balance["mint"]
            ui_amount = balance["uiTokenAmount"]
            amount = ui_amount["amount"]
            decimals = ui_amount["decimals"]
            if not (
                type(at) is int
                and 0 <= at < n
                and type(amount) is str
                and len(amount) < _U64_DIGITS  # (19 digits are below U64_MAX; isdigit: not "")
                and amount.isdigit()
                and amount.isascii()
                and type(mint) is str
                and type(decimals) is int
                and 0 <= decimals <= _MAX_DECIMALS
            ):  # the checks of _token_balance at once; it names the one that fails
                at, mint, value, decimals = _token_balance(balance, n, name, signature)
            else:
                value = int(amount)
            account = keys[at]
            owner = balance.get("owner")
            if type(owner) is str:
                owners[account] = owner
            mints[account] = mint
            decimals_of[mint] = decimals
            amounts[account] = value
    return bal


def _all_u64(values: list[Any]) -> bool:
    """Whether every value is an ``int`` (not a bool) in 0..U64_MAX, checked in C: an
    ``array("Q")`` takes integers of that range only (bools too, hence the type scan)."""
    try:
        array("Q", values)
    except (TypeError, OverflowError):
        return False
    return bool not in map(type, values)


def _token_balance(
    balance: Mapping[str, Any], n: int, name: str, signature: str
) -> tuple[int, str, int, int]:
    """(account index, mint, raw amount, decimals) of one token balance, checked."""
    account_index = balance["accountIndex"]
    mint = balance["mint"]
    ui_amount = balance["uiTokenAmount"]
    amount = ui_amount["amount"]
    decimals = ui_amount["decimals"]
    if type(account_index) is not int or not 0 <= account_index < n:
        raise MalformedPayload(
            f"transaction {signature}: token balance accountIndex {account_index!r} is "
            f"not one of the {n} accounts"
        )
    if type(amount) is not str:
        raise MalformedPayload(
            f"transaction {signature}: token amount {amount!r} is not a raw integer string"
        )
    value = raw_amount(amount, f"{name} amount", signature)
    if type(mint) is not str or type(decimals) is not int:
        raise MalformedPayload(f"transaction {signature}: token balance of wrong types")
    if not 0 <= decimals <= _MAX_DECIMALS:
        raise MalformedPayload(
            f"transaction {signature}: {name} decimals {decimals} is outside 0..{_MAX_DECIMALS}"
        )
    return account_index, mint, value, decimals


def _checked_transaction(
    tx: Mapping[str, Any],
) -> tuple[Mapping[str, Any], str, Mapping[str, Any]]:
    """The transaction object, its first signature and its status metadata."""
    if type(tx) is not dict and not isinstance(tx, Mapping):
        raise MalformedPayload(f"expected a getTransaction result object, got {type(tx).__name__}")
    transaction = tx["transaction"]
    if type(transaction) is not dict and not isinstance(transaction, Mapping):
        try:
            transaction = wire_transaction(transaction)
        except WireError as exc:
            raise MalformedPayload(f"transaction: {exc}") from None
    signatures = transaction["signatures"]
    if not isinstance(signatures, list) or not signatures or type(signatures[0]) is not str:
        raise MalformedPayload("transaction has no signature")
    signature: str = signatures[0]
    meta = tx.get("meta")
    if type(meta) is not dict and not isinstance(meta, Mapping):
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


def _integer(value: Any, name: str, signature: str) -> int:
    if type(value) is not int:
        raise MalformedPayload(f"transaction {signature}: {name} is not an integer")
    return value


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _block_time(value: Any, signature: str) -> datetime | None:
    if value is None:
        return None
    if type(value) is not int:
        raise MalformedPayload(f"transaction {signature}: blockTime is not an integer")
    try:
        return _EPOCH + timedelta(0, value)  # (datetime.fromtimestamp(value, UTC), faster)
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
