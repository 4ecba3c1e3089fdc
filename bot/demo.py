"""`moonbot demo`: the whole loop on the embedded market, offline, in a few minutes.

It builds a fresh database from the simulated market day by day, trains the outcome model,
replays the most recent simulated day with alerts shown as a chat would show them, answers
/predict, /kol and /insights on real rows, and compares the model with the simulator's oracle on
the same holdout.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot import format as fmt
from bot.commands import Reply
from bot.console import ask, deliver_alerts, show
from engine.config import Settings
from engine.service import open_demo

if TYPE_CHECKING:
    from engine.service import DemoService

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


async def run_demo(settings: Settings, console: Console) -> None:
    started = time.perf_counter()
    with console.status("Generating the simulated market…"):
        service = await open_demo(settings)
    world = service.describe_world()
    console.print(
        f"Simulated market: {world.n_kols} KOLs, {world.n_tokens} tokens over {world.n_days} days, "
        f"{world.n_trades} trades, {world.n_snapshots} snapshots (seed {world.seed})"
    )
    settings = service.settings
    try:
        await _build_history(service, console)
        console.rule("Training")
        show(console, await _retrain(service), title="/retrain")
        # A market too small to train on (issue 15) still shows its history, replay, /kol and
        # /insights, says so and ends normally.
        trained = (await service.status()).model_version is not None
        await _replay_last_day(service, console)
        await _questions(service, console, trained)
        if trained:
            await _oracle_table(service, console)
        else:
            console.print(
                "No model in use: this simulated market is too small to train one that beats the "
                "class-frequency prior (see /retrain above). The default market "
                "(MOONBOT_SIM_DAYS=30, MOONBOT_SIM_TOKENS_PER_DAY=30) trains one.",
                markup=False,
            )
        console.rule("Files")
        where = settings.redacted()["database_url"]  # a PostgreSQL URL's password: never shown
        console.print(f"Database  {where.removeprefix('sqlite+aiosqlite:///')}", markup=False)
        console.print(f"Models    {settings.models_dir.resolve()}")
        chart = settings.reports_dir / "feature_importance.png"
        if chart.is_file():
            console.print(f"Charts    {chart.resolve()}")
        console.print(f"Demo finished in {time.perf_counter() - started:.0f} s")
    finally:
        await service.close()


async def _retrain(service: DemoService) -> Reply:
    from bot.commands import dispatch

    return await dispatch(service, "/retrain", is_admin=True)


async def _build_history(service: DemoService, console: Console) -> None:
    days = service.describe_world().n_days - 1
    signals = alerts = labeled = 0
    with _progress(console) as progress:
        task = progress.add_task("Tracking KOLs day by day", total=days)
        for day in range(1, days + 1):
            report = await service.cycle(service.day_end(day))
            signals += report.new_signals
            labeled += report.labeled
            alerts += report.new_alerts
            progress.advance(task)
    # Alerts raised while building history are old news: only the replayed day is shown.
    await service.skip_pending_alerts()
    console.print(
        f"History: {signals} signals, {labeled} labeled outcomes, {alerts} alerts (not shown)"
    )


async def _replay_last_day(service: DemoService, console: Console) -> None:
    n_days = service.describe_world().n_days
    start, end = service.day_end(n_days - 1), service.day_end(n_days)
    console.rule(f"Replaying the last simulated day ({start:%Y-%m-%d})")
    steps = int((end - start) / REPLAY_STEP)
    n_signals = n_alerts = 0
    for i in range(1, steps + 1):
        report = await service.cycle(start + i * REPLAY_STEP)
        n_signals += report.new_signals
        n_alerts += await deliver_alerts(service, console)
    table = Table(title="Newest signals", show_lines=False)
    for column in ("time", "token", "conviction", "mint"):
        table.add_column(column)
    for s in await service.recent_signals(8):
        table.add_row(s.ts.strftime("%H:%M"), f"${fmt.clean(s.symbol, 16)}", str(s.score), s.mint)
    console.print(table)
    console.print(f"Replayed day: {n_signals} new signals, {n_alerts} alerts delivered")


async def _questions(service: DemoService, console: Console, trained: bool) -> None:
    console.rule("Asking moonbot")
    recent = await service.recent_signals(20)
    if recent and trained:
        best = max(recent, key=lambda s: s.score)
        await ask(service, console, f"/predict {best.mint}")
    top = await service.top_kols(1)
    if top:
        await ask(service, console, f"/kol {top[0].name}")
    await ask(service, console, "/insights")


async def _oracle_table(service: DemoService, console: Console) -> None:
    comparison = await service.holdout_comparison()
    table = Table(
        title=f"Holdout: model vs the simulator's oracle ({int(comparison['model']['n'])} signals)"
    )
    for column in ("", "log-loss", "accuracy", "AUC 2x+", "AUC 10x+"):
        table.add_column(column)
    for name, m in (
        ("moonbot model", comparison["model"]),
        ("prior (class frequencies)", comparison["prior"]),
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
