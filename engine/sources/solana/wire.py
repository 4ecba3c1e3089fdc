"""Base58 and the Solana wire format of a transaction (``encoding: "base64"``), standard library only.

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

__all__ = ["WireError", "b58decode", "b58encode", "decode_wire", "wire_transaction"]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}


class WireError(ValueError):
    """The bytes are not a wire transaction (the message names what is wrong)."""


# Two base58 digits per step (58**2 = 3364 pairs), five pairs per big-integer division: an
# account key takes 5 big divisions instead of 44 (the profile's top line before).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_CHUNK = 58**10


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    parts: list[str] = []
    pairs = _PAIRS
    while number:
        number, chunk = divmod(number, _CHUNK)
        for _ in range(5):
            chunk, pair = divmod(chunk, 3364)
            parts.append(pairs[pair])
    text = "".join(reversed(parts)).lstrip("1")
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + text


# Byte of a character (its UTF-8) -> its base58 digit, 58 for a byte outside the alphabet:
# ``bytes.translate`` turns the text into digits in C, leaving the loop one multiply-add.
_DIGITS = bytes(_INDEX.get(chr(byte), 58) for byte in range(256))


def b58decode(text: str) -> bytes:
    """Bytes of a base58 string; ``ValueError`` on a character outside the alphabet."""
    digits = text.encode("utf-8", "surrogatepass").translate(_DIGITS)
    if 58 in digits:
        bad = next(char for char in text if char not in _INDEX)
        raise ValueError(f"{bad!r} is not a base58 character")
    number = _value(digits)
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def _value(digits: bytes) -> int:
    """The number that base58 ``digits`` write: one multiply-add per digit (Horner) up to 64
    digits; a longer run is split in halves joined by one big multiplication, so that an event's
    ~500 digits do not cost ~500 multiplications of a growing big integer."""
    if len(digits) > 64:
        half = len(digits) // 2
        scale: int = 58 ** (len(digits) - half)  # (int ** int is typed Any: it may be a float)
        return _value(digits[:half]) * scale + _value(digits[half:])
    number = 0
    for digit in digits:
        number = number * 58 + digit
    return number


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
