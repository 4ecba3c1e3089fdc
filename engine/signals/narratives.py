"""Narratives: the themes memecoins ride, matched on a token's name and symbol.

Each narrative has keywords (lower-case, matched as whole words or as the whole symbol) and a
weight in [0, 1] saying how strong the theme has been historically (a prior, not a finding).
Users can extend the table; the names are part of the feature contract only through
``narrative_match``/``narrative_count``/``narrative_weight``/``narrative_fresh``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Narrative:
    name: str
    keywords: frozenset[str]
    weight: float


NARRATIVES: Final[tuple[Narrative, ...]] = (
    Narrative("ai", frozenset({"ai", "gpt", "agent", "neural", "bot", "agi"}), 0.9),
    Narrative("dog", frozenset({"dog", "doge", "shiba", "inu", "pup", "wif"}), 0.8),
    Narrative("cat", frozenset({"cat", "kitty", "meow", "popcat", "nyan"}), 0.7),
    Narrative("frog", frozenset({"frog", "pepe", "ribbit", "toad"}), 0.7),
    Narrative("political", frozenset({"trump", "maga", "vote", "president", "usa"}), 0.6),
    Narrative("anime", frozenset({"anime", "waifu", "chan", "kawaii"}), 0.5),
    Narrative("space", frozenset({"moon", "mars", "rocket", "space", "astro"}), 0.4),
)

_WORD = re.compile(r"[a-z0-9]+")


def match_narratives(name: str, symbol: str) -> list[Narrative]:
    """Narratives whose keywords occur as words in the name, or equal the symbol."""
    words = set(_WORD.findall(name.lower())) | {symbol.lower()}
    return [n for n in NARRATIVES if n.keywords & words]
