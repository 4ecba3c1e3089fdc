"""Follow-ups: an alerted token passed 2x / 5x / 10x its market cap at the alert.

Opt-in per channel (``/alerts followups on``; off by default). After each poll's settle step
(``engine.signals.settle``), ``record_due`` looks at every alert sent to such a channel whose
signal is still inside the labels' horizon, and at the token's own stored price path, as the
labels read it (``engine.learning.labels``: snapshots, and each stored swap priced with SOL/USD
and the snapshots' supply, implausible jumps left out). The base is the market cap at the
alert: the latest snapshot at or before the Diamond Hand buy (else the signal's entry market
cap). For each multiple the first point after the buy at or above it, up to the signal's time
plus the horizon, is the follow-up; one that passed before the channel turned follow-ups on is
old news and is not sent. A window is read until ``LOOK_BACK`` after it ends (a late poll).
Only channels with alerts on too get follow-ups (``/alerts off`` silences the channel).

No table of its own (the schema does not change for this): a follow-up is an ``AppState`` row,
``followup:<channel>|<alert id>|<multiple>``, whose JSON value holds what it shows and the same
delivery state an Alert row has (status, attempts, backoff, in-flight mark, claim). The key is
the primary key and rows are written with INSERT .. ON CONFLICT DO NOTHING, so a follow-up is
written once, whatever the restarts and however many processes settle. It is delivered by the
alerts' own loop (``outbox.deliver``): a claim is a compare-and-set of the row's value (UPDATE
.. WHERE value = the value read), so of two senders exactly one wins, on SQLite and PostgreSQL.
The channel setting is the row ``followups.on:<channel>`` ({"on", "since"}).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from engine.errors import OutcomeUnknown
from engine.signals.outbox import AlertView, FollowUp, Retry, backoff, views_of
from engine.storage import Alert, AppState, Database, MarketSnapshot, Signal, Subscription
from engine.storage.db import insert_ignore
from engine.storage.models import utcnow

if TYPE_CHECKING:
    from engine.learning.labels import PricePoint

MULTIPLES = (2, 5, 10)
# How long after a signal's horizon its window is still read: a poll late by up to this much
# still sends what passed inside the window (with its time: "5x, 33.5 h after the alert").
LOOK_BACK = timedelta(days=1)
SETTING = "followups.on:"  # + channel
PREFIX = "followup:"  # + channel|alert id|multiple

Record = dict[str, Any]


def _key(channel: str, alert_id: int, multiple: int) -> str:
    return f"{PREFIX}{channel}|{alert_id}|{multiple}"


async def set_followups(db: Database, channel: str, on: bool, now: datetime) -> None:
    """Turn a channel's follow-ups on (from ``now``: earlier crossings are not sent) or off."""
    async with db.session() as session:
        await session.merge(
            AppState(key=SETTING + channel, value=json.dumps({"on": on, "since": now.isoformat()}))
        )


async def followups_on(db: Database, channel: str) -> bool:
    async with db.session() as session:
        row = await session.get(AppState, SETTING + channel)
    return row is not None and bool(json.loads(row.value).get("on"))


async def _channels_on(session: AsyncSession) -> dict[str, datetime]:
    """The channels with follow-ups on and alerts on (``/alerts off`` silences both), and
    since when their follow-ups are on."""
    rows = (await session.exec(select(AppState).where(col(AppState.key).startswith(SETTING)))).all()
    on = {}
    for row in rows:
        value = json.loads(row.value)
        if value.get("on"):
            on[row.key.removeprefix(SETTING)] = datetime.fromisoformat(value["since"])
    alerting = (
        await session.exec(
            select(Subscription.channel).where(
                col(Subscription.enabled), col(Subscription.channel).in_(list(on))
            )
        )
    ).all()
    return {channel: on[channel] for channel in alerting}


async def record_due(db: Database, now: datetime, horizon: timedelta) -> int:
    """Write the follow-ups that the stored price path shows by ``now`` (see the module doc);
    returns how many new ones were written."""
    from engine.learning.labels import DueSignal, stored_path  # the labels' own price path

    async with db.session() as session:
        on = await _channels_on(session)
        if not on:
            return 0
        found = (
            await session.exec(
                select(Alert, Signal)
                .join(Signal, col(Signal.id) == col(Alert.signal_id))
                .where(
                    Alert.status == "sent",
                    col(Alert.channel).in_(list(on)),
                    col(Signal.ts) > now - horizon - LOOK_BACK,
                )
                .order_by(col(Alert.id))
            )
        ).all()
        rows: list[dict[str, str]] = []
        paths: dict[int, list[PricePoint]] = {}
        for alert, signal in found:
            assert alert.id is not None and signal.id is not None
            if signal.id not in paths:
                due = DueSignal(signal.id, signal.mint, signal.ts, signal.entry_mcap)
                path = await stored_path(session, due, horizon)
                points = [] if path is None else [*path.snapshots, *path.swaps]
                paths[signal.id] = sorted(
                    (p for p in points if p.ts <= now), key=lambda p: (p.ts, p.source != "snapshot")
                )
            base = await _base_mcap(session, signal.mint, alert.buy_ts) or signal.entry_mcap
            if not base or base <= 0:
                continue
            for multiple in MULTIPLES:
                point = next(
                    (
                        p
                        for p in paths[signal.id]
                        if p.ts > alert.buy_ts and p.mcap_usd >= multiple * base
                    ),
                    None,
                )
                if point is None or point.ts < on[alert.channel]:
                    continue  # not passed yet, or passed before follow-ups were turned on
                record = _new_record(alert, multiple, base, point)
                rows.append({"key": _key(alert.channel, alert.id, multiple), "value": record})
        written = await insert_ignore(session, AppState, rows, returning=AppState.key)
    return len(written)


def _new_record(alert: Alert, multiple: int, base: float, point: PricePoint) -> str:
    return json.dumps(
        {
            "channel": alert.channel,
            "alert_id": alert.id,
            "multiple": multiple,
            "base_mcap": base,
            "mcap_usd": point.mcap_usd,
            "ts": point.ts.isoformat(),
            "source": point.source,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": None,
            "attempt_started_at": None,
            "claimed_until": None,
            "last_error": None,
            "sent_at": None,
        }
    )


async def _base_mcap(session: AsyncSession, mint: str, ts: datetime) -> float | None:
    """The market cap at ``ts``: the latest snapshot at or before it."""
    found = (
        await session.exec(
            select(MarketSnapshot.mcap_usd)
            .where(MarketSnapshot.mint == mint, MarketSnapshot.ts <= ts)
            .order_by(col(MarketSnapshot.ts).desc())
            .limit(1)
        )
    ).first()
    return None if found is None else float(found)


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _is_due(record: Record, now: datetime) -> bool:
    waits = [_at(record["next_attempt_at"]), _at(record["claimed_until"])]
    return record["status"] == "pending" and all(t is None or t <= now for t in waits)


async def stored(db: Database, channel: str = "") -> dict[str, Record]:
    """Every follow-up row of ``channel`` (a prefix), by key."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(AppState).where(col(AppState.key).startswith(PREFIX + channel))
            )
        ).all()
    return {row.key: json.loads(row.value) for row in rows}


@dataclass(frozen=True, slots=True)
class FollowUpQueue:
    """The follow-up rows, as an ``outbox.Queue``."""

    db: Database
    limit: int = 100

    async def due(self, channel: str, now: datetime) -> list[AlertView]:
        records = sorted(
            (r for r in (await stored(self.db, channel)).values() if _is_due(r, now)),
            key=lambda r: (r["alert_id"], r["multiple"]),
        )[: self.limit]
        if not records:
            return []
        async with self.db.session() as session:
            views = await views_of(session, [r["alert_id"] for r in records])
        return [
            replace(
                views[r["alert_id"]],
                channel=r["channel"],
                maybe_delivered=r["attempt_started_at"] is not None,
                followup=FollowUp(
                    r["multiple"], r["base_mcap"], r["mcap_usd"], _at(r["ts"]) or now, r["source"]
                ),
            )
            for r in records
            if r["alert_id"] in views
        ]

    async def claim(self, view: AlertView, now: datetime, lease: timedelta) -> AlertView | None:
        in_flight: list[bool] = []

        def take(record: Record) -> Record | None:
            if not _is_due(record, now):
                return None
            in_flight.append(record["attempt_started_at"] is not None)
            return {
                **record,
                "claimed_until": (now + lease).isoformat(),
                "attempt_started_at": now.isoformat(),
            }

        if await self._swap(view, take) is None:
            return None
        return replace(view, maybe_delivered=in_flight[-1])

    async def release(self, view: AlertView) -> None:
        await self._swap(view, lambda r: {**r, "claimed_until": None})

    async def failed(self, view: AlertView, exc: Exception, now: datetime, retry: Retry) -> bool:
        def count(record: Record) -> Record:
            attempts = record["attempts"] + 1
            gave_up = attempts >= retry.max_attempts
            later = now + backoff(attempts, retry.base_delay, retry.max_delay)
            return {
                **record,
                "attempts": attempts,
                "claimed_until": None,
                # the outcome is known unless it is OutcomeUnknown: then it may have arrived
                "attempt_started_at": record["attempt_started_at"]
                if isinstance(exc, OutcomeUnknown)
                else None,
                "last_error": f"{type(exc).__name__}: {exc}"[:300],
                "status": "failed" if gave_up else "pending",
                "next_attempt_at": record["next_attempt_at"] if gave_up else later.isoformat(),
            }

        done = await self._swap(view, count)
        return done is not None and done["status"] == "failed"

    async def sent(self, view: AlertView) -> None:
        def mark(record: Record) -> Record | None:
            if record["status"] == "sent":
                return None
            return {
                **record,
                "status": "sent",
                "sent_at": utcnow().isoformat(),
                "attempts": record["attempts"] + 1,
                "attempt_started_at": None,
                "claimed_until": None,
            }

        await self._swap(view, mark)

    async def _swap(
        self, view: AlertView, change: Callable[[Record], Record | None]
    ) -> Record | None:
        """Compare-and-set the follow-up's row: ``change`` of the value read, written only if
        the row still holds that value; None when nothing was written."""
        assert view.followup is not None
        key = _key(view.channel, view.alert_id, view.followup.multiple)
        async with self.db.session() as session:
            row = await session.get(AppState, key)
            if row is None:
                return None
            old = row.value
            new = change(json.loads(old))
            if new is None:
                return None
            result = await session.exec(
                update(AppState)
                .where(col(AppState.key) == key, col(AppState.value) == old)
                .values(value=json.dumps(new))
            )
            return new if result.rowcount == 1 else None
