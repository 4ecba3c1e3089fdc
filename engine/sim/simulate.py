"""``generate(config) -> SimWorld``: the simulated market, token by token.

Each token follows one story, drawn from its own random stream:

1. launch: creation time within its day, name/symbol (40% narrative), creator, dev buy of 1-6%
   of supply, bundle share (28% bundled: 10-45% of supply, else 0-9%), a dev sell before the
   signal for 15% of tokens;
2. phase A, creation -> signal time t (5 min - 6 h later, median 40 min): market-cap path from the
   pump.fun launch (~28 SOL) to the entry mcap (log-normal, median $60k), volume and holders,
   and the snapshots up to t. top-10 concentration at t is ~N(33, 9) plus 60 x (bundle - 5%);
3. the KOL wave: its size and members react to the observable quality (engine.sim.kols);
4. the outcome: f from the signal-time features, y = f + N(0, sigma^2), max multiple, time to
   peak (longer for bigger runs; the first tick after t when below 1x);
5. phase B: the path after t (rise to the peak, then decay; rugs dump), snapshots to t + 72 h;
6. trades: the creator's launch buy and dev sells, the wave's buys in the signal block, later
   KOLs chasing runners, and every exit by style.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np

from engine.learning.labels import label_for_multiple
from engine.records import SnapshotRecord, TokenRecord, TradeRecord
from engine.signals.features import BUNDLE_THRESHOLD
from engine.signals.narratives import match_narratives
from engine.sim import market, rand
from engine.sim.config import SimConfig
from engine.sim.context import ContextSeries, generate_context
from engine.sim.kols import Leg, SimKol, choose_joiners, choose_wave, make_kols, plan_position
from engine.sim.names import token_name
from engine.sim.oracle import (
    class_probs,
    draw_log_multiple,
    multiple_from_log,
    outcome_mean,
    token_quality,
)
from engine.sim.path import PostPath, PrePath, PricePath
from engine.sim.trades import BOND_MCAP_USD, realize
from engine.sim.world import SimTruth, SimWorld

log = logging.getLogger(__name__)

LAUNCH_MCAP_SOL = 28.0
DAY_S = 86_400
HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class _TokenStory:
    token: TokenRecord
    snapshots: list[SnapshotRecord]
    trades: list[TradeRecord]
    truth: SimTruth


def generate(config: SimConfig) -> SimWorld:
    """The simulated market for ``config``; the same config gives identical records."""
    started = time.perf_counter()
    ctx = generate_context(config.seed, config.start, (config.n_days + 7) * 24)
    kols = make_kols(config)
    stories = [
        _token_story(config, ctx, kols, i, rand.stream(config.seed, "token", i))
        for i in range(config.n_tokens)
    ]
    world = SimWorld(
        config=config,
        kol_profiles=kols,
        kols=[k.record for k in kols],
        tokens=sorted((s.token for s in stories), key=lambda t: (t.created_at, t.mint)),
        trades=sorted((tr for s in stories for tr in s.trades), key=lambda t: t.chain_order),
        snapshots=sorted((sn for s in stories for sn in s.snapshots), key=lambda s: (s.ts, s.mint)),
        contexts=ctx.records(),
        truths=sorted((s.truth for s in stories), key=lambda t: (t.signal_time, t.mint)),
    )
    log.info(
        "simulated %d tokens, %d trades, %d snapshots in %.1f s (seed %d, %s)",
        len(world.tokens), len(world.trades), len(world.snapshots),
        time.perf_counter() - started, config.seed, config.snapshot_detail,
    )  # fmt: skip
    return world


def _peak_seconds(rng: random.Random, multiple: float, age_s: int) -> int:
    if multiple < 1.0:  # the first 5-minute tick after t, and down from there
        return (age_s // market.FIVE_MIN_S + 1) * market.FIVE_MIN_S - age_s
    hours = rand.lognormal(rng, 0.5 + 3.5 * math.log(multiple), 0.5)
    return int(rand.clip(hours, 0.1, 66.0) * HOUR_S)


def _post_path(rng: random.Random, l_entry: float, multiple: float, peak_s: int) -> PostPath:
    l_mult = math.log(multiple)
    rug = multiple < 1.5
    return PostPath(
        l_entry=l_entry,
        l_mult=l_mult,
        peak_s=float(peak_s),
        a=rng.uniform(0.7, 2.5),
        up_amp=min(0.3, 0.25 * abs(l_mult)) * rng.uniform(0.3, 1.0),
        up_waves=rng.randint(1, 4),
        drop=math.log(rng.uniform(4.0, 30.0) if rug else rng.uniform(1.5, 6.0)),
        drop_hours=rng.uniform(0.3, 3.0) if rug else rng.uniform(6.0, 48.0),
        post_amp=rng.uniform(0.02, 0.15),
        period_hours=rng.uniform(2.0, 10.0),
    )


def _signal_state(
    token: TokenRecord, snap: SnapshotRecord, dev_sold: bool, sentiment: float
) -> dict[str, float]:
    """The non-KOL inputs of f, read from the records exactly as engine.signals.features reads them."""
    assert (
        snap.top10_pct is not None and snap.volume_24h is not None and token.bundle_pct is not None
    )
    return {
        "kol_count": 1.0,
        "kol_elite_count": 0.0,
        "holder_top10_pct": snap.top10_pct,
        "volume_to_mcap_ratio": snap.volume_24h / snap.mcap_usd,
        "narrative_match": float(bool(match_narratives(token.name, token.symbol))),
        "bundle_detected": float(token.bundle_pct >= BUNDLE_THRESHOLD),
        "dev_sell_detected": float(dev_sold),
        "overall_market_sentiment": sentiment,
    }


def _token_story(
    config: SimConfig, ctx: ContextSeries, kols: list[SimKol], i: int, rng: random.Random
) -> _TokenStory:
    # 1. launch
    created_s = (i // config.tokens_per_day) * DAY_S + rng.randrange(DAY_S)
    age_s = int(rand.clip(rand.lognormal(rng, 2400.0, 0.9), 300.0, 6.0 * HOUR_S))
    t_s = created_s + age_s
    t = config.start + timedelta(seconds=t_s)
    name, symbol = token_name(rng)
    mint, creator = rand.pubkey(rng), rand.pubkey(rng)
    bundled = rng.random() < 0.28
    bundle_pct = round(rng.uniform(0.10, 0.45) if bundled else rng.uniform(0.0, 0.09), 4)
    dev_pct = round(rng.uniform(1.0, 6.0), 3)
    early_dev_sell = -rng.randint(60, age_s - 60) if rng.random() < 0.15 else None
    top10 = round(
        rand.clip(rng.gauss(33.0, 9.0) + 60.0 * max(0.0, bundle_pct - 0.05), 8.0, 92.0), 2
    )
    entry = round(rand.clip(rand.lognormal(rng, 60_000.0, 0.9), 12_000.0, 3_000_000.0), 2)
    launch = LAUNCH_MCAP_SOL * ctx.sol_at(created_s)
    token = TokenRecord(
        mint=mint,
        symbol=symbol,
        name=name,
        created_at=config.start + timedelta(seconds=created_s),
        creator=creator,
        decimals=6,
        bundle_pct=bundle_pct,
    )
    # 2. phase A: creation -> t
    pre = PrePath(
        age_s=float(age_s),
        l_launch=math.log(launch),
        l_entry=math.log(entry),
        b=rng.uniform(0.6, 2.0),
        amp=rng.uniform(0.05, 0.35),
        waves=rng.randint(1, 3),
    )
    params = market.MarketParams(
        mint=mint,
        age_s=age_s,
        entry_mcap=entry,
        top10_at_signal=top10,
        top3_ratio=rng.uniform(0.45, 0.7),
        top1_ratio=rng.uniform(0.35, 0.6),
        dev_pct=dev_pct,
        dev_sell_s=early_dev_sell,
        liquidity_frac=rng.uniform(0.08, 0.25),
        turnover=rand.lognormal(rng, 0.8, 0.6),
        avg_trade_usd=rng.uniform(60.0, 400.0),
        holder_coef=rng.uniform(0.3, 0.7),
    )
    tape_a = market.pre_tape(params, pre)
    snaps = market.snapshots(
        params, tape_a, market.pre_ticks(tape_a, age_s, config.snapshot_detail), pre.log_mcap, t
    )
    x = _signal_state(token, snaps[-1], early_dev_sell is not None, ctx.sentiment_at(t_s))
    # 3. the KOL wave
    wave = choose_wave(rng, kols, token_quality(x))
    x["kol_count"] = float(len(wave))
    x["kol_elite_count"] = float(sum(kols[k].tier == "elite" for k in wave))
    # 4. the outcome
    f = outcome_mean(x)
    y = draw_log_multiple(rng, f, config.noise_sigma, config.noise_kind)
    noise = y - f
    multiple = multiple_from_log(y)
    peak_mcap = entry * multiple
    peak_s = _peak_seconds(rng, multiple, age_s)
    path = PricePath(pre, _post_path(rng, pre.l_entry, multiple, peak_s))
    # 5. phase B: after t
    late_dev_sell = early_dev_sell
    if early_dev_sell is None and rng.random() < 0.6:
        late_dev_sell = (
            rng.randint(60, 3 * HOUR_S)
            if multiple < 1.5
            else max(60, peak_s + rng.randint(-1800, 6 * HOUR_S))
        )
    params_b = replace(params, dev_sell_s=late_dev_sell)
    tape = market.full_tape(params_b, tape_a, path, peak_mcap)
    ticks = market.post_ticks(tape, len(tape_a.s), path.post.peak_s, config.snapshot_detail)
    snaps += market.snapshots(params_b, tape, ticks, path.log_mcap, t)
    # 6. trades
    legs = [Leg(-age_s, creator, "buy", tokens=dev_pct / 100.0 * market.SUPPLY_TOKENS)]
    if late_dev_sell is not None:
        legs.append(Leg(late_dev_sell, creator, "sell"))
    for k in wave:
        legs += plan_position(rng, kols[k], 0, 0.0, path.post)
    n_join = min(rand.poisson(rng, 0.15 + 0.45 * max(0.0, math.log(multiple))), 6)
    for k in choose_joiners(rng, kols, wave, n_join):
        buy_s = rng.randint(120, max(600, int(min(peak_s, 24 * HOUR_S))))
        legs += plan_position(rng, kols[k], buy_s, path.log_mcap_at(buy_s) - pre.l_entry, path.post)
    bonded = np.flatnonzero(tape.mcap >= BOND_MCAP_USD)
    venue = "PumpSwap" if rng.random() < 0.65 else "Raydium AMM v4"

    def mcap_at(s: int) -> float:
        if s == 0:
            return entry
        return peak_mcap if s == peak_s else math.exp(path.log_mcap_at(s))

    trades = realize(
        rng,
        legs,
        mint=mint,
        t=t,
        t_s=t_s,
        base_slot=config.base_slot,
        mcap_at=mcap_at,
        sol_usd_at=ctx.sol_at,
        bond_s=float(tape.s[bonded[0]]) if len(bonded) else math.inf,
        venue=venue,
    )
    max_multiple = peak_mcap / entry
    truth = SimTruth(
        mint=mint,
        signal_time=t,
        entry_mcap_usd=entry,
        f=f,
        noise=noise,
        max_multiple=max_multiple,
        class_probs=class_probs(f, config.noise_sigma, config.noise_kind),
        time_to_peak_hours=peak_s / HOUR_S,
        label=label_for_multiple(max_multiple),
        f_inputs=x,
    )
    return _TokenStory(token=token, snapshots=snaps, trades=trades, truth=truth)
