"""The simulated market is deterministic, and its records look like Solana's."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest

from engine.signals.narratives import match_narratives
from engine.sim import SimConfig, SimWorld, generate
from engine.sim.names import neutral_words, token_name
from engine.sources.address import validate_address
from engine.sources.base58 import b58decode, b58encode

SMALL = SimConfig(n_days=2, tokens_per_day=15)


@pytest.fixture(scope="module")
def world() -> SimWorld:
    return generate(SMALL)


def _lists(world: SimWorld) -> tuple[Sequence[object], ...]:
    return (
        world.kols, world.kol_profiles, world.tokens, world.trades, world.snapshots,
        world.contexts, world.truths,
    )  # fmt: skip


def test_same_config_gives_identical_records(world: SimWorld) -> None:
    again = generate(SMALL)
    for mine, theirs in zip(_lists(world), _lists(again), strict=True):
        assert mine == theirs
    assert repr(world.trades) == repr(again.trades)  # byte-identical, not just equal floats


def test_another_seed_gives_another_market(world: SimWorld) -> None:
    other = generate(dataclasses.replace(SMALL, seed=8))
    assert {k.wallet for k in other.kols}.isdisjoint(k.wallet for k in world.kols)
    assert other.trades != world.trades
    assert [t.max_multiple for t in other.truths] != [t.max_multiple for t in world.truths]


def test_lean_keeps_the_story_and_a_subset_of_the_snapshots(world: SimWorld) -> None:
    lean = generate(dataclasses.replace(SMALL, snapshot_detail="lean"))
    assert lean.trades == world.trades
    assert lean.tokens == world.tokens
    assert lean.truths == world.truths
    full = set(world.snapshots)
    assert all(s in full for s in lean.snapshots)
    assert len(lean.snapshots) <= 5 * len(lean.tokens) < len(world.snapshots)


def test_lists_are_sorted_oldest_first(world: SimWorld) -> None:
    assert world.tokens == sorted(world.tokens, key=lambda t: (t.created_at, t.mint))
    assert world.trades == sorted(world.trades, key=lambda t: (t.block_time, t.slot, t.signature))
    assert world.snapshots == sorted(world.snapshots, key=lambda s: (s.ts, s.mint))
    assert world.truths == sorted(world.truths, key=lambda t: t.signal_time)
    gaps = {b.ts - a.ts for a, b in zip(world.contexts, world.contexts[1:], strict=False)}
    assert gaps == {timedelta(hours=1)}
    assert world.contexts[0].ts == SMALL.start


def test_kols_have_tiers_styles_and_names() -> None:
    world = generate(SimConfig(n_days=1, tokens_per_day=1))
    assert Counter(k.tier for k in world.kols) == {"elite": 8, "top": 12, "regular": 20}
    assert len({k.name for k in world.kols}) == 40
    assert {k.style for k in world.kol_profiles} == {"diamond", "paper", "mixed"}
    assert all(0.5 <= k.buy_sol <= 20 for k in world.kol_profiles)


def test_addresses_and_signatures_are_base58_of_the_right_size(world: SimWorld) -> None:
    keys = (
        [k.wallet for k in world.kols]
        + [t.mint for t in world.tokens]
        + [t.creator for t in world.tokens]
    )
    for key in keys:
        assert validate_address(key) == key
        assert len(key) in (43, 44)
    for trade in world.trades:
        assert len(trade.signature) in (87, 88)
        assert len(b58decode(trade.signature)) == 64
    assert len({t.signature for t in world.trades}) == len(world.trades)


def test_base58_round_trips_with_leading_zeros() -> None:
    rng = random.Random(3)
    for size in (0, 1, 2, 32, 64):
        for _ in range(300):
            data = bytes(rng.getrandbits(8) if rng.random() < 0.8 else 0 for _ in range(size))
            assert b58decode(b58encode(data)) == data


def test_trades_follow_the_token_story(world: SimWorld) -> None:
    kols = {k.wallet for k in world.kols}
    tokens = {t.mint: t for t in world.tokens}
    for trade in world.trades:
        assert trade.wallet in kols or trade.wallet == tokens[trade.mint].creator
        assert trade.token_amount_raw > 0 and trade.sol_amount_lamports > 0 and trade.decimals == 6
        assert trade.program in ("pump.fun", "PumpSwap", "Raydium AMM v4", "Jupiter v6")
        seconds = (trade.block_time - SMALL.start).total_seconds()
        assert trade.slot == SMALL.base_slot + int(seconds) * 5 // 2
    for truth in world.truths:
        token = tokens[truth.mint]
        mine = [t for t in world.trades if t.mint == truth.mint]
        first = mine[0]
        assert (first.wallet, first.side, first.block_time) == (
            token.creator,
            "buy",
            token.created_at,
        )
        assert first.program == "pump.fun"
        kol_buys = [t for t in mine if t.side == "buy" and t.wallet in kols]
        wave = [t for t in kol_buys if t.block_time == truth.signal_time]
        assert min(t.block_time for t in kol_buys) == truth.signal_time
        assert len({t.slot for t in wave}) == 1 and len({t.wallet for t in wave}) == len(wave)
        assert wave and len(wave) == truth.f_inputs["kol_count"]
        assert timedelta(minutes=5) <= truth.signal_time - token.created_at <= timedelta(hours=6)


def test_token_names_carry_narratives_about_forty_percent_of_the_time() -> None:
    rng = random.Random(11)
    names = [token_name(rng) for _ in range(2000)]
    share = sum(bool(match_narratives(n, s)) for n, s in names) / len(names)
    assert 0.36 < share < 0.44
    assert not any(match_narratives(w, w.upper()) for w in neutral_words())


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        SimConfig(snapshot_detail="huge")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SimConfig(start=SMALL.start.replace(tzinfo=None))
    with pytest.raises(ValueError):
        SimConfig(n_kols=3)
