"""How a push source is doing, for ``/status`` and for the poll to act as the fallback.

Each connection (or the webhook server) has a state and the time it entered it; ``PushHealth``
is a frozen snapshot of them and of the counters. ``down_since`` is the earliest moment since
which some connection has had no working subscription: the poll should take over the wallets
of a source that is ``down`` (not connected for ``down_after_s``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

__all__ = ["Clock", "ConnectionState", "Counters", "PushHealth", "SourceState", "summarise"]

Clock = Callable[[], datetime]
ConnectionState = Literal["connecting", "connected", "reconnecting", "stopped"]
SourceState = Literal["idle", "connected", "reconnecting", "down", "stopped"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Counters:
    """Running totals of one push source (mutable; ``PushHealth`` copies them)."""

    notifications: int = 0  # frames or webhook items that named a transaction
    delivered: int = 0  # records handed to the consumer
    duplicates: int = 0  # (signature, wallet) pairs already delivered
    failed: int = 0  # transactions that failed on chain (no trades): dropped
    malformed: int = 0  # frames or bodies that could not be read: logged, dropped
    unknown_subscription: int = 0  # notifications for no subscription of this connection
    subscribe_errors: int = 0  # subscribe requests the server refused
    overflow: int = 0  # records dropped because the consumer's queue was full
    reconnects: int = 0
    rejected_auth: int = 0  # webhook posts answered 401
    last_notification_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PushHealth:
    """A snapshot. ``state``: ``connected`` when every connection is subscribed,
    ``reconnecting`` while some is not, ``down`` when that has lasted ``down_after_s``."""

    mode: str
    state: SourceState
    connections: int
    connected: int
    subscriptions: int
    wallets: int
    unsubscribed_wallets: int  # more wallets than connections x subscriptions: left to the poll
    down_since: datetime | None
    counters: Counters = field(default_factory=Counters)


def summarise(
    states: Sequence[tuple[ConnectionState, datetime]],
    *,
    now: datetime,
    down_after_s: float,
    stopped: bool,
) -> tuple[SourceState, int, datetime | None]:
    """(state, connections up, down since) of connections given as (state, since)."""
    if stopped:
        return "stopped", 0, None
    if not states:
        return "idle", 0, None
    up = sum(1 for state, _ in states if state == "connected")
    lost = [since for state, since in states if state != "connected"]
    if not lost:
        return "connected", up, None
    down_since = min(lost)
    if (now - down_since).total_seconds() >= down_after_s:
        return "down", up, down_since
    return "reconnecting", up, down_since
