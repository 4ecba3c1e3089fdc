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


# --- input as people paste it ------------------------------------------------------------------

# Sites whose token (or wallet) page has the address as a path segment, as linked from their
# own pages and APIs: DexScreener's API gives each pair a ``url`` of the form
# ``https://dexscreener.com/solana/<pair address, lower-cased>`` (../shared/fixtures/market/
# dexscreener/latest_dex_pairs_solana_raydiumV4_WOOD-USDC_6guiXw.json), and its token pages are
# ``/solana/<mint>``; Solscan ``/token/<mint>`` and ``/account/<address>``, Birdeye
# ``/token/<mint>?chain=solana`` (the forms in warlyware/aurora-vertex src/utils/urls.ts);
# pump.fun ``/coin/<mint>``; GMGN ``/sol/token/<mint>`` (a shared link may put a referral code
# before the mint: ``<code>_<mint>``).
PASTE_HOSTS = ("dexscreener.com", "solscan.io", "birdeye.so", "pump.fun", "gmgn.ai")


def address_in_paste(text: str) -> tuple[str | None, str | None]:
    """What a pasted token reference holds: ``(address, None)`` for a mint or a site URL with a
    valid address in its path; from DexScreener, whose URLs are lower-cased (base58 is
    case-sensitive, so a lower-cased address must be matched against known mints), ``(address or
    None, lowered)``; ``(None, None)`` for anything else (the text is then checked as an address
    and fails with that check's one line)."""
    value = text.strip().strip("<>")
    if "://" not in value and "/" not in value:
        return (value, None) if is_valid_address(value) else (None, None)
    host, _, path = value.split("://", 1)[-1].partition("/")
    host = host.lower().removeprefix("www.")
    if not any(host == h or host.endswith("." + h) for h in PASTE_HOSTS):
        return (None, None)
    segments = [s for s in path.split("?", 1)[0].split("#", 1)[0].split("/") if s]
    found = next(
        (c for s in reversed(segments) if is_valid_address(c := s.rsplit("_", 1)[-1])), None
    )
    if host.endswith("dexscreener.com") and segments and 32 <= len(segments[-1]) <= 44:
        return (found, segments[-1].lower())
    return (found, None)
