"""Median imputation with missing indicators and standardization, learned on training rows.

For models that cannot take NaN (the PyTorch nets); XGBoost models keep NaN as the missing marker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MISSING_SUFFIX = "__missing"
_MIN_STD = 1e-12


@dataclass(frozen=True)
class Preprocessing:
    """Median imputation + missing indicators + standardization, learned on training rows.

    ``transform`` outputs ``len(feature_names) + len(indicator_features)`` columns: the imputed
    features in order, then one ``<name>__missing`` column (1.0 = was missing) per feature that
    had missing values in training. ``means``/``stds`` cover all those columns.
    """

    feature_names: list[str]
    medians: np.ndarray
    indicator_features: list[str]
    means: np.ndarray
    stds: np.ndarray

    @classmethod
    def learn(cls, matrix: np.ndarray, names: Sequence[str]) -> Preprocessing:
        """Statistics of ``matrix`` (rows x ``names``, NaN or inf = missing)."""
        values = np.asarray(matrix, dtype=np.float64)
        missing = ~np.isfinite(values)
        medians = np.zeros(values.shape[1])
        for j in range(values.shape[1]):
            present = values[~missing[:, j], j]
            if present.size:
                medians[j] = float(np.median(present))
            else:
                log.warning("feature %s is missing in every training row", names[j])
        has_missing = np.asarray(missing.any(axis=0), dtype=bool)
        indicators = [str(n) for n, flag in zip(names, has_missing, strict=True) if flag]
        filled = _impute(values, missing, medians, has_missing)
        stds = filled.std(axis=0)
        stds[stds < _MIN_STD] = 1.0
        return cls(
            feature_names=[str(n) for n in names],
            medians=medians,
            indicator_features=indicators,
            means=filled.mean(axis=0),
            stds=stds,
        )

    @property
    def output_names(self) -> list[str]:
        return self.feature_names + [n + MISSING_SUFFIX for n in self.indicator_features]

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        """Imputed, indicator-extended, standardized float32 matrix."""
        values = np.asarray(matrix, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected a matrix with {len(self.feature_names)} columns, got {values.shape}"
            )
        missing = ~np.isfinite(values)
        indicator_mask = np.isin(self.feature_names, self.indicator_features)
        filled = _impute(values, missing, self.medians, indicator_mask)
        scaled: np.ndarray = ((filled - self.means) / self.stds).astype(np.float32)
        return scaled

    def to_json(self) -> dict[str, Any]:
        return {
            "feature_names": self.feature_names,
            "medians": self.medians,
            "indicator_features": self.indicator_features,
            "means": self.means,
            "stds": self.stds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Preprocessing:
        names = [str(n) for n in data["feature_names"]]
        indicators = [str(n) for n in data["indicator_features"]]
        out = cls(
            feature_names=names,
            medians=np.asarray(data["medians"], dtype=np.float64),
            indicator_features=indicators,
            means=np.asarray(data["means"], dtype=np.float64),
            stds=np.asarray(data["stds"], dtype=np.float64),
        )
        n_out = len(names) + len(indicators)
        if out.medians.shape != (len(names),) or out.means.shape != (n_out,):
            raise ValueError("preprocessing statistics do not match the feature names")
        if out.stds.shape != (n_out,) or not np.all(out.stds > 0):
            raise ValueError("preprocessing stds must be positive, one per output column")
        if not set(indicators) <= set(names):
            raise ValueError("indicator features must be feature names")
        return out


def _impute(
    values: np.ndarray, missing: np.ndarray, medians: np.ndarray, with_indicator: np.ndarray
) -> np.ndarray:
    filled = np.where(missing, medians[None, :], values)
    return np.hstack([filled, missing[:, with_indicator].astype(np.float64)])
