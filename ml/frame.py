"""DataFrame to matrix: feature columns by name, float32, NaN kept as the missing marker."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.classes import N_CLASSES


def feature_names_of(X: pd.DataFrame) -> list[str]:
    """The column names of ``X`` as feature names: strings, no duplicates."""
    if not all(isinstance(c, str) for c in X.columns):
        raise ValueError("feature column names must be strings")
    names = [str(c) for c in X.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"duplicate feature columns: {', '.join(dupes)}")
    return names


def to_matrix(X: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Columns ``names`` of ``X`` (matched by name) as float32, missing values NaN."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    columns = X.columns
    if len(columns) == len(names) and columns.tolist() == names:
        frame = X
    else:
        missing = [n for n in names if n not in columns]
        if missing:
            raise ValueError(f"missing feature column(s): {', '.join(missing)}")
        frame = X.loc[:, names]
        if frame.shape[1] != len(names):
            raise ValueError("duplicate feature columns in X")
    try:
        return frame.to_numpy(dtype=np.float32, na_value=np.nan)
    except (TypeError, ValueError):
        for name in names:
            try:
                frame[name].to_numpy(dtype=np.float32, na_value=np.nan)
            except (TypeError, ValueError):
                raise ValueError(f"feature column {name!r} is not numeric") from None
        raise


def as_labels(y: Any, n_rows: int) -> np.ndarray:
    """``y`` as int64 class indices in ``0..N_CLASSES-1``, one per row."""
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {labels.shape}")
    if len(labels) != n_rows:
        raise ValueError(f"y has {len(labels)} labels for {n_rows} rows")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError("y must hold integer class indices")
    elif labels.dtype.kind not in "iu" and len(labels):
        raise ValueError(f"y must hold integer class indices, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise ValueError(f"class indices must be in 0..{N_CLASSES - 1}")
    return labels
