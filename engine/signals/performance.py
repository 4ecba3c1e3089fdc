"""How past alerts did: the alerts sent per channel over a window, and how their tokens ended.

An alert's result is its signal's outcome (``Outcome``, labeled after the horizon): the max
market cap after the signal over the market cap at the signal. Alerts whose signal is not
labeled yet are counted as pending, never as a result. Shares carry Wilson 95% intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from engine.storage import Alert, Database, Outcome, Signal, Subscription, Token
from engine.views import AlertPerformance, ChannelAlerts, PerformanceGroup

Z_95 = 1.959963984540054  # z for 95%


def _wilson(hits: int, n: int) -> tuple[float, float]:
    """Wilson score interval (95%) for ``hits / n``; (nan, nan) for no rows."""
    if n == 0:
        return (float("nan"), float("nan"))
    z, p = Z_95, hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class _Row:
    channel: str
    symbol: str
    multiple: float | None  # None: not labeled yet


def _group(name: str, rows: list[_Row]) -> PerformanceGroup:
    done = sorted((r for r in rows if r.multiple is not None), key=lambda r: r.multiple or 0.0)
    n = len(done)
    hits_2x = sum((r.multiple or 0.0) >= 2.0 for r in done)
    hits_10x = sum((r.multiple or 0.0) >= 10.0 for r in done)
    rugs = sum((r.multiple or 0.0) < 1.5 for r in done)
    return PerformanceGroup(
        name=name,
        alerts=len(rows),
        labeled=n,
        hits_2x=hits_2x,
        share_2x_ci=_wilson(hits_2x, n),
        hits_10x=hits_10x,
        share_10x_ci=_wilson(hits_10x, n),
        rugs=rugs,
        rug_ci=_wilson(rugs, n),
        best=(done[-1].symbol, done[-1].multiple or 0.0) if done else None,
        worst=(done[0].symbol, done[0].multiple or 0.0) if done else None,
    )


async def alert_performance(db: Database, now: datetime, days: int) -> AlertPerformance:
    """The sent alerts whose KOL buy is in the ``days`` before ``now``: per channel and overall."""
    since = now - timedelta(days=days)
    async with db.session() as session:
        found = (
            await session.exec(
                select(Alert, Signal, Token, Outcome)
                .join(Signal, col(Signal.id) == col(Alert.signal_id))
                .join(Token, col(Token.mint) == col(Signal.mint))
                .join(Outcome, col(Outcome.signal_id) == col(Signal.id), isouter=True)
                .where(Alert.status == "sent", col(Alert.buy_ts) >= since, col(Alert.buy_ts) <= now)
                .order_by(col(Alert.id))
            )
        ).all()
    rows = [
        _Row(
            alert.channel,
            token.symbol,
            None
            if outcome is None or not signal.entry_mcap
            else outcome.max_mcap / signal.entry_mcap,
        )
        for alert, signal, token, outcome in found
    ]
    channels = sorted({r.channel for r in rows})
    return AlertPerformance(
        days=days,
        as_of=now,
        overall=_group("all channels", rows),
        channels=[_group(c, [r for r in rows if r.channel == c]) for c in channels],
    )


async def channel_settings(db: Database, channel: str, default_threshold: int) -> ChannelAlerts:
    """A channel's alert settings as they are (not subscribed: off, at the default threshold)."""
    async with db.session() as session:
        row = await session.get(Subscription, channel)
    if row is None:
        return ChannelAlerts(channel, False, default_threshold)
    return ChannelAlerts(row.channel, row.enabled, row.threshold)
