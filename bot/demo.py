"""`moonbot demo`: the whole loop on the embedded market, offline, in a few minutes.

It builds a fresh database from the simulated market day by day, trains the outcome model,
replays the most recent simulated day with alerts shown as a chat would show them, answers
/predict, /kol and /insights on real rows, and compares the model with the simulator's oracle on
the same holdout.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot import format as fmt
from bot.commands import Reply
from bot.console import ask, deliver_alerts, show
from engine.config import Settings
from engine.errors import UserError
from engine.service import MoonbotService, sim_config
from engine.sim import SimConfig, SimSource, generate

REPLAY_STEP = timedelta(minutes=15)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def reset_data(settings: Settings) -> None:
    """Remove the demo's database and models, refusing to touch data from a real source."""
    db_path = settings.data_dir / "moonbot.db"
    if db_path.exists():
        with sqlite3.connect(db_path) as conn:
            try:
                row = conn.execute("SELECT value FROM appstate WHERE key = 'source'").fetchone()
            except sqlite3.OperationalError:
                row = None
        if row is not None and row[0] != "sim":
            raise UserError(
                f"{db_path} holds data from the {row[0]!r} source: set MOONBOT_DATA_DIR to another "
                "directory for the demo"
            )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(settings.models_dir, ignore_errors=True)


async def run_demo(settings: Settings, console: Console) -> None:
    started = time.perf_counter()
    settings = settings.model_copy(update={"source": "sim"})
    reset_data(settings)
    config = sim_config(settings)
    with console.status("Generating the simulated market…"):
        world = generate(config)
    console.print(
        f"Simulated market: {len(world.kols)} KOLs, {len(world.tokens)} tokens over {config.n_days} days, "
        f"{len(world.trades)} trades, {len(world.snapshots)} snapshots (seed {config.seed})"
    )
    service = await MoonbotService.open(settings, SimSource(world))
    try:
        await _build_history(service, config, console)
        console.rule("Training")
        show(console, await _retrain(service), title="/retrain")
        await _replay_last_day(service, config, console)
        await _questions(service, console)
        await _oracle_table(service, world, console)
        console.rule("Files")
        console.print(f"Database  {settings.db_url.removeprefix('sqlite+aiosqlite:///')}")
        console.print(f"Models    {settings.models_dir.resolve()}")
        console.print(f"Charts    {(settings.reports_dir / 'feature_importance.png').resolve()}")
        console.print(f"Demo finished in {time.perf_counter() - started:.0f} s")
    finally:
        await service.close()


async def _retrain(service: MoonbotService) -> Reply:
    from bot.commands import dispatch

    return await dispatch(service, "/retrain", is_admin=True)


async def _build_history(service: MoonbotService, config: SimConfig, console: Console) -> None:
    days = config.n_days - 1
    signals = alerts = labeled = 0
    with _progress(console) as progress:
        task = progress.add_task("Tracking KOLs day by day", total=days)
        for day in range(1, days + 1):
            report = await service.cycle(config.start + timedelta(days=day))
            signals += report.new_signals
            labeled += report.labeled
            alerts += report.new_alerts
            progress.advance(task)
    # Alerts raised while building history are old news: only the replayed day is shown.
    await service.skip_pending_alerts()
    console.print(
        f"History: {signals} signals, {labeled} labeled outcomes, {alerts} alerts (not shown)"
    )


async def _replay_last_day(service: MoonbotService, config: SimConfig, console: Console) -> None:
    start = config.start + timedelta(days=config.n_days - 1)
    end = config.start + timedelta(days=config.n_days)
    console.rule(f"Replaying the last simulated day ({start:%Y-%m-%d})")
    steps = int((end - start) / REPLAY_STEP)
    n_signals = n_alerts = 0
    for i in range(1, steps + 1):
        report = await service.cycle(start + i * REPLAY_STEP)
        n_signals += report.new_signals
        n_alerts += await deliver_alerts(service, console)
    recent = await service.recent_signals(8)
    table = Table(title="Newest signals", show_lines=False)
    for column in ("time", "token", "conviction", "mint"):
        table.add_column(column)
    for mint, symbol, ts, score in recent:
        table.add_row(ts.strftime("%H:%M"), f"${fmt.clean(symbol, 16)}", str(score), mint)
    console.print(table)
    console.print(f"Replayed day: {n_signals} new signals, {n_alerts} alerts delivered")


async def _questions(service: MoonbotService, console: Console) -> None:
    console.rule("Asking moonbot")
    recent = await service.recent_signals(20)
    if recent:
        best = max(recent, key=lambda r: r[3])
        await ask(service, console, f"/predict {best[0]}")
    top = await service.top_kols(1)
    if top:
        await ask(service, console, f"/kol {top[0][0]}")
    await ask(service, console, "/insights")


async def _oracle_table(service: MoonbotService, world: object, console: Console) -> None:
    oracle = world.oracle_probs  # type: ignore[attr-defined]
    comparison = await service.holdout_comparison(oracle)
    table = Table(
        title=f"Holdout: model vs the simulator's oracle ({int(comparison['model']['n'])} signals)"
    )
    for column in ("", "log-loss", "accuracy", "AUC 2x+", "AUC 10x+"):
        table.add_column(column)
    for name, m in (
        ("moonbot model", comparison["model"]),
        ("oracle (true probabilities)", comparison["oracle"]),
    ):
        table.add_row(
            name,
            f"{m['log_loss']:.4f}",
            f"{m['accuracy']:.3f}",
            f"{m['auc_2x']:.3f}",
            f"{m['auc_10x']:.3f}",
        )
    console.print(table)
