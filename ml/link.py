"""A learned link from the ``aft`` model's one output ``mu`` to the six class probabilities.

``aft`` assumes ``log(max multiple) ~ Normal(mu, s)``: the class probabilities are fixed
functions of ``mu``. Real outcomes are not normal in log space (a point mass of rugs, a heavy
right tail), and then the same ``mu`` — a good ranking of the signals — is read through the
wrong curves. The link keeps ``mu`` and learns the curves instead, on validation rows the
booster was not trained on: a multinomial logistic regression of the class on a restricted
(natural) cubic spline of ``mu``,

    logit_k(mu) = b_k + c_k0 * mu + sum_j c_kj * N_j(mu),

with 5 knots at the 5%, 27.5%, 50%, 72.5% and 95% quantiles of ``mu``, or 7 from 5,000 rows on
(Harrell, *Regression Modeling Strategies*, 2nd ed., §2.4.5; the quantiles as Hmisc and
plotRCS tabulate them: https://rdrr.io/cran/plotRCS/src/R/knots.R; the terms scaled by the squared spread of the outer knots,
as Hmisc's ``rcspline.eval(norm=2)``: https://rdrr.io/pkg/Hmisc/man/rcspline.eval.html). The
basis is cubic between the knots and linear beyond the outer ones, so it extrapolates gently. A small ridge penalty on the ``c`` keeps it smooth on few rows. The normal link is
(nearly) one member of the family, so on log-normal outcomes the choice between the two is
left to the validation rows (``ml.outcome``'s ``auto``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ml.classes import N_CLASSES

RIDGE = 1e-4  # on the spline coefficients, per row-averaged log-loss
# Knots at Harrell's quantiles: 5 (the linear term and 3 cubic ones), or 7 where there are rows
# enough for a curve that bends more (his advice for large samples).
QUANTILES_5 = (0.05, 0.275, 0.5, 0.725, 0.95)
QUANTILES_7 = (0.025, 0.1833, 0.3417, 0.5, 0.6583, 0.8167, 0.975)
ROWS_FOR_7 = 5_000


@dataclass(frozen=True)
class SplineLink:
    """``logits = basis(mu) @ coef + intercept``; ``knots`` shape ``(k,)``, ``coef``
    ``(k - 1, 6)``, ``intercept`` ``(6,)``."""

    knots: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def log_probs(self, mu: np.ndarray) -> np.ndarray:
        """Class log-probabilities for locations ``mu``, shape ``(n, 6)``."""
        logits = basis(np.asarray(mu, dtype=np.float64), self.knots) @ self.coef + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        out: np.ndarray = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "knots": self.knots.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SplineLink:
        knots = np.asarray(data["knots"], dtype=np.float64)
        coef = np.asarray(data["coef"], dtype=np.float64)
        intercept = np.asarray(data["intercept"], dtype=np.float64)
        if (
            knots.ndim != 1
            or len(knots) < 3
            or not np.all(np.diff(knots) > 0)
            or coef.shape != (len(knots) - 1, N_CLASSES)
            or intercept.shape != (N_CLASSES,)
            or not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept)))
        ):
            raise ValueError("link: knots must increase, coef be (knots - 1, 6), intercept (6,)")
        return cls(knots, coef, intercept)


def basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """The restricted cubic spline basis: ``x`` and ``len(knots) - 2`` cubic terms, each scaled
    by ``(t_last - t_first) ** 2`` so that all columns have the units of ``x``."""
    t = knots
    last, before = t[-1], t[-2]
    scale = (last - t[0]) ** 2

    def cube(v: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(v, 0.0) ** 3
        return out

    columns = [x]
    for tj in t[:-2]:
        columns.append(
            (
                cube(x - tj)
                - cube(x - before) * (last - tj) / (last - before)
                + cube(x - last) * (before - tj) / (last - before)
            )
            / scale
        )
    return np.column_stack(columns)


def fit_link(mu: np.ndarray, y: np.ndarray) -> SplineLink | None:
    """The link fitted to classes ``y`` at locations ``mu`` by penalised maximum likelihood
    (L-BFGS, analytic gradient); None when ``mu`` has too few distinct values for knots."""
    mu = np.asarray(mu, dtype=np.float64)
    quantiles = QUANTILES_7 if len(mu) >= ROWS_FOR_7 else QUANTILES_5
    knots = np.quantile(mu, quantiles) if len(mu) else np.zeros(0)
    if len(mu) < 2 * len(quantiles) or not np.all(np.diff(knots) > 1e-9):
        return None
    design = basis(mu, knots)
    n, d = design.shape
    onehot = np.eye(N_CLASSES)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = theta[: d * N_CLASSES].reshape(d, N_CLASSES), theta[d * N_CLASSES :]
        logits = design @ coef + intercept
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        nll = -float(np.mean(np.log(np.clip((probs * onehot).sum(axis=1), 1e-300, None))))
        grad = (probs - onehot) / n
        return nll + RIDGE * float(np.sum(coef * coef)), np.concatenate(
            [(design.T @ grad + 2.0 * RIDGE * coef).ravel(), grad.sum(axis=0)]
        )

    counts = np.bincount(y, minlength=N_CLASSES) + 0.5  # start at the class frequencies
    start = np.concatenate([np.zeros(d * N_CLASSES), np.log(counts / counts.sum())])
    fit = minimize(loss, start, jac=True, method="L-BFGS-B")
    coef = fit.x[: d * N_CLASSES].reshape(d, N_CLASSES)
    return SplineLink(knots, coef, fit.x[d * N_CLASSES :])
