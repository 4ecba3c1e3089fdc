"""Saved models: a model file plus a JSON sidecar in one directory, written atomically.

Every model kind saves through ``save_model_dir`` and reads back through ``load_model_dir``: the
model file (XGBoost ``.ubj``, a PyTorch ``state_dict``; never a pickle) and ``model.json`` are each
written to a temp file beside the target and moved into place with ``os.replace``, so a reader never
sees half a file. The sidecar opens with the keys every kind has (``format``, ``kind_of_model``,
``feature_names``, ``feature_schema_hash``), then the kind's own fields, ``versions``, and the
caller's metadata, which may not reuse any of those keys.

The sidecar also records the model file's ``model_sha256``, and ``load_model_dir`` checks it: a
damaged model file, or another model's file swapped in, is refused before it is parsed. A sidecar
holding ``NaN`` or ``Infinity`` (not JSON, though Python's reader accepts them) is refused too.
Sidecars written before the checksum existed load without it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from ml.schema import feature_schema_hash

MODEL_FILE = "model.ubj"
SIDECAR_FILE = "model.json"
SIDECAR_FORMAT: Final[int] = 1


def read_sidecar(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``model.json`` sidecar of a saved model directory."""
    path = Path(directory) / SIDECAR_FILE
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh, parse_constant=_refuse_constant)
    except FileNotFoundError:
        raise FileNotFoundError(f"no {SIDECAR_FILE} in {Path(directory)}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number: the sidecar is damaged")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    # Imported here: reading a sidecar (the registry, `models list`) needs neither library.
    import pandas as pd
    import xgboost as xgb

    return {
        "xgboost": xgb.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy types, tuples, paths converted; non-finite floats become None."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot store a {type(value).__name__} in a JSON sidecar")


def write_file_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` a temp file beside ``path``, then ``os.replace`` it onto ``path``.

    The temp name keeps ``path``'s suffix (XGBoost picks its format from the extension).
    """
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temp file and ``os.replace``."""
    text = json.dumps(to_jsonable(data), indent=2, sort_keys=False, allow_nan=False)
    write_file_atomic(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def save_model_dir(
    directory: str | os.PathLike[str],
    *,
    model_file: str,
    write_model: Callable[[Path], object],
    kind_of_model: str,
    feature_names: Sequence[str],
    fields: Mapping[str, Any],
    versions: Mapping[str, str],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model_file`` (by ``write_model(path)``) and the sidecar into ``directory``.

    ``fields`` are the kind's own sidecar keys; ``metadata`` (metrics, training window, ...) is
    merged after them and may not reuse a key the sidecar writes itself. numpy values become
    plain JSON types and non-finite floats ``null``. Returns the directory.
    """
    sidecar: dict[str, Any] = {
        "format": SIDECAR_FORMAT,
        "kind_of_model": kind_of_model,
        "feature_names": list(feature_names),
        "feature_schema_hash": feature_schema_hash(feature_names),
        **fields,
        "versions": dict(versions),
    }
    extra = dict(metadata or {})
    clash = sorted(set(extra) & {*sidecar, "model_sha256"})
    if clash:
        raise ValueError(f"metadata may not overwrite sidecar keys: {', '.join(clash)}")
    sidecar.update(extra)
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    write_file_atomic(path / model_file, write_model)
    sidecar["model_sha256"] = file_sha256(path / model_file)  # after the file, before the sidecar
    write_json_atomic(path / SIDECAR_FILE, sidecar)
    return path


@dataclass(frozen=True, slots=True)
class SavedModel:
    """A model directory read back by ``load_model_dir``: its checked sidecar and model file."""

    directory: Path
    model_path: Path
    sidecar: dict[str, Any]
    feature_names: list[str]


def load_model_dir(
    directory: str | os.PathLike[str], *, model_file: str, classes: Sequence[str] | None = None
) -> SavedModel:
    """Read a directory written by ``save_model_dir``; raise if it is incomplete or inconsistent.

    Checks: the sidecar is a JSON object of finite numbers, ``model_file`` exists and has the
    sidecar's ``model_sha256``, the classes are ``classes`` (when given), and
    ``feature_schema_hash`` matches ``feature_names``.
    """
    path = Path(directory)
    sidecar = read_sidecar(path)
    model_path = path / model_file
    if not model_path.is_file():
        raise FileNotFoundError(f"no {model_file} in {path}")
    expected = sidecar.get("model_sha256")
    if expected is not None and file_sha256(model_path) != expected:
        raise ValueError(
            f"{model_file} of {path.name} does not match its sidecar's sha256: damaged, or "
            "another model's file"
        )
    if classes is not None and tuple(sidecar.get("classes", ())) != tuple(classes):
        raise ValueError(f"{path} was trained on classes {sidecar.get('classes')!r}")
    raw_names = sidecar.get("feature_names")
    if not isinstance(raw_names, list):
        raise ValueError(f"{path / SIDECAR_FILE}: feature_names must be a list")
    names = [str(n) for n in raw_names]
    if feature_schema_hash(names) != sidecar.get("feature_schema_hash"):
        raise ValueError(f"{path / SIDECAR_FILE}: feature_schema_hash does not match its names")
    return SavedModel(path, model_path, sidecar, names)
