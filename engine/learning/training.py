"""Training on labeled signals: time-ordered holdout, candidate vs champion, promotion.

The most recent ``holdout_fraction`` of labeled signals (by signal time) is the holdout. The
candidate is fitted on the older rows only (``ml.outcome``: its objective and its blend with the
prior are chosen on the newest of those, then it is refitted on all of them), then it, the
class-frequency prior of the training rows (``ml.prior``) and the champion are scored on the same
holdout. The prior is a model like the others: the candidate is promoted, the first one
included, only when its log-loss is lower than the prior's by at least ``min_gain``, and, when
there is a usable champion, lower than the champion's by at least ``min_gain`` with an AUC for
>= 10x that is not lower. Otherwise it stays a candidate and the report says why. Every candidate
is saved as a version either way; its metrics record the prior's and whether it beat it
(``beats_prior``: the scorer never falls back to a model that did not).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import col, select

from engine.errors import ModelUnavailable
from engine.signals.features import FEATURE_NAMES, feature_vector
from engine.signals.scoring import KIND, extra_features, schema_hash_for
from engine.storage import Database, ModelVersion, Outcome, Signal
from engine.views import ThreeXReport, TrainReport
from ml.metrics import evaluate_probs
from ml.outcome import OutcomeModel
from ml.prior import ClassPrior
from ml.registry import ModelInfo, Registry, RegistryError


@dataclass(slots=True)
class Dataset:
    X: pd.DataFrame
    y: np.ndarray
    multiples: np.ndarray
    ts: list[datetime]
    mints: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def rows(self, index: slice) -> Dataset:
        return Dataset(
            self.X.iloc[index].reset_index(drop=True),
            self.y[index],
            self.multiples[index],
            self.ts[index],
            self.mints[index],
        )


LOAD_BATCH = 5_000  # labeled signals fetched per step of the event loop


async def labeled_dataset(db: Database) -> Dataset:
    """Labeled signals, oldest first, with their signal-time features.

    Column-wise and off the event loop (issue 13): only the six columns needed are selected
    (the features as their JSON text, never ORM objects), streamed ``LOAD_BATCH`` rows at a
    time, and each batch becomes a float matrix and arrays in a worker thread; the loop only
    fetches. A retrain over 400k signals so never holds a chat reply for a whole load."""
    query = (
        sa.select(
            sa.cast(Signal.features, sa.Text),
            col(Signal.entry_mcap),
            col(Signal.ts),
            col(Signal.mint),
            col(Outcome.label),
            col(Outcome.max_mcap),
        )
        .join(Outcome, col(Outcome.signal_id) == col(Signal.id))
        .order_by(col(Signal.ts), col(Signal.id))
    )
    blocks: list[_Block] = []
    async with db.session() as session:
        result = await session.stream(query)
        async for part in result.partitions(LOAD_BATCH):
            blocks.append(await asyncio.to_thread(_block, part))
    return await asyncio.to_thread(_joined, blocks)


@dataclass(slots=True)
class _Block:
    X: np.ndarray
    y: np.ndarray
    multiples: np.ndarray
    ts: list[datetime]
    mints: list[str]


def _block(rows: Sequence[Any]) -> _Block:
    """One batch of (features JSON, entry mcap, ts, mint, label, max mcap) rows as arrays."""
    features = [feature_vector(_features_of(r[0])) for r in rows]
    entry = np.array([math.nan if r[1] is None else r[1] for r in rows], dtype=float)
    peak = np.array([r[5] for r in rows], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        multiples = np.where((entry > 0) & np.isfinite(entry), peak / entry, math.nan)
    return _Block(
        X=np.array(features, dtype=float).reshape(len(rows), len(FEATURE_NAMES)),
        y=np.array([r[4] for r in rows], dtype=int),
        multiples=multiples,
        ts=[r[2] for r in rows],
        mints=[r[3] for r in rows],
    )


def _features_of(stored: str | dict[str, Any] | None) -> dict[str, Any]:
    """A signal's stored features (JSON text; a driver that decodes JSON gives a dict)."""
    if stored is None:
        return {}
    return json.loads(stored) if isinstance(stored, str) else stored


def _joined(blocks: Sequence[_Block]) -> Dataset:
    if not blocks:
        blocks = [_block([])]
    return Dataset(
        X=pd.DataFrame(np.concatenate([b.X for b in blocks]), columns=list(FEATURE_NAMES)),
        y=np.concatenate([b.y for b in blocks]),
        multiples=np.concatenate([b.multiples for b in blocks]),
        ts=[t for b in blocks for t in b.ts],
        mints=[m for b in blocks for m in b.mints],
    )


async def record_model(db: Database, info: ModelInfo, report: TrainReport) -> None:
    """Keep a trained model's version row (and move the champion mark when it was promoted)."""
    async with db.session() as session:
        if report.promoted:
            for row in (
                await session.exec(select(ModelVersion).where(ModelVersion.champion))
            ).all():
                row.champion = False
                session.add(row)
        session.add(
            ModelVersion(
                version=info.version,
                kind=info.kind,
                path=str(info.path),
                feature_hash=info.feature_schema_hash,
                metrics=report.as_dict(),
                n_samples=report.n_train,
                champion=report.promoted,
            )
        )


async def champion_metrics(db: Database) -> dict[str, Any]:
    """The holdout metrics recorded when the current champion was trained ({} when none)."""
    async with db.session() as session:
        row = (await session.exec(select(ModelVersion).where(ModelVersion.champion))).first()
    return dict(row.metrics.get("metrics", {})) if row is not None else {}


def time_split(ds: Dataset, holdout_fraction: float) -> tuple[Dataset, Dataset]:
    cut = int(round(len(ds) * (1.0 - holdout_fraction)))
    return ds.rows(slice(0, cut)), ds.rows(slice(cut, len(ds)))


MIN_TRAIN_ROWS = 50


def require_rows(n: int, holdout_fraction: float) -> None:
    """Raise ``ModelUnavailable`` when ``n`` labeled signals split by ``time_split`` leave too
    few rows to train on or to judge with."""
    cut = int(round(n * (1.0 - holdout_fraction)))
    if cut < MIN_TRAIN_ROWS or n - cut < 10:
        raise ModelUnavailable(
            f"not enough labeled signals to train: {n} (need about {int(MIN_TRAIN_ROWS / (1 - holdout_fraction)) + 10})"
        )


async def labeled_count(db: Database) -> int:
    """How many signals have an outcome (what ``labeled_dataset`` would load)."""
    query = (
        select(sa.func.count())
        .select_from(Signal)
        .join(Outcome, col(Outcome.signal_id) == col(Signal.id))
    )
    async with db.session() as session:
        return int((await session.exec(query)).one())


def train_and_compare(
    ds: Dataset,
    registry: Registry,
    *,
    holdout_fraction: float,
    min_gain: float,
    params: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    threex: bool = False,
) -> TrainReport:
    """Fit a candidate, compare it with the champion on the same holdout, promote or not
    (``progress(round, rounds)``: each boosting round, for a face to draw). ``threex``: also
    train, compare and register the 3x+ net on the same split (``engine.learning.threex``)."""
    require_rows(len(ds), holdout_fraction)
    train, holdout = time_split(ds, holdout_fraction)
    candidate = OutcomeModel(**(params or {})).fit(
        train.X, train.y, multiples=train.multiples, progress=progress
    )
    holdout_probs = candidate.predict_proba(holdout.X)
    metrics = evaluate_probs(holdout_probs, holdout.y, holdout.multiples)
    prior = ClassPrior().fit(train.y)
    prior_metrics = evaluate_probs(prior.predict_proba(len(holdout)), holdout.y, holdout.multiples)
    window = (train.ts[0].isoformat(), train.ts[-1].isoformat())

    champion_info = registry.champion(KIND)
    champion_metrics: dict[str, float] = {}
    champion: OutcomeModel | None = None
    if champion_info is not None:
        lacking = [
            n for n in extra_features(champion_info.feature_names) or [] if n not in holdout.X
        ]
        try:
            expected = schema_hash_for(champion_info.feature_names)
            champion = registry.load(None, kind=KIND, expected_schema_hash=expected)
        except RegistryError:
            champion = None
        if lacking:
            champion = None
    beats_prior, prior_reason = _beats_prior(metrics, prior_metrics, min_gain)
    if champion is not None:
        champion_metrics = evaluate_probs(
            champion.predict_proba(holdout.X), holdout.y, holdout.multiples
        )
        promoted, reason = _decide(metrics, champion_metrics, min_gain)
        if promoted and not beats_prior:
            promoted, reason = False, prior_reason
    elif not beats_prior:
        promoted, reason = False, prior_reason
    elif champion_info is not None:
        promoted, reason = (
            True,
            f"the champion does not fit the current features; candidate promoted ({prior_reason})",
        )
    else:
        promoted, reason = True, f"first model: promoted ({prior_reason})"

    try:
        info = registry.save(
            candidate,
            kind=KIND,
            metrics={
                **metrics,
                "holdout_start": holdout.ts[0].isoformat(),
                "n_holdout": len(holdout),
                "prior_log_loss": prior_metrics["log_loss"],
                "beats_prior": beats_prior,
                "objective": candidate.shape_,
                "prior_weight": candidate.blend_,
            },
            training_window=window,
            n_samples=len(train),
            promote_first=False,
        )
        if promoted and not info.champion:
            registry.promote(info.version)
    except RegistryError as exc:  # no free version name, or the version deleted meanwhile
        raise ModelUnavailable(str(exc)) from None
    return TrainReport(
        version=info.version,
        n_train=len(train),
        n_holdout=len(holdout),
        window=window,
        metrics=metrics,
        promoted=promoted,
        reason=reason,
        champion_version=champion_info.version if champion_info else None,
        champion_metrics=champion_metrics,
        prior_metrics=prior_metrics,
        objective=candidate.shape_,
        prior_weight=candidate.blend_,
        threex=_threex(ds, registry, holdout_fraction, min_gain, holdout_probs) if threex else None,
    )


def _threex(
    ds: Dataset, registry: Registry, holdout_fraction: float, min_gain: float, probs: np.ndarray
) -> ThreeXReport:
    from engine.learning.threex import train_threex  # it imports this module

    return train_threex(
        ds, registry, holdout_fraction=holdout_fraction, min_gain=min_gain, outcome_probs=probs
    )


def _beats_prior(
    cand: dict[str, float], prior: dict[str, float], min_gain: float
) -> tuple[bool, str]:
    gain = prior["log_loss"] - cand["log_loss"]
    versus = f"log-loss {cand['log_loss']:.4f} vs the prior's {prior['log_loss']:.4f}"
    if gain < min_gain:
        return False, (
            f"not promoted: the candidate does not beat the class-frequency prior on the holdout "
            f"({versus}; needs a gain of {min_gain:.4f})"
        )
    return True, versus


def _decide(cand: dict[str, float], champ: dict[str, float], min_gain: float) -> tuple[bool, str]:
    gain = champ["log_loss"] - cand["log_loss"]
    auc_c, auc_h = cand["auc_10x"], champ["auc_10x"]
    if gain < min_gain:
        return False, (
            f"kept the champion: candidate log-loss {cand['log_loss']:.4f} vs {champ['log_loss']:.4f} "
            f"(needs a gain of {min_gain:.4f})"
        )
    if not (math.isnan(auc_c) or math.isnan(auc_h)) and auc_c < auc_h:
        return False, f"kept the champion: candidate AUC for 10x+ {auc_c:.3f} < {auc_h:.3f}"
    return True, f"promoted: log-loss {cand['log_loss']:.4f} vs {champ['log_loss']:.4f}"
