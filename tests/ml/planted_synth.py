"""Synthetic signals with the simulator's outcome rule planted, for the rule miner, the backtest
and the chart tests.

The outcome imitates ``engine.sim`` exactly (see ``engine/sim/__init__.py``)::

    log(max multiple) = f(x) + Normal(0, 1.05^2)
    f(x) = -0.10 - 2.0 * [bundle_detected AND holder_top10_pct > 50] + 1.2 * kol_elite_count
           - 1.0 * dev_sell_detected + 0.6 * [narrative_match AND kol_count >= 2]
           + 0.3 * overall_market_sentiment + 0.25 * ln(clip(volume_to_mcap_ratio, 0.05, 20))
           + 0.15 * (kol_count - 1) - 0.015 * (holder_top10_pct - 30)

with the simulator's feature distributions (28% bundled tokens holding 10-45% of supply, else
0-9%; top-10 concentration ~N(33, 9) + 60 * (bundle share - 5%), clipped to 8..92; dev sell 15%;
narrative 40%; 1-4 KOLs per wave, each elite with probability 0.12). The other DESIGN.md
features are present too: some are noisy proxies of the planted ones (top-3 and top-1 share follow
top-10; bundle severity is the bundle share, detected from 0.10 as in engine.signals.features), the rest carry no signal; ``noise_00`` ..
``noise_19`` are pure noise. Multiples below 1x are squeezed into (0.5, 1) like the simulator's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SIGMA = 1.05
N_NOISE = 20
START = pd.Timestamp("2025-01-06", tz="UTC")  # a Monday


@dataclass(frozen=True)
class Planted:
    X: pd.DataFrame  # features only
    multiples: np.ndarray  # max multiple per row
    f: np.ndarray  # the deterministic part of log(max multiple)
    ts: pd.Series  # signal times, sorted, UTC


def outcome_mean(X: pd.DataFrame) -> np.ndarray:
    """f(x) of the simulator (engine.sim.oracle.outcome_mean), vectorized."""
    top10 = X["holder_top10_pct"].to_numpy(dtype=float)
    kols = X["kol_count"].to_numpy(dtype=float)
    bundle_and_conc = (X["bundle_detected"].to_numpy() == 1.0) & (top10 > 50.0)
    narrative_and_kols = (X["narrative_match"].to_numpy() == 1.0) & (kols >= 2)
    ratio = np.clip(X["volume_to_mcap_ratio"].to_numpy(dtype=float), 0.05, 20.0)
    return np.asarray(
        -0.10
        - 2.0 * bundle_and_conc
        + 1.2 * X["kol_elite_count"].to_numpy(dtype=float)
        - 1.0 * X["dev_sell_detected"].to_numpy(dtype=float)
        + 0.6 * narrative_and_kols
        + 0.3 * X["overall_market_sentiment"].to_numpy(dtype=float)
        + 0.25 * np.log(ratio)
        + 0.15 * (kols - 1.0)
        - 0.015 * (top10 - 30.0),
        dtype=float,
    )


def multiple_from_log(y: np.ndarray) -> np.ndarray:
    """exp(y), squeezed into (0.5, 1) below 1x and capped at 20 000x (the simulator's rule)."""
    high = np.minimum(np.exp(np.minimum(y, 20.0)), 20_000.0)
    low = np.exp(np.log(0.5) * -np.expm1(np.minimum(y, 0.0)))
    return np.where(y >= 0.0, high, low)


def make_planted(n: int, seed: int, *, weeks: int = 12, signal: float = 1.0) -> Planted:
    """``n`` signals spread evenly over ``weeks`` weeks, sorted by time.

    ``signal`` scales f around its mean: 1.0 is the simulator's rule, 0.0 leaves pure noise
    (every row has the same outcome distribution, so no feature can predict anything).
    """
    rng = np.random.default_rng(seed)
    bundled = rng.random(n) < 0.28
    bundle_pct = np.where(bundled, rng.uniform(0.10, 0.45, n), rng.uniform(0.0, 0.09, n))
    top10 = np.clip(rng.normal(33.0, 9.0, n) + 60.0 * np.maximum(0.0, bundle_pct - 0.05), 8, 92)
    top10 = np.round(top10, 2)
    kol_count = rng.choice([1, 2, 3, 4], size=n, p=[0.45, 0.30, 0.15, 0.10]).astype(float)
    elite = rng.binomial(kol_count.astype(int), 0.12).astype(float)
    top_tier = rng.binomial((kol_count - elite).astype(int), 0.3).astype(float)
    sentiment = np.clip(rng.normal(0.0, 0.45, n), -1.0, 1.0)
    volume_ratio = np.exp(rng.normal(np.log(0.8), 0.9, n))
    mcap = np.exp(rng.normal(np.log(60_000.0), 0.9, n))
    narrative = (rng.random(n) < 0.40).astype(float)
    X = pd.DataFrame(
        {
            "holder_top10_pct": top10,
            "holder_top3_pct": np.round(top10 * rng.uniform(0.45, 0.7, n), 2),
            "holder_top1_pct": np.round(top10 * rng.uniform(0.2, 0.4, n), 2),
            "holder_count": rng.poisson(180, n).astype(float),
            "holder_growth_rate": rng.gamma(2.0, 0.5, n),
            "holder_gini_coefficient": rng.beta(8, 3, n),
            "holder_median_balance": np.exp(rng.normal(10, 1, n)),
            "volume_24h": volume_ratio * mcap,
            "volume_to_mcap_ratio": volume_ratio,
            "volume_spike_vs_avg": np.exp(rng.normal(0, 0.7, n)),
            "liquidity_depth": mcap * rng.uniform(0.08, 0.25, n),
            "liquidity_to_mcap": rng.uniform(0.08, 0.25, n),
            "kol_count": kol_count,
            "kol_elite_count": elite,
            "kol_top_count": top_tier,
            "kol_avg_win_rate": rng.beta(4, 6, n),
            "kol_total_sol": kol_count * rng.gamma(3.0, 1.5, n),
            "kol_entry_speed": rng.exponential(30.0, n),
            "price_momentum_5m": rng.normal(0, 0.1, n),
            "price_momentum_1h": rng.normal(0, 0.3, n),
            "price_momentum_24h": rng.normal(0, 0.8, n),
            "unique_buyers_first_hour": rng.poisson(60, n).astype(float),
            "avg_buy_size": rng.gamma(2.0, 0.4, n),
            "token_age_hours": np.exp(rng.normal(np.log(0.7), 0.9, n)),
            "narrative_match": narrative,
            "narrative_count": narrative * rng.poisson(1.5, n),
            "narrative_weight": narrative * rng.choice([0.4, 0.6, 0.8, 1.0], n),
            "narrative_fresh": narrative * (rng.random(n) < 0.5),
            "sol_price": rng.normal(180, 15, n),
            "overall_market_sentiment": sentiment,
            "bundle_detected": bundled.astype(float),
            "bundle_severity": np.round(bundle_pct, 4),
            "dev_sell_detected": (rng.random(n) < 0.15).astype(float),
            "top_holder_is_dev": (rng.random(n) < 0.1).astype(float),
        }
    )
    for i in range(N_NOISE):
        X[f"noise_{i:02d}"] = rng.normal(size=n) if i % 2 else rng.uniform(size=n)
    # missing values stay NaN (a live source has no sentiment-free momentum, etc.)
    X.loc[rng.random(n) < 0.1, "volume_spike_vs_avg"] = np.nan
    X.loc[rng.random(n) < 0.05, "price_momentum_24h"] = np.nan
    f = outcome_mean(X)
    f = f.mean() + signal * (f - f.mean())
    multiples = multiple_from_log(f + rng.normal(0.0, SIGMA, n))
    offsets = np.sort(rng.uniform(0.0, weeks * 7 * 86_400.0, n))
    ts = pd.Series(START + pd.to_timedelta(offsets, unit="s"), name="ts")
    return Planted(X=X, multiples=multiples, f=f, ts=ts)
