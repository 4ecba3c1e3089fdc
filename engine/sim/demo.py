"""What ``moonbot demo`` asks of the engine beyond the facade: a fresh simulated market and
database, the history the demo replays, and the comparison with the simulator's oracle.

``DemoService`` is a ``MoonbotService`` over the embedded market; the demo face gets it from
``engine.service.open_demo``. Its reset refuses a database that holds data of a real source.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlmodel import col, select

from engine.config import Settings
from engine.errors import ModelUnavailable, UserError
from engine.service import MoonbotService, sim_config
from engine.signals import outbox
from engine.sim.config import SimConfig
from engine.sim.source import SimSource
from engine.sim.world import SimWorld
from engine.storage import Database, Signal, Token
from engine.tracking import kols
from engine.tracking.positionstore import all_stats
from engine.views import DemoWorld, RankedKol, RecentSignal


async def reset_demo_data(settings: Settings) -> None:
    """Empty the demo's database and models, refusing to touch data from a real source.

    The same on SQLite and PostgreSQL: the database's source mark (``Database.mark_source``,
    set at every start; "rpc" once any start used a real source) decides, and the reset drops
    every table and the migration mark, so the demo's start builds the schema anew."""
    db = Database(settings.db_url)
    try:
        await db.create()
        source = await db.recall("source")
        if source not in (None, "sim"):
            if settings.database_url is None:
                where, change = f"in {settings.data_dir}", "MOONBOT_DATA_DIR to another directory"
            else:
                where = settings.redacted()["database_url"]
                change = "MOONBOT_DATABASE_URL to another database"
            raise UserError(
                f"the database {where} holds data from the {source!r} source: "
                f"set {change} for the demo"
            )
        await db.drop_all()
    finally:
        await db.dispose()
    shutil.rmtree(settings.models_dir, ignore_errors=True)


class DemoService(MoonbotService):
    """The facade over a freshly generated simulated market, plus what only the demo asks."""

    world: SimWorld
    config: SimConfig

    @classmethod
    async def start(cls, settings: Settings) -> DemoService:
        settings = settings.model_copy(update={"source": "sim"})
        await reset_demo_data(settings)
        config = sim_config(settings)
        world = await asyncio.to_thread(_generate, config)
        service = await cls.open(settings, SimSource(world))
        assert isinstance(service, DemoService)
        service.world, service.config = world, config
        return service

    def describe_world(self) -> DemoWorld:
        return DemoWorld(
            seed=self.config.seed,
            start=self.config.start,
            n_days=self.config.n_days,
            n_kols=len(self.world.kols),
            n_tokens=len(self.world.tokens),
            n_trades=len(self.world.trades),
            n_snapshots=len(self.world.snapshots),
        )

    async def skip_pending_alerts(self) -> int:
        """Mark all pending alerts skipped (the ones raised while building history)."""
        return await outbox.skip_pending(self.db)

    async def recent_signals(self, n: int = 5) -> list[RecentSignal]:
        """The newest signals."""
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(Signal.mint, Token.symbol, Signal.ts, Signal.score)
                    .join(Token, col(Token.mint) == col(Signal.mint))
                    .order_by(col(Signal.ts).desc())
                    .limit(n)
                )
            ).all()
        return [RecentSignal(mint, symbol, ts, score) for mint, symbol, ts, score in rows]

    async def top_kols(self, n: int = 5) -> list[RankedKol]:
        """The KOLs with the best Diamond Hand scores (names and wallets for examples)."""
        stats = await all_stats(self.db)
        names = await kols.kol_names(self.db)
        ranked = sorted(
            ((w, s) for w, s in stats.items() if w in names),
            key=lambda ws: -(ws[1].diamond_hand_score or -1.0),
        )
        return [RankedKol(names[w], w, s) for w, s in ranked[:n]]

    async def holdout_comparison(
        self, oracle: Callable[[str], Sequence[float]] | None = None
    ) -> dict[str, dict[str, float]]:
        """The champion, the class-frequency prior of the training rows and a reference (default:
        the simulator's oracle) on the holdout."""
        import numpy as np

        from engine.learning.training import labeled_dataset, time_split
        from ml.metrics import evaluate_probs
        from ml.prior import ClassPrior

        model = self.scorer.require_model()
        reference_of = oracle if oracle is not None else self.world.oracle_probs
        ds = await labeled_dataset(self.db)
        train, holdout = time_split(ds, self.settings.holdout_fraction)
        if len(holdout) == 0:
            raise ModelUnavailable("no labeled signals in the holdout yet")
        probs = model.predict_proba(holdout.X)
        reference = np.array([reference_of(m) for m in holdout.mints], dtype=float)
        return {
            "model": evaluate_probs(probs, holdout.y, holdout.multiples),
            "prior": evaluate_probs(
                ClassPrior().fit(train.y).predict_proba(len(holdout)), holdout.y, holdout.multiples
            ),
            "oracle": evaluate_probs(reference, holdout.y, holdout.multiples),
        }

    def day_end(self, day: int) -> datetime:
        """The end of simulated day ``day`` (1 is the first day)."""
        return self.config.start + timedelta(days=day)


def _generate(config: SimConfig) -> SimWorld:
    from engine.sim import generate

    return generate(config)
