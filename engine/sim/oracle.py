"""The outcome rule of the simulated market and its exact class probabilities (the oracle).

    y = f(x) + e,   e ~ Normal(0, sigma^2)   (sigma = SimConfig.noise_sigma)
    max_multiple = multiple_from_log(y)

``f`` reads only signal-time feature values that ``engine.signals.features.compute_features`` reproduces
exactly from the simulator's records (the names in ``F_INPUTS``). ``multiple_from_log`` is exp(y),
except that below 1x it is squeezed into (0.5, 1) and above 20 000x it is capped: both changes
stay inside one class (rug, mega_moon), so the class of a signal is the class of exp(y) and

    P(class k | x) = Phi((log b_k - f) / sigma) - Phi((log b_(k-1) - f) / sigma)

with b the label boundaries 1.5/5/10/50/100 (b_0 = 0, b_6 = infinity).

The "skewed" noise (``SimConfig.noise_kind``, issue 13) breaks the normal shape on purpose: with
probability ``RUG_SHARE`` the token rugs whatever f says (a point mass in class 0, its multiple
drawn below 1x), otherwise ``e = beta * (G + ln ln 2)`` with G standard Gumbel, a right-skewed
draw with a heavier right tail, median 0 and standard deviation sigma
(``beta = sigma * sqrt(6) / pi``). Its CDF is ``F(z) = exp(-ln 2 * exp(-z / beta))``, so

    P(class k | x) = RUG_SHARE * [k = 0] + (1 - RUG_SHARE) * (F(ln b_k - f) - F(ln b_(k-1) - f))

Features outside ``F_INPUTS`` (sol_price, the holder shape, momentum, ...) have no effect in
either setting.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from engine.learning.labels import LOG_BOUNDARIES, N_CLASSES

INTERCEPT: Final[float] = -0.1
MAX_MULTIPLE: Final[float] = 20_000.0
RUG_SHARE: Final[float] = 0.25  # "skewed" noise: the point mass of rugs
_LN_LN_2: Final[float] = math.log(math.log(2.0))
RUG_FLOOR: Final[float] = 0.5  # below 1x, multiples are squeezed into (RUG_FLOOR, 1)
TOP10_PIVOT: Final[float] = 30.0  # holder_top10_pct where the concentration term is zero
VOLUME_RATIO_CLIP: Final[tuple[float, float]] = (0.05, 20.0)
CONCENTRATED_TOP10: Final[float] = 50.0

F_INPUTS: Final[tuple[str, ...]] = (
    "kol_count",
    "kol_elite_count",
    "holder_top10_pct",
    "volume_to_mcap_ratio",
    "narrative_match",
    "bundle_detected",
    "dev_sell_detected",
    "overall_market_sentiment",
)


@dataclass(frozen=True, slots=True)
class Effect:
    """One planted term of f: ``coefficient`` times the term's value (see ``effect_values``)."""

    name: str
    coefficient: float
    term: str


EFFECTS: Final[tuple[Effect, ...]] = (
    Effect("bundle_and_concentration", -2.0, "bundle_detected AND holder_top10_pct > 50"),
    Effect("elite_kols", 1.2, "kol_elite_count"),
    Effect("dev_sell", -1.0, "dev_sell_detected"),
    Effect("narrative_and_kols", 0.6, "narrative_match AND kol_count >= 2"),
    Effect("market_sentiment", 0.3, "overall_market_sentiment"),
    Effect("volume_to_mcap", 0.25, "ln(clip(volume_to_mcap_ratio, 0.05, 20))"),
    Effect("extra_kols", 0.15, "kol_count - 1"),
    Effect("top10_concentration", -0.015, "holder_top10_pct - 30"),
)
COEFFICIENTS: Final[dict[str, float]] = {e.name: e.coefficient for e in EFFECTS}
KOL_EFFECTS: Final[frozenset[str]] = frozenset({"narrative_and_kols", "elite_kols", "extra_kols"})


def effect_values(x: Mapping[str, float]) -> dict[str, float]:
    """The value of each effect's term (before its coefficient) for the feature values ``x``."""
    kol_count = x["kol_count"]
    top10 = x["holder_top10_pct"]
    low, high = VOLUME_RATIO_CLIP
    ratio = min(max(x["volume_to_mcap_ratio"], low), high)
    return {
        "bundle_and_concentration": float(
            x["bundle_detected"] == 1.0 and top10 > CONCENTRATED_TOP10
        ),
        "dev_sell": float(x["dev_sell_detected"] == 1.0),
        "narrative_and_kols": float(x["narrative_match"] == 1.0 and kol_count >= 2),
        "elite_kols": x["kol_elite_count"],
        "volume_to_mcap": math.log(ratio),
        "extra_kols": kol_count - 1.0,
        "market_sentiment": x["overall_market_sentiment"],
        "top10_concentration": top10 - TOP10_PIVOT,
    }


def outcome_mean(x: Mapping[str, float]) -> float:
    """f(x): the deterministic part of log(max multiple) for signal-time features ``x``."""
    values = effect_values(x)
    return INTERCEPT + math.fsum(e.coefficient * values[e.name] for e in EFFECTS)


def token_quality(x: Mapping[str, float]) -> float:
    """f without the intercept and the KOL terms: what KOLs can judge before they buy (it drives
    their choices, see engine.sim.kols)."""
    values = effect_values(x)
    return math.fsum(e.coefficient * values[e.name] for e in EFFECTS if e.name not in KOL_EFFECTS)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def gumbel_scale(sigma: float) -> float:
    """beta of the "skewed" noise: the Gumbel scale whose standard deviation is ``sigma``."""
    return sigma * math.sqrt(6.0) / math.pi


def _skewed_cdf(z: float, sigma: float) -> float:
    return math.exp(-math.log(2.0) * math.exp(-z / gumbel_scale(sigma)))


def class_probs(f: float, sigma: float, noise_kind: str = "normal") -> tuple[float, ...]:
    """P(class | f) for y = f + e (``noise_kind`` "normal" or "skewed", see the module doc):
    six probabilities summing to 1."""
    if noise_kind == "normal":
        cdf = [0.0, *(_phi((b - f) / sigma) for b in LOG_BOUNDARIES), 1.0]
    else:
        cdf = [0.0, *(_skewed_cdf(b - f, sigma) for b in LOG_BOUNDARIES), 1.0]
    probs = [max(0.0, cdf[k + 1] - cdf[k]) for k in range(N_CLASSES)]
    total = sum(probs)
    probs = [p / total for p in probs]
    if noise_kind == "skewed":
        probs = [(1.0 - RUG_SHARE) * p for p in probs]
        probs[0] += RUG_SHARE
    return tuple(probs)


def draw_log_multiple(rng: random.Random, f: float, sigma: float, noise_kind: str) -> float:
    """One draw of y = log(max multiple) for f. "normal" makes exactly the one ``gauss`` draw the
    simulator always made (its records stay byte-identical); a "skewed" rug lands below 0."""
    if noise_kind == "normal":
        return f + rng.gauss(0.0, sigma)
    if rng.random() < RUG_SHARE:
        return -rng.expovariate(1.0) - 1e-6
    u = min(max(rng.random(), 1e-300), 1.0 - 1e-16)
    return f + gumbel_scale(sigma) * (-math.log(-math.log(u)) + _LN_LN_2)


def multiple_from_log(y: float) -> float:
    """The max multiple for log-multiple ``y``: exp(y), squeezed below 1x, capped at the top."""
    if y >= 0.0:
        return min(math.exp(y), MAX_MULTIPLE)
    return math.exp(math.log(RUG_FLOOR) * -math.expm1(y))
