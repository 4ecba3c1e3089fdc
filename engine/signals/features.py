"""Signal features: the token described at signal time ``t`` from records with timestamps <= t.

The names are a public contract (CSV import, model sidecars, charts). Each value is a float; a
boolean is 1.0/0.0; a value the records cannot give is NaN (never silently 0).

Holder ("the snapshot": the latest snapshot at or before t; when there is none, the first one at
most SNAPSHOT_GRACE after t — a live source reads a token's market only after the KOL buy that
made it interesting, and that first reading is the earliest moment anyone could act on the
signal. Nothing later than that is ever used):
  holder_top10_pct, holder_top3_pct, holder_top1_pct   share of supply (0..100) of the largest
                                 owners, pool/bonding-curve/burn accounts excluded
  holder_count                   owners with a non-zero balance
  holder_growth_rate             (holders now - holders at the latest snapshot <= t-1h) / the
                                 latter: relative growth over the last hour
  holder_gini_coefficient        Gini of owner balances (0 equal .. 1 one owner)
  holder_median_balance          median owner balance, whole tokens
Volume/liquidity (the snapshot):
  volume_24h                     USD traded over 24 h (since launch for younger tokens)
  volume_to_mcap_ratio           volume_24h / market cap
  volume_spike_vs_avg            volume_1h / (volume_24h / 24)
  liquidity_depth                pool liquidity, USD
  liquidity_to_mcap              liquidity / market cap
  entry_mcap_usd                 ln(market cap in USD) of the snapshot: the entry the label's
                                 multiple is measured from (issue 13; signal-time, so no leak)
KOL (tracked-KOL buys of the token with block_time <= t):
  kol_count, kol_elite_count, kol_top_count   distinct KOL wallets, all / elite / top tier
  kol_avg_win_rate               mean win rate of those KOLs over their positions closed by t
                                 (see engine.tracking.kolstats); NaN when none has a closed position
  kol_total_sol                  SOL they spent on the token
  kol_entry_speed                minutes from the token's creation to the first KOL buy
Momentum/timing:
  price_momentum_5m, _1h, _24h   the snapshot's price change over the window, as a fraction
  unique_buyers_first_hour       buy transactions in the token's first hour (the 1h buy count of
                                 the latest snapshot at or before min(t, created_at + 1h)); an
                                 upper bound on unique buyers, which the sources do not give
  avg_buy_size                   USD per transaction over 24 h: volume_24h / (buys + sells)
  token_age_hours                hours from creation to t
Narrative/context:
  narrative_match                1 if the name or symbol matches a narrative (engine.signals.narratives)
  narrative_count                signals of other tokens of the same narrative in the 24 h before t
  narrative_weight               the matched narratives' largest prior weight (0 when none)
  narrative_fresh                1 if the narrative is matched and had no signal in the 6 days
                                 before that 24 h window (a theme that has just (re)appeared)
  sol_price                      SOL/USD, latest context record at or before t
  overall_market_sentiment       market sentiment index in [-1, 1], same record
Risk:
  bundle_detected                1 if the bundle (supply bought in the creation slot by others
                                 than the creator) is at least BUNDLE_THRESHOLD
  bundle_severity                that share, 0..1
  dev_sell_detected              1 if the creator sold the token at or before t
  top_holder_is_dev              1 if the largest owner is the creator (the snapshot)

``price_ath_from_entry`` (the highest multiple after t) is the outcome, not a feature.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from engine.records import ContextRecord, SnapshotRecord, Tier, TokenRecord, TradeRecord
from engine.signals.narratives import match_narratives
from engine.tracking.kolstats import WinRateIndex, compute_stats
from engine.tracking.positions import build_positions

FEATURE_NAMES: Final[tuple[str, ...]] = (
    "holder_top10_pct",
    "holder_top3_pct",
    "holder_top1_pct",
    "holder_count",
    "holder_growth_rate",
    "holder_gini_coefficient",
    "holder_median_balance",
    "volume_24h",
    "volume_to_mcap_ratio",
    "volume_spike_vs_avg",
    "liquidity_depth",
    "liquidity_to_mcap",
    "entry_mcap_usd",
    "kol_count",
    "kol_elite_count",
    "kol_top_count",
    "kol_avg_win_rate",
    "kol_total_sol",
    "kol_entry_speed",
    "price_momentum_5m",
    "price_momentum_1h",
    "price_momentum_24h",
    "unique_buyers_first_hour",
    "avg_buy_size",
    "token_age_hours",
    "narrative_match",
    "narrative_count",
    "narrative_weight",
    "narrative_fresh",
    "sol_price",
    "overall_market_sentiment",
    "bundle_detected",
    "bundle_severity",
    "dev_sell_detected",
    "top_holder_is_dev",
)
BOOLEAN_FEATURES: Final[frozenset[str]] = frozenset(
    {
        "narrative_match",
        "narrative_fresh",
        "bundle_detected",
        "dev_sell_detected",
        "top_holder_is_dev",
    }
)
OUTCOME_COLUMN: Final[str] = "price_ath_from_entry"  # never a feature
BUNDLE_THRESHOLD: Final[float] = 0.10
NARRATIVE_HEAT_WINDOW: Final[timedelta] = timedelta(hours=24)
NARRATIVE_FRESH_LOOKBACK: Final[timedelta] = timedelta(days=6)
SNAPSHOT_GRACE: Final[timedelta] = timedelta(minutes=5)

NAN = math.nan
Features = dict[str, float]


@dataclass(frozen=True, slots=True)
class PriorSignal:
    """Another token's signal, for the narrative features."""

    mint: str
    ts: datetime
    narratives: frozenset[str]


@dataclass(slots=True)
class FeatureInputs:
    """Everything the features of one signal may look at. Records after ``t`` may be present:
    ``compute_features`` ignores them, so a caller cannot leak the future by passing too much."""

    token: TokenRecord
    t: datetime
    snapshots: Sequence[SnapshotRecord] = ()
    kol_tiers: Mapping[str, Tier] = field(default_factory=dict)
    # Every trade of the KOLs that bought this token (all mints): their win rates come from it.
    kol_trades: Sequence[TradeRecord] = ()
    creator_trades: Sequence[TradeRecord] = ()
    context: Sequence[ContextRecord] = ()
    prior_signals: Sequence[PriorSignal] = ()
    # Optional: answers the KOL win rates from an index over all their trades instead of
    # rebuilding positions from ``kol_trades`` (same values; for building large datasets).
    win_rates: WinRateIndex | None = None


def _f(value: float | int | bool | None) -> float:
    return NAN if value is None else float(value)


def _ratio(num: float | None, den: float | None) -> float:
    if num is None or den is None or den == 0:
        return NAN
    return num / den


def _latest_at(snapshots: Iterable[SnapshotRecord], t: datetime) -> SnapshotRecord | None:
    best: SnapshotRecord | None = None
    for s in snapshots:
        if s.ts <= t and (best is None or s.ts >= best.ts):
            best = s
    return best


def signal_snapshot(
    snapshots: Iterable[SnapshotRecord], mint: str, t: datetime
) -> SnapshotRecord | None:
    """The market at signal time: the latest snapshot at or before ``t``, else the first within
    ``SNAPSHOT_GRACE`` after it (see the module docstring)."""
    mine = [s for s in snapshots if s.mint == mint and s.ts <= t + SNAPSHOT_GRACE]
    before = _latest_at(mine, t)
    if before is not None:
        return before
    return min((s for s in mine if s.ts > t), key=lambda s: s.ts, default=None)


def compute_features(inp: FeatureInputs) -> Features:
    """The FEATURE_NAMES values for a signal at ``inp.t`` (see the module docstring)."""
    t, token = inp.t, inp.token
    snaps = [s for s in inp.snapshots if s.mint == token.mint and s.ts <= t]
    snap = signal_snapshot(inp.snapshots, token.mint, t)
    hour_ago = _latest_at(snaps, t - timedelta(hours=1))
    first_hour = _latest_at(snaps, min(t, token.created_at + timedelta(hours=1)))
    out: Features = dict.fromkeys(FEATURE_NAMES, NAN)

    if snap is not None:
        out["holder_top10_pct"] = _f(snap.top10_pct)
        out["holder_top3_pct"] = _f(snap.top3_pct)
        out["holder_top1_pct"] = _f(snap.top1_pct)
        out["holder_count"] = _f(snap.holder_count)
        out["holder_gini_coefficient"] = _f(snap.holder_gini)
        out["holder_median_balance"] = _f(snap.holder_median_balance)
        if hour_ago is not None and hour_ago.holder_count and snap.holder_count is not None:
            out["holder_growth_rate"] = (
                snap.holder_count - hour_ago.holder_count
            ) / hour_ago.holder_count
        out["volume_24h"] = _f(snap.volume_24h)
        out["volume_to_mcap_ratio"] = _ratio(snap.volume_24h, snap.mcap_usd)
        if snap.volume_24h:
            out["volume_spike_vs_avg"] = _ratio(snap.volume_1h, snap.volume_24h / 24.0)
        out["liquidity_depth"] = _f(snap.liquidity_usd)
        out["liquidity_to_mcap"] = _ratio(snap.liquidity_usd, snap.mcap_usd)
        if snap.mcap_usd > 0:
            out["entry_mcap_usd"] = math.log(snap.mcap_usd)
        for window in ("5m", "1h", "24h"):
            change = getattr(snap, f"price_change_{window}")
            out[f"price_momentum_{window}"] = NAN if change is None else change / 100.0
        if snap.buys_24h is not None and snap.sells_24h is not None:
            out["avg_buy_size"] = _ratio(snap.volume_24h, snap.buys_24h + snap.sells_24h)
        out["top_holder_is_dev"] = _f(snap.top_holder_is_dev)
    if first_hour is not None:
        out["unique_buyers_first_hour"] = _f(first_hour.buys_1h)

    out.update(_kol_features(inp))
    out["token_age_hours"] = (t - token.created_at).total_seconds() / 3600.0
    out.update(_narrative_features(token, t, inp.prior_signals))

    ctx = max((c for c in inp.context if c.ts <= t), key=lambda c: c.ts, default=None)
    if ctx is not None:
        out["sol_price"] = ctx.sol_price_usd
        out["overall_market_sentiment"] = _f(ctx.sentiment)

    if token.bundle_pct is not None:
        out["bundle_severity"] = token.bundle_pct
        out["bundle_detected"] = float(token.bundle_pct >= BUNDLE_THRESHOLD)
    out["dev_sell_detected"] = float(
        any(
            tr.side == "sell"
            and tr.mint == token.mint
            and tr.wallet == token.creator
            and tr.block_time <= t
            for tr in inp.creator_trades
        )
    )
    return out


def _kol_features(inp: FeatureInputs) -> Features:
    t, mint = inp.t, inp.token.mint
    known = [tr for tr in inp.kol_trades if tr.block_time <= t and tr.wallet in inp.kol_tiers]
    buys = [tr for tr in known if tr.mint == mint and tr.side == "buy"]
    wallets = {tr.wallet for tr in buys}
    out: Features = {
        "kol_count": float(len(wallets)),
        "kol_elite_count": float(sum(inp.kol_tiers[w] == "elite" for w in wallets)),
        "kol_top_count": float(sum(inp.kol_tiers[w] == "top" for w in wallets)),
        "kol_total_sol": float(sum(tr.sol_amount for tr in buys)),
        "kol_avg_win_rate": NAN,
        "kol_entry_speed": NAN,
    }
    if buys:
        first = min(tr.block_time for tr in buys)
        out["kol_entry_speed"] = (first - inp.token.created_at).total_seconds() / 60.0
    rates = []
    for wallet in sorted(wallets):
        if inp.win_rates is not None:
            rate = inp.win_rates.win_rate(wallet, t)
        else:
            rate = compute_stats(
                build_positions(tr for tr in known if tr.wallet == wallet)
            ).win_rate
        if rate is not None:
            rates.append(rate)
    if rates:
        out["kol_avg_win_rate"] = sum(rates) / len(rates)
    return out


def _narrative_features(token: TokenRecord, t: datetime, prior: Sequence[PriorSignal]) -> Features:
    matched = match_narratives(token.name, token.symbol)
    names = frozenset(n.name for n in matched)
    if not names:
        return {
            "narrative_match": 0.0,
            "narrative_count": 0.0,
            "narrative_weight": 0.0,
            "narrative_fresh": 0.0,
        }
    heat_start = t - NARRATIVE_HEAT_WINDOW
    fresh_start = heat_start - NARRATIVE_FRESH_LOOKBACK
    same = [p for p in prior if p.mint != token.mint and p.ts < t and p.narratives & names]
    heat = sum(p.ts >= heat_start for p in same)
    before = any(fresh_start <= p.ts < heat_start for p in same)
    return {
        "narrative_match": 1.0,
        "narrative_count": float(heat),
        "narrative_weight": max(n.weight for n in matched),
        "narrative_fresh": float(not before),
    }


def json_features(features: Mapping[str, float]) -> dict[str, float | None]:
    """Features for a JSON column: NaN (not valid JSON) becomes null."""
    return {k: None if math.isnan(v) else v for k, v in features.items()}


def feature_vector(features: Mapping[str, float | None]) -> list[float]:
    """Values in FEATURE_NAMES order (absent names and nulls are NaN)."""
    values = (features.get(name) for name in FEATURE_NAMES)
    return [NAN if v is None else float(v) for v in values]
