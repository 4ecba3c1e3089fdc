"""Loads, from the database, the records the features of a token at time ``t`` may look at."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import UnknownToken
from engine.records import Tier
from engine.signals.features import (
    NARRATIVE_FRESH_LOOKBACK,
    NARRATIVE_HEAT_WINDOW,
    SNAPSHOT_GRACE,
    FeatureInputs,
    PriorSignal,
)
from engine.signals.narratives import match_narratives
from engine.storage import (
    Database,
    Kol,
    MarketContext,
    MarketSnapshot,
    Outcome,
    Signal,
    Token,
    Trade,
)
from engine.storage.convert import context_record, snapshot_record, token_record, trade_record


async def token_state(
    db: Database, mint: str, now: datetime
) -> tuple[Token, FeatureInputs, Signal | None, Outcome | None]:
    """What ``/predict`` shows of a token: its row, its feature inputs at ``now``, and its
    signal and outcome if it has them. ``UnknownToken`` when no tracked KOL traded it."""
    async with db.session() as session:
        token = await session.get(Token, mint)
        if token is None:
            raise UnknownToken(f"unknown token {mint}: no tracked KOL has traded it")
        inputs = await load_inputs(session, mint, now)
        signal = (await session.exec(select(Signal).where(Signal.mint == mint))).first()
        outcome = await session.get(Outcome, signal.id) if signal and signal.id else None
    return token, inputs, signal, outcome


async def kol_tiers(session: AsyncSession) -> dict[str, Tier]:
    rows = (await session.exec(select(Kol.wallet, Kol.tier))).all()
    return {w: tier for w, tier in rows if tier in ("elite", "top", "regular")}  # type: ignore[misc]


async def load_inputs(
    session: AsyncSession, mint: str, t: datetime, tiers: dict[str, Tier] | None = None
) -> FeatureInputs:
    token_row = await session.get(Token, mint)
    if token_row is None:
        raise UnknownToken(f"unknown token {mint}: no KOL has traded it yet")
    token = token_record(token_row)
    tiers = tiers if tiers is not None else await kol_tiers(session)
    snaps = (
        await session.exec(
            select(MarketSnapshot).where(
                MarketSnapshot.mint == mint, MarketSnapshot.ts <= t + SNAPSHOT_GRACE
            )
        )
    ).all()
    buyers = set(
        (
            await session.exec(
                select(Trade.wallet).where(
                    Trade.mint == mint, Trade.side == "buy", Trade.is_kol, Trade.block_time <= t
                )
            )
        ).all()
    )
    kol_trades = (
        await session.exec(
            select(Trade).where(col(Trade.wallet).in_(buyers), Trade.is_kol, Trade.block_time <= t)
        )
    ).all()
    creator_trades = (
        await session.exec(
            select(Trade).where(
                Trade.mint == mint, Trade.wallet == token.creator, Trade.block_time <= t
            )
        )
    ).all()
    ctx = (
        await session.exec(
            select(MarketContext)
            .where(MarketContext.ts <= t)
            .order_by(col(MarketContext.ts).desc())
            .limit(1)
        )
    ).all()
    since = t - NARRATIVE_HEAT_WINDOW - NARRATIVE_FRESH_LOOKBACK
    prior_rows = (
        await session.exec(
            select(Signal.mint, Signal.ts, Token.name, Token.symbol)
            .join(Token, col(Token.mint) == col(Signal.mint))
            .where(Signal.ts >= since, Signal.ts < t, Signal.mint != mint)
        )
    ).all()
    prior = [
        PriorSignal(m, ts, frozenset(n.name for n in match_narratives(name, symbol)))
        for m, ts, name, symbol in prior_rows
    ]
    return FeatureInputs(
        token=token,
        t=t,
        snapshots=[snapshot_record(s) for s in snaps],
        kol_tiers=tiers,
        kol_trades=[trade_record(r) for r in kol_trades],
        creator_trades=[trade_record(r) for r in creator_trades],
        context=[context_record(c) for c in ctx],
        prior_signals=[p for p in prior if p.narratives],
    )
