"""Outcome classes, as the learning code sees them.

The one class table: ``engine.learning.labels`` re-exports it and adds the labelling rule.
Class ``k`` covers max multiples (max_mcap / entry_mcap) in ``[BOUNDARIES[k-1], BOUNDARIES[k])``.
"""

from __future__ import annotations

from typing import Final

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
