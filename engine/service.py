"""The one facade the faces call. ``MoonbotService.open(settings)`` builds everything once (the
database, the model registry and scorer, the data source, the tracker); faces receive it, they
never import a database session or the ML package.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import Settings
from engine.errors import ModelUnavailable, StorageUnavailable, UserError
from engine.records import MarketSource
from engine.signals import outbox
from engine.signals.opening import (
    signals_triggered,
)
from engine.signals.scoring import Scorer
from engine.signals.settle import Settled, settle
from engine.sources.address import validate_address
from engine.storage import Alert, Database, Kol, Outcome, Signal, Token, Trade
from engine.tracking import kols
from engine.tracking.kolstats import compute_stats
from engine.tracking.positionstore import (
    all_closed_positions,
    positions_of,
    refresh_positions,
)
from engine.tracking.tracker import Tracker, last_poll
from engine.views import (
    AlertView,
    BackfillReport,
    BacktestGroup,
    BacktestSummary,
    ChannelAlerts,
    CycleReport,
    Delivery,
    Evaluation,
    FileTrainReport,
    InsightsReport,
    JobStatus,
    KolProfile,
    ModelView,
    ParsedTx,
    Prediction,
    PredictionFile,
    PruneReport,
    SendAlert,
    StatusReport,
    TrackChange,
    TrackedKol,
    TrainReport,
    WeeklyReport,
)

# The learning side (xgboost, torch, pandas, matplotlib, shap) is imported by the methods that
# need it, so that a command answered from the database starts in a fraction of a second.
if TYPE_CHECKING:
    from engine.learning.training import Dataset
    from engine.sim import SimConfig
    from engine.sim.demo import DemoService as DemoService
    from engine.sources.candles import MintCandles
    from ml.registry import Registry

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


# --- checks a face runs on its input before it opens the service ------------------------------


# The engine's own checks under the names the faces call them by (each raises a UserError with
# a one-line reason).
check_address = validate_address
check_tier = kols.check_tier
check_kol_name = kols.check_name
check_backfill_days = kols.check_days


def check_data_path(path: Path) -> Path:
    """A CSV or Parquet file that exists, or ``DataFileError``."""
    from engine.learning.datafile import check_data_path as check

    check(path)
    return path


def parse_transactions(path: Path, wallet: str | None) -> list[ParsedTx]:
    """The swaps read from a file of ``getTransaction`` results (one result, a response, or a
    list of either), per transaction: what ``moonbot parse-tx`` shows."""
    from engine.sources.solana import load_transactions, parse_transaction

    who = validate_address(wallet, "wallet") if wallet else None
    try:
        payload = json.loads(path.read_bytes())
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UserError(f"{path} is not JSON: {exc}") from None
    parsed = []
    for tx in load_transactions(payload):
        trades = [
            {
                **dataclasses.asdict(t),
                "block_time": t.block_time.isoformat() if t.block_time else None,
            }
            for t in parse_transaction(tx, who)
        ]
        signature = (tx.get("transaction") or {}).get("signatures", ["?"])[0]
        parsed.append(ParsedTx(str(signature), bool((tx.get("meta") or {}).get("err")), trades))
    return parsed


def bench_model_paths() -> dict[str, dict[str, float]]:
    """``moonbot bench``: the one-row model paths (predict, explain), in milliseconds."""
    from ml.bench import bench_explain

    return bench_explain()


async def open_demo(settings: Settings) -> DemoService:
    """A fresh simulated market and database for ``moonbot demo`` (see ``engine.sim.demo``)."""
    from engine.sim.demo import DemoService

    return await DemoService.start(settings)


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
        self._candles: MintCandles | None = None  # built on first labelling (settings.candles)
        # Set by whoever runs the scheduler (``moonbot run``), so /status can show the jobs.
        self.job_status: Callable[[], list[JobStatus]] | None = None

    @property
    def tracker(self) -> Tracker:
        """The tracker over the data source, built on first use (the simulated market takes a few
        seconds to generate, which questions answered from the database never need)."""
        if self._tracker is None:
            if self._source is None:
                self._source = make_source(self.settings, self.db)
            budget = self.settings.poll_budget_seconds
            self._tracker = Tracker(
                self.db,
                self._source,
                horizon=self.horizon,
                budget=timedelta(seconds=budget) if budget > 0 else None,
            )
        return self._tracker

    @classmethod
    async def open(cls, settings: Settings, source: MarketSource | None = None) -> MoonbotService:
        from ml.registry import Registry

        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(
                f"cannot create the data directory {settings.data_dir}: {exc.strerror}"
            ) from None
        db = Database(settings.db_url)
        await db.create()
        await db.remember("source", settings.source)  # which source this database holds
        await outbox.ensure_channels(db, settings.alert_channels, settings.alert_score_threshold)
        return cls(settings, db, Registry(settings.models_dir), source)

    async def close(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()
        if self._candles is not None:
            await self._candles.aclose()
        await self.db.dispose()

    async def now(self) -> datetime:
        """The data's present: the last poll of a replayed source, the wall clock otherwise."""
        if self.settings.source == "sim":
            return await last_poll(self.db) or datetime.now(UTC)
        return datetime.now(UTC)

    # --- the loop -------------------------------------------------------------------------

    async def cycle(self, until: datetime) -> CycleReport:
        """One tracker poll and everything that follows from it: positions, signals, alerts,
        labels.

        The steps after the poll (``engine.signals.settle``) work on durable state, so a cycle
        killed after its poll is settled by the next one, with its own poll's data, before that
        one polls."""
        await self.tracker.sync_kols()
        earlier = await settle(self.db, self.scorer, self.settings, self.horizon, self.candles)
        poll = await self.tracker.poll(until)
        settled = (
            await settle(self.db, self.scorer, self.settings, self.horizon, self.candles)
            or Settled()
        )
        events = [*(earlier.events if earlier else []), *settled.events]
        failed = [*poll.failed_wallets, *poll.unfinished_wallets, *settled.failed]
        return CycleReport(
            until=until,
            new_trades=len(poll.new_trades),
            events=events,
            new_signals=len({e.signal_id for e in events if e.opened}),
            new_alerts=settled.alerts + (earlier.alerts if earlier else 0),
            labeled=settled.labeled + (earlier.labeled if earlier else 0),
            left_for_next=tuple(failed),
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
        from engine.learning.labels import label_due

        return (
            await label_due(self.db, await self.now(), self.horizon, candles=self.candles)
        ).labeled

    @property
    def candles(self) -> MintCandles | None:
        """The labels' candle feed when ``settings.candles`` asks for one (never on the sim)."""
        if self._candles is None and self.settings.candles:
            from engine.sources.candles import candles_from_settings

            self._candles = candles_from_settings(self.settings)
        return self._candles

    async def refresh_stats(self) -> int:
        """Rebuild every KOL's positions and peaks from the stored trades and snapshots."""
        return await refresh_positions(self.db, list(await kols.kol_names(self.db)))

    async def retrain(self, params: dict[str, Any] | None = None) -> TrainReport:
        """Train a candidate on the labeled signals, compare, promote or keep the champion."""
        from engine.learning.training import labeled_dataset, record_model, train_and_compare

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
            await record_model(self.db, self.registry.get(report.version), report)
            if report.promoted:
                self.scorer.reload()
            return report

    # --- questions ------------------------------------------------------------------------

    async def predict(self, mint_text: str) -> Prediction:
        from engine.signals.features import compute_features
        from engine.signals.inputs import token_state

        mint = validate_address(mint_text, "mint")
        now = await self.now()
        token, inputs, signal, outcome = await token_state(self.db, mint, now)
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
        from engine.tracking.kolforecast import kol_forecasts

        row = await kols.find_kol(self.db, query)
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
            signals_triggered=await signals_triggered(self.db, row.wallet),
            forecasts=forecasts,
        )

    async def _labeled(self, what: str) -> Dataset:
        from engine.learning.training import labeled_dataset

        ds = await labeled_dataset(self.db)
        if len(ds) == 0:
            raise ModelUnavailable(f"no labeled signals yet: {what} need outcomes to learn from")
        return ds

    async def insights(self) -> InsightsReport:
        """The latest weekly report's insights while no signal has been labeled and no model
        promoted since it was written; else computed now."""
        from engine.learning.insights import LabeledData, build_insights, latest_insights

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
        from engine.learning.report import write_report
        from engine.tracking.kolforecast import leaderboard

        ds = await self._labeled("reports")
        names = await kols.kol_names(self.db)
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

    async def backtest(self) -> BacktestSummary:
        """Walk-forward backtest on the labeled signals; the chart goes to the week's report dir."""
        from engine.learning.backtest import run_backtest
        from engine.learning.report import week_of
        from engine.learning.training import labeled_dataset

        ds = await labeled_dataset(self.db)
        directory = self.settings.reports_dir / week_of(await self.now())
        bt = await asyncio.to_thread(run_backtest, ds, directory)
        r = bt.result
        all_signals, alerted = (
            BacktestGroup(g.n, g.share_2x, g.share_2x_ci, g.multiple, g.multiple_ci)
            for g in (r.overall_all, r.overall_alerted)
        )
        return BacktestSummary(
            r.score_name, r.threshold, len(r.weeks), all_signals, alerted, bt.chart
        )

    async def status(self) -> StatusReport:
        from engine.learning.training import champion_metrics

        counts = {
            name: await self.db.count(table)
            for name, table in (
                ("kols", Kol),
                ("tokens", Token),
                ("trades", Trade),
                ("signals", Signal),
                ("labeled", Outcome),
            )
        }
        counts["alerts_pending"] = await self.db.count(Alert, Alert.status == "pending")
        return StatusReport(
            source=self.settings.source,
            as_of=await last_poll(self.db),
            counts=counts,
            model_version=self.scorer.version,
            model_metrics=await champion_metrics(self.db),
            jobs=self.job_status() if self.job_status is not None else [],
            model_note=self.scorer.note,
        )

    async def pending_alerts(self, channel: str | None = None) -> list[AlertView]:
        return await outbox.pending(self.db, channel)

    async def deliver_alerts(self, channel: str, send: SendAlert) -> Delivery:
        """Send the due alerts of ``channel`` (a prefix: "telegram:" is every Telegram chat)
        through ``send``, with retries and backoff for the ones that fail."""
        return await outbox.deliver(self.db, channel, send, now=datetime.now(UTC))

    async def track_add(self, wallet: str, name: str | None, tier: str) -> TrackChange:
        return await kols.add_kol(self.db, wallet, name, tier)

    async def track_remove(self, wallet: str) -> TrackedKol:
        return await kols.remove_kol(self.db, wallet)

    async def track_list(self) -> list[TrackedKol]:
        return await kols.list_kols(self.db)

    async def track_backfill(self, wallet: str, days: int) -> BackfillReport:
        return await kols.backfill(
            self.db, self.tracker.source, wallet, days=days, now=await self.now()
        )

    async def set_alerts(
        self, channel: str, *, enabled: bool | None = None, threshold: int | None = None
    ) -> ChannelAlerts:
        return await outbox.set_channel(
            self.db,
            channel,
            enabled=enabled,
            threshold=threshold,
            default_threshold=self.settings.alert_score_threshold,
        )

    async def subscribed_channels(self, prefix: str) -> list[str]:
        """Channels (e.g. every "telegram:" chat) with alerts and reports turned on."""
        return await outbox.subscribed_channels(self.db, prefix)

    # --- models from files (moonbot train --data / evaluate / predict / models) ---------------

    async def train_from_file(self, path: Path) -> FileTrainReport:
        from engine.learning import modelops

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

    async def evaluate_file(self, path: Path, version: str | None) -> Evaluation:
        from engine.learning import modelops

        return await asyncio.to_thread(modelops.evaluate_file, self.registry, path, version)

    async def predict_file(self, path: Path, out_path: Path, version: str | None) -> PredictionFile:
        from engine.learning import modelops

        return await asyncio.to_thread(
            modelops.predict_file, self.registry, path, out_path, version
        )

    async def list_models(self) -> list[ModelView]:
        from engine.learning import modelops

        return modelops.list_models(self.registry)

    async def promote_model(self, version: str) -> ModelView:
        from engine.learning import modelops

        info = modelops.promote(self.registry, version)
        self.scorer.reload()
        return info

    async def rollback_model(self) -> ModelView:
        from engine.learning import modelops

        info = modelops.rollback(self.registry)
        self.scorer.reload()
        return info

    async def prune_models(self, keep: int) -> PruneReport:
        from engine.learning import modelops

        return modelops.prune(self.registry, keep)
