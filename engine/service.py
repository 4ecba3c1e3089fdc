"""The one facade the faces call. ``MoonbotService.open(settings)`` builds everything once (the
database, the model registry and scorer, the data source, the tracker); faces receive it, they
never import a database session or the ML package.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import Settings
from engine.errors import ModelUnavailable, StorageUnavailable, UserError
from engine.records import MarketSource, TradeRecord
from engine.signals import outbox
from engine.signals.conviction import ml_parts
from engine.signals.opening import (
    signals_triggered,
)
from engine.signals.scoring import Reason, Score, Scorer
from engine.signals.settle import Settled, settle, settle_trades
from engine.sources.address import validate_address
from engine.storage import Alert, Database, Kol, Outcome, Signal, Token, Trade, locks
from engine.tracking import kols
from engine.tracking.kolstats import compute_stats
from engine.tracking.positionstore import (
    all_closed_positions,
    all_stats,
    positions_of,
    refresh_positions,
)
from engine.tracking.tracker import Tracker, last_poll
from engine.views import (
    AlertPerformance,
    AlertView,
    BackfillReport,
    BacktestGroup,
    BacktestSummary,
    ChannelAlerts,
    CycleReport,
    DashboardView,
    Delivery,
    Evaluation,
    FeedStatus,
    FileTrainReport,
    InsightsReport,
    JobStatus,
    KolProfile,
    ModelView,
    ParsedTx,
    Prediction,
    PredictionFile,
    PruneReport,
    RankedKol,
    ReportCharts,
    SendAlert,
    StatusReport,
    TrackChange,
    TrackedKol,
    TrainReport,
    WeeklyExtras,
    WeeklyReport,
)

# The learning side (xgboost, torch, pandas, matplotlib, shap) is imported by the methods that
# need it, so that a command answered from the database starts in a fraction of a second.
if TYPE_CHECKING:
    from engine.learning.training import Dataset
    from engine.sim import SimConfig
    from engine.sim.demo import DemoService as DemoService
    from engine.sources.candles import MintCandles
    from engine.sources.push.ingest import PushIngest
    from engine.storage.migrations import SchemaUpgrade
    from ml.registry import Registry

log = logging.getLogger(__name__)

# A face's progress callback for long work: ``progress(done, total)``, called from the event
# loop or a worker thread (bot/progress.py draws it; the engine never imports rich).
Progress = Callable[[int, int], None]


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
# The two parts of a score's ML term, in points (boost toward 10x+, rug veto), for the faces.
score_parts = ml_parts


def check_data_path(path: Path) -> Path:
    """A CSV or Parquet file that exists, or ``DataFileError``."""
    from engine.learning.datafile import check_data_path as check

    check(path)
    return path


def check_output_path(path: Path) -> Path:
    """A file name ``predict_file`` can write (CSV or Parquet, by its suffix), or
    ``DataFileError``."""
    from engine.learning.modelops import output_writer

    output_writer(path)
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


def stored_score(signal: Signal) -> Score:
    """The score kept with a signal when it was scored: what answers show "as of the signal"."""
    return Score(
        rule=signal.rule_score,
        boost=signal.score - signal.rule_score,
        probabilities=tuple(signal.probabilities) if signal.probabilities else None,
        reasons=tuple(
            Reason(str(r["feature"]), float(r["value"]), float(r["contribution"]))
            for r in signal.reasons or ()
        ),
        model_version=signal.model_version,
        **Score.threex_fields(signal.threex),
    )


def bench_model_paths() -> dict[str, dict[str, float]]:
    """``moonbot bench``: the one-row model paths (predict, explain), in milliseconds."""
    from ml.bench import bench_explain

    return bench_explain()


def latest_report(reports_dir: Path) -> ReportCharts | None:
    """The newest weekly report folder (ISO week names sort in time order) that has charts."""
    if not reports_dir.is_dir():
        return None
    for week in sorted((d for d in reports_dir.iterdir() if d.is_dir()), reverse=True):
        charts = {p.stem: p for p in sorted(week.glob("*.png"))}
        if charts:
            return ReportCharts(week.name, charts)
    return None


async def upgrade_database(settings: Settings) -> SchemaUpgrade:
    """``moonbot db upgrade``: run the schema migrations the database has not had (every start
    runs them too); an up-to-date database is left as it is."""
    db = Database(settings.db_url)
    try:
        return await db.upgrade()
    finally:
        await db.dispose()


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
        self._champion_seen: str | None = None  # the champion pointer at the last cycle
        # Push (start_push): the signal steps of pushed trades and of a poll take turns; one
        # cycle at a time; what the poll settled wallet by wallet goes into its report.
        self._push: PushIngest | None = None
        self._signal_turn = asyncio.Lock()
        self._cycle_turn = asyncio.Lock()
        self._early: list[Settled] = []
        # Set by ``moonbot run``: delivers pending alerts now, so a pushed buy's alert need not
        # wait for the next run of the alert job.
        self.alerts_hook: Callable[[], Coroutine[Any, Any, object]] | None = None
        self._wakes: set[asyncio.Task[object]] = set()
        self._push_wallets: set[str] = set()  # the tracked wallets, for the webhook receiver
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
            live = self.settings.source == "rpc"  # the replayed market keeps whole-poll settling
            self._tracker = Tracker(
                self.db,
                self._source,
                horizon=self.horizon,
                budget=timedelta(seconds=budget) if budget > 0 else None,
                concurrency=self.settings.poll_concurrency if live else 1,
                on_stored=self._polled_early if live else None,
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
        await db.mark_source(settings.source)  # which source this database holds
        await outbox.ensure_channels(db, settings.alert_channels, settings.alert_score_threshold)
        return cls(settings, db, Registry(settings.models_dir), source)

    @classmethod
    async def open_reader(cls, settings: Settings) -> MoonbotService:
        """The service over an existing database for reading only (``moonbot dashboard``): it
        creates, migrates and marks nothing; a database not made yet is ``StorageUnavailable``."""
        from ml.registry import Registry

        where = settings.redacted()["database_url"]
        missing = StorageUnavailable(
            f"no moonbot database at {where} yet: run `moonbot demo` or `moonbot run` first"
        )
        if settings.database_url is None and not (settings.data_dir / "moonbot.db").is_file():
            raise missing  # opening it would create an empty file
        db = Database(settings.db_url)
        try:
            await db.count(Signal)
        except StorageUnavailable:
            await db.dispose()
            raise
        except OSError as exc:  # the server refused or is not there
            await db.dispose()
            raise StorageUnavailable(
                f"cannot reach the database {where}: {exc.strerror or exc}"
            ) from None
        except Exception:  # a database without moonbot's tables
            await db.dispose()
            raise missing from None
        return cls(settings, db, Registry(settings.models_dir))

    async def close(self) -> None:
        await self.stop_push()
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

    def _follow_champion(self) -> None:
        """Score with the registry's champion even when another process (`moonbot train`, `ask
        /retrain` from a shell) promoted it: its pointer is read at each cycle, and a change
        since the last one drops the loaded model (loaded again when next needed)."""
        from engine.signals.scoring import KIND

        champion = self.registry.champion(KIND)
        current = champion.version if champion is not None else None
        if current != self._champion_seen:
            self.scorer.reload()
            self._champion_seen = current

    async def cycle(self, until: datetime) -> CycleReport:
        """One tracker poll and everything that follows from it: positions, signals, alerts,
        labels.

        The steps after the poll (``engine.signals.settle``) work on durable state, so a cycle
        killed after its poll is settled by the next one, with its own poll's data, before that
        one polls."""
        # One cycle at a time on this database, also across processes (two `moonbot run`).
        async with self._cycle_turn, self.db.exclusive("pipeline"):
            self._follow_champion()
            await self.tracker.sync_kols()
            async with self._signal_turn:
                earlier = await settle(
                    self.db, self.scorer, self.settings, self.horizon, self.candles
                )
            poll = await self.tracker.poll(until)
            async with self._signal_turn:
                settled = (
                    await settle(self.db, self.scorer, self.settings, self.horizon, self.candles)
                    or Settled()
                )
            early, self._early = self._early, []
        steps = [s for s in (earlier, *early, settled) if s is not None]
        events = [e for step in steps for e in step.events]
        failed = [*poll.failed_wallets, *poll.unfinished_wallets, *settled.failed]
        return CycleReport(
            until=until,
            new_trades=len(poll.new_trades),
            events=events,
            new_signals=len({e.signal_id for e in events if e.opened}),
            new_alerts=sum(step.alerts for step in steps),
            labeled=settled.labeled + (earlier.labeled if earlier else 0),
            left_for_next=tuple(failed),
        )

    async def _polled_early(self, trades: list[TradeRecord]) -> None:
        """One wallet's trades just stored by a live poll: their tokens, signals and alerts now."""
        await self.tracker.prepare({t.mint for t in trades}, datetime.now(UTC))
        async with self._signal_turn:
            settled = await settle_trades(self.db, self.scorer, self.settings, trades)
        self._early.append(settled)
        if settled.alerts and self.alerts_hook is not None:
            await self.alerts_hook()

    async def store_pushed(self, trades: list[TradeRecord]) -> Settled:
        """Store pushed trades and their market rows, then their signal step (alerts written)
        and, when it wrote any, wake ``alerts_hook`` (the faces' senders)."""
        stored = await self.tracker.ingest(trades, datetime.now(UTC))
        async with self._signal_turn:
            settled = await settle_trades(self.db, self.scorer, self.settings, stored.new_trades)
        if settled.alerts and self.alerts_hook is not None:
            waking = asyncio.create_task(self.alerts_hook())
            self._wakes.add(waking)
            waking.add_done_callback(self._wakes.discard)
        return settled

    # --- push (engine.sources.push; the poll stays on as reconciliation) ---------------------

    async def start_push(self) -> bool:
        """Start the push source ``settings.push_mode`` names over the tracked wallets; False
        when push is off. ``UserError`` (one line) when it cannot run with these settings."""
        from engine.sources.push.factory import push_source
        from engine.sources.push.ingest import PushIngest, PushReader

        if self.settings.push_mode == "none" or self._push is not None:
            return self._push is not None
        source = self.tracker.source
        if self.settings.source != "rpc" or not isinstance(source, PushReader):
            raise UserError("push needs the live source: set MOONBOT_SOURCE=rpc")
        wallets = list(await kols.tracked_cursors(self.db))
        self._push_wallets = set(wallets)
        try:
            push = push_source(self.settings, wallets, tracked=lambda: self._push_wallets)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if push is None:
            return False
        self._push = PushIngest(
            push, source, self.store_pushed, retry_for_s=self.settings.push_fetch_retry_seconds
        )
        await self._push.start()
        return True

    async def stop_push(self) -> None:
        if self._push is not None:
            push, self._push = self._push, None
            await push.stop()

    def push_down(self) -> bool:
        """Whether the push source is down, so that the poll must run often (the fallback)."""
        return self._push is not None and self._push.push.health().state in ("down", "stopped")

    async def fallback_poll(self) -> CycleReport | None:
        """A poll while push is down, unless one is running or ran within
        ``push_fallback_poll_seconds``; None when not needed now."""
        if not self.push_down() or self._cycle_turn.locked():
            return None
        polled = await last_poll(self.db)
        gap = self.settings.push_fallback_poll_seconds
        if polled is not None and datetime.now(UTC) - polled < timedelta(seconds=gap):
            return None
        return await self.poll()

    async def feed_status(self) -> FeedStatus | None:
        """The live source's intake for /status (None for the replayed market)."""
        from engine.sources.net.meter import credits_per_hour

        if self.settings.source != "rpc":
            return None
        usage = getattr(self._source, "usage", None)
        calls: dict[str, float] = usage() if usage is not None else {}
        polled = await last_poll(self.db)
        health = self._push.push.health() if self._push is not None else None
        counters = self._push.counters if self._push is not None else None
        return FeedStatus(
            push_mode=self.settings.push_mode,
            push_state=health.state if health is not None else "off",
            down_since=health.down_since if health is not None else None,
            last_notification=health.counters.last_notification_at if health else None,
            notifications=health.counters.notifications if health else 0,
            stored=counters.stored if counters else 0,
            left_to_poll=counters.left_to_poll if counters else 0,
            fallback=self.push_down(),
            reconciliation_lag_s=(
                (datetime.now(UTC) - polled).total_seconds() if polled is not None else None
            ),
            calls_per_hour=calls,
            credits_per_hour=credits_per_hour(calls),
            credit_budget_per_month=self.settings.rpc_credit_budget_per_month,
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

    async def retrain(
        self, params: dict[str, Any] | None = None, progress: Progress | None = None
    ) -> TrainReport:
        """Train a candidate on the labeled signals, compare, promote or keep the champion."""
        async with self._train_lock, locks.held(locks.training(self.settings.data_dir)):
            # What is alive now (modules, settings, caches, an embedded market) outlives the
            # retrain: frozen, it is not walked by the full collections this process makes
            # meanwhile (the training itself runs in a child process), each of which holds the
            # event loop for as long as it walks the heap (~0.4 s each with an embedded market;
            # bench/bench_chat.py --signals). Unfrozen after, so that nothing stays out of the
            # collector for good.
            gc.freeze()
            try:
                return await self._retrain(params, progress)
            finally:
                gc.unfreeze()

    async def _retrain(
        self, params: dict[str, Any] | None, progress: Progress | None
    ) -> TrainReport:
        from engine.learning import child
        from engine.learning.training import (
            labeled_count,
            labeled_dataset,
            record_model,
            require_rows,
        )

        fraction = self.settings.holdout_fraction
        require_rows(await labeled_count(self.db), fraction)  # said at once, no child started
        # The training runs in a child process at a lower priority, so that it never holds
        # this process's GIL or event loop (issue 13; engine/learning/child.py). It loads the
        # labeled signals itself unless the database is in this process's memory.
        in_memory = child.in_memory(self.db.url)
        job = child.TrainJob(
            models_dir=self.registry.root,
            holdout_fraction=fraction,
            min_gain=self.settings.promote_min_logloss_gain,
            params=params,
            threex=True,  # the 3x+ net too, on the same split (issue 13)
            db_url=None if in_memory else self.db.url,
            dataset=await labeled_dataset(self.db) if in_memory else None,
        )
        report = await child.train_in_child(job, progress)
        await record_model(self.db, self.registry.get(report.version), report)
        if report.promoted or (report.threex is not None and report.threex.promoted):
            # loaded off the loop (seconds while training threads hold the cores), then
            # swapped in at once: no reply waits for it (bench/bench_chat.py --signals)
            self.scorer.adopt(await asyncio.to_thread(self.scorer.loaded))
        return report

    # --- questions ------------------------------------------------------------------------

    async def predict(self, mint_text: str) -> Prediction:
        from engine.signals.features import compute_features
        from engine.signals.inputs import token_state
        from engine.signals.pasted import resolve_mint

        mint = await resolve_mint(self.db, mint_text)  # a mint, $SYMBOL or a site's URL
        now = await self.now()
        token, inputs, signal, outcome = await token_state(self.db, mint, now)
        if signal is None:  # with a signal, its stored score answers even without a model
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
            at_signal=stored_score(signal) if signal else None,
            outcome_multiple=(
                outcome.max_mcap / signal.entry_mcap
                if outcome and signal and signal.entry_mcap
                else None
            ),
        )

    async def kol(self, query: str) -> KolProfile:
        from engine.tracking.kolforecast import kol_forecasts

        row = await kols.find_kol(self.db, query)
        positions = await positions_of(self.db, row.wallet)
        stats = compute_stats(positions)
        forecasts = []
        if row.active and stats.n_closed > 0:  # no forecast for a removed KOL or without history
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
            tracked=row.active,
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
            build_insights,
            ds,
            self.scorer.model,
            self.scorer.version,
            self.settings.reports_dir,
            self.settings.insights_min_labeled,
        )

    async def report(self, progress: Progress | None = None) -> WeeklyReport:
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
            progress,
            min_labeled=self.settings.insights_min_labeled,
        )

    async def backtest(self, progress: Progress | None = None) -> BacktestSummary:
        """Walk-forward backtest on the labeled signals; the chart goes to the week's report dir."""
        from engine.learning.backtest import diamond_hand_buys, run_backtest
        from engine.learning.report import week_of
        from engine.learning.training import labeled_dataset

        ds = await labeled_dataset(self.db)
        directory = self.settings.reports_dir / week_of(await self.now())
        dh = await diamond_hand_buys(
            self.db,
            ds,
            window=timedelta(hours=self.settings.signal_window_hours),
            dh_threshold=self.settings.diamond_hand_threshold,
            dh_min_positions=self.settings.diamond_hand_min_positions,
        )
        bt = await asyncio.to_thread(
            partial(
                run_backtest,
                ds,
                directory,
                None,
                progress,
                diamond_hand=dh,
                threshold=self.settings.alert_score_threshold,
            )
        )
        r = bt.result
        all_signals, alerted = (
            BacktestGroup(g.n, g.share_2x, g.share_2x_ci, g.multiple, g.multiple_ci)
            for g in (r.overall_all, r.overall_alerted)
        )
        return BacktestSummary(
            r.score_name,
            r.threshold,
            len(r.weeks),
            all_signals,
            alerted,
            bt.chart,
            rules=bt.rules,
            alert_threshold=bt.threshold,
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
            feed=await self.feed_status(),
            model_note=self.scorer.note,
        )

    async def dashboard(self, n_signals: int = 50, n_kols: int = 20) -> DashboardView:
        """What ``moonbot dashboard`` shows, read in one call (nothing is written)."""
        from engine.signals.recent import model_runs, recent_signals

        names = await kols.kol_names(self.db)
        stats = await all_stats(self.db)
        ranked = sorted(
            ((w, st) for w, st in stats.items() if w in names),
            key=lambda ws: (ws[1].diamond_hand_score is None, -(ws[1].diamond_hand_score or 0.0)),
        )
        status = await self.status()
        # the source the database holds (its mark), not this process's setting
        status = dataclasses.replace(status, source=await self.db.recall("source") or status.source)
        live = bool(status.jobs)
        return DashboardView(
            jobs=status.jobs if live else await self.recorded_jobs(),
            jobs_live=live,
            status=status,
            signals=await recent_signals(self.db, n_signals),
            leaderboard=[RankedKol(names[w], w, st) for w, st in ranked[:n_kols]],
            tracked=await self.track_list(),
            models=await model_runs(self.db),
            report=latest_report(self.settings.reports_dir),
        )

    async def record_job(self, job: JobStatus) -> None:
        """Keep a scheduled job's last run in the database (what ``recorded_jobs`` reads)."""
        from engine.storage.jobruns import record_run

        await record_run(
            self.db,
            job.name,
            last_run=job.last_run,
            last_result=job.last_result,
            ok=job.ok,
            next_run=job.next_run,
            recorded_at=datetime.now(UTC),
        )

    async def recorded_jobs(self) -> list[JobStatus]:
        """The jobs' last runs as the scheduler (``moonbot run``) recorded them."""
        from engine.storage.jobruns import recorded_runs

        return [
            JobStatus(name, r["last_run"], r["last_result"], r["ok"], r["next_run"])
            for name, r in (await recorded_runs(self.db)).items()
        ]

    async def pending_alerts(self, channel: str | None = None) -> list[AlertView]:
        return await outbox.pending(self.db, channel)

    async def deliver_alerts(self, channel: str, send: SendAlert) -> Delivery:
        """Send the due alerts of ``channel`` (a prefix: "telegram:" is every Telegram chat)
        through ``send``, with retries and backoff for the ones that fail."""
        return await outbox.deliver(self.db, channel, send, now=datetime.now(UTC))

    async def track_add(self, wallet: str, name: str | None, tier: str) -> TrackChange:
        change = await kols.add_kol(self.db, wallet, name, tier)
        if change.kol.wallet not in self._push_wallets:
            self._push_wallets.add(change.kol.wallet)  # a webhook attributes it from now on
            await self._resubscribe()
        return change

    async def track_remove(self, wallet: str) -> TrackedKol:
        kol = await kols.remove_kol(self.db, wallet)
        if kol.wallet in self._push_wallets:
            self._push_wallets.discard(kol.wallet)
            await self._resubscribe()
        return kol

    async def _resubscribe(self) -> None:
        """WebSocket subscriptions are made per wallet at start: start them again for the new
        list (the poll covers the moment between)."""
        if self._push is not None and self.settings.push_mode in ("logs", "helius"):
            await self.stop_push()
            await self.start_push()

    async def track_list(self) -> list[TrackedKol]:
        return await kols.list_kols(self.db)

    async def track_backfill(
        self, wallet: str, days: int, progress: Progress | None = None
    ) -> BackfillReport:
        return await kols.backfill(
            self.db,
            self.tracker.source,
            wallet,
            days=days,
            now=await self.now(),
            progress=progress,
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

    async def performance(self, days: int) -> AlertPerformance:
        """How the alerts sent over the last ``days`` did (``/performance``)."""
        from engine.signals.performance import alert_performance

        if not 1 <= days <= 365:
            raise UserError(f"the window is 1 to 365 days, not {days}")
        return await alert_performance(self.db, await self.now(), days)

    async def weekly_extras(self, weekly: WeeklyReport) -> WeeklyExtras:
        """Last week's insights, this week's alert recap and the latest backtest (``backtest``
        saves one in the week's directory), for the weekly post."""
        from engine.learning.backtest import load_summary
        from engine.learning.weekly import previous_insights, threex_recap

        return WeeklyExtras(
            previous=previous_insights(self.settings.reports_dir, weekly.week),
            recap=await self.performance(7),
            rules=load_summary(weekly.directory),
            threex=await threex_recap(self.db, await self.now(), 7),
        )

    async def alert_settings(self, channel: str) -> ChannelAlerts:
        """A channel's alert settings as they are (``/alerts status``)."""
        from engine.signals.followups import followups_on
        from engine.signals.performance import channel_settings

        state = await channel_settings(self.db, channel, self.settings.alert_score_threshold)
        return dataclasses.replace(state, followups=await followups_on(self.db, channel))

    async def set_followups(self, channel: str, on: bool) -> ChannelAlerts:
        """Turn a channel's follow-ups (an alerted token passed 2x / 5x / 10x) on or off; a
        token that passed before they were turned on gets none for that multiple."""
        from engine.signals.followups import set_followups

        await set_followups(self.db, channel, on, await self.now())
        return await self.alert_settings(channel)

    async def leaderboard(self, n: int = 10) -> list[RankedKol]:
        """The tracked KOLs by Diamond Hand score, highest first (``/kols``)."""
        names = {k.wallet: k.name for k in await self.track_list()}
        stats = await all_stats(self.db)
        ranked = sorted(
            ((w, st) for w, st in stats.items() if w in names),
            key=lambda ws: (ws[1].diamond_hand_score is None, -(ws[1].diamond_hand_score or 0.0)),
        )
        return [RankedKol(names[w], w, st) for w, st in ranked[:n]]

    async def subscribed_channels(self, prefix: str) -> list[str]:
        """Channels (e.g. every "telegram:" chat) with alerts and reports turned on."""
        return await outbox.subscribed_channels(self.db, prefix)

    # --- models from files (moonbot train --data / evaluate / predict / models) ---------------

    async def train_from_file(self, path: Path) -> FileTrainReport:
        from engine.learning import modelops

        async with self._train_lock, locks.held(locks.training(self.settings.data_dir)):
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

    async def predict_file(
        self, path: Path, out_path: Path, version: str | None, progress: Progress | None = None
    ) -> PredictionFile:
        from engine.learning import modelops

        return await asyncio.to_thread(
            modelops.predict_file, self.registry, path, out_path, version, progress
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
