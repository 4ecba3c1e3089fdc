"""Base58 (the Bitcoin alphabet Solana writes keys, signatures and instruction data in): the
one codec of moonbot, fast enough for the simulator's and the parser's hundreds of thousands of
keys, signatures and event payloads. ``b58int`` gives the number a text writes without making
bytes of it (the parser reads a transfer's tag and amount from it); the way from digits to that
number depends on the length (see ``_SHORT``)."""

from __future__ import annotations

from functools import lru_cache

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
        return _lanes_value(digits)
    number = 0  # Horner: one multiply-add per digit
    for digit in digits:
        number = number * 58 + digit
    return number


def is_base58(text: str) -> bool:
    """Whether every character of ``text`` is in the alphabet (``b58decode`` would not fail)."""
    return text.isascii() and 58 not in text.encode().translate(_DIGITS)


# How a run of digits becomes its number, by length: Horner up to ``_SHORT`` digits (a token
# transfer's 12), lanes above (a System transfer's 16, a CreateAccount's 70, events' 136-569).
# (numpy's 10-digit chunks, once used above 400 digits, were no faster there in the parser's
# bench, and far slower on a hostile 100 KB text: one way fewer.)
_SHORT = 12


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


@lru_cache(maxsize=16)  # powers of two: 16 sizes cover every real data; odd ones do not pile up
def _lane_steps(size: int) -> tuple[tuple[int, int, int], ...]:
    """For ``size`` (a power of two) digits: each step's lane width in bits, 2**width - base,
    and the mask of the low half of every lane of twice the width."""
    steps = []
    width, base, bits = 8, 58, 8 * size
    while width < bits:
        lane = 2 * width
        half = width // 8  # bytes: each lane is `half` zero bytes, then `half` 0xff bytes
        mask = int.from_bytes((bytes(half) + b"\xff" * half) * (bits // lane), "big")
        steps.append((width, (1 << width) - base, mask))
        width, base = lane, base * base
    return tuple(steps)


_STEPS_16 = _lane_steps(16)  # up to 16 digits: a transfer's data
