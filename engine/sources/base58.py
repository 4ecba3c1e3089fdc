"""Base58 (the Bitcoin alphabet Solana writes keys, signatures and instruction data in): the
one codec of moonbot, fast enough for the simulator's and the parser's hundreds of thousands of
keys, signatures and event payloads. ``b58int`` gives the number a text writes without making
bytes of it (the parser reads a transfer's tag and amount from it); the way from digits to that
number depends on the length (see ``_SHORT``)."""

from __future__ import annotations

from functools import cache
from typing import Any

__all__ = ["ALPHABET", "b58decode", "b58encode", "b58int", "is_base58"]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}


# Two base58 digits per step (58**2 = 3364 pairs), five pairs per big-integer division: an
# account key takes 5 big divisions instead of 44 (the profile's top line before).
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]
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
    number = b58int(text)
    data = number.to_bytes((number.bit_length() + 7) // 8, "big")
    if text[:1] == "1":  # each leading "1" is a zero byte
        return b"\0" * (len(text) - len(text.lstrip("1"))) + data
    return data


def b58int(text: str) -> int:
    """The number a base58 string writes, big-endian (its leading "1"s, the zero bytes, add
    nothing); ``ValueError`` on a character outside the alphabet."""
    digits = text.encode("utf-8", "surrogatepass").translate(_DIGITS)
    if 58 in digits:
        bad = next(char for char in text if char not in _INDEX)
        raise ValueError(f"{bad!r} is not a base58 character")
    if len(digits) > _SHORT:
        return _lanes_value(digits) if len(digits) <= _LANES else _chunks_value(digits)
    number = 0  # Horner: one multiply-add per digit
    for digit in digits:
        number = number * 58 + digit
    return number


def is_base58(text: str) -> bool:
    """Whether every character of ``text`` is in the alphabet (``b58decode`` would not fail)."""
    return text.isascii() and 58 not in text.encode().translate(_DIGITS)


# How a run of digits becomes its number, by length (each the fastest there, measured with
# bench/bench_parser.py and timeit on 12 to 569 digits): Horner up to ``_SHORT`` digits (a
# token transfer's 12), lanes up to ``_LANES`` (a System transfer's 16, a CreateAccount's 70,
# most events' 136-319), numpy's chunks above (the 368-416-byte PumpSwap events).
_SHORT = 12
_LANES = 400
_CHUNK_BASE = 58**10


def _lanes_value(digits: bytes) -> int:
    """All digits at once, in one big integer: ``int.from_bytes`` reads them as base-256 lanes
    of 8 bits; each step turns pairs of lanes (high, low) in base b into one lane of twice the
    width holding high * b + low (subtracting high * (2**width - b) from every lane at once:
    no lane borrows from its neighbour, since high * b + low >= 0), squaring b, until one lane
    is left. log2(digits) steps of a few big-integer operations instead of a multiply-add per
    digit (70 digits: ~3x faster than Horner)."""
    size = len(digits)
    steps = _STEPS_16 if size <= 16 else _lane_steps(1 << (size - 1).bit_length())
    number = int.from_bytes(digits, "big")
    for width, gap, mask in steps:
        number -= gap * ((number >> width) & mask)
    return number


@cache
def _lane_steps(size: int) -> tuple[tuple[int, int, int], ...]:
    """For ``size`` (a power of two) digits: each step's lane width in bits, 2**width - base,
    and the mask of the low half of every lane of twice the width."""
    steps = []
    width, base, bits = 8, 58, 8 * size
    while width < bits:
        lane = 2 * width
        mask = sum(((1 << width) - 1) << (lane * at) for at in range(bits // lane))
        steps.append((width, (1 << width) - base, mask))
        width, base = lane, base * base
    return tuple(steps)


def _chunks_value(digits: bytes) -> int:
    """Cut into 10-digit chunks whose values numpy computes in one product (58**10 < 2**63),
    joined by one multiply-add per chunk."""
    import numpy as np  # here, not at import: the CLI's start stays light

    pad = -len(digits) % 10
    rows = np.frombuffer(bytes(pad) + digits, dtype=np.uint8).reshape(-1, 10)
    number = 0
    for chunk in (rows @ _chunk_weights()).tolist():
        number = number * _CHUNK_BASE + chunk
    return number


@cache
def _chunk_weights() -> Any:
    """58**9 ... 58**0 as int64: a row of 10 digits times these is the chunk's value."""
    import numpy as np

    return np.array([58**k for k in range(9, -1, -1)], dtype=np.int64)


_STEPS_16 = _lane_steps(16)  # up to 16 digits: a transfer's data
