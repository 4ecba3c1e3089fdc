"""Platform rendering of a reply's plain text: escaped for the platform, split at its limit.

``bot.format`` writes plain text; this module makes it safe markup. Every line is escaped on its
own (Telegram: ``html.escape``; Discord: ``escape_markdown`` then ``escape_mentions``), so no
markup or mention can reach the platform from a token name, and a chunk is always the plain
join of escaped lines: splitting happens on the raw text, on line boundaries, and can never cut
an escape (``&amp;``, ``\\*``) in half. A single line longer than the limit is cut mid-line,
at a space where one is near the cut.

Lengths are counted in UTF-16 code units, the unit both platforms' limits are enforced in: an
emoji counts twice, which keeps a chunk under the limit whatever the platform counts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import discord.utils

TELEGRAM_LIMIT = 4096  # sendMessage text
DISCORD_EMBED_LIMIT = 4096  # embed description
DISCORD_CONTENT_LIMIT = 2000  # message content
EMPTY = "(empty reply)"

LineRenderer = Callable[[str], str]
# A bracket not already escaped (preceded by an even number of backslashes, none included).
_BARE_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*)([\[\]])")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def telegram_escape(line: str) -> str:
    """Text for Telegram's HTML parse mode. Quotes need no escaping outside attributes."""
    return html.escape(line, quote=False)


def discord_escape(line: str) -> str:
    """Text for a Discord message or embed: markdown shown literally, mentions broken.

    ``escape_markdown`` escapes only the first ``[`` of ``[a [b](http://evil)``, which leaves a
    masked link; every remaining bracket is escaped too (``\\[`` shows as ``[``)."""
    text = _BARE_BRACKET.sub(r"\1\\\2", discord.utils.escape_markdown(line))
    return discord.utils.escape_mentions(text)


def telegram_html(text: str, *, title: bool = False, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Telegram HTML messages for ``text``; with ``title`` the first line is bold."""
    return render(text, telegram_escape, limit=limit, bold=("<b>", "</b>") if title else None)


def discord_markdown(
    text: str, *, title: bool = False, limit: int = DISCORD_EMBED_LIMIT
) -> list[str]:
    """Discord embed descriptions (or, with ``limit=DISCORD_CONTENT_LIMIT``, message contents)."""
    return render(text, discord_escape, limit=limit, bold=("**", "**") if title else None)


def render(
    text: str,
    escape: LineRenderer,
    *,
    limit: int,
    bold: tuple[str, str] | None = None,
) -> list[str]:
    """Escape ``text`` line by line and pack the lines into chunks of at most ``limit`` units.

    ``bold`` (opening and closing markup) wraps the first non-blank line of the first chunk; its
    length is reserved in every chunk so the wrapped chunk still fits.
    """
    if not text.strip():
        text = EMPTY
    reserve = utf16_len("".join(bold)) if bold else 0
    budget = limit - reserve
    if budget < 16:
        raise ValueError(f"limit {limit} leaves no room for text")
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for raw in text.split("\n"):
        for line in _fit_line(raw, escape, budget):
            width = utf16_len(line)
            if current and size + 1 + width > budget:
                chunks.append(current)
                current, size = [], 0
            size += width + (1 if current else 0)
            current.append(line)
    chunks.append(current)
    rendered = [lines for lines in chunks if any(line.strip() for line in lines)]
    if bold:
        first = rendered[0]
        i = next(i for i, line in enumerate(first) if line.strip())
        first[i] = f"{bold[0]}{first[i]}{bold[1]}"
    return ["\n".join(lines) for lines in rendered]


def _fit_line(raw: str, escape: LineRenderer, budget: int) -> list[str]:
    """One raw line, escaped; cut into escaped pieces of at most ``budget`` units if too long."""
    line = escape(raw)
    if utf16_len(line) <= budget:
        return [line]
    pieces: list[str] = []
    rest = raw
    while rest:
        if utf16_len(escape(rest)) <= budget:
            pieces.append(escape(rest))
            break
        cut = _longest_prefix(rest, escape, budget)
        space = rest.rfind(" ", 0, cut)
        if space >= cut // 2 and utf16_len(escape(rest[: space + 1])) <= budget:
            cut = space + 1
        pieces.append(escape(rest[:cut]))
        rest = rest[cut:]
    return pieces


def _longest_prefix(raw: str, escape: LineRenderer, budget: int) -> int:
    """The longest ``n`` with ``escape(raw[:n])`` within budget (at least 1: one character's
    escape is always far shorter than any platform limit)."""
    lo, hi = 1, len(raw)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if utf16_len(escape(raw[:mid])) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo
