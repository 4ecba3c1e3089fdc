"""The `moonbot` command line."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot import progress
from bot.cli_models import register as register_model_commands
from bot.cli_track import track_app
from bot.clirun import open_moonbot, run_coro, run_with
from engine.config import Settings

# Nothing heavy is imported here or by the modules above: each command imports what it needs,
# so `moonbot --help`, `--version` and `config` answer at once (BENCHMARKS.md, "start-up").
app = typer.Typer(
    help="moonbot: learns what makes Solana memecoins moon.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    # No rich traceback with local variables: a local may hold a token. An uncaught error
    # prints a plain traceback through bot.redact's hook, secrets removed.
    pretty_exceptions_enable=False,
)
app.add_typer(track_app, name="track")
register_model_commands(
    app
)  # train [--data], evaluate, predict, models list|promote|rollback|prune
# `moonbot backfill ADDRESS --days N` is also `moonbot track backfill`.
_backfill = next(c.callback for c in track_app.registered_commands if c.name == "backfill")
assert _backfill is not None
app.command(name="backfill")(_backfill)
console = Console()


def _setup_logging(verbose: bool, debug: bool = False) -> None:
    try:
        settings = Settings()
    except Exception:  # a bad setting: the command that loads the settings reports it
        logging.basicConfig(
            level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return
    from bot.logs import setup_logging

    # stderr, and the rotating file data_dir/logs/moonbot.log; setup_logging ends with
    # bot.redact.protect: every secret out of every log line and traceback, at any level
    setup_logging(settings, verbose=verbose, debug=debug)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"moonbot {version('moonbot')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="log everything (secrets still redacted)")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress bars (none either off a terminal)")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version", help="show the version and exit", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    progress.configure(quiet=quiet)
    _setup_logging(verbose, debug)


@app.command()
def demo() -> None:
    """Run the whole loop on the embedded simulated market (offline, a few minutes)."""
    from bot.demo import run_demo

    _run(run_demo(Settings(), console))


@app.command()
def run(
    source: Annotated[
        str | None, typer.Option(help="sim (the embedded market) or rpc (mainnet)")
    ] = None,
    dashboard: Annotated[
        bool, typer.Option(help="also serve the dashboard (with live job status)")
    ] = False,
) -> None:
    """Run the chat faces (whichever tokens are set) and the scheduled jobs until stopped."""
    from bot.run import run_bot

    settings = Settings()
    if source is not None:
        if source not in ("sim", "rpc"):
            console.print(f"error: --source must be sim or rpc, not {source!r}", markup=False)
            raise typer.Exit(2)
        settings = settings.model_copy(update={"source": source})
    from engine.config import check_runnable

    # A configuration that cannot work is refused before anything starts, one line a problem.
    problems = check_runnable(settings)
    for problem in problems:
        console.print(f"error: {problem}", markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(2)
    _run(run_bot(settings, console, dashboard=dashboard))


@app.command(name="dashboard")
def dashboard_command(
    host: Annotated[
        str | None, typer.Option(help="default MOONBOT_DASHBOARD_HOST, 127.0.0.1")
    ] = None,
    port: Annotated[int | None, typer.Option(help="default MOONBOT_DASHBOARD_PORT, 8501")] = None,
) -> None:
    """Serve the read-only web dashboard (signals, KOLs, wallets, models, report, jobs)."""
    from bot.dashboard.app import serve

    settings = Settings()
    if port is not None and not 0 <= port <= 65535:
        console.print(f"error: --port must be 0-65535, not {port}", markup=False)
        raise typer.Exit(2)
    update = {
        k: v for k, v in (("dashboard_host", host), ("dashboard_port", port)) if v is not None
    }
    settings = settings.model_copy(update=update)
    _run(serve(settings, lambda line: console.print(line, markup=False, highlight=False)))


@app.command()
def config() -> None:
    """Show the effective configuration (secrets redacted)."""
    for key, value in Settings().redacted().items():
        console.print(f"{key} = {value}", markup=False, highlight=False)


@app.command(name="ask")
def ask_command(
    line: Annotated[str, typer.Argument(help='a command, e.g. "/predict <mint>"')],
) -> None:
    """Answer one chat command from the console; exits 1 when the answer is an error."""
    from bot.console import ask

    reply = _with_service(lambda service: ask(service, console, line))
    if reply.error:
        raise typer.Exit(1)


@app.command()
def chat() -> None:
    """An interactive console chat with moonbot."""
    from bot.console import chat as chat_loop

    _with_service(lambda service: chat_loop(service, console))


@app.command()
def report() -> None:
    """Write this week's report (text and charts) to data/reports/<week>/."""
    from bot.commands import write_weekly_report

    async def write(service):  # type: ignore[no-untyped-def]
        with progress.bars(console) as bars:
            weekly, text = await write_weekly_report(service, bars.hook("Writing the report"))
        console.print(text, markup=False)
        console.print(f"Report {weekly.week}: {weekly.directory.resolve()}", markup=False)
        for name, path in weekly.charts.items():
            console.print(f"  {name:<20} {path.resolve()}", markup=False)

    _with_service(write)


@app.command()
def backtest() -> None:
    """Walk-forward backtest: the signals the model would have alerted on vs all signals."""

    async def show(service):  # type: ignore[no-untyped-def]
        with progress.bars(console) as bars:
            r = await service.backtest(bars.hook("Backtest, week by week"))
        console.print(
            f"Walk-forward by week, alert when {r.score_name} >= {r.threshold}:", markup=False
        )
        for name, g in (
            ("all signals (before ML)", r.all_signals),
            ("alerted (after ML)", r.alerted),
        ):
            lo, hi = g.share_2x_ci
            mlo, mhi = g.multiple_ci
            console.print(
                f"  {name:<24} n={g.n:5d}  reached 2x: {g.share_2x:6.1%} [{lo:.1%}-{hi:.1%}]  "
                f"typical max multiple {g.multiple:5.2f}x [{mlo:.2f}-{mhi:.2f}]",
                markup=False,
            )
        console.print(
            f"Per week: {r.n_weeks} weeks scored · chart {r.chart.resolve()}", markup=False
        )
        if r.rules:
            console.print(
                f"The alert rules on the same scored signals (conviction threshold "
                f"{r.alert_threshold}; 95% intervals):",
                markup=False,
            )
            for line in backtest_lines(r.rules):
                console.print(f"  {line}", markup=False)

    _with_service(show)


@app.command()
def bench() -> None:
    """Measure the hot paths and print the numbers (see BENCHMARKS.md for the full set)."""
    from engine.service import bench_model_paths

    console.print("One-row model paths (34 features, 400 rounds x 6 classes), ms:")
    for name, stats in bench_model_paths().items():
        shown = " · ".join(f"{k} {v:.3f}" for k, v in stats.items())
        console.print(f"  {name:<28} {shown}", markup=False)


@app.command(name="parse-tx")
def parse_tx(
    file: Annotated[
        Path, typer.Argument(help="a getTransaction response or result, or a list of them")
    ],
    wallet: Annotated[str | None, typer.Option(help="the trader (default: each fee payer)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list of trades")] = False,
) -> None:
    """Show the swaps moonbot reads from a transaction, and why there are none."""
    import json

    from engine.errors import MoonbotError
    from engine.service import parse_transactions

    try:
        parsed = parse_transactions(file, wallet)
    except MoonbotError as exc:
        console.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps([t for tx in parsed for t in tx.trades]))
        return
    for tx in parsed:
        if not tx.trades:
            why = "failed transaction" if tx.failed else "no swap against SOL/USDC/USDT"
            console.print(f"{tx.signature}: no trade ({why})", markup=False, soft_wrap=True)
        for t in tx.trades:
            console.print(
                f"{t['signature'][:16]}… {t['wallet']} {t['side']} {t['token_amount_raw']} (dec {t['decimals']}) of {t['mint']} "
                f"for {t['quote_amount_raw']} of {t['quote_mint']} via {t['program']}, fee {t['fee_lamports']}",
                markup=False,
                soft_wrap=True,
            )


db_app = typer.Typer(help="The database's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command(name="upgrade")
def db_upgrade() -> None:
    """Migrate the database's schema to the newest revision (every start does this too)."""
    from engine.service import upgrade_database

    settings = Settings()
    done = run_coro(upgrade_database(settings))
    where = settings.redacted()["database_url"]
    if not done.changed:
        line = f"Database {where}: schema {done.after}, the newest"
    else:
        adopted = " (the tables of an earlier moonbot, adopted)" if done.adopted else ""
        line = f"Database {where}: schema {done.before or '(none)'} -> {done.after}{adopted}"
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def backtest_lines(rules):  # type: ignore[no-untyped-def]
    from bot.format import rule_line

    return [rule_line(rule) for rule in rules]


def _with_service(action):  # type: ignore[no-untyped-def]
    return run_with(open_moonbot, action)


def _run(coro) -> None:  # type: ignore[no-untyped-def]
    run_coro(coro)


def _stop_now(signum: int, _frame: object) -> None:
    """Ctrl-C or SIGTERM before a command's runner (bot.lifecycle) takes over, e.g. while the
    libraries load: leave with the same status the runner gives (130, 0), no traceback."""
    raise SystemExit(130 if signum == signal.SIGINT else 0)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_now)
    app()
