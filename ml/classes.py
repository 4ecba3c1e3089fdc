"""Outcome classes, as the learning code sees them, and the one labelling rule.

``engine.learning.labels`` re-exports both (ml cannot import engine). Class ``k`` covers max
multiples (max_mcap / entry_mcap) in ``[BOUNDARIES[k-1], BOUNDARIES[k])``: a boundary belongs to
the class above it (exactly 5.0 is medium_win).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

CLASSES: Final[tuple[str, ...]] = (
    "rug",
    "small_win",
    "medium_win",
    "big_win",
    "moonshot",
    "mega_moon",
)
N_CLASSES: Final[int] = len(CLASSES)
BOUNDARIES: Final[tuple[float, ...]] = (1.5, 5.0, 10.0, 50.0, 100.0)
BIG_CLASSES: Final[tuple[int, ...]] = (3, 4, 5)  # the >= 10x classes
_BOUNDARY_ARRAY: Final[npt.NDArray[np.float64]] = np.asarray(BOUNDARIES, dtype=np.float64)


def labels_for_multiples(multiples: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Class index per max multiple; a non-finite or negative multiple raises ``ValueError``."""
    values = np.asarray(multiples, dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        first = float(values[bad].flat[0])
        raise ValueError(f"max multiple must be a finite non-negative number, got {first!r}")
    return np.searchsorted(_BOUNDARY_ARRAY, values, side="right").astype(np.int64)


def label_for_multiple(ratio: float) -> int:
    """Class index for one max multiple (the scalar form of ``labels_for_multiples``)."""
    return int(labels_for_multiples(ratio))
