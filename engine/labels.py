"""Outcome classes: how a signal ended, from max_mcap / entry_mcap over the horizon.

ratio < 1.5 rug(0) · < 5 small_win(1) · < 10 medium_win(2) · < 50 big_win(3) · < 100 moonshot(4)
· otherwise mega_moon(5). A boundary belongs to the class above it (exactly 5.0 is medium_win).
"""

from __future__ import annotations

import bisect
import math
from typing import Final

# The class table lives in ml.classes (ml cannot import engine; engine may import ml).
from ml.classes import BIG_CLASSES, BOUNDARIES, CLASSES, N_CLASSES

__all__ = [
    "BIG_CLASSES",
    "BOUNDARIES",
    "CLASSES",
    "CLASS_SHORT",
    "LOG_BOUNDARIES",
    "N_CLASSES",
    "label_for_multiple",
]

LOG_BOUNDARIES: Final[tuple[float, ...]] = tuple(math.log(b) for b in BOUNDARIES)
# Short names used in reasons and charts ("toward 10x+").
CLASS_SHORT: Final[dict[str, str]] = {
    "rug": "<1.5x",
    "small_win": "1.5-5x",
    "medium_win": "5-10x",
    "big_win": "10-50x",
    "moonshot": "50-100x",
    "mega_moon": "100x+",
}


def label_for_multiple(ratio: float) -> int:
    """Class index for a max multiple (max_mcap / entry_mcap)."""
    if not math.isfinite(ratio) or ratio < 0:
        raise ValueError(f"max multiple must be a finite non-negative number, got {ratio!r}")
    return bisect.bisect_right(BOUNDARIES, ratio)
