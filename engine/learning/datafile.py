"""Datasets from a CSV or Parquet file: labeled signals for training and evaluation, feature
rows for prediction.

Columns (names are the public contract of DESIGN.md, "Features"):

- ``signal_time``: ISO-8601 (a time without a zone is UTC) or epoch seconds. Required for a
  labeled file; optional in a prediction file.
- ``entry_mcap``, ``max_mcap``: market cap at the signal and the highest after it, USD. Required
  for a labeled file; the label is ``label_for_multiple(max_mcap / entry_mcap)``. A row with a
  missing mcap or ``entry_mcap <= 0`` is an error, not silently dropped: a file whose rows vanish
  would give a model trained on something other than what its owner thinks.
- any subset of FEATURE_NAMES: numbers; the BOOLEAN_FEATURES also as true/false/yes/no/1/0. A
  missing column or an empty cell is NaN (never 0). ``entry_mcap_usd`` (ln of the market cap at
  the signal), when the file has no such column, is ``ln(entry_mcap)`` where ``entry_mcap`` is
  given.
- ``x_*``: any other numeric column whose name starts with ``x_`` is the user's own feature: it
  follows FEATURE_NAMES in the data (file order) and so in the model's sidecar schema; scoring a
  file with such a model refuses a file that lacks one of them (``engine.learning.modelops``).
- ``id`` (optional): kept as given (in ``Dataset.mints`` for a labeled file; without an ``id``
  column that holds the row's line number in the file, as text).
- ``price_ath_from_entry`` is the outcome, not a feature: dropped with a warning. Other unknown
  columns are ignored with a warning naming them.

Every problem is one ``DataFileError`` line naming the column and the first bad row as a user
sees it: "line N" of a CSV (the header is line 1), "row N" (1-based) of a Parquet file.
Labeled rows are sorted by signal time (stable); prediction rows keep the file's order.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from engine.errors import DataFileError
from engine.learning.labels import labels_for_multiples
from engine.learning.training import Dataset
from engine.signals.features import BOOLEAN_FEATURES, FEATURE_NAMES, OUTCOME_COLUMN
from engine.signals.scoring import EXTRA_PREFIX

TIME_COLUMN: Final = "signal_time"
ENTRY_COLUMN: Final = "entry_mcap"
MAX_COLUMN: Final = "max_mcap"
ID_COLUMN: Final = "id"
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (TIME_COLUMN, ENTRY_COLUMN, MAX_COLUMN)
SUFFIXES: Final[dict[str, str]] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

_MISSING: Final = frozenset({"", "nan", "na", "n/a", "null", "none"})
_TRUE: Final = frozenset({"true", "yes", "1", "1.0"})
_FALSE: Final = frozenset({"false", "no", "0", "0.0"})
_KNOWN_FEATURES: Final = frozenset(FEATURE_NAMES)


@dataclass(slots=True)
class FeatureFile:
    """Rows of a prediction file, in the file's order."""

    X: pd.DataFrame  # FEATURE_NAMES columns, float, NaN = missing
    ids: list[str] | None  # the ``id`` column when the file has one
    warnings: list[str]

    def __len__(self) -> int:
        return len(self.X)


@dataclass(slots=True)
class _Table:
    name: str  # the file name, for messages
    # a column's cells: text or native values, or (bulk CSV) a number array pandas parsed
    columns: dict[str, Any]
    rows: list[int]  # the row number a user sees, per row
    where: str  # "line" (CSV) or "row" (Parquet)

    def __len__(self) -> int:
        return len(self.rows)


def check_data_path(path: Path) -> str:
    """The file's format ("csv" or "parquet"); DataFileError for another suffix or no file."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; use .csv or .parquet"
        )
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    return kind


def load_dataset(path: str | Path) -> tuple[Dataset, list[str]]:
    """Labeled signals from ``path``, oldest first, and the warnings about the file."""
    table = _read(Path(path))
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DataFileError(f"{table.name}: missing required column(s): {', '.join(missing)}")
    warnings = _column_warnings(table, extra_known=())
    ts = _times(table)
    entry = _required_numbers(table, ENTRY_COLUMN)
    peak = _required_numbers(table, MAX_COLUMN)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = peak / np.where(entry > 0, entry, 1.0)
    bad = (entry <= 0) | (peak < 0) | ~np.isfinite(ratio)
    if bad.any():  # the first bad row, named as a user sees it
        i = int(np.flatnonzero(bad)[0])
        e, m = float(entry[i]), float(peak[i])
        if e <= 0:
            raise _bad(table, ENTRY_COLUMN, i, f"must be > 0, got {e:g}")
        if m < 0:
            raise _bad(table, MAX_COLUMN, i, f"must be >= 0, got {m:g}")
        # e.g. entry_mcap 1e-320: the multiple overflows
        raise _bad(table, ENTRY_COLUMN, i, f"{e:g} gives no finite multiple for max {m:g}")
    multiples = ratio
    labels = labels_for_multiples(ratio)
    X = _features(table)
    ids = _ids(table)
    ds = Dataset(
        X=X,
        y=np.asarray(labels, dtype=int),
        multiples=np.asarray(multiples, dtype=float),
        ts=ts,
        mints=ids if ids is not None else [str(row) for row in table.rows],
    )
    if any(later < earlier for earlier, later in zip(ts, ts[1:], strict=False)):
        order = sorted(range(len(ts)), key=ts.__getitem__)  # sorted() is stable
        ds = Dataset(
            X=X.iloc[order].reset_index(drop=True),
            y=ds.y[order],
            multiples=ds.multiples[order],
            ts=[ts[i] for i in order],
            mints=[ds.mints[i] for i in order],
        )
    return ds, warnings


def _times(table: _Table) -> list[datetime]:
    """The ``signal_time`` column in one pass when every cell is epoch seconds, or every cell an
    ISO-8601 date-time that cannot be read as a number; else cell by cell (``_parse_time``, which
    names the first empty or bad cell). The same datetimes either way."""
    cells = table.columns[TIME_COLUMN]
    seconds = _whole_column(cells, boolean=False)
    try:
        if seconds is not None and not np.isnan(seconds).any():
            return [datetime.fromtimestamp(s, tz=UTC) for s in seconds.tolist()]
        if seconds is None and all(_iso_date_time(c) for c in cells):
            return [_utc(datetime.fromisoformat(c)) for c in cells]
    except (ValueError, OverflowError, OSError):
        pass  # the cell path names the bad cell
    return _parse_column(table, TIME_COLUMN, _parse_time, required=True)  # type: ignore[return-value]


def _iso_date_time(cell: object) -> bool:
    """``cell`` starts like an extended ISO-8601 date ("2026-"): text no float() can read (a
    float's minus sign is its first character or follows an exponent)."""
    return isinstance(cell, str) and len(cell) >= 10 and cell[4] == "-" and cell[:4].isdigit()


def _required_numbers(table: _Table, column: str) -> np.ndarray:
    """A required numeric column in one pass; cell by cell (naming the first empty or bad cell)
    when it is not all plain finite numbers."""
    values = _whole_column(table.columns[column], boolean=False)
    if values is None or np.isnan(values).any():
        values = np.array(_parse_column(table, column, _parse_number, required=True), dtype=float)
    return values


def load_features(path: str | Path) -> FeatureFile:
    """Feature rows of a prediction file, in the file's order (mcaps and times not needed)."""
    table = _read(Path(path))
    warnings = _column_warnings(table, extra_known=REQUIRED_COLUMNS)
    return FeatureFile(X=_features(table), ids=_ids(table), warnings=warnings)


# --------------------------------------------------------------------- reading


def _read(path: Path) -> _Table:
    kind = check_data_path(path)
    try:
        table = _read_csv(path) if kind == "csv" else _read_parquet(path)
    except OSError as exc:
        raise DataFileError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    if not table.columns:
        raise DataFileError(f"{path.name}: empty file (no header)")
    if not table.rows:
        raise DataFileError(f"{path.name}: no data rows")
    return table


def _read_csv(path: Path) -> _Table:
    """The file's cells as text: in bulk by pandas' C reader when every record is one plain line
    (no quotes, no blank lines, every record complete: then line numbers are exact), else line by
    line with the csv module, which names the first bad line."""
    bulk = _read_csv_bulk(path)
    return bulk if bulk is not None else _read_csv_lines(path)


def _read_csv_bulk(path: Path) -> _Table | None:
    raw = path.read_bytes()
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")
    records = _plain_records(raw)
    if records is None:
        return None
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            dtype={TIME_COLUMN: str, ID_COLUMN: str},  # text stays text; numbers parse in bulk
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            engine="c",
        )
    except (ValueError, UnicodeDecodeError):  # pandas' ParserError is a ValueError
        return None
    if len(frame) != records:
        return None  # pandas read the lines differently: line by line
    newline = raw.find(b"\n")
    header = raw[: newline if newline >= 0 else len(raw)].removeprefix(b"\xef\xbb\xbf")
    del raw  # the text is read: ~1/3 of the peak for a large file
    if [str(c) for c in frame.columns] != header.decode("utf-8").split(","):
        return None  # pandas renamed a column (a duplicate, an empty name): line by line
    names = [str(c).strip() for c in frame.columns]
    _check_header(path.name, names)
    columns: dict[str, Any] = {}
    for i, name in enumerate(names):
        series = frame.iloc[:, i]
        numeric = series.dtype.kind in "fiu"
        columns[name] = series.to_numpy() if numeric else series.fillna("").tolist()
    return _Table(path.name, columns, list(range(2, len(frame) + 2)), "line")


# Bytes of a CSV checked at a time: the check holds a piece of the file, not a copy of all of it.
_CHECK_CHUNK: Final = 1 << 24


def _plain_records(raw: bytes) -> int | None:
    """How many data records ``raw`` (a CSV, line ends already ``\\n``) has when every record
    is one plain line (no quotes, no stray carriage return, no blank line) with the header's
    field count; None otherwise, and the line reader takes the file."""
    end = len(raw)
    while end and raw[end - 1] == 0x0A:  # trailing newlines
        end -= 1
    if not end or b'"' in raw or b"\r" in raw or raw.find(b"\n\n", 0, end) != -1:
        return None
    counts: set[int] = set()
    lines, start = 0, 0
    while start < end:
        stop = raw.find(b"\n", min(start + _CHECK_CHUNK, end), end)
        stop = end if stop == -1 else stop
        piece = raw[start:stop].split(b"\n")
        counts.update(line.count(b",") for line in piece)
        if len(counts) != 1:
            return None  # a record with another field count: the line reader names it
        lines += len(piece)
        start = stop + 1
    return lines - 1


def _read_csv_lines(path: Path) -> _Table:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                return _Table(path.name, {}, [], "line")
            names = [h.strip() for h in header]
            _check_header(path.name, names)
            columns: dict[str, list[object]] = {n: [] for n in names}
            rows: list[int] = []
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue  # a blank line
                line = reader.line_num
                if len(record) != len(names):
                    raise DataFileError(
                        f"{path.name}: line {line} has {len(record)} fields, the header has {len(names)}"
                    )
                for name, cell in zip(names, record, strict=True):
                    columns[name].append(cell)
                rows.append(line)
        except csv.Error as exc:
            raise DataFileError(f"{path.name}: line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise DataFileError(f"{path.name}: not a UTF-8 text file") from None
    return _Table(path.name, columns, rows, "line")


def _read_parquet(path: Path) -> _Table:
    try:
        frame = pd.read_parquet(path)
    except OSError:
        raise
    except Exception as exc:  # pyarrow raises many kinds for a file that is not Parquet
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFileError(f"{path.name}: not a readable Parquet file: {first}") from None
    names = [str(c).strip() for c in frame.columns]
    _check_header(path.name, names)
    columns = {n: list(frame.iloc[:, i].astype(object)) for i, n in enumerate(names)}
    return _Table(path.name, columns, list(range(1, len(frame) + 1)), "row")


def _check_header(file: str, names: Sequence[str]) -> None:
    if any(not n for n in names):
        raise DataFileError(f"{file}: a column has an empty name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataFileError(f"{file}: duplicate column(s): {', '.join(dupes)}")


def _column_warnings(table: _Table, extra_known: Sequence[str]) -> list[str]:
    known = _KNOWN_FEATURES | set(REQUIRED_COLUMNS) | set(extra_known) | {ID_COLUMN}
    known |= set(_extra_columns(table))
    warnings: list[str] = []
    if OUTCOME_COLUMN in table.columns:
        warnings.append(
            f"dropped column {OUTCOME_COLUMN}: it is the outcome (the highest multiple after "
            "the signal), not a feature"
        )
    unknown = [c for c in table.columns if c not in known and c != OUTCOME_COLUMN]
    if unknown:
        warnings.append(f"ignored unknown column(s): {', '.join(unknown)}")
    if not any(c in _KNOWN_FEATURES or c.startswith(EXTRA_PREFIX) for c in table.columns):
        warnings.append("no feature columns: every feature is missing (NaN)")
    return warnings


# --------------------------------------------------------------------- parsing

Parser = Callable[[object], float | datetime | None]


def _parse_column(
    table: _Table, column: str, parse: Parser, *, required: bool = False
) -> list[float | datetime]:
    out: list[float | datetime] = []
    for i, cell in enumerate(table.columns[column]):
        try:
            value = parse(cell)
        except ValueError as exc:
            raise _bad(table, column, i, str(exc)) from None
        if value is None:
            if required:
                raise _bad(table, column, i, "is empty")
            value = math.nan
        out.append(value)
    return out


def _extra_columns(table: _Table) -> list[str]:
    """The file's ``x_*`` columns, in file order."""
    return [c for c in table.columns if c.startswith(EXTRA_PREFIX) and len(c) > len(EXTRA_PREFIX)]


def _entry_log_mcap(table: _Table) -> np.ndarray:
    """``ln(entry_mcap)`` per row (NaN where it is missing or not > 0)."""
    if ENTRY_COLUMN not in table.columns:
        return np.full(len(table), np.nan)
    values = np.array(_parse_column(table, ENTRY_COLUMN, _parse_number), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs: np.ndarray = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
    return logs


def _features(table: _Table) -> pd.DataFrame:
    data: dict[str, np.ndarray] = {}
    names = [*FEATURE_NAMES, *_extra_columns(table)]
    for name in names:
        if name == "entry_mcap_usd" and name not in table.columns:
            data[name] = _entry_log_mcap(table)
            continue
        if name not in table.columns:
            data[name] = np.full(len(table), np.nan)
            continue
        boolean = name in BOOLEAN_FEATURES
        values = _whole_column(table.columns[name], boolean=boolean)
        if values is None:  # some cell is not plain: cell by cell, naming the first bad one
            parse = _parse_bool if boolean else _parse_number
            values = np.array(_parse_column(table, name, parse), dtype=np.float64)
        data[name] = values
    return pd.DataFrame(data, columns=names, dtype=float)


# The common spellings, for the whole-column path; the rest go cell by cell.
_BOOL_VALUES: Final[dict[object, float]] = {
    **{v: 1.0 for t in _TRUE for v in (t, t.upper(), t.capitalize())},
    **{v: 0.0 for f in _FALSE for v in (f, f.upper(), f.capitalize())},
    True: 1.0,
    False: 0.0,
}


def _whole_column(cells: Any, *, boolean: bool) -> np.ndarray | None:
    """A feature column parsed in one pass (~10x faster than cell by cell) when every cell is
    empty or a plain finite number (a common spelling of a boolean for ``boolean``); None as soon
    as one is not, and the caller parses cell by cell, which takes every accepted spelling and
    names the first bad cell. Values are the same: Python's ``float`` of the same text (a number
    array from the bulk CSV reader: pandas' parser, which gives the same floats)."""
    if isinstance(cells, np.ndarray) and cells.dtype.kind in "fiu":
        numbers = cells.astype(np.float64)
        if np.isinf(numbers).any():
            return None
        if boolean and not np.isin(numbers[~np.isnan(numbers)], (0.0, 1.0)).all():
            return None
        return numbers
    try:
        if boolean:
            values = [math.nan if c == "" else _BOOL_VALUES[c] for c in cells]
        else:
            values = [math.nan if c == "" else float(c) for c in cells]
    except (KeyError, TypeError, ValueError):
        return None
    array = np.array(values, dtype=np.float64)
    return None if np.isinf(array).any() else array


def _ids(table: _Table) -> list[str] | None:
    if ID_COLUMN not in table.columns:
        return None
    return ["" if _is_missing(v) else str(v).strip() for v in table.columns[ID_COLUMN]]


def _bad(table: _Table, column: str, index: int, problem: str) -> DataFileError:
    return DataFileError(
        f"{table.name}: column {column}, {table.where} {table.rows[index]}: {problem}"
    )


def _is_missing(cell: object) -> bool:
    if cell is None or cell is pd.NaT:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    return isinstance(cell, str) and cell.strip().lower() in _MISSING


def _show(cell: object) -> str:
    text = str(cell).strip()
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _parse_number(cell: object) -> float | None:
    if _is_missing(cell):
        return None
    if isinstance(cell, bool | np.bool_):
        return float(cell)
    try:
        value = float(cell.strip() if isinstance(cell, str) else cell)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {_show(cell)}") from None
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {_show(cell)}")
    return value


def _parse_bool(cell: object) -> float | None:
    if _is_missing(cell):
        return None
    if isinstance(cell, bool | np.bool_):
        return float(cell)
    text = str(cell).strip().lower()
    if isinstance(cell, int | float | np.integer | np.floating):
        text = f"{float(cell):.1f}"
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    raise ValueError(f"not a boolean (true/false, yes/no, 1/0): {_show(cell)}")


def _parse_time(cell: object) -> datetime | None:
    if _is_missing(cell):
        return None
    if isinstance(cell, pd.Timestamp):
        return _utc(cell.to_pydatetime())
    if isinstance(cell, datetime):
        return _utc(cell)
    try:
        seconds = _parse_number(cell)
    except ValueError:
        seconds = None
    try:
        if seconds is not None:
            return datetime.fromtimestamp(seconds, tz=UTC)
        return _utc(datetime.fromisoformat(str(cell).strip()))
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"not an ISO-8601 time or epoch seconds: {_show(cell)}") from None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
