"""The class-frequency prior: the model every learned model must beat.

It predicts, for every row, the classes' frequencies in its training labels (with Jeffreys'
add-one-half smoothing, so that a class absent from training gets a small probability instead
of an infinite log-loss). DESIGN.md's honesty rules compare the champion, the candidate and this
prior on the same holdout; a model that does not beat it is not used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml.classes import N_CLASSES
from ml.params import Params

SMOOTHING = 0.5


def class_frequencies(
    y: Sequence[int] | np.ndarray, n_classes: int = N_CLASSES, smoothing: float = SMOOTHING
) -> np.ndarray:
    """``(count_k + smoothing) / (n + K * smoothing)`` for each class ``k`` in ``0..K-1``."""
    labels = np.asarray(y, dtype=np.int64).reshape(-1)
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}")
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64) + smoothing
    total = counts.sum()
    if total <= 0:
        raise ValueError("cannot take class frequencies of no labels without smoothing")
    freqs: np.ndarray = counts / total
    return freqs


class ClassPrior(Params):
    """Predicts the training class frequencies for every row (scikit-learn's conventions).

    Fitted attributes: ``probs_`` (shape ``(6,)``), ``classes_``, ``n_train_``.
    """

    param_names = ("smoothing",)

    def __init__(self, *, smoothing: float = SMOOTHING) -> None:
        self.smoothing = smoothing

    def fit(self, y: Sequence[int] | np.ndarray) -> ClassPrior:
        self.probs_: np.ndarray = class_frequencies(y, N_CLASSES, self.smoothing)
        self.classes_: np.ndarray = np.arange(N_CLASSES)
        self.n_train_: int = len(np.asarray(y).reshape(-1))
        return self

    def predict_proba(self, X: pd.DataFrame | int) -> np.ndarray:
        """``probs_`` repeated for each row of ``X`` (or for ``X`` rows when it is a count)."""
        if not hasattr(self, "probs_"):
            raise RuntimeError("this ClassPrior is not fitted yet; call fit()")
        n = X if isinstance(X, int) else len(X)
        return np.tile(self.probs_, (n, 1))
