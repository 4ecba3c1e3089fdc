"""Solana address checks: a mint or wallet is 32 bytes, written in base58."""

from __future__ import annotations

from engine.errors import InvalidAddress

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}


def b58decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet); ValueError on a character outside it."""
    number = 0
    for char in text:
        digit = _INDEX.get(char)
        if digit is None:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\x00" * pad + body


_PAIRS = tuple(hi + lo for hi in _ALPHABET for lo in _ALPHABET)  # value v -> its two digits


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet), two digits per division: the simulator encodes hundreds of
    thousands of keys and signatures."""
    number = int.from_bytes(data, "big")
    pairs: list[str] = []
    while number:
        number, pair = divmod(number, 58 * 58)
        pairs.append(_PAIRS[pair])
    pad = len(data) - len(data.lstrip(b"\x00"))
    return "1" * pad + "".join(reversed(pairs)).lstrip("1")


def validate_address(text: str, what: str = "address") -> str:
    """Return the address stripped of spaces, or raise InvalidAddress with a one-line reason."""
    value = text.strip()
    shown = value if len(value) <= 60 else value[:57] + "..."
    if not 32 <= len(value) <= 44:
        raise InvalidAddress(
            f"{shown!r} is not a valid Solana {what}: expected 32-44 base58 characters, got {len(value)}"
        )
    try:
        raw = b58decode(value)
    except ValueError as exc:
        raise InvalidAddress(f"{shown!r} is not a valid Solana {what}: {exc}") from None
    if len(raw) != 32:
        raise InvalidAddress(
            f"{shown!r} is not a valid Solana {what}: it decodes to {len(raw)} bytes, not 32"
        )
    return value


def is_valid_address(text: str) -> bool:
    try:
        validate_address(text)
    except InvalidAddress:
        return False
    return True
