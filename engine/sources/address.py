"""Solana address checks: a mint or wallet is 32 bytes, written in base58."""

from __future__ import annotations

from engine.errors import InvalidAddress
from engine.sources.base58 import b58decode


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
