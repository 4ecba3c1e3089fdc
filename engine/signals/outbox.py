"""The alerts outbox: an Alert row per (signal, channel), written when a Diamond Hand KOL buys a
token whose conviction passes the threshold; a sender delivers pending rows and marks them sent.
The unique key (signal, channel) means a second KOL buy, a retry or a restart never alerts twice.

A sender can die between a face's send and the mark (a crash, a kill, a lost response). Each row
records that a send began (``attempt_started_at``), and its outcome clears the mark; a pending row
still marked was in flight when the sender died, and may have been delivered. Its next send
carries ``maybe_delivered``, and every send carries the alert's stable ``key``. Discord drops a
second message with the same key (for a few minutes); otherwise the alert says it may repeat.

Several senders may run on one database (two processes on one data dir, the bot and a shell).
Before it sends, a sender claims the row: one conditional UPDATE sets ``claimed_until`` (a lease)
only while the row is pending and unclaimed or its lease has run out, so exactly one sender wins
on SQLite and PostgreSQL alike; the others skip it. The outcome clears the claim; so does a sender
that is stopped (cancelled) mid-send, keeping the in-flight mark. A sender killed outright holds
its claim until the lease runs out; then another sender takes the alert, flagged may-repeat.

Follow-ups (``engine.signals.followups``: the alerted token passed 2x / 5x / 10x) go through the
same loop (``deliver``), claims, retries and may-repeat flag: a ``Queue`` is where a kind of
message waits (Alert rows here, app-state rows there), the loop is the same for both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel import col, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import OutcomeUnknown, UserError
from engine.signals.opening import SignalEvent
from engine.signals.scoring import Score, outcome_p_threex
from engine.storage import Alert, Database, Kol, MarketSnapshot, Signal, Subscription, Token, Trade
from engine.storage.db import insert_ignore
from engine.storage.models import utcnow
from engine.tracking.kolstats import KolStats

log = logging.getLogger(__name__)

KEY_PREFIX = "moonbot-alert-"
# How long a claim keeps other senders off an alert: far longer than one send takes.
CLAIM_LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An alerted token passed ``multiple`` x its market cap at the alert (``base_mcap``): first
    seen at ``ts`` at ``mcap_usd`` in moonbot's own price path (``source``: snapshot or swap)."""

    multiple: int
    base_mcap: float
    mcap_usd: float
    ts: datetime
    source: str


@dataclass(frozen=True, slots=True)
class AlertView:
    """Everything an alert message shows."""

    alert_id: int
    channel: str
    mint: str
    symbol: str
    name: str
    kol_name: str
    kol_wallet: str
    kol_tier: str
    diamond_hand_score: float | None
    signal_ts: datetime
    alert_ts: datetime  # the Diamond Hand buy's time
    entry_mcap: float | None
    rule_score: int
    score: int
    probabilities: tuple[float, ...] | None
    reasons: tuple[str, ...]
    # A send of this alert began before and its outcome was never recorded (the sender died).
    maybe_delivered: bool = False
    # What a trader looks at (issue 14): the Diamond Hand KOL's buy in SOL, the token's latest
    # market cap and liquidity (and when they were seen), and when the token was created.
    buy_sol: float | None = None
    mcap_now: float | None = None
    liquidity_usd: float | None = None
    market_ts: datetime | None = None
    token_created_at: datetime | None = None
    # Set on a follow-up of this alert (the token passed 2x / 5x / 10x), None on the alert.
    followup: FollowUp | None = None
    # P(3x+) at the buy: the promoted 3x+ net's (None without one then), its threshold and
    # whether it passed it, and the outcome model's own (from ``probabilities``).
    threex_p: float | None = None
    threex_flag: bool | None = None
    threex_threshold: float | None = None
    outcome_p_threex: float | None = None

    @property
    def key(self) -> str:
        """The alert's idempotency key: the same on every attempt, and across restarts. A
        follow-up's adds its multiple (at most 23 characters below 100,000 alerts: Discord's
        nonce holds 25)."""
        if self.followup is not None:
            return f"{KEY_PREFIX}{self.alert_id}-{self.followup.multiple}x"
        return f"{KEY_PREFIX}{self.alert_id}"


@dataclass(frozen=True, slots=True)
class ChannelAlerts:
    channel: str
    enabled: bool
    threshold: int
    followups: bool = False  # follow-ups at 2x / 5x / 10x (engine.signals.followups), opt-in


async def ensure_channels(db: Database, channels: Sequence[str], threshold: int) -> None:
    """Subscribe the configured channels that have no subscription row yet."""
    async with db.session() as session:
        await insert_ignore(
            session,
            Subscription,
            [{"channel": c, "enabled": True, "threshold": threshold} for c in channels],
        )


async def set_channel(
    db: Database,
    channel: str,
    *,
    enabled: bool | None = None,
    threshold: int | None = None,
    default_threshold: int,
) -> ChannelAlerts:
    """Turn a channel's alerts on or off, or change its threshold (creating its row)."""
    if threshold is not None and not 0 <= threshold <= 100:
        raise UserError(f"the threshold is a conviction score from 0 to 100, not {threshold}")
    async with db.session() as session:
        row = await session.get(Subscription, channel)
        if row is None:
            row = Subscription(channel=channel, enabled=False, threshold=default_threshold)
        if enabled is not None:
            row.enabled = enabled
        if threshold is not None:
            row.threshold = threshold
        session.add(row)
        return ChannelAlerts(row.channel, row.enabled, row.threshold)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """Who is a Diamond Hand KOL now (their stats) and by what measure: the alert decision."""

    stats: dict[str, KolStats]
    dh_threshold: float
    dh_min_positions: int

    def is_diamond_hand(self, wallet: str) -> KolStats | None:
        kol_stats = self.stats.get(wallet)
        if kol_stats is None or not kol_stats.is_diamond_hand(
            self.dh_threshold, self.dh_min_positions
        ):
            return None
        return kol_stats


async def enqueue(
    db: Database,
    events: Sequence[SignalEvent],
    stats: dict[str, KolStats],
    *,
    dh_threshold: float,
    dh_min_positions: int,
) -> int:
    """Write a pending alert per subscribed channel for each Diamond Hand KOL buy whose score
    passes that channel's threshold; returns how many new rows were written."""
    async with db.session() as session:
        return await write_alerts(session, events, AlertRule(stats, dh_threshold, dh_min_positions))


async def write_alerts(
    session: AsyncSession, events: Sequence[SignalEvent], rule: AlertRule
) -> int:
    """``enqueue`` inside the caller's transaction: the signal step writes a token's alerts in
    the transaction that opens or joins its signal, so no crash separates the two. Idempotent:
    (signal, channel) is unique."""
    rows: list[dict[str, object]] = []
    channels: Sequence[Subscription] | None = None
    for event in events:
        kol_stats = rule.is_diamond_hand(event.wallet)
        score = event.score
        if kol_stats is None or score is None:
            continue
        if channels is None:
            channels = (
                await session.exec(select(Subscription).where(col(Subscription.enabled)))
            ).all()
        rows.extend(
            {
                "signal_id": event.signal_id,
                "channel": ch,
                "kol_wallet": event.wallet,
                "buy_ts": event.ts,
                "dh_score": kol_stats.diamond_hand_score,
                "rule_score": score.rule,
                "score": score.total,
                "probabilities": list(score.probabilities) if score.probabilities else None,
                "reasons": [r.as_dict() for r in score.reasons],
                "model_version": score.model_version,
                "threex": score.threex_json(),
            }
            for ch in (c.channel for c in channels if score.total >= c.threshold)
        )
    if not rows:
        return 0
    return len(await insert_ignore(session, Alert, rows, returning=Alert.id))


async def pending(
    db: Database, channel: str | None = None, *, due_by: datetime | None = None, limit: int = 100
) -> list[AlertView]:
    """Pending alerts, oldest first. ``channel`` is a prefix ("telegram:" for every Telegram
    chat, "telegram:42" for one); with ``due_by``, only those not waiting out a backoff."""
    query = _view_query().where(Alert.status == "pending").order_by(col(Alert.id)).limit(limit)
    if channel is not None:
        query = query.where(col(Alert.channel).startswith(channel))
    if due_by is not None:
        query = query.where(
            or_(col(Alert.next_attempt_at).is_(None), col(Alert.next_attempt_at) <= due_by),
            or_(col(Alert.claimed_until).is_(None), col(Alert.claimed_until) <= due_by),
        )
    async with db.session() as session:
        return await _views(session, query)


async def views_of(session: AsyncSession, alert_ids: Sequence[int]) -> dict[int, AlertView]:
    """The views of the alerts ``alert_ids`` (whatever their status), by id."""
    query = _view_query().where(col(Alert.id).in_(list(alert_ids)))
    return {view.alert_id: view for view in await _views(session, query)}


def _view_query() -> Any:
    return (
        select(Alert, Signal, Token, Kol)
        .join(Signal, col(Signal.id) == col(Alert.signal_id))
        .join(Token, col(Token.mint) == col(Signal.mint))
        .join(Kol, col(Kol.wallet) == col(Alert.kol_wallet))
    )


async def _views(session: AsyncSession, query: Any) -> list[AlertView]:
    from engine.signals.scoring import Reason

    rows = (await session.exec(query)).all()
    market = {a.id: await _market_now(session, a, s.mint) for a, s, _, _ in rows}
    views = []
    for alert, signal, token, kol in rows:
        assert alert.id is not None
        buy_sol, latest = market[alert.id]
        reasons = tuple(
            Reason(r["feature"], float(r["value"]), float(r["contribution"])).text
            for r in (alert.reasons or [])
        )
        views.append(
            AlertView(
                alert_id=alert.id,
                channel=alert.channel,
                mint=token.mint,
                symbol=token.symbol,
                name=token.name,
                kol_name=kol.name,
                kol_wallet=kol.wallet,
                kol_tier=kol.tier,
                diamond_hand_score=alert.dh_score,
                signal_ts=signal.ts,
                alert_ts=alert.buy_ts,
                entry_mcap=signal.entry_mcap,
                rule_score=alert.rule_score,
                score=alert.score,
                probabilities=tuple(alert.probabilities) if alert.probabilities else None,
                reasons=reasons,
                maybe_delivered=alert.attempt_started_at is not None,
                buy_sol=buy_sol,
                mcap_now=latest.mcap_usd if latest else None,
                liquidity_usd=latest.liquidity_usd if latest else None,
                market_ts=latest.ts if latest else None,
                token_created_at=token.created_at,
                **_threex_fields(alert),
            )
        )
    return views


def _threex_fields(alert: Alert) -> dict[str, Any]:
    stored = Score.threex_fields(alert.threex)
    stored.pop("threex_version", None)
    return {**stored, "outcome_p_threex": outcome_p_threex(alert.probabilities)}


async def _market_now(
    session: AsyncSession, alert: Alert, mint: str
) -> tuple[float | None, MarketSnapshot | None]:
    """The alerting KOL's buy size in SOL (its buys of the token at that time) and the
    token's latest snapshot."""
    bought = (
        await session.exec(
            select(func.sum(Trade.sol_amount)).where(
                Trade.wallet == alert.kol_wallet,
                Trade.mint == mint,
                Trade.side == "buy",
                Trade.block_time == alert.buy_ts,
            )
        )
    ).one()
    latest = (
        await session.exec(
            select(MarketSnapshot)
            .where(MarketSnapshot.mint == mint)
            .order_by(col(MarketSnapshot.ts).desc())
            .limit(1)
        )
    ).first()
    return (float(bought) if bought is not None else None), latest


async def mark_sent(db: Database, alert_id: int) -> None:
    async with db.session() as session:
        alert = await session.get(Alert, alert_id)
        if alert is not None and alert.status != "sent":
            alert.status = "sent"
            alert.sent_at = utcnow()
            alert.attempts += 1
            alert.attempt_started_at = None
            alert.claimed_until = None
            session.add(alert)


SendAlert = Callable[[AlertView], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Delivery:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Wait before retry number ``attempts``: base, 2x base, 4x base, ... up to cap."""
    doubling: int = 2 ** max(0, attempts - 1)  # int ** int is typed Any
    return min(cap, base * doubling)


@dataclass(frozen=True, slots=True)
class Retry:
    """How failed sends are retried: ``backoff`` between attempts, given up after ``max_attempts``."""

    max_attempts: int
    base_delay: timedelta
    max_delay: timedelta


class Queue(Protocol):
    """Where one kind of message waits for its send: the due ones of a channel prefix, a claim
    that one sender wins (marking the send begun), and the outcome (sent, failed, released)."""

    async def due(self, channel: str, now: datetime) -> list[AlertView]: ...

    async def claim(self, view: AlertView, now: datetime, lease: timedelta) -> AlertView | None: ...

    async def release(self, view: AlertView) -> None: ...

    async def failed(
        self, view: AlertView, exc: Exception, now: datetime, retry: Retry
    ) -> bool: ...

    async def sent(self, view: AlertView) -> None: ...


@dataclass(frozen=True, slots=True)
class AlertQueue:
    """The Alert rows."""

    db: Database

    async def due(self, channel: str, now: datetime) -> list[AlertView]:
        return await pending(self.db, channel, due_by=now)

    async def claim(self, view: AlertView, now: datetime, lease: timedelta) -> AlertView | None:
        return await _claim(self.db, view, now, lease)

    async def release(self, view: AlertView) -> None:
        await _release(self.db, view.alert_id)

    async def failed(self, view: AlertView, exc: Exception, now: datetime, retry: Retry) -> bool:
        return await _record_failure(
            self.db, view.alert_id, exc, now, retry.max_attempts, retry.base_delay, retry.max_delay
        )

    async def sent(self, view: AlertView) -> None:
        await mark_sent(self.db, view.alert_id)


async def deliver(
    db: Database,
    channel: str,
    send: SendAlert,
    *,
    now: datetime,
    max_attempts: int = 8,
    base_delay: timedelta = timedelta(seconds=30),
    max_delay: timedelta = timedelta(hours=1),
    lease: timedelta = CLAIM_LEASE,
) -> Delivery:
    """Send the due pending alerts of ``channel`` (a prefix) and mark each one sent, then the
    due follow-ups the same way. A send that raises is retried later with exponential backoff,
    and given up (status ``failed``, the error kept) after ``max_attempts``: an alert is never
    silently lost or sent twice by this loop.

    Each send is claimed and marked as begun first (an alert another sender holds is skipped); a
    sender that dies before the outcome is recorded leaves the mark, and the next run sends that
    alert again with ``maybe_delivered`` set."""
    from engine.signals.followups import FollowUpQueue

    retry = Retry(max_attempts, base_delay, max_delay)
    total = Delivery()
    for queue in (AlertQueue(db), FollowUpQueue(db)):
        done = await deliver_queue(queue, channel, send, now=now, retry=retry, lease=lease)
        total = Delivery(
            total.sent + done.sent, total.retrying + done.retrying, total.failed + done.failed
        )
    return total


async def deliver_queue(
    queue: Queue,
    channel: str,
    send: SendAlert,
    *,
    now: datetime,
    retry: Retry,
    lease: timedelta = CLAIM_LEASE,
) -> Delivery:
    """``deliver`` for one queue."""
    sent = retrying = failed = 0
    for listed in await queue.due(channel, now):
        view = await queue.claim(listed, now, lease)
        if view is None:
            continue  # another sender has it, or has just sent it
        try:
            await send(view)
        except asyncio.CancelledError:
            # Stopped: give the claim back, so the next sender may go. In this task, which is
            # stopping anyway and is not cancelled twice (bot/lifecycle.py): a shielded task of
            # its own would be cancelled by the shutdown that cancels every pending task.
            await queue.release(view)
            raise
        except Exception as exc:  # any failure of a face's send: record it, retry later
            log.warning("alert %s to %s failed: %s", view.key, view.channel, exc)
            if await queue.failed(view, exc, now, retry):
                failed += 1
            else:
                retrying += 1
            continue
        await queue.sent(view)
        sent += 1
    return Delivery(sent, retrying, failed)


async def _claim(
    db: Database, view: AlertView, now: datetime, lease: timedelta
) -> AlertView | None:
    """Claim a pending alert for one send and mark the send as begun; None when another sender
    holds it or it is no longer pending. The view says whether an earlier send was cut off."""
    async with db.session() as session:
        in_flight = (
            await session.exec(
                select(Alert.attempt_started_at).where(col(Alert.id) == view.alert_id)
            )
        ).first()
        claimed = await session.exec(
            update(Alert)
            .where(
                col(Alert.id) == view.alert_id,
                col(Alert.status) == "pending",
                or_(col(Alert.claimed_until).is_(None), col(Alert.claimed_until) <= now),
            )
            .values(claimed_until=now + lease, attempt_started_at=now)
        )
        if claimed.rowcount != 1:
            return None
    return replace(view, maybe_delivered=in_flight is not None)


async def _release(db: Database, alert_id: int) -> None:
    """Give up a claim without an outcome (the in-flight mark stays: it may have been sent)."""
    async with db.session() as session:
        await session.exec(
            update(Alert).where(col(Alert.id) == alert_id).values(claimed_until=None)
        )


async def _record_failure(
    db: Database,
    alert_id: int,
    exc: Exception,
    now: datetime,
    max_attempts: int,
    base_delay: timedelta,
    max_delay: timedelta,
) -> bool:
    """Count a failed attempt; returns True when the alert is given up."""
    async with db.session() as session:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            return False
        alert.attempts += 1
        alert.claimed_until = None
        if not isinstance(exc, OutcomeUnknown):
            alert.attempt_started_at = None  # the outcome is known: this attempt failed
        alert.last_error = f"{type(exc).__name__}: {exc}"[:300]
        if alert.attempts >= max_attempts:
            alert.status = "failed"
        else:
            alert.next_attempt_at = now + backoff(alert.attempts, base_delay, max_delay)
        session.add(alert)
        return alert.status == "failed"


async def subscribed_channels(db: Database, prefix: str) -> list[str]:
    """Channels (e.g. every "telegram:" chat) with alerts and reports turned on."""
    async with db.session() as session:
        rows = await session.exec(
            select(Subscription.channel).where(
                col(Subscription.enabled), col(Subscription.channel).startswith(prefix)
            )
        )
        return list(rows.all())


async def skip_pending(db: Database) -> int:
    """Mark every pending alert skipped (alerts raised while back-filling history are old news)."""
    async with db.session() as session:
        result = await session.exec(
            update(Alert).where(col(Alert.status) == "pending").values(status="skipped")
        )
        return int(result.rowcount)
