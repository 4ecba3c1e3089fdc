"""The Solana wire format of a transaction (``encoding: "base64"``), standard library only.

A wire transaction is ``shortvec(n) + n x 64-byte signatures + message``. A message is legacy or,
when its first byte has the high bit set, versioned (``0x80 | version``; only v0 exists):
``header (3 bytes: required signatures, readonly signed, readonly unsigned) + shortvec keys x 32
bytes + recent blockhash (32) + shortvec instructions`` where an instruction is ``program index
(1 byte) + shortvec account indexes + shortvec data bytes``; v0 then lists its address-table
lookups (``table key + shortvec writable indexes + shortvec readonly indexes``). The addresses a
lookup loads are not in the message: the node reports them in ``meta.loadedAddresses``.

``decode_wire`` returns the transaction in the shape of the ``json`` encoding (so the parser
reads one shape), except that instruction ``data`` stays ``bytes`` instead of base58 text.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from engine.sources.base58 import b58encode

__all__ = ["WireError", "decode_wire", "wire_transaction"]


class WireError(ValueError):
    """The bytes are not a wire transaction (the message names what is wrong)."""


def wire_transaction(value: Any) -> dict[str, Any]:
    """The ``json``-shaped transaction of a ``[base64 text, "base64"]`` pair."""
    if (
        type(value) is not list
        or len(value) != 2
        or value[1] != "base64"
        or type(value[0]) is not str
    ):
        raise WireError('transaction is neither an object nor a [text, "base64"] pair')
    try:
        raw = base64.b64decode(value[0], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireError(f"transaction is not valid base64 ({exc})") from None
    return decode_wire(raw)


class _Reader:
    __slots__ = ("data", "at")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int, what: str) -> bytes:
        end = self.at + n
        if end > len(self.data):
            raise WireError(f"wire transaction ends inside {what}")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def shortvec(self, what: str) -> int:
        value = 0
        for shift in (0, 7, 14):
            part = self.byte(what)
            value |= (part & 0x7F) << shift
            if not part & 0x80:
                return value
        raise WireError(f"wire transaction has an overlong length in {what}")

    def keys(self, what: str) -> list[str]:
        return [b58encode(self.take(32, what)) for _ in range(self.shortvec(what))]

    def indexes(self, what: str) -> list[int]:
        return list(self.take(self.shortvec(what), what))


def decode_wire(raw: bytes) -> dict[str, Any]:
    """A wire transaction (legacy or v0) in the ``json`` shape (``version`` included)."""
    reader = _Reader(raw)
    signatures = [b58encode(reader.take(64, "signatures")) for _ in range(reader.shortvec("sig"))]
    first = reader.byte("message header")
    version: int | str = "legacy"
    if first & 0x80:
        version = first & 0x7F
        if version != 0:
            raise WireError(f"wire message version {version} is not supported")
        first = reader.byte("message header")
    header = {
        "numRequiredSignatures": first,
        "numReadonlySignedAccounts": reader.byte("message header"),
        "numReadonlyUnsignedAccounts": reader.byte("message header"),
    }
    keys = reader.keys("account keys")
    blockhash = b58encode(reader.take(32, "recent blockhash"))
    instructions = []
    for _ in range(reader.shortvec("instructions")):
        program = reader.byte("instruction")
        accounts = reader.indexes("instruction accounts")
        data = reader.take(reader.shortvec("instruction data"), "instruction data")
        instructions.append({"programIdIndex": program, "accounts": accounts, "data": data})
    message: dict[str, Any] = {
        "header": header,
        "accountKeys": keys,
        "recentBlockhash": blockhash,
        "instructions": instructions,
    }
    if version != "legacy":
        lookups = []
        for _ in range(reader.shortvec("address table lookups")):
            table = b58encode(reader.take(32, "address table lookup"))
            writable = reader.indexes("address table lookup")
            readonly = reader.indexes("address table lookup")
            lookups.append(
                {"accountKey": table, "writableIndexes": writable, "readonlyIndexes": readonly}
            )
        message["addressTableLookups"] = lookups
    if reader.at != len(raw):
        raise WireError(f"wire transaction has {len(raw) - reader.at} bytes after the message")
    return {"signatures": signatures, "message": message, "version": version}
