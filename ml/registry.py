"""File-based model registry: one directory per trained model, one champion per kind.

Layout under ``root`` (e.g. ``<data_dir>/models``)::

    outcome-20260301T120000-3fa2b1/   model.ubj + model.json (the model's sidecar)
    outcome-20260308T120000-3fa2b1/
    champion-outcome.json            {"version": "outcome-20260308T120000-3fa2b1", ...}

A version directory is written under a temporary name and renamed into place, and the champion
pointer is replaced atomically, so a reader never sees half a model. The first model saved for a
kind becomes its champion; later ones only after ``promote``.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ml.schema import feature_schema_hash
from ml.sidecar import SIDECAR_FILE, read_sidecar, write_json_atomic

if TYPE_CHECKING:  # xgboost loads with a model, not with the registry's bookkeeping
    from ml.outcome import OutcomeModel

log = logging.getLogger(__name__)

_KIND_RE = re.compile(r"[a-z0-9][a-z0-9_]*")
_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class RegistryError(Exception):
    """A model could not be found or used; the message is fit to show a user."""


class ModelNotFound(RegistryError):
    """No such version, or no model (champion) of that kind yet."""


class SchemaMismatch(RegistryError):
    """The model was trained on a different feature list than the caller's."""


class SavableModel(Protocol):
    feature_names_: list[str]

    def save(self, directory: str | os.PathLike[str], *, metadata: Mapping[str, Any]) -> Path: ...


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one saved model."""

    version: str
    kind: str
    path: Path
    feature_schema_hash: str
    metrics: dict[str, Any]
    trained_at: str  # ISO-8601, UTC
    n_samples: int
    champion: bool
    training_window: tuple[str, str] | None = field(default=None)
    feature_names: tuple[str, ...] = field(default=())  # the sidecar's, in training order


class Registry:
    """Saved models under ``root``; ``clock`` (UTC now) is injectable for tests."""

    def __init__(
        self, root: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.root = Path(root)
        self._clock = clock or (lambda: datetime.now(UTC))

    # ----------------------------------------------------------------- writing

    def save(
        self,
        model: SavableModel,
        *,
        kind: str = "outcome",
        metrics: Mapping[str, Any],
        training_window: tuple[str, str],
        n_samples: int,
        promote_first: bool = True,
    ) -> ModelInfo:
        """Store a fitted model as a new version; the first one of its kind becomes champion
        unless ``promote_first`` is False (training decides against the prior itself)."""
        if not _KIND_RE.fullmatch(kind):
            raise ValueError(f"kind must match {_KIND_RE.pattern!r}, got {kind!r}")
        schema_hash = feature_schema_hash(model.feature_names_)
        now = self._clock().astimezone(UTC)
        base = f"{kind}-{now:%Y%m%dT%H%M%S}-{schema_hash[:6]}"
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            for attempt in range(1, 1000):
                version = base if attempt == 1 else f"{base}-{attempt}"
                target = self.root / version
                if target.exists():
                    continue
                model.save(
                    staging,
                    metadata={
                        "version": version,
                        "kind": kind,
                        "trained_at": now.isoformat(),
                        "training_window": list(training_window),
                        "n_samples": int(n_samples),
                        "metrics": dict(metrics),
                    },
                )
                try:
                    os.rename(staging, target)
                except OSError:
                    if target.exists():  # another writer took the name meanwhile
                        continue
                    raise
                break
            else:
                raise RegistryError(f"could not find a free version name for {base}")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        log.info("saved %s model %s (%d samples)", kind, version, n_samples)
        if promote_first and self.champion(kind) is None:
            self._write_champion(kind, version)
        return self.get(version)

    def promote(self, version: str) -> ModelInfo:
        """Make ``version`` the champion of its kind."""
        info = self.get(version)
        self._write_champion(info.kind, info.version)
        log.info("promoted %s to %s champion", info.version, info.kind)
        return self.get(version)

    def _write_champion(self, kind: str, version: str) -> None:
        write_json_atomic(
            self._pointer(kind),
            {"kind": kind, "version": version, "promoted_at": self._clock().isoformat()},
        )

    # ----------------------------------------------------------------- reading

    def get(self, version: str) -> ModelInfo:
        """The stored model ``version``; ModelNotFound when there is none."""
        if not _VERSION_RE.fullmatch(version):
            raise ModelNotFound(f"no model version {version!r}")
        path = self.root / version
        if not (path / SIDECAR_FILE).is_file():
            raise ModelNotFound(f"no model version {version!r}")
        try:
            sidecar = read_sidecar(path)
        except (OSError, ValueError) as exc:  # damaged or unreadable: not usable, say which
            raise RegistryError(f"model {version} cannot be read: {exc}") from None
        kind = str(sidecar.get("kind", ""))
        return self._info(version, path, sidecar, self._champion_version(kind) == version)

    def list(self, kind: str | None = "outcome") -> builtins.list[ModelInfo]:
        """Models of ``kind`` (all kinds for None), newest first."""
        if not self.root.is_dir():
            return []
        champions: dict[str, str | None] = {}
        found: builtins.list[ModelInfo] = []
        for path in self.root.iterdir():
            name = path.name
            if name.startswith(".") or not path.is_dir() or not _VERSION_RE.fullmatch(name):
                continue
            if not (path / SIDECAR_FILE).is_file():
                continue
            try:
                sidecar = read_sidecar(path)
            except ValueError as exc:  # a corrupt sidecar must not hide the other models
                log.warning("skipping %s: %s", path, exc)
                continue
            model_kind = str(sidecar.get("kind", ""))
            if kind is not None and model_kind != kind:
                continue
            if model_kind not in champions:
                champions[model_kind] = self._champion_version(model_kind)
            found.append(self._info(name, path, sidecar, champions[model_kind] == name))
        found.sort(key=_age_key, reverse=True)
        return found

    def champion(self, kind: str = "outcome") -> ModelInfo | None:
        """The champion of ``kind``, or None when there is none yet."""
        version = self._champion_version(kind)
        if version is None:
            return None
        try:
            return self.get(version)
        except ModelNotFound:
            log.warning("champion pointer for %s names missing version %s", kind, version)
            return None

    def resolve(
        self, version: str | None, *, kind: str = "outcome", expected_schema_hash: str
    ) -> ModelInfo:
        """The model to load (None = the champion), checked against the caller's feature set."""
        if version is None:
            info = self.champion(kind)
            if info is None:
                raise ModelNotFound(f"no {kind} model has been trained yet")
        else:
            info = self.get(version)
            if info.kind != kind:
                raise ModelNotFound(f"model {version} is a {info.kind} model, not {kind}")
        if info.feature_schema_hash != expected_schema_hash:
            raise SchemaMismatch(
                f"model {info.version} was trained on a different feature set "
                f"(schema {info.feature_schema_hash}, current {expected_schema_hash}); "
                "it must be retrained"
            )
        return info

    def load(
        self, version: str | None, *, kind: str = "outcome", expected_schema_hash: str
    ) -> OutcomeModel:
        """Load an outcome model (None = the champion of ``kind``)."""
        from ml.outcome import OutcomeModel

        info = self.resolve(version, kind=kind, expected_schema_hash=expected_schema_hash)
        try:
            return OutcomeModel.load(info.path)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # XGBoostError is a ValueError
            raise RegistryError(f"model {info.version} cannot be loaded: {exc}") from None

    # ----------------------------------------------------------------- helpers

    def _pointer(self, kind: str) -> Path:
        return self.root / f"champion-{kind}.json"

    def _champion_version(self, kind: str) -> str | None:
        if not _KIND_RE.fullmatch(kind):
            return None
        pointer = self._pointer(kind)
        if not pointer.is_file():
            return None
        try:
            data = _read_json_object(pointer)
        except ValueError as exc:
            log.warning("unreadable champion pointer %s: %s", pointer, exc)
            return None
        version = data.get("version")
        return version if isinstance(version, str) else None

    @staticmethod
    def _info(version: str, path: Path, sidecar: dict[str, Any], champion: bool) -> ModelInfo:
        window = sidecar.get("training_window")
        return ModelInfo(
            version=version,
            kind=str(sidecar.get("kind", "")),
            path=path,
            feature_schema_hash=str(sidecar.get("feature_schema_hash", "")),
            metrics=dict(sidecar.get("metrics") or {}),
            trained_at=str(sidecar.get("trained_at", "")),
            n_samples=int(sidecar.get("n_samples", 0)),
            champion=champion,
            training_window=(str(window[0]), str(window[1])) if window else None,
            feature_names=tuple(str(n) for n in sidecar.get("feature_names") or ()),
        )


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _age_key(info: ModelInfo) -> tuple[datetime, int]:
    try:
        trained = datetime.fromisoformat(info.trained_at)
    except ValueError:
        trained = datetime.min.replace(tzinfo=UTC)
    if trained.tzinfo is None:
        trained = trained.replace(tzinfo=UTC)
    # "<kind>-<timestamp>-<hash6>" or, for a name taken in the same second, "...-<hash6>-<n>"
    parts = info.version.split("-")
    suffix = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else 1
    return (trained, suffix)
