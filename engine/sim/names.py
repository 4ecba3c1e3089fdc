"""Made-up KOL handles and memecoin names.

About ``NARRATIVE_SHARE`` of token names carry a narrative keyword taken from
``engine.signals.narratives`` (so they stay in sync with the matcher); the rest are built from neutral
words that match no narrative.
"""

from __future__ import annotations

import random
from typing import Final

from engine.signals.narratives import NARRATIVES

NARRATIVE_SHARE: Final[float] = 0.4

_KEYWORDS: Final[frozenset[str]] = frozenset(k for n in NARRATIVES for k in n.keywords)

_NEUTRAL: Final[tuple[str, ...]] = tuple(
    w
    for w in (
        "Based",
        "Giga",
        "Chad",
        "Wojak",
        "Lambo",
        "Degen",
        "Whale",
        "Banana",
        "Tendies",
        "Snek",
        "Goat",
        "Bull",
        "Lucky",
        "Zen",
        "Honk",
        "Noot",
        "Wagmi",
        "Hodl",
        "Fren",
        "Pixel",
        "Turbo",
        "Mochi",
        "Boba",
        "Taco",
        "Pizza",
        "Comfy",
        "Sad",
        "Happy",
        "Baby",
        "King",
        "Queen",
        "Lord",
        "Sir",
        "Little",
        "Big",
        "Tiny",
        "Mega",
        "Ultra",
        "Hyper",
        "Golden",
        "Dark",
        "Magic",
        "Cosmic",
        "Jelly",
        "Pickle",
        "Grumpy",
        "Sleepy",
        "Brrr",
        "Gigachad",
        "Hamster",
        "Otter",
        "Penguin",
        "Duck",
        "Bonk",
        "Sigma",
        "Vibe",
        "Gremlin",
        "Blob",
        "Nugget",
        "Waffle",
    )
    if w.lower() not in _KEYWORDS
)

_HANDLE_HEADS: Final[tuple[str, ...]] = (
    "Zan",
    "Kro",
    "Mav",
    "Lux",
    "Vex",
    "Nyx",
    "Oro",
    "Pax",
    "Rhy",
    "Tek",
    "Umb",
    "Vor",
    "Wyn",
    "Xen",
    "Yor",
    "Quil",
    "Bram",
    "Cael",
    "Dru",
    "Fen",
    "Gro",
    "Hax",
    "Jin",
    "Kip",
    "Lor",
    "Mox",
)
_HANDLE_TAILS: Final[tuple[str, ...]] = (
    "o",
    "ie",
    "sy",
    "x",
    "em",
    "ak",
    "zy",
    "ard",
    "io",
    "on",
    "ito",
    "ux",
    "ek",
    "ra",
)
_HANDLE_DECOR: Final[tuple[str, ...]] = ("", "", "", "_sol", "eth", "69", "420", "_", "xbt", "k")


def neutral_words() -> tuple[str, ...]:
    return _NEUTRAL


def kol_handles(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct made-up handles, e.g. "Mavie_sol"."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        handle = rng.choice(_HANDLE_HEADS) + rng.choice(_HANDLE_TAILS) + rng.choice(_HANDLE_DECOR)
        if handle.lower() not in seen:
            seen.add(handle.lower())
            out.append(handle)
    return out


def token_name(rng: random.Random) -> tuple[str, str]:
    """A (name, symbol) pair; with probability NARRATIVE_SHARE it carries a narrative keyword."""
    if rng.random() < NARRATIVE_SHARE:
        narrative = rng.choice(NARRATIVES)
        keyword = rng.choice(sorted(narrative.keywords))
        other = rng.choice(_NEUTRAL)
        shown = keyword.upper() if len(keyword) <= 3 else keyword.capitalize()
        if rng.random() < 0.5:
            name, symbol = f"{other} {shown}", (other + keyword).upper()[:10]
        else:
            name, symbol = f"{shown} {other}", keyword.upper()
        return name, symbol
    first, second = rng.sample(_NEUTRAL, 2)
    if rng.random() < 0.5:
        return f"{first} {second}", (first + second).upper()[:10]
    return first, first.upper()[:10]
