"""A token as people paste it: a mint, ``$SYMBOL``, or a DexScreener / pump.fun / Solscan /
Birdeye / GMGN URL (``engine.sources.address.address_in_paste``), resolved against the tokens
moonbot has seen."""

from __future__ import annotations

from sqlmodel import col, func, select

from engine.errors import AmbiguousToken, UnknownToken
from engine.sources.address import address_in_paste, validate_address
from engine.storage import Database, Token

MAX_CHOICES = 5  # an ambiguous $SYMBOL lists at most this many tokens, newest first


async def resolve_mint(db: Database, text: str) -> str:
    """The mint ``text`` names; ``InvalidAddress`` / ``UnknownToken`` / ``AmbiguousToken``
    (a short numbered list to pick from) with one clear message otherwise."""
    value = text.strip()
    if value.startswith("$"):
        return await _by_symbol(db, value[1:])
    exact, lowered = address_in_paste(value)
    if exact is None and lowered is None:
        return validate_address(value, "mint")
    async with db.session() as session:
        if exact is not None and await session.get(Token, exact) is not None:
            return exact
        if lowered is not None:
            rows = (
                await session.exec(select(Token.mint).where(func.lower(Token.mint) == lowered))
            ).all()
            if len(rows) == 1:
                return rows[0]
    if exact is not None and lowered is None:
        return exact  # a valid mint moonbot has not seen: the caller says so
    raise UnknownToken(
        f"no tracked KOL has traded the token of that link ({lowered}): paste its mint instead"
    )


async def _by_symbol(db: Database, symbol: str) -> str:
    symbol = symbol.strip()
    if not symbol or len(symbol) > 32:
        raise UnknownToken("after $ comes a token symbol, e.g. /predict $BONK")
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Token)
                .where(func.lower(Token.symbol) == symbol.lower())
                .order_by(col(Token.created_at).desc())
                .limit(MAX_CHOICES + 1)
            )
        ).all()
    if not rows:
        raise UnknownToken(f"no token with the symbol ${symbol} has been traded by a tracked KOL")
    if len(rows) == 1:
        return rows[0].mint
    shown = rows[:MAX_CHOICES]
    more = " (newest first; more exist)" if len(rows) > MAX_CHOICES else " (newest first)"
    lines = [f"{len(shown)} tokens are called ${symbol}{more}; ask again with the mint:"]
    lines += [
        f"{i}. {t.mint} · {t.name[:40]} · created {t.created_at:%Y-%m-%d %H:%M} UTC"
        for i, t in enumerate(shown, 1)
    ]
    raise AmbiguousToken("\n".join(lines))
