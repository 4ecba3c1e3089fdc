"""Features at signal time: hand-checked values, and no leakage from later records."""

import dataclasses
import math
from datetime import timedelta

import pytest

from engine.records import ContextRecord
from engine.signals.features import (
    FEATURE_NAMES,
    OUTCOME_COLUMN,
    FeatureInputs,
    PriorSignal,
    compute_features,
)
from tests.conftest import (
    CREATOR,
    MINT_X,
    MINT_Y,
    WALLET_A,
    WALLET_B,
    WALLET_C,
    at,
    snapshot,
    token,
    trade,
)

TIERS = {WALLET_A: "elite", WALLET_B: "top", WALLET_C: "regular"}


def inputs_at_signal() -> FeatureInputs:
    t = at(0)
    return FeatureInputs(
        token=token(MINT_X, name="Doge Rocket", symbol="DROCK", bundle_pct=0.12),
        t=t,
        snapshots=[
            snapshot(MINT_X, -65, 40_000, holder_count=200),  # the first hour (created at -60)
            snapshot(MINT_X, -55, 45_000, holder_count=250, buys_1h=90),
            snapshot(MINT_X, -5, 60_000, holder_count=400, top10_pct=28.0, volume_24h=48_000.0),
        ],
        kol_tiers=TIERS,  # type: ignore[arg-type]
        kol_trades=[
            # WALLET_A's history: one win (2x) and one loss, both closed before t.
            trade(WALLET_A, MINT_Y, "buy", 10, 1.0, -600),
            trade(WALLET_A, MINT_Y, "sell", 10, 2.0, -500),
            trade(WALLET_A, "So11111111111111111111111111111111111111112", "buy", 10, 1.0, -400),
            trade(WALLET_A, "So11111111111111111111111111111111111111112", "sell", 10, 0.5, -300),
            # The wave at t: two KOLs buy in the same block.
            trade(WALLET_A, MINT_X, "buy", 1000, 2.0, 0),
            trade(WALLET_B, MINT_X, "buy", 500, 1.5, 0),
        ],
        creator_trades=[trade(CREATOR, MINT_X, "sell", 1000, 3.0, -10)],
        context=[ContextRecord(at(-30), 150.0, 0.25)],
        prior_signals=[
            PriorSignal("m1", at(-60 * 5), frozenset({"dog"})),  # within 24 h
            PriorSignal("m2", at(-60 * 24 * 3), frozenset({"dog"})),  # 3 days before: not fresh
            PriorSignal("m3", at(-60 * 2), frozenset({"cat"})),  # another narrative
        ],
    )


def test_values_by_hand() -> None:
    f = compute_features(inputs_at_signal())
    assert list(f) == list(FEATURE_NAMES) and OUTCOME_COLUMN not in f
    assert f["holder_top10_pct"] == 28.0
    assert f["holder_count"] == 400
    # the latest snapshot at or before t-1h (= -60) is the one at -65, with 200 holders
    assert f["holder_growth_rate"] == pytest.approx((400 - 200) / 200)
    assert f["volume_to_mcap_ratio"] == pytest.approx(48_000 / 60_000)
    assert f["volume_spike_vs_avg"] == pytest.approx(12_000 / (48_000 / 24))
    assert f["liquidity_to_mcap"] == pytest.approx(0.2)
    # the entry market cap: the signal snapshot (-5) is at 60,000 USD
    assert f["entry_mcap_usd"] == pytest.approx(math.log(60_000))
    assert f["kol_count"] == 2 and f["kol_elite_count"] == 1 and f["kol_top_count"] == 1
    assert f["kol_avg_win_rate"] == pytest.approx(0.5)  # only WALLET_A has closed positions: 1 of 2
    assert f["kol_total_sol"] == pytest.approx(3.5)
    assert f["kol_entry_speed"] == pytest.approx(60.0)
    assert f["price_momentum_1h"] == pytest.approx(0.10)
    # created at -60, so the first hour ends at t: the latest snapshot by then (-5) has 120 buys
    assert f["unique_buyers_first_hour"] == 120
    assert f["avg_buy_size"] == pytest.approx(48_000 / 480)
    assert f["token_age_hours"] == pytest.approx(1.0)
    assert f["narrative_match"] == 1 and f["narrative_count"] == 1 and f["narrative_fresh"] == 0
    assert f["narrative_weight"] == pytest.approx(0.8)
    assert f["sol_price"] == 150.0 and f["overall_market_sentiment"] == 0.25
    assert f["bundle_detected"] == 1 and f["bundle_severity"] == pytest.approx(0.12)
    assert f["dev_sell_detected"] == 1 and f["top_holder_is_dev"] == 0


def test_missing_data_is_nan_not_zero() -> None:
    inp = dataclasses.replace(
        inputs_at_signal(), snapshots=[], context=[], token=token(bundle_pct=None)
    )
    f = compute_features(inp)
    for name in (
        "holder_top10_pct",
        "volume_24h",
        "liquidity_depth",
        "sol_price",
        "bundle_detected",
    ):
        assert math.isnan(f[name]), name


def test_later_records_change_nothing() -> None:
    before = compute_features(inputs_at_signal())
    inp = inputs_at_signal()
    later = dataclasses.replace(
        inp,
        snapshots=[
            *inp.snapshots,
            snapshot(MINT_X, 1, 900_000, top10_pct=80.0),
            snapshot(MINT_X, 600, 5e6),
        ],
        kol_trades=[
            *inp.kol_trades,
            trade(WALLET_C, MINT_X, "buy", 100, 5.0, 1),  # a KOL joining one minute later
            trade(WALLET_A, MINT_X, "sell", 1000, 40.0, 30),  # the elite KOL takes profit
            trade(WALLET_B, MINT_Y, "buy", 10, 1.0, 2),
        ],
        creator_trades=[*inp.creator_trades, trade(CREATOR, MINT_X, "sell", 1, 1.0, 5)],
        context=[*inp.context, ContextRecord(at(1), 999.0, -1.0)],
        prior_signals=[*inp.prior_signals, PriorSignal("m4", at(1), frozenset({"dog"}))],
    )
    after = compute_features(later)
    assert after.keys() == before.keys()
    for name in FEATURE_NAMES:
        b, a = before[name], after[name]
        assert (math.isnan(a) and math.isnan(b)) or a == b, name


def test_signal_at_later_time_does_see_the_new_records() -> None:
    # The same inputs an hour later: the joined KOL now counts (a guard that the test above
    # would notice leakage if the filter were missing).
    inp = inputs_at_signal()
    later = dataclasses.replace(
        inp,
        t=inp.t + timedelta(hours=1),
        kol_trades=[*inp.kol_trades, trade(WALLET_C, MINT_X, "buy", 100, 5.0, 1)],
    )
    assert compute_features(later)["kol_count"] == 3


def test_live_snapshot_just_after_t_stands_in_but_nothing_later() -> None:
    inp = inputs_at_signal()
    # No snapshot at or before t: the first one within 5 minutes after t is the market at t.
    grace = dataclasses.replace(
        inp,
        snapshots=[
            snapshot(MINT_X, 3, 70_000, top10_pct=41.0),
            snapshot(MINT_X, 4, 90_000, top10_pct=55.0),
        ],
    )
    assert compute_features(grace)["holder_top10_pct"] == 41.0
    late = dataclasses.replace(inp, snapshots=[snapshot(MINT_X, 6, 70_000, top10_pct=41.0)])
    assert math.isnan(compute_features(late)["holder_top10_pct"])
    # With a snapshot at or before t, one after t is never used.
    both = dataclasses.replace(
        inp, snapshots=[*inp.snapshots, snapshot(MINT_X, 1, 70_000, top10_pct=41.0)]
    )
    assert compute_features(both)["holder_top10_pct"] == 28.0
