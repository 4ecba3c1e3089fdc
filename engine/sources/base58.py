"""Base58 (the Bitcoin alphabet Solana writes keys, signatures and instruction data in): the
one codec of moonbot, fast enough for the simulator's and the parser's hundreds of thousands of
keys, signatures and event payloads."""

from __future__ import annotations

__all__ = ["b58decode", "b58encode"]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(_ALPHABET)}


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
