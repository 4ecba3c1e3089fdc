"""Model operations on files and on the registry: train, evaluate and predict from a CSV/Parquet
file; list, promote, roll back and prune the saved outcome models.

Each function is what one ``MoonbotService`` method calls (they are CPU-bound: the service runs
them with ``asyncio.to_thread``). Registry problems come back as ``ModelUnavailable`` with a
one-line message; a model trained on another feature list (schema hash) is refused.

Rollback needs the order in which models were champions, which the registry does not keep: it is
kept here, in ``<registry>/champion-history-outcome.json`` (oldest first). Every operation that
can change the champion first appends the current champion when it differs from the last entry,
so a promotion made elsewhere (``/retrain``) is picked up the next time one of these runs; only
several such promotions in a row, with none of these in between, collapse to the latest.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from engine.errors import DataFileError, ModelUnavailable, UserError
from engine.learning.datafile import FeatureFile, load_dataset, load_features
from engine.learning.labels import CLASSES
from engine.learning.training import train_and_compare
from engine.signals.conviction import ml_boosts
from engine.signals.scoring import KIND, SCHEMA_HASH, extra_features, schema_hash_for
from engine.views import Evaluation, FileTrainReport, ModelView, PredictionFile, PruneReport
from ml.metrics import evaluate_probs
from ml.outcome import OutcomeModel
from ml.registry import ModelInfo, Registry, RegistryError
from ml.sidecar import write_json_atomic

log = logging.getLogger(__name__)

PROBABILITY_COLUMNS: Final[tuple[str, ...]] = tuple(f"p_{c}" for c in CLASSES)
HISTORY_FILE: Final = f"champion-history-{KIND}.json"


# --------------------------------------------------------------------- files


def train_from_file(
    registry: Registry,
    path: str | Path,
    *,
    holdout_fraction: float,
    min_gain: float,
    params: dict[str, Any] | None = None,
) -> FileTrainReport:
    """Train a candidate on a labeled file; promote it if it beats the champion on the same
    most-recent holdout (the first model on an empty registry becomes the champion)."""
    ds, warnings = load_dataset(path)
    _sync_history(registry)
    report = train_and_compare(
        ds, registry, holdout_fraction=holdout_fraction, min_gain=min_gain, params=params
    )
    _sync_history(registry)
    return FileTrainReport(report=report, n_rows=len(ds), warnings=warnings)


def evaluate_file(registry: Registry, path: str | Path, version: str | None = None) -> Evaluation:
    """Metrics of the champion (or ``version``) on every row of a labeled file."""
    info, model = _load(registry, version)
    ds, warnings = load_dataset(path)
    _check_extras(model, ds.X, Path(path).name, info.version)
    metrics = evaluate_probs(model.predict_proba(ds.X), ds.y, ds.multiples)
    window = info.training_window
    seen = _rows_in_window(ds.ts, window)
    if window is not None and seen:
        warnings.append(
            f"{seen} of {len(ds)} rows fall inside the model's training window "
            f"({window[0][:10]} .. {window[1][:10]}): "
            "these metrics are optimistic"
        )
    prior = np.tile(model.prior_, (len(ds), 1))
    prior_metrics = evaluate_probs(prior, ds.y, ds.multiples)
    return Evaluation(
        version=info.version, metrics=metrics, warnings=warnings, prior_metrics=prior_metrics
    )


def predict_file(
    registry: Registry,
    path: str | Path,
    out_path: str | Path,
    version: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PredictionFile:
    """Write one row per input row, in input order: ``id`` (when the input has one), the six
    class probabilities, ``predicted_class`` and ``conviction_boost``, as CSV or, for an
    ``out_path`` ending in .parquet or .pq, as Parquet (``OUTPUT_SUFFIXES``). Nothing is written
    when anything fails (the file appears whole, by rename). Rows are scored in chunks of
    ``PREDICT_CHUNK``, calling ``progress(rows done, rows)`` after each."""
    source, out = Path(path), Path(out_path)
    writer = output_writer(out)
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise DataFileError(f"{out.name}: the output would overwrite the input")
    if not out.parent.is_dir():
        raise DataFileError(f"{out.parent}: no such directory for the output")
    info, model = _load(registry, version)
    rows: FeatureFile = load_features(source)
    _check_extras(model, rows.X, source.name, info.version)
    probs = _predict_chunked(model, rows.X, progress)
    table = pd.DataFrame(probs, columns=list(PROBABILITY_COLUMNS))
    table["predicted_class"] = np.asarray(CLASSES)[probs.argmax(axis=1)]
    table["conviction_boost"] = ml_boosts(probs)
    if rows.ids is not None:
        table.insert(0, "id", rows.ids)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=out.suffix.lower(), dir=out.parent)
    try:
        os.close(fd)
        writer(table, Path(tmp))
        os.replace(tmp, out)
    except OSError as exc:
        raise DataFileError(f"{out}: cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return PredictionFile(
        version=info.version, n_rows=len(rows), out_path=out, warnings=rows.warnings
    )


PREDICT_CHUNK = 10_000


def output_writer(out: Path) -> Callable[[pd.DataFrame, Path], None]:
    """The writer for ``out``'s suffix (``OUTPUT_SUFFIXES``); another suffix is a
    ``DataFileError`` naming the ones accepted."""
    writer = OUTPUT_SUFFIXES.get(out.suffix.lower())
    if writer is None:
        raise DataFileError(f"{out.name}: the output must be a .csv, .parquet or .pq file")
    return writer


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    """``table`` as CSV by Arrow's writer (5x pandas' ``to_csv`` here: the write was two thirds
    of ``predict --data``; bench/bench_datafile.py --predict). Floats at full precision: Arrow
    writes each as its shortest text that reads back as the same float (issue 13; tested by
    reading the file back). Values are unquoted unless one needs quotes (an id with a comma, a
    quote or a line break): then text values are quoted, as RFC 4180 reads them."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    try:
        options = pacsv.WriteOptions(eol="\r\n", quoting_style="none", quoting_header="none")
        pacsv.write_csv(arrow, str(path), options)
    except pa.ArrowInvalid:  # a value that needs quotes
        pacsv.write_csv(arrow, str(path), pacsv.WriteOptions(eol="\r\n"))


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    """``table`` as Parquet by pyarrow: the probabilities as float64 columns, so each reads
    back bit for bit, and the boost as int64 (tests/engine/learning/test_modelops_parquet.py)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), str(path))


OUTPUT_SUFFIXES: Final[dict[str, Callable[[pd.DataFrame, Path], None]]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
    ".pq": _write_parquet,
}


def _predict_chunked(
    model: OutcomeModel, X: pd.DataFrame, progress: Callable[[int, int], None] | None
) -> np.ndarray:
    """``model.predict_proba(X)``, row chunk by row chunk (each row is scored on its own)."""
    if len(X) <= PREDICT_CHUNK and progress is None:
        return model.predict_proba(X)
    parts = []
    for start in range(0, len(X), PREDICT_CHUNK):
        parts.append(model.predict_proba(X.iloc[start : start + PREDICT_CHUNK]))
        if progress is not None:
            progress(min(start + PREDICT_CHUNK, len(X)), len(X))
    return np.concatenate(parts) if parts else model.predict_proba(X)


# --------------------------------------------------------------------- registry


def model_view(info: ModelInfo) -> ModelView:
    """A saved model as the faces see it (``schema_ok``: trained on the current FEATURE_NAMES)."""
    return ModelView(
        version=info.version,
        kind=info.kind,
        trained_at=info.trained_at,
        n_samples=info.n_samples,
        metrics=dict(info.metrics),
        champion=info.champion,
        schema_ok=info.feature_schema_hash == schema_hash_for(info.feature_names),
    )


def list_models(registry: Registry) -> list[ModelView]:
    """The saved outcome models, newest first."""
    return [model_view(info) for info in registry.list(KIND)]


def promote(registry: Registry, version: str) -> ModelView:
    """Make ``version`` the champion (refused for a model of another feature schema)."""
    info = _resolve(registry, version)
    _sync_history(registry)
    promoted = _promote(registry, info.version)
    _sync_history(registry)
    return model_view(promoted)


def rollback(registry: Registry) -> ModelView:
    """Make the previous champion the champion again."""
    _sync_history(registry)
    history = _read_history(registry)
    current = history[-1] if history else None
    if current is None:
        raise ModelUnavailable("no champion yet: nothing to roll back")
    earlier = history[:-1]
    while earlier:
        candidate = earlier[-1]
        try:
            info = _resolve(registry, candidate)
        except ModelUnavailable as exc:
            log.warning("skipping %s in the champion history: %s", candidate, exc)
            earlier.pop()
            continue
        promoted = _promote(registry, info.version)
        _write_history(registry, earlier)
        return model_view(promoted)
    raise ModelUnavailable(f"no earlier champion to roll back to ({current} is the first)")


def prune(registry: Registry, keep: int) -> PruneReport:
    """Delete all but the newest ``keep`` outcome models; the champion is always kept."""
    if keep < 1:
        raise UserError(f"--keep must be at least 1, got {keep}")
    _sync_history(registry)
    models = registry.list(KIND)  # newest first
    kept = [m for i, m in enumerate(models) if i < keep or m.champion]
    doomed = [m for m in models if m not in kept]
    root = registry.root.resolve()
    for info in doomed:
        path = info.path.resolve()
        if path.parent != root:  # never delete outside the registry
            raise ModelUnavailable(f"model {info.version} is not inside {root}")
        shutil.rmtree(path)
        log.info("pruned model %s", info.version)
    gone = {m.version for m in doomed}
    _write_history(registry, [v for v in _read_history(registry) if v not in gone])
    return PruneReport(deleted=[m.version for m in doomed], kept=[m.version for m in kept])


# --------------------------------------------------------------------- helpers


def _resolve(registry: Registry, version: str | None) -> ModelInfo:
    try:
        info = registry.champion(KIND) if version is None else registry.get(version)
        expected = SCHEMA_HASH if info is None else schema_hash_for(info.feature_names)
        return registry.resolve(version, kind=KIND, expected_schema_hash=expected)
    except RegistryError as exc:
        raise ModelUnavailable(_one_line(exc)) from None


def _check_extras(model: OutcomeModel, X: pd.DataFrame, file: str, version: str) -> None:
    """A model trained with a file's ``x_*`` columns scores only files that carry them."""
    lacking = [n for n in extra_features(model.feature_names_) or [] if n not in X.columns]
    if lacking:
        raise DataFileError(
            f"{file}: model {version} was trained with the column(s) {', '.join(lacking)}, "
            "which this file lacks"
        )


def _promote(registry: Registry, version: str) -> ModelInfo:
    """``registry.promote``, a version deleted since it was resolved being ``ModelUnavailable``."""
    try:
        return registry.promote(version)
    except RegistryError as exc:
        raise ModelUnavailable(_one_line(exc)) from None


def _load(registry: Registry, version: str | None) -> tuple[ModelInfo, OutcomeModel]:
    info = _resolve(registry, version)
    try:
        return info, OutcomeModel.load(info.path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelUnavailable(f"model {info.version} cannot be loaded: {_one_line(exc)}") from None


def _rows_in_window(ts: list[datetime], window: tuple[str, str] | None) -> int:
    if window is None:
        return 0
    try:
        start, end = (datetime.fromisoformat(w) for w in window)
    except ValueError:
        return 0
    if start.tzinfo is None or end.tzinfo is None:
        return 0
    return sum(start <= t <= end for t in ts)


def _one_line(exc: BaseException) -> str:
    text = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _history_path(registry: Registry) -> Path:
    return registry.root / HISTORY_FILE


def _read_history(registry: Registry) -> list[str]:
    path = _history_path(registry)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("unreadable champion history %s: %s", path, exc)
        return []
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, list):
        return []
    return [v for v in versions if isinstance(v, str)]


def _write_history(registry: Registry, versions: list[str]) -> None:
    registry.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(_history_path(registry), {"kind": KIND, "versions": versions})


def _sync_history(registry: Registry) -> None:
    champion = registry.champion(KIND)
    if champion is None:
        return
    history = _read_history(registry)
    if not history or history[-1] != champion.version:
        _write_history(registry, [*history, champion.version])
