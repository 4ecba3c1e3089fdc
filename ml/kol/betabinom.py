"""Empirical Bayes for rates: a Beta prior fitted across groups (KOLs) by beta-binomial maximum
likelihood, and each group's posterior mean with an equal-tailed credible interval.

Used by ``ml.kol.predictor`` for KOL 3x+ rates; nothing in it is specific to KOLs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize

# betaincinv(a, b, q) is the Beta(a, b) quantile (what scipy.stats.beta.ppf computes), without
# importing scipy.stats, which is most of /kol's start-up time.
from scipy.special import betaincinv, betaln, digamma

log = logging.getLogger(__name__)


class BetaBinomialPrior:
    """Empirical-Bayes Beta prior over per-KOL hit rates.

    ``fit(hits, trials)`` takes one (k, n) pair per KOL. With at least ``min_kols`` KOLs holding
    events, ``min_events`` events in all, and both hits and misses, it maximizes the beta-binomial
    likelihood over ``(log alpha, log beta)`` with both shapes bounded to ``[min_shape,
    max_shape]`` (``method_ = "mle"``). When the KOLs vary no more than binomial noise, the
    likelihood keeps rising with ``alpha + beta`` and the fit stops at the bound: every KOL then
    gets (almost) the pooled rate, the empirical-Bayes answer to "no detectable differences"
    (``overdispersed_`` is False). The lower bound keeps the posterior mean inside the credible
    interval (a Beta with a shape near 0 piles its mass at an edge).

    Otherwise (the first days, no hits yet) it falls back to ``method_ = "pooled"``: mean =
    the pooled rate with Jeffreys smoothing ``(K + 0.5) / (N + 1)`` and strength ``alpha + beta =
    fallback_strength`` pseudo-events, so one lucky hit does not read as a 100% hit rate while
    a few dozen events mostly speak for themselves.
    """

    def __init__(
        self,
        *,
        confidence: float = 0.95,
        min_kols: int = 5,
        min_events: int = 20,
        fallback_strength: float = 10.0,
        min_shape: float = 0.05,
        max_shape: float = 1e5,
    ) -> None:
        self.confidence = confidence
        self.min_kols = min_kols
        self.min_events = min_events
        self.fallback_strength = fallback_strength
        self.min_shape = min_shape
        self.max_shape = max_shape

    def fit(
        self, hits: Sequence[int] | np.ndarray, trials: Sequence[int] | np.ndarray
    ) -> BetaBinomialPrior:
        k, n = as_counts(hits, trials)
        k, n = k[n > 0], n[n > 0]
        total_k, total_n = float(k.sum()), float(n.sum())
        pooled = (total_k + 0.5) / (total_n + 1.0)
        usable = len(n) >= self.min_kols and total_n >= self.min_events and 0 < total_k < total_n
        alpha = beta = 0.0
        if usable:
            alpha, beta, ok = self._mle(k, n, pooled)
            usable = ok
        if usable:
            self.method_: str = "mle"
            self.overdispersed_: bool = alpha + beta < 0.5 * self.max_shape
        else:
            strength = float(self.fallback_strength)
            alpha, beta = pooled * strength, (1.0 - pooled) * strength
            self.method_ = "pooled"
            self.overdispersed_ = False
        self.alpha_: float = float(alpha)
        self.beta_: float = float(beta)
        self.n_kols_: int = len(n)
        self.n_events_: int = int(total_n)
        self.n_hits_: int = int(total_k)
        return self

    def _mle(self, k: np.ndarray, n: np.ndarray, pooled: float) -> tuple[float, float, bool]:
        def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
            a, b = np.exp(params)
            ll = betaln(k + a, n - k + b) - betaln(a, b)  # minus the constant log C(n, k)
            common = digamma(a + b) - digamma(n + a + b)
            grad_a = (digamma(k + a) - digamma(a) + common).sum() * a
            grad_b = (digamma(n - k + b) - digamma(b) + common).sum() * b
            return float(-ll.sum()), -np.array([grad_a, grad_b])

        lo, hi = math.log(self.min_shape), math.log(self.max_shape)
        start = np.clip(np.log([pooled * 10.0, (1.0 - pooled) * 10.0]), lo, hi)
        result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=[(lo, hi)] * 2)
        if not np.all(np.isfinite(result.x)):
            log.warning("beta-binomial fit failed (%s); using the pooled prior", result.message)
            return 0.0, 0.0, False
        a, b = np.exp(result.x)
        return float(a), float(b), True

    def _check_fitted(self) -> None:
        if not hasattr(self, "alpha_"):
            raise RuntimeError("this BetaBinomialPrior is not fitted yet; call fit()")

    @property
    def mean_(self) -> float:
        """The prior mean: the population rate."""
        self._check_fitted()
        return self.alpha_ / (self.alpha_ + self.beta_)

    def posterior(
        self, hits: Sequence[int] | np.ndarray, trials: Sequence[int] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mean and equal-tailed ``confidence`` credible interval per (k, n) pair."""
        self._check_fitted()
        k, n = as_counts(hits, trials)
        a = self.alpha_ + k
        b = self.beta_ + n - k
        tail = (1.0 - self.confidence) / 2.0
        mean = a / (a + b)
        return mean, betaincinv(a, b, tail), betaincinv(a, b, 1.0 - tail)


def as_counts(hits: Any, trials: Any) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(hits, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if k.shape != n.shape or k.ndim != 1:
        raise ValueError(f"hits and trials must be 1-D of equal length: {k.shape} vs {n.shape}")
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= hits <= trials for every KOL")
    return k, n
