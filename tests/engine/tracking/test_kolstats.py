"""KOL stats on a hand-computed example."""

import math

import pytest

from engine.tracking.kolstats import compute_stats
from engine.tracking.positions import build_positions
from tests.conftest import MINT_X, MINT_Y, WALLET_A, trade

MINT_Z = "So11111111111111111111111111111111111111112"


def test_stats_by_hand() -> None:
    trades = [
        # X: bought 1 SOL, sold for 3 SOL after 2 h (3.0x) — the token peaked at 10x.
        trade(WALLET_A, MINT_X, "buy", 100, 1.0, 0),
        trade(WALLET_A, MINT_X, "sell", 100, 3.0, 120),
        # Y: bought 2 SOL, sold for 1 SOL after 1 h (0.5x) — peaked at 1.2x (not a winner).
        trade(WALLET_A, MINT_Y, "buy", 100, 2.0, 0),
        trade(WALLET_A, MINT_Y, "sell", 100, 1.0, 60),
        # Z: bought 1 SOL, sold for 1.5 SOL after 4 h (1.5x) — peaked at 2.25x.
        trade(WALLET_A, MINT_Z, "buy", 100, 1.0, 0),
        trade(WALLET_A, MINT_Z, "sell", 100, 1.5, 240),
    ]
    peaks = {MINT_X: 10.0, MINT_Y: 1.2, MINT_Z: 2.25}
    positions = [p.with_peak(peaks[p.mint]) for p in build_positions(trades)]
    stats = compute_stats(positions)
    assert stats.n_closed == 3
    assert stats.win_rate == pytest.approx(2 / 3)
    assert stats.three_x_rate == pytest.approx(1 / 3)
    assert stats.avg_hold_hours == pytest.approx((2 + 1 + 4) / 3)
    assert stats.total_pnl_sol == pytest.approx(2.0 - 1.0 + 0.5)
    # Winners (peak >= 2): X captures log 3 / log 10 = 0.4771, Z captures log 1.5 / log 2.25 = 0.5.
    assert stats.n_winners == 2
    assert stats.diamond_hand_score == pytest.approx(100 * (math.log(3) / math.log(10) + 0.5) / 2)
    assert stats.diamond_hand_score == pytest.approx(48.856, abs=1e-3)
    assert not stats.is_diamond_hand(threshold=50, min_positions=2)
    assert stats.is_diamond_hand(threshold=45, min_positions=2)
    assert not stats.is_diamond_hand(threshold=45, min_positions=3)


def test_no_history_gives_none_not_zero() -> None:
    stats = compute_stats([])
    assert stats.win_rate is None and stats.diamond_hand_score is None and stats.total_pnl_sol == 0
