"""The embedded simulated market: a seeded, deterministic memecoin market with a known truth.

It emits the records real sources give (KOL wallets and their swaps, token launches, creator
trades, 5-minute market snapshots, hourly SOL price and sentiment) through ``SimSource``, which
implements ``engine.records.MarketSource``. The same ``SimConfig`` always gives byte-identical
records (every random draw comes from string-seeded ``random.Random`` streams, one per token).

    world = generate(SimConfig(seed=7))      # 30 days x 30 tokens, 40 KOLs
    source = SimSource(world)                 # replay: nothing after ``until`` is returned
    world.oracle_probs(mint)                  # exact P(class | signal-time features)

The outcome rule
----------------
Every token gets one signal: the first KOL buy, a "wave" of 1-4 KOLs in one block at time t.
With x the signal-time feature values (``engine.signals.features`` computes each of them exactly from
the records, see ``oracle.F_INPUTS``)

    log(max multiple) = f(x) + e,     e ~ Normal(0, sigma^2),  sigma = SimConfig.noise_sigma = 1.05

(``SimConfig(noise_kind="skewed")`` replaces the normal e by a point mass of rugs and a heavy
right tail, with its own exact oracle: see ``engine.sim.oracle``.)

    f(x) = -0.10
           - 2.0   * [bundle_detected AND holder_top10_pct > 50]   bundled and concentrated: rug
           + 1.2   * kol_elite_count                                each elite KOL in the wave
           - 1.0   * dev_sell_detected                              the creator sold before t
           + 0.6   * [narrative_match AND kol_count >= 2]           a narrative that 2+ KOLs back
           + 0.3   * overall_market_sentiment                       market mood in [-1, 1]
           + 0.25  * ln(clip(volume_to_mcap_ratio, 0.05, 20))       turnover
           + 0.15  * (kol_count - 1)                                each extra KOL in the wave
           - 0.015 * (holder_top10_pct - 30)                        top-10 concentration

A narrative alone and a bundle alone do nothing: only the interactions are planted. The max
multiple is exp(y) (y = f + e), except below 1x, where it is squeezed into (0.5, 1), and above
20 000x, where it is capped; both stay inside one class, so the oracle is exactly

    P(class k | x) = Phi((ln b_k - f) / sigma) - Phi((ln b_(k-1) - f) / sigma)

with b = 1.5, 5, 10, 50, 100 (engine.learning.labels) and b_0 = 0, b_6 = infinity. The snapshots make the
engine's label rule (max mcap over (t, t+72h] / mcap of the latest snapshot at or before t) give
exactly that multiple: the peak is a snapshot tick and every other tick after t is lower.

KOL skill never enters f. KOLs choose tokens by observable quality (f's non-KOL terms), skilled
ones much more sharply, so elite and skilled KOLs end up in better tokens and their win rates
differ honestly; the oracle stays P(class | observable features). With the default mix about
65% of signals rug, 22% are small wins, 7% medium, 5.7% big, 0.6% moonshots, 0.25% mega moons.

Modules: ``config`` (SimConfig), ``oracle`` (f, the effects, class probabilities), ``simulate``
(``generate``: the story of each token), ``path`` (market-cap path), ``market`` (volume, holders, snapshots),
``kols`` (KOL traits, choices, exits), ``trades`` (legs to TradeRecords), ``context`` (SOL price,
sentiment), ``names`` (handles, token names), ``rand`` (seeded streams, base58 ids), ``world``
(SimWorld, SimTruth), ``source`` (SimSource).
"""

from __future__ import annotations

from engine.sim.config import SimConfig, SnapshotDetail
from engine.sim.kols import SimKol, Style
from engine.sim.oracle import EFFECTS, F_INPUTS, Effect, class_probs, outcome_mean
from engine.sim.simulate import generate
from engine.sim.source import SimSource
from engine.sim.world import SimTruth, SimWorld

__all__ = [
    "EFFECTS",
    "F_INPUTS",
    "Effect",
    "SimConfig",
    "SimKol",
    "SimSource",
    "SimTruth",
    "SimWorld",
    "SnapshotDetail",
    "Style",
    "class_probs",
    "generate",
    "outcome_mean",
]
