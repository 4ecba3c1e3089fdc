"""The one facade the faces call. ``MoonbotService.open(settings)`` builds everything once (the
database, the model registry and scorer, the data source, the tracker); faces receive it, they
never import a database session or the ML package.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlmodel import col, func, select

from engine.config import Settings
from engine.errors import ModelUnavailable, UnknownKol, UnknownToken, UserError
from engine.learning import modelops
from engine.learning.backtest import Backtest, run_backtest
from engine.learning.insights import InsightsReport, LabeledData, build_insights, latest_insights
from engine.learning.labels import label_due
from engine.learning.report import WeeklyReport, week_of, write_report
from engine.learning.training import (
    Dataset,
    TrainReport,
    labeled_dataset,
    time_split,
    train_and_compare,
)
from engine.records import MarketSource
from engine.signals import outbox
from engine.signals.features import compute_features
from engine.signals.inputs import load_inputs
from engine.signals.opening import process_buys, unsignaled_buys
from engine.signals.outbox import AlertView
from engine.signals.scoring import Scorer
from engine.sources.address import validate_address
from engine.storage import (
    Alert,
    AppState,
    Database,
    Kol,
    ModelVersion,
    Outcome,
    Signal,
    Subscription,
    Token,
    Trade,
)
from engine.tracking import kols
from engine.tracking.kolforecast import kol_forecasts, leaderboard
from engine.tracking.kolstats import KolStats, compute_stats
from engine.tracking.positionstore import (
    all_closed_positions,
    all_stats,
    positions_of,
    refresh_positions,
)
from engine.tracking.tracker import Tracker, last_poll
from engine.views import (
    CycleReport,
    JobStatus,
    KolProfile,
    Prediction,
    StatusReport,
)
from ml.metrics import evaluate_probs
from ml.registry import ModelInfo, Registry

if TYPE_CHECKING:
    from engine.sim import SimConfig

log = logging.getLogger(__name__)


def sim_config(settings: Settings) -> SimConfig:
    """The simulated market the settings describe."""
    from engine.sim import SimConfig

    return SimConfig(
        seed=settings.sim_seed,
        n_days=settings.sim_days,
        n_kols=settings.sim_kols,
        tokens_per_day=settings.sim_tokens_per_day,
    )


def make_source(settings: Settings, db: Database) -> MarketSource:
    if settings.source == "rpc":
        from engine.sources.solana.source import RpcSource

        return RpcSource.from_settings(settings, tracked=partial(kols.tracked_cursors, db))
    if settings.source == "sim":
        from engine.sim import SimSource, generate

        return SimSource(generate(sim_config(settings)))
    raise UserError(f"data source {settings.source!r} is not available in this version")


class MoonbotService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        registry: Registry,
        source: MarketSource | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.registry = registry
        self.scorer = Scorer(registry)
        self.horizon = timedelta(hours=settings.outcome_horizon_hours)
        self._source = source
        self._tracker: Tracker | None = None
        self._train_lock = asyncio.Lock()
        # Set by whoever runs the scheduler (``moonbot run``), so /status can show the jobs.
        self.job_status: Callable[[], list[JobStatus]] | None = None

    @property
    def tracker(self) -> Tracker:
        """The tracker over the data source, built on first use (the simulated market takes a few
        seconds to generate, which questions answered from the database never need)."""
        if self._tracker is None:
            if self._source is None:
                self._source = make_source(self.settings, self.db)
            self._tracker = Tracker(self.db, self._source, horizon=self.horizon)
        return self._tracker

    @classmethod
    async def open(cls, settings: Settings, source: MarketSource | None = None) -> MoonbotService:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.db_url)
        await db.create()
        async with db.session() as session:
            if await session.get(AppState, "source") is None:
                session.add(AppState(key="source", value=settings.source))
        await outbox.ensure_channels(db, settings.alert_channels, settings.alert_score_threshold)
        service = cls(settings, db, Registry(settings.models_dir), source)
        service.scorer.reload()
        return service

    async def close(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()
        await self.db.dispose()

    async def now(self) -> datetime:
        """The data's present: the last poll of a replayed source, the wall clock otherwise."""
        if self.settings.source == "sim":
            return await last_poll(self.db) or datetime.now(UTC)
        return datetime.now(UTC)

    # --- the loop -------------------------------------------------------------------------

    async def cycle(self, until: datetime) -> CycleReport:
        """One tracker poll and everything that follows from it: positions, signals, alerts,
        labels."""
        await self.tracker.sync_kols()
        poll = await self.tracker.poll(until)
        await refresh_positions(self.db, poll.wallets_with_trades)
        window = timedelta(hours=self.settings.signal_window_hours)
        seen = {(t.signature, t.wallet, t.mint) for t in poll.new_kol_buys}
        recovered = [
            t
            for t in await unsignaled_buys(self.db, until - window)
            if (t.signature, t.wallet, t.mint) not in seen
        ]
        events = await process_buys(
            self.db, self.scorer, [*poll.new_kol_buys, *recovered], window=window
        )
        new_alerts = await outbox.enqueue(
            self.db,
            events,
            await all_stats(self.db) if events else {},
            dh_threshold=self.settings.diamond_hand_threshold,
            dh_min_positions=self.settings.diamond_hand_min_positions,
        )
        labels = await label_due(self.db, until, self.horizon)
        return CycleReport(
            until=until,
            new_trades=len(poll.new_trades),
            events=events,
            new_signals=len({e.signal_id for e in events if e.opened}),
            new_alerts=new_alerts,
            labeled=labels.labeled,
        )

    async def poll(self) -> CycleReport:
        """One live cycle: up to now, or for the replayed market one poll interval further."""
        until = datetime.now(UTC)
        if self.settings.source == "sim":
            start = await last_poll(self.db) or sim_config(self.settings).start
            until = start + timedelta(minutes=self.settings.poll_minutes)
        return await self.cycle(until)

    async def label(self) -> int:
        """Label the signals whose horizon has passed (also done by every cycle)."""
        return (await label_due(self.db, await self.now(), self.horizon)).labeled

    async def refresh_stats(self) -> int:
        """Rebuild every KOL's positions and peaks from the stored trades and snapshots."""
        async with self.db.session() as session:
            wallets = list((await session.exec(select(Kol.wallet))).all())
        return await refresh_positions(self.db, wallets)

    async def retrain(self, params: dict[str, Any] | None = None) -> TrainReport:
        """Train a candidate on the labeled signals, compare, promote or keep the champion."""
        async with self._train_lock:
            ds = await labeled_dataset(self.db)
            report = await asyncio.to_thread(
                train_and_compare,
                ds,
                self.registry,
                holdout_fraction=self.settings.holdout_fraction,
                min_gain=self.settings.promote_min_logloss_gain,
                params=params,
            )
            info = next(i for i in self.registry.list("outcome") if i.version == report.version)
            async with self.db.session() as session:
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
            if report.promoted:
                self.scorer.reload()
            return report

    # --- questions ------------------------------------------------------------------------

    async def predict(self, mint_text: str) -> Prediction:
        mint = validate_address(mint_text, "mint")
        now = await self.now()
        async with self.db.session() as session:
            token = await session.get(Token, mint)
            if token is None:
                raise UnknownToken(f"unknown token {mint}: no tracked KOL has traded it")
            inputs = await load_inputs(session, mint, now)
            signal = (await session.exec(select(Signal).where(Signal.mint == mint))).first()
            outcome = await session.get(Outcome, signal.id) if signal and signal.id else None
        self.scorer.require_model()
        features = await asyncio.to_thread(compute_features, inputs)
        return Prediction(
            mint=mint,
            symbol=token.symbol,
            name=token.name,
            as_of=now,
            features=features,
            score=self.scorer.score(features),
            signal_ts=signal.ts if signal else None,
            outcome_label=outcome.label if outcome else None,
        )

    async def kol(self, query: str) -> KolProfile:
        text = query.strip()
        async with self.db.session() as session:
            if len(text) >= 32:
                wallet = validate_address(text, "wallet")
                row = await session.get(Kol, wallet)
                if row is None:
                    raise UnknownKol(f"wallet {wallet} is not a tracked KOL")
            else:
                row = (
                    await session.exec(select(Kol).where(func.lower(Kol.name) == text.lower()))
                ).first()
                if row is None:
                    raise UnknownKol(
                        f"no tracked KOL is named {text!r}: try /kol with a wallet address"
                    )
            triggered = (
                await session.exec(
                    select(func.count())
                    .select_from(Signal)
                    .where(Signal.trigger_wallet == row.wallet)
                )
            ).one()
        positions = await positions_of(self.db, row.wallet)
        stats = compute_stats(positions)
        forecasts = await asyncio.to_thread(
            kol_forecasts, await all_closed_positions(self.db), row.wallet, await self.now()
        )
        return KolProfile(
            wallet=row.wallet,
            name=row.name,
            tier=row.tier,
            stats=stats,
            is_diamond_hand=stats.is_diamond_hand(
                self.settings.diamond_hand_threshold, self.settings.diamond_hand_min_positions
            ),
            recent=positions[-5:][::-1],
            signals_triggered=int(triggered),
            forecasts=forecasts,
        )

    async def top_kols(self, n: int = 5) -> list[tuple[str, str, KolStats]]:
        """The KOLs with the best Diamond Hand scores (names and wallets for examples)."""
        stats = await all_stats(self.db)
        async with self.db.session() as session:
            kols = {k.wallet: k for k in (await session.exec(select(Kol))).all()}
        ranked = sorted(
            ((w, s) for w, s in stats.items() if w in kols),
            key=lambda ws: -(ws[1].diamond_hand_score or -1.0),
        )
        return [(kols[w].name, w, s) for w, s in ranked[:n]]

    async def _labeled(self, what: str) -> Dataset:
        ds = await labeled_dataset(self.db)
        if len(ds) == 0:
            raise ModelUnavailable(f"no labeled signals yet: {what} need outcomes to learn from")
        return ds

    async def insights(self) -> InsightsReport:
        """The latest weekly report's insights while no signal has been labeled and no model
        promoted since it was written; else computed now."""
        ds = await self._labeled("insights")
        stored = await asyncio.to_thread(
            latest_insights, self.settings.reports_dir, LabeledData.of(ds), self.scorer.version
        )
        if stored is not None:
            return stored
        return await asyncio.to_thread(
            build_insights, ds, self.scorer.model, self.scorer.version, self.settings.reports_dir
        )

    async def report(self) -> WeeklyReport:
        """Write this week's report (charts) under the reports directory."""
        ds = await self._labeled("reports")
        async with self.db.session() as session:
            names = {k.wallet: k.name for k in (await session.exec(select(Kol))).all()}
        positions = await all_closed_positions(self.db)
        now = await self.now()
        board = await asyncio.to_thread(leaderboard, positions, names, now)
        return await asyncio.to_thread(
            write_report,
            ds,
            self.scorer.model,
            self.scorer.version,
            board,
            self.settings.reports_dir,
            now,
        )

    async def backtest(self) -> Backtest:
        """Walk-forward backtest on the labeled signals; the chart goes to the week's report dir."""
        ds = await labeled_dataset(self.db)
        directory = self.settings.reports_dir / week_of(await self.now())
        return await asyncio.to_thread(run_backtest, ds, directory)

    async def status(self) -> StatusReport:
        async with self.db.session() as session:
            counts = {}
            for name, table in (
                ("kols", Kol),
                ("tokens", Token),
                ("trades", Trade),
                ("signals", Signal),
                ("labeled", Outcome),
            ):
                counts[name] = int(
                    (await session.exec(select(func.count()).select_from(table))).one()
                )
            counts["alerts_pending"] = int(
                (
                    await session.exec(
                        select(func.count()).select_from(Alert).where(Alert.status == "pending")
                    )
                ).one()
            )
            champion = (
                await session.exec(select(ModelVersion).where(ModelVersion.champion))
            ).first()
        return StatusReport(
            source=self.settings.source,
            as_of=await last_poll(self.db),
            counts=counts,
            model_version=self.scorer.version,
            model_metrics=champion.metrics.get("metrics", {}) if champion else {},
            jobs=self.job_status() if self.job_status is not None else [],
        )

    async def pending_alerts(self, channel: str | None = None) -> list[AlertView]:
        return await outbox.pending(self.db, channel)

    async def deliver_alerts(self, channel: str, send: outbox.SendAlert) -> outbox.Delivery:
        """Send the due alerts of ``channel`` (a prefix: "telegram:" is every Telegram chat)
        through ``send``, with retries and backoff for the ones that fail."""
        return await outbox.deliver(self.db, channel, send, now=datetime.now(UTC))

    async def track_add(self, wallet: str, name: str | None, tier: str) -> kols.TrackChange:
        return await kols.add_kol(self.db, wallet, name, tier)

    async def track_remove(self, wallet: str) -> kols.TrackedKol:
        return await kols.remove_kol(self.db, wallet)

    async def track_list(self) -> list[kols.TrackedKol]:
        return await kols.list_kols(self.db)

    async def track_backfill(self, wallet: str, days: int) -> kols.BackfillReport:
        return await kols.backfill(
            self.db, self.tracker.source, wallet, days=days, now=await self.now()
        )

    async def set_alerts(
        self, channel: str, *, enabled: bool | None = None, threshold: int | None = None
    ) -> outbox.ChannelAlerts:
        return await outbox.set_channel(
            self.db,
            channel,
            enabled=enabled,
            threshold=threshold,
            default_threshold=self.settings.alert_score_threshold,
        )

    async def subscribed_channels(self, prefix: str) -> list[str]:
        """Channels (e.g. every "telegram:" chat) with alerts and reports turned on."""
        async with self.db.session() as session:
            rows = await session.exec(
                select(Subscription.channel).where(
                    col(Subscription.enabled), col(Subscription.channel).startswith(prefix)
                )
            )
            return list(rows.all())

    # --- models from files (moonbot train --data / evaluate / predict / models) ---------------

    async def train_from_file(self, path: Path) -> modelops.FileTrainReport:
        async with self._train_lock:
            result = await asyncio.to_thread(
                modelops.train_from_file,
                self.registry,
                path,
                holdout_fraction=self.settings.holdout_fraction,
                min_gain=self.settings.promote_min_logloss_gain,
            )
        self.scorer.reload()
        return result

    async def evaluate_file(self, path: Path, version: str | None) -> modelops.Evaluation:
        return await asyncio.to_thread(modelops.evaluate_file, self.registry, path, version)

    async def predict_file(
        self, path: Path, out_path: Path, version: str | None
    ) -> modelops.PredictionFile:
        return await asyncio.to_thread(
            modelops.predict_file, self.registry, path, out_path, version
        )

    async def list_models(self) -> list[ModelInfo]:
        return modelops.list_models(self.registry)

    async def promote_model(self, version: str) -> ModelInfo:
        info = modelops.promote(self.registry, version)
        self.scorer.reload()
        return info

    async def rollback_model(self) -> ModelInfo:
        info = modelops.rollback(self.registry)
        self.scorer.reload()
        return info

    async def prune_models(self, keep: int) -> modelops.PruneReport:
        return modelops.prune(self.registry, keep)

    async def skip_pending_alerts(self) -> int:
        """Mark all pending alerts skipped, e.g. after back-filling history."""
        return await outbox.skip_pending(self.db)

    async def recent_signals(self, n: int = 5) -> list[tuple[str, str, datetime, int]]:
        """(mint, symbol, ts, score) of the newest signals."""
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Signal.mint, Token.symbol, Signal.ts, Signal.score)
                    .join(Token, col(Token.mint) == col(Signal.mint))
                    .order_by(col(Signal.ts).desc())
                    .limit(n)
                )
            ).all()
        return [(m, s, t, sc) for m, s, t, sc in rows]

    async def holdout_comparison(
        self, oracle: Callable[[str], Sequence[float]]
    ) -> dict[str, dict[str, float]]:
        """The champion and a reference (the simulator's oracle) on the current holdout."""
        model = self.scorer.require_model()
        ds = await labeled_dataset(self.db)
        _, holdout = time_split(ds, self.settings.holdout_fraction)
        probs = model.predict_proba(holdout.X)
        reference = np.array([oracle(m) for m in holdout.mints], dtype=float)
        return {
            "model": evaluate_probs(probs, holdout.y, holdout.multiples),
            "oracle": evaluate_probs(reference, holdout.y, holdout.multiples),
        }
