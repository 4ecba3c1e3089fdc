"""``moonbot train|evaluate|predict`` and ``moonbot models list|promote|rollback|prune``.

Registered in ``bot.cli`` with ``register(app)``. Each command checks its input first (a bad
file name, suffix or ``--keep`` is one ``error:`` line and exit code 2, before anything is opened
or written), then calls one ``MoonbotService`` method. ``register`` takes the function that
opens the service, so a test can hand in its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from bot import progress
from bot.clirun import console, fail, open_moonbot, run_with, say
from bot.progress import ProgressHook
from engine.config import Settings
from engine.errors import UserError

if TYPE_CHECKING:
    from engine.views import (
        Evaluation,
        FileTrainReport,
        ModelView,
        PredictionFile,
        PruneReport,
        TrainReport,
    )

T = TypeVar("T")
METRICS: tuple[str, ...] = ("log_loss", "accuracy", "auc_2x", "auc_10x", "n")


class ModelsService(Protocol):
    """The ``MoonbotService`` methods these commands call."""

    async def retrain(
        self, params: dict[str, Any] | None = None, progress: ProgressHook | None = None
    ) -> TrainReport: ...

    async def train_from_file(self, path: Path) -> FileTrainReport: ...

    async def evaluate_file(self, path: Path, version: str | None) -> Evaluation: ...

    async def predict_file(
        self,
        path: Path,
        out_path: Path,
        version: str | None,
        progress: ProgressHook | None = None,
    ) -> PredictionFile: ...

    async def list_models(self) -> list[ModelView]: ...

    async def promote_model(self, version: str) -> ModelView: ...

    async def rollback_model(self) -> ModelView: ...

    async def prune_models(self, keep: int) -> PruneReport: ...

    async def close(self) -> None: ...


OpenService = Callable[[Settings], Awaitable[ModelsService]]


DataOption = Annotated[
    Path, typer.Option("--data", help="a CSV or Parquet file", show_default=False)
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="a model version (default: the champion)")
]


def register(app: typer.Typer, open_service: OpenService = open_moonbot) -> None:
    """Add ``train``, ``evaluate``, ``predict`` and the ``models`` sub-app to ``app``."""
    _add_file_commands(app, open_service)
    models = typer.Typer(
        help="Saved outcome models: list, promote, roll back, prune.", no_args_is_help=True
    )
    _add_models_commands(models, open_service)
    app.add_typer(models, name="models")


def _add_file_commands(app: typer.Typer, open_service: OpenService) -> None:
    """``train``, ``evaluate`` and ``predict``: fit, score and apply the outcome model."""

    def run(action: Callable[[ModelsService], Awaitable[T]]) -> T:
        return run_with(open_service, action)

    @app.command("train")
    def train(
        data: Annotated[
            Path | None,
            typer.Option(
                "--data",
                help="train from this labeled CSV/Parquet file instead of the database",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Train a candidate (on the labeled signals, or on --data FILE); promote it if it beats
        the champion on the same most-recent holdout."""
        if data is None:
            with progress.bars(console) as bars:
                hook = bars.hook("Training (boosting rounds)")
                report = run(lambda service: service.retrain(progress=hook))
            _show_train(report, n_rows=None, warnings=())
            return
        path = _data_path(data)
        result = run(lambda service: service.train_from_file(path))
        _show_train(result.report, n_rows=result.n_rows, warnings=result.warnings)

    @app.command("evaluate")
    def evaluate(data: DataOption, model: ModelOption = None) -> None:
        """Metrics of the champion (or --model VERSION) on every row of a labeled file."""
        path = _data_path(data)
        result = run(lambda service: service.evaluate_file(path, model))
        _warn(result.warnings)
        say(f"model {result.version} on {path.name}:")
        _table([("model", result.metrics), ("prior", result.prior_metrics)])

    @app.command("predict")
    def predict(
        data: DataOption,
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                help="the file to write: CSV, or Parquet for a .parquet/.pq name",
                show_default=False,
            ),
        ],
        model: ModelOption = None,
    ) -> None:
        """Class probabilities, predicted class and conviction boost for every row of a file."""
        path = _data_path(data)
        _output_path(out)
        if not out.parent.is_dir():
            fail(f"{out.parent}: no such directory for the output")
        with progress.bars(console) as bars:
            hook = bars.hook("Scoring rows")
            result = run(lambda service: service.predict_file(path, out, model, hook))
        _warn(result.warnings)
        say(f"wrote {result.n_rows} predictions of model {result.version} to {result.out_path}")


def _add_models_commands(models: typer.Typer, open_service: OpenService) -> None:
    """``models list|promote|rollback|prune``: the commands on the saved models."""

    def run(action: Callable[[ModelsService], Awaitable[T]]) -> T:
        return run_with(open_service, action)

    @models.command("list")
    def list_() -> None:
        """The saved outcome models, newest first (* = champion)."""
        infos = run(lambda service: service.list_models())
        if not infos:
            say("no saved models: train one with `moonbot train`")
            return
        from bot.format import metric_text

        say(f"  {'version':<36} {'trained (UTC)':<19} {'rows':>6} {'log_loss':>9} {'auc_10x':>8}")
        for info in infos:
            note = "" if info.schema_ok else "  (other feature schema: must be retrained)"
            say(
                f"{'*' if info.champion else ' '} {info.version:<36} {info.trained_at[:19]:<19} "
                f"{info.n_samples:>6} {metric_text(info.metrics.get('log_loss')):>9} "
                f"{metric_text(info.metrics.get('auc_10x')):>8}{note}"
            )

    @models.command("promote")
    def promote(version: Annotated[str, typer.Argument(help="the model version")]) -> None:
        """Make a saved model the champion."""
        info = run(lambda service: service.promote_model(version))
        say(f"champion: {info.version}")

    @models.command("rollback")
    def rollback() -> None:
        """Make the previous champion the champion again."""
        info = run(lambda service: service.rollback_model())
        say(f"rolled back: champion is {info.version}")

    @models.command("prune")
    def prune(
        keep: Annotated[int, typer.Option("--keep", help="how many of the newest models to keep")],
    ) -> None:
        """Delete all but the newest N models (the champion is always kept)."""
        if keep < 1:
            fail(f"--keep must be at least 1, got {keep}")
        report = run(lambda service: service.prune_models(keep))
        say(f"deleted {len(report.deleted)} model(s), kept {len(report.kept)}")
        for version in report.deleted:
            say(f"  deleted {version}")


def _data_path(path: Path) -> Path:
    from engine.service import check_data_path

    return _checked(check_data_path, path)


def _output_path(path: Path) -> Path:
    from engine.service import check_output_path

    return _checked(check_output_path, path)


def _checked(check: Callable[[Path], Path], path: Path) -> Path:
    """``path`` if ``check`` takes it; else its one ``error:`` line, before anything is opened."""
    try:
        check(path)
    except UserError as exc:
        fail(str(exc))
    return path


def _show_train(report: TrainReport, *, n_rows: int | None, warnings: Sequence[str]) -> None:
    _warn(warnings)
    rows = "" if n_rows is None else f" of {n_rows}"
    say(
        f"trained {report.version} on {report.n_train}{rows} rows "
        f"({report.window[0][:10]} .. {report.window[1][:10]}), holdout {report.n_holdout} rows"
    )
    lines = [("candidate", report.metrics)]
    if report.prior_metrics:
        lines.append(("prior", report.prior_metrics))
    if report.champion_metrics:
        lines.append((f"champion {report.champion_version}", report.champion_metrics))
    _table(lines)
    say(report.reason)


def _table(lines: Sequence[tuple[str, dict[str, float]]]) -> None:
    from bot.format import metric_text

    width = max(len(name) for name, _ in lines)
    say(" ".join([" " * width, *(f"{m:>9}" for m in METRICS)]))
    for name, metrics in lines:
        cells = []
        for m in METRICS:
            value = metrics.get(m)
            cells.append(
                f"{metric_text(int(value) if m == 'n' and value is not None else value):>9}"
            )
        say(" ".join([f"{name:<{width}}", *cells]))


def _warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        say(f"warning: {warning}")
