"""Array statistics for the rule miner (``ml.rules.miner``): it scores thousands of candidate patterns
at once, so these take and return numpy arrays.

- ``wilson_bounds``: ``ml.metrics.wilson_interval`` over arrays.
- ``two_proportion_z``: is a pattern's success rate different from the rest of a bigger row set?
- ``interaction_z``: do two conditions work together, beyond their separate effects?
- ``fit_logistic`` / ``score_z``: does a pattern still tell something once a logistic model
  holds other features fixed (e.g. the elite-KOL count)? Tells a real effect from a proxy.
- ``feature_families``: which features are proxies of one another (strongly rank-correlated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import rankdata

from ml.rules.patterns import feature_values

Z95: Final[float] = NormalDist().inv_cdf(0.975)
FAMILY_CORRELATION: Final[float] = 0.6

Counts = tuple[np.ndarray, np.ndarray]  # rows and successes


def wilson_bounds(
    successes: np.ndarray, n: np.ndarray, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """``ml.metrics.wilson_interval`` elementwise (95% by default); NaN where ``n == 0``."""
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = k / m
        denom = 1.0 + z * z / m
        centre = (rate + z * z / (2 * m)) / denom
        half = z * np.sqrt(rate * (1 - rate) / m + z * z / (4 * m * m)) / denom
        low = np.where(k == 0, 0.0, np.maximum(0.0, centre - half))
        high = np.where(k == m, 1.0, np.minimum(1.0, centre + half))
    empty = m <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def two_proportion_z(
    n_in: np.ndarray | int,
    hits_in: np.ndarray | int,
    n_sub: np.ndarray | int,
    hits_sub: np.ndarray | int,
) -> np.ndarray:
    """Pooled two-proportion z of the rate inside a pattern vs the *rest* of a row set ``sub``
    that contains it (two disjoint groups). Positive: the pattern's rate is higher. 0 when
    there is no rest or no variation (nothing can be told apart)."""
    n1 = np.asarray(n_in, dtype=np.float64)
    h1 = np.asarray(hits_in, dtype=np.float64)
    n0 = np.asarray(n_sub, dtype=np.float64) - n1
    h0 = np.asarray(hits_sub, dtype=np.float64) - h1
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (h1 + h0) / (n1 + n0)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        z = np.where((n0 > 0) & (n1 > 0) & (se > 0), (h1 / n1 - h0 / n0) / se, 0.0)
    return np.asarray(z)


def interaction_z(
    both: Counts | tuple[int, int],
    x: Counts | tuple[int, int],
    y: Counts | tuple[int, int],
    total: tuple[int, int],
) -> np.ndarray:
    """Woolf z of the interaction of row sets ``x`` and ``y`` on success.

    ``both`` are the counts of ``x AND y``. The statistic is the log odds ratio of success for
    ``y`` inside ``x`` minus the one outside ``x`` (symmetric in ``x`` and ``y``), over its
    standard error ``sqrt(sum of 1/count over the 8 cells)``. Positive: together they do better
    than their separate effects say. 0.5 is added to every cell, so empty cells stay finite and
    weak.
    """
    n11, h11 = (np.asarray(a, dtype=np.float64) for a in both)
    nx, hx = (np.asarray(a, dtype=np.float64) for a in x)
    ny, hy = (np.asarray(a, dtype=np.float64) for a in y)
    n_all, h_all = float(total[0]), float(total[1])
    cells = (
        (n11, h11, 1.0),  # x and y
        (nx - n11, hx - h11, -1.0),  # x, not y
        (ny - n11, hy - h11, -1.0),  # y, not x
        (n_all - nx - ny + n11, h_all - hx - hy + h11, 1.0),  # neither
    )
    log_or = np.zeros(np.broadcast(n11, nx, ny).shape)
    variance = np.zeros_like(log_or)
    for n, h, sign in cells:
        success, failure = h + 0.5, n - h + 0.5
        log_or = log_or + sign * (np.log(success) - np.log(failure))
        variance = variance + 1.0 / success + 1.0 / failure
    return np.asarray(log_or / np.sqrt(variance))


@dataclass(frozen=True, slots=True)
class LogisticFit:
    """A logistic model of success whose covariates take few distinct values (``cells``):
    the fitted probability per cell and what its score tests (``score_z``) need."""

    design: np.ndarray  # cells x columns
    cell: np.ndarray  # cell id per row
    hit: np.ndarray  # success per row
    p: np.ndarray  # fitted P(success) per cell
    information: np.ndarray  # Cholesky factor of design' W design (+ the ridge)


def fit_logistic(
    design: np.ndarray,
    cell: np.ndarray,
    hit: np.ndarray,
    *,
    ridge: float = 1e-6,
    max_iter: int = 30,
) -> LogisticFit:
    """Maximum likelihood (Newton steps) of P(success of row r) = expit(design[cell[r]] @ beta).

    ``design`` has one row per cell; rows of one cell share their covariates, so the fit works
    on cell counts. A tiny ridge (``ridge`` x rows on the diagonal) keeps it finite where a
    column separates the outcomes (a cell where every row failed): its probability then goes
    to 0 or 1, which is what the score test wants.
    """
    Z = np.asarray(design, dtype=np.float64)
    n = np.bincount(cell, minlength=len(Z)).astype(np.float64)
    h = np.bincount(cell, weights=hit, minlength=len(Z))
    penalty = ridge * float(n.sum()) * np.eye(Z.shape[1])
    beta = np.zeros(Z.shape[1])
    for _ in range(max_iter):
        p = expit(Z @ beta)
        step = np.linalg.solve(
            (Z.T * (n * p * (1 - p))) @ Z + penalty, Z.T @ (h - n * p) - penalty @ beta
        )
        beta = beta + step
        if float(np.abs(step).max()) < 1e-6:
            break
    p = expit(Z @ beta)
    information = np.linalg.cholesky((Z.T * (n * p * (1 - p))) @ Z + penalty)
    return LogisticFit(Z, cell, np.asarray(hit, dtype=bool), p, information)


def score_z(fit: LogisticFit, member: np.ndarray) -> float:
    """Rao score z of adding the yes/no column ``member`` (one value per row) to the model.

    ``U = sum over members of (success - p)``; its variance is ``sum over members of p (1 - p)``
    less the part the design already explains, ``a' I^-1 a`` with ``a = design' W member``.
    Positive: the members do better than the model says. 0 when the design already holds
    ``member`` (all but a thousandth of its variance: nothing left to test). With one dummy
    per stratum as the design this is the Cochran-Mantel-Haenszel z (without continuity
    correction, each stratum's variance taken as binomial).
    """
    member = np.asarray(member, dtype=bool)
    m = np.bincount(fit.cell[member], minlength=len(fit.p)).astype(np.float64)
    wm = m * fit.p * (1 - fit.p)
    total = float(wm.sum())
    a = np.linalg.solve(fit.information, fit.design.T @ wm)
    variance = total - float(a @ a)
    if variance <= 1e-3 * total:  # the design holds it, up to the ridge
        return 0.0
    return (float(np.count_nonzero(member & fit.hit)) - float(m @ fit.p)) / math.sqrt(variance)


def feature_families(
    X: pd.DataFrame, min_correlation: float = FAMILY_CORRELATION
) -> dict[str, int]:
    """Feature name -> family id: the connected groups of features whose |Spearman| correlation
    is at least ``min_correlation`` (a missing value takes its column's mean rank).

    Proxies of one another land in one family: top-10 / top-3 / top-1 holder share, a flag and
    its severity, ``narrative_match`` and ``narrative_weight``. A feature alone is its own family.
    """
    names = [str(c) for c in X.columns]
    parent = list(range(len(names)))
    if len(X) >= 3 and len(names) >= 2:
        values = np.column_stack([feature_values(X, name) for name in names])
        ranks = np.asarray(rankdata(values, axis=0, nan_policy="omit"), dtype=np.float64)
        known = ~np.isnan(ranks)
        means = np.where(known, ranks, 0.0).sum(axis=0) / np.maximum(known.sum(axis=0), 1)
        ranks = np.where(known, ranks, means[None, :])
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.nan_to_num(np.abs(np.corrcoef(ranks, rowvar=False)), nan=0.0)

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i, j in zip(*np.nonzero(np.triu(corr >= min_correlation, k=1)), strict=True):
            parent[root(int(i))] = root(int(j))
        return {name: root(i) for i, name in enumerate(names)}
    return {name: i for i, name in enumerate(names)}
