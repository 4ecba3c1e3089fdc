"""What happened lately, as the dashboard shows it: the newest signals with their score, reasons,
alerts and outcome, and the trained model versions with their holdout metrics.

Read-only queries (portable SQL: the same on SQLite and PostgreSQL); records cross to the faces
through ``engine.views``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from engine.signals.scoring import Reason
from engine.storage import Alert, Database, Kol, Outcome, Signal, Token
from engine.storage.models import ModelVersion


@dataclass(frozen=True, slots=True)
class AlertSummary:
    channel: str
    status: str  # pending | sent | failed | skipped
    score: int
    kol_name: str
    buy_ts: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class SignalSummary:
    """A signal as of its time (score, probabilities, reasons) and what became of it."""

    mint: str
    symbol: str
    name: str
    ts: datetime
    trigger_wallet: str
    trigger_name: str
    score: int
    rule_score: int
    probabilities: tuple[float, ...] | None
    reasons: tuple[str, ...]
    model_version: str | None
    outcome_label: int | None  # index into CLASSES; None until the horizon has passed
    max_multiple: float | None  # max market cap / entry market cap
    alerts: tuple[AlertSummary, ...]


@dataclass(frozen=True, slots=True)
class ModelRun:
    """A trained model version and what its training recorded: the candidate's holdout metrics
    and, on the same holdout, the champion's then and the class-frequency prior's (when that
    training recorded them)."""

    version: str
    kind: str
    trained_at: datetime
    n_samples: int
    champion: bool
    promoted: bool | None
    reason: str | None
    metrics: dict[str, float]
    champion_metrics: dict[str, float]
    prior_metrics: dict[str, float]


def _reasons(raw: list[dict[str, Any]] | None) -> tuple[str, ...]:
    return tuple(
        Reason(r["feature"], float(r["value"]), float(r["contribution"])).text for r in raw or []
    )


async def recent_signals(db: Database, limit: int = 50) -> list[SignalSummary]:
    """The ``limit`` newest signals, newest first."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Signal, Token, Outcome)
                .join(Token, col(Token.mint) == col(Signal.mint), isouter=True)
                .join(Outcome, col(Outcome.signal_id) == col(Signal.id), isouter=True)
                .order_by(col(Signal.ts).desc(), col(Signal.id).desc())
                .limit(limit)
            )
        ).all()
        ids = [signal.id for signal, _, _ in rows]
        alerts = (
            await session.exec(
                select(Alert).where(col(Alert.signal_id).in_(ids)).order_by(col(Alert.id))
            )
        ).all()
        names = dict((await session.exec(select(Kol.wallet, Kol.name))).all())
    by_signal: dict[int, list[AlertSummary]] = {}
    for a in alerts:
        by_signal.setdefault(a.signal_id, []).append(
            AlertSummary(
                a.channel,
                a.status,
                a.score,
                names.get(a.kol_wallet, a.kol_wallet),
                a.buy_ts,
                a.sent_at,
            )
        )
    return [
        SignalSummary(
            mint=signal.mint,
            symbol=token.symbol if token is not None else "",
            name=token.name if token is not None else "",
            ts=signal.ts,
            trigger_wallet=signal.trigger_wallet,
            trigger_name=names.get(signal.trigger_wallet, ""),
            score=signal.score,
            rule_score=signal.rule_score,
            probabilities=tuple(signal.probabilities) if signal.probabilities else None,
            reasons=_reasons(signal.reasons),
            model_version=signal.model_version,
            outcome_label=outcome.label if outcome is not None else None,
            max_multiple=outcome.max_roi + 1.0 if outcome is not None else None,
            alerts=tuple(by_signal.get(signal.id or -1, ())),
        )
        for signal, token, outcome in rows
    ]


def _floats(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float)}


async def model_runs(db: Database, limit: int = 20) -> list[ModelRun]:
    """The ``limit`` most recently trained model versions, newest first."""
    async with db.session() as session:
        rows = (
            await session.exec(
                select(ModelVersion).order_by(col(ModelVersion.trained_at).desc()).limit(limit)
            )
        ).all()
    runs = []
    for row in rows:
        recorded = row.metrics or {}
        promoted = recorded.get("promoted")
        reason = recorded.get("reason")
        runs.append(
            ModelRun(
                version=row.version,
                kind=row.kind,
                trained_at=row.trained_at,
                n_samples=row.n_samples,
                champion=row.champion,
                promoted=promoted if isinstance(promoted, bool) else None,
                reason=reason if isinstance(reason, str) else None,
                metrics=_floats(recorded.get("metrics")),
                champion_metrics=_floats(recorded.get("champion_metrics")),
                prior_metrics=_floats(recorded.get("prior_metrics")),
            )
        )
    return runs
