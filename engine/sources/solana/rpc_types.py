"""What the Solana RPC client returns: small typed records read from JSON-RPC results.

Each ``from_json`` checks the shape it needs and raises ``MalformedPayload`` (one line, no URL)
otherwise. Raw integer amounts stay integers (the node sends them as strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeGuard

from engine.errors import MalformedPayload

Transaction: TypeAlias = Mapping[str, Any]
"""A ``getTransaction`` result, as ``engine.sources.solana.parser.parse_transaction`` reads it."""


@dataclass(frozen=True, slots=True)
class NotYet:
    """The node answered ``null``: the transaction is not available (yet). Fetch it again later;
    do not drop it and do not move a cursor past it."""

    signature: str


TransactionResult: TypeAlias = Transaction | NotYet


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """One ``getSignaturesForAddress`` entry. ``failed``: the transaction has ``err`` set."""

    signature: str
    slot: int
    block_time: datetime | None
    failed: bool
    confirmation_status: str | None = None

    @classmethod
    def from_json(cls, item: Any) -> SignatureInfo:
        if not isinstance(item, Mapping):
            raise MalformedPayload("getSignaturesForAddress: an entry is not an object")
        signature, slot = item.get("signature"), item.get("slot")
        if not isinstance(signature, str) or not _is_int(slot):
            raise MalformedPayload("getSignaturesForAddress: entry without signature or slot")
        block_time = item.get("blockTime")
        when = (
            datetime.fromtimestamp(block_time, UTC)
            if _is_int(block_time) and 0 <= block_time < 2**40
            else None
        )
        status = item.get("confirmationStatus")
        return cls(
            signature=signature,
            slot=slot,
            block_time=when,
            failed=item.get("err") is not None,
            confirmation_status=status if isinstance(status, str) else None,
        )


@dataclass(frozen=True, slots=True)
class TokenAmount:
    """A raw token amount with its mint's decimals (``getTokenSupply``)."""

    amount_raw: int
    decimals: int

    @property
    def ui_amount(self) -> float:
        scale: int = 10**self.decimals  # int ** int is typed Any (a negative power is a float)
        return self.amount_raw / scale

    @classmethod
    def from_json(cls, value: Any, what: str) -> TokenAmount:
        if not isinstance(value, Mapping):
            raise MalformedPayload(f"{what}: amount is not an object")
        return cls(_raw_amount(value.get("amount"), what), _decimals(value.get("decimals"), what))


@dataclass(frozen=True, slots=True)
class TokenAccountBalance:
    """One ``getTokenLargestAccounts`` entry: a token account (not its owner) and its balance."""

    address: str
    amount_raw: int
    decimals: int

    @classmethod
    def from_json(cls, item: Any) -> TokenAccountBalance:
        what = "getTokenLargestAccounts"
        if not isinstance(item, Mapping) or not isinstance(item.get("address"), str):
            raise MalformedPayload(f"{what}: entry without an address")
        return cls(
            item["address"],
            _raw_amount(item.get("amount"), what),
            _decimals(item.get("decimals"), what),
        )


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """One ``getMultipleAccounts`` entry. ``owner`` is the program that owns the account (System
    for a wallet, the Token program for a token account, pump.fun for a bonding curve...)."""

    pubkey: str
    owner: str
    lamports: int
    executable: bool
    data: Any

    @property
    def parsed_info(self) -> Mapping[str, Any] | None:
        """``data.parsed.info`` of a ``jsonParsed`` account, or None."""
        if isinstance(self.data, Mapping):
            parsed = self.data.get("parsed")
            if isinstance(parsed, Mapping) and isinstance(parsed.get("info"), Mapping):
                info: Mapping[str, Any] = parsed["info"]
                return info
        return None

    @property
    def token_owner(self) -> str | None:
        """For a token account read as ``jsonParsed``: the wallet (or PDA) that holds it."""
        info = self.parsed_info
        owner = info.get("owner") if info is not None else None
        return owner if isinstance(owner, str) else None

    @classmethod
    def from_json(cls, pubkey: str, item: Any) -> AccountInfo | None:
        if item is None:
            return None
        what = "getMultipleAccounts"
        if not isinstance(item, Mapping) or not isinstance(item.get("owner"), str):
            raise MalformedPayload(f"{what}: account {pubkey} has no owner")
        lamports = item.get("lamports", 0)
        return cls(
            pubkey=pubkey,
            owner=item["owner"],
            lamports=lamports if _is_int(lamports) else 0,
            executable=bool(item.get("executable", False)),
            data=item.get("data"),
        )


def context_value(result: Any, what: str) -> Any:
    """``value`` of an ``{"context": ..., "value": ...}`` result."""
    if not isinstance(result, Mapping) or "value" not in result:
        raise MalformedPayload(f"{what}: result has no value")
    return result["value"]


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _raw_amount(value: Any, what: str) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if _is_int(value) and value >= 0:
        return int(value)
    raise MalformedPayload(f"{what}: amount {str(value)[:40]!r} is not a non-negative integer")


def _decimals(value: Any, what: str) -> int:
    if _is_int(value) and 0 <= value <= 30:
        return int(value)
    raise MalformedPayload(f"{what}: decimals {str(value)[:40]!r} is not an integer 0..30")
