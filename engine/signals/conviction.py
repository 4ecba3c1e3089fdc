"""The conviction score shown with every signal: a rule score plus the ML boost.

The rule score (0..80) is a transparent heuristic a trader can recompute by hand; it is not a
claim about what works (that is what the model and the mined insights are for):

    20 base
    +10 per KOL who bought by signal time (at most +30), +10 more per elite KOL (at most +20)
    +10 if the top-10 holders own under 30% · -15 if they own over 50%
    +5 if volume over 24 h is at least the market cap
    +5 if the name matches a narrative
    -20 if a bundle was detected · -20 if the creator already sold
    clipped to 0..80

The ML term is the seed's boost ``10*P(big_win) + 15*P(moonshot) + 20*P(mega_moon)`` (0..20)
minus a veto when the champion outcome model expects a rug: ``RUG_VETO_POINTS`` points per unit
of P(<1.5x) above ``RUG_VETO_FROM`` (0 at P(<1.5x) = 0.5, -30 at 1.0), rounded (-30..+20).
Conviction = rule score + ML term: the model can raise an alert's score and it can sink it, so
an alert never sits beside odds of 74% on <1.5x with the model adding nothing (issue 14). The
walk-forward backtest (``engine.learning.backtest``) evaluates exactly this rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def _is(features: Mapping[str, float], name: str) -> bool:
    value = features.get(name, math.nan)
    return not math.isnan(value) and value >= 1.0


def rule_score(features: Mapping[str, float]) -> int:
    score = 20.0
    kols = features.get("kol_count", 0.0)
    elite = features.get("kol_elite_count", 0.0)
    score += min(30.0, 10.0 * (0.0 if math.isnan(kols) else kols))
    score += min(20.0, 10.0 * (0.0 if math.isnan(elite) else elite))
    top10 = features.get("holder_top10_pct", math.nan)
    if not math.isnan(top10):
        score += 10.0 if top10 < 30.0 else -15.0 if top10 > 50.0 else 0.0
    vol = features.get("volume_to_mcap_ratio", math.nan)
    if not math.isnan(vol) and vol >= 1.0:
        score += 5.0
    if _is(features, "narrative_match"):
        score += 5.0
    if _is(features, "bundle_detected"):
        score -= 20.0
    if _is(features, "dev_sell_detected"):
        score -= 20.0
    return int(max(0.0, min(80.0, score)))


RUG_VETO_FROM = 0.5  # P(<1.5x) where the veto starts: the model puts more on a rug than not
RUG_VETO_POINTS = 60.0  # points per unit of P(<1.5x) above it: -14 at 74%, -30 at 100%


def ml_points(probabilities: np.ndarray) -> np.ndarray:
    """The ML term of each row of class probabilities ``(n, 6)``, unrounded: boost - veto."""
    from ml.backtest import ml_boost as boost_points  # only with a model: pandas/scipy load then

    p = np.asarray(probabilities, dtype=np.float64)
    veto = RUG_VETO_POINTS * np.clip(p[:, 0] - RUG_VETO_FROM, 0.0, None)
    return np.asarray(boost_points(p) - veto)


def ml_boosts(probabilities: np.ndarray) -> np.ndarray:
    """The ML term (boost minus rug veto) of each row, rounded to whole points (-30..+20)."""
    points: np.ndarray = np.rint(ml_points(probabilities)).astype(np.int64)
    return points


def ml_boost(probabilities: Sequence[float]) -> int:
    return int(ml_boosts(np.asarray(probabilities, dtype=np.float64)[None, :])[0])


def ml_parts(probabilities: Sequence[float]) -> tuple[float, float]:
    """The two parts of one row's ML term, in points: (boost toward 10x+, rug veto >= 0)."""
    p = np.asarray(probabilities, dtype=np.float64)
    boost = 10.0 * p[3] + 15.0 * p[4] + 20.0 * p[5]
    return float(boost), float(RUG_VETO_POINTS * max(0.0, p[0] - RUG_VETO_FROM))
