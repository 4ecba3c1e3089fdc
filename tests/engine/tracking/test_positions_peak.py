"""Realized never above peak: the four ways snapshots alone put a closed position's realized
multiple above its peak (issue 14), each with numbers worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.tracking.positions import build_positions, peak_of
from engine.tracking.positionstore import PriceSeries
from tests.conftest import MINT_X, WALLET_A, WALLET_B, at, trade


def _closed(trades):  # type: ignore[no-untyped-def]
    (position,) = build_positions(trades)
    assert position.closed_at is not None
    return position


def _series(points: list[tuple[float, float]]) -> PriceSeries:
    return PriceSeries((at(m), price) for m, price in points)


def test_a_fill_below_the_snapshot_price() -> None:
    # the market: 1.0 at opening, 1.5 at most -> run-up 1.5; the wallet paid half the market
    # price (0.5 SOL for 1,000) and sold at the market's 1.0 SOL: realized 2.0
    trades = [
        trade(WALLET_A, MINT_X, "buy", 1000, 0.5, 0),
        trade(WALLET_A, MINT_X, "sell", 1000, 1.0, 60),
    ]
    position = _closed(trades)
    market = _series([(-5, 1.0), (30, 1.5), (90, 1.2)]).peak_multiple(position.opened_at)
    assert market == pytest.approx(1.5) and position.multiple == pytest.approx(2.0)
    assert peak_of(position, market, trades) == pytest.approx(2.0)


def test_a_sell_into_a_spike_between_snapshots() -> None:
    # snapshots flat at 1.0; another KOL bought at 3x the wallet's price ten minutes in; the
    # wallet sold at 2.5x: peak 3.0 (the other swap), realized 2.5
    trades = [
        trade(WALLET_A, MINT_X, "buy", 1000, 1.0, 0),
        trade(WALLET_B, MINT_X, "buy", 100, 0.3, 10),
        trade(WALLET_A, MINT_X, "sell", 1000, 2.5, 12),
    ]
    position = _closed([t for t in trades if t.wallet == WALLET_A])
    market = _series([(-5, 1.0), (5, 1.0), (15, 1.0)]).peak_multiple(position.opened_at)
    assert market == pytest.approx(1.0)
    assert peak_of(position, market, trades) == pytest.approx(3.0)
    assert position.multiple == pytest.approx(2.5)


def test_a_sell_after_the_72_hours() -> None:
    # the run-up inside 72 h is 1.2; the wallet sold at 4x after 80 h; another wallet's 10x
    # swap after the window is not the wallet's and does not count: peak 4.0
    late = 80 * 60
    trades = [
        trade(WALLET_A, MINT_X, "buy", 1000, 1.0, 0),
        trade(WALLET_B, MINT_X, "buy", 100, 1.0, late - 10),
        trade(WALLET_A, MINT_X, "sell", 1000, 4.0, late),
    ]
    position = _closed([t for t in trades if t.wallet == WALLET_A])
    assert position.closed_at - position.opened_at > timedelta(hours=72)  # type: ignore[operator]
    market = _series([(-5, 1.0), (60, 1.2), (late, 4.0)]).peak_multiple(position.opened_at)
    assert market == pytest.approx(1.2)
    assert peak_of(position, market, trades) == pytest.approx(4.0)


def test_a_token_without_snapshots() -> None:
    trades = [
        trade(WALLET_A, MINT_X, "buy", 1000, 1.0, 0),
        trade(WALLET_A, MINT_X, "sell", 1000, 1.5, 30),
    ]
    position = _closed(trades)
    assert peak_of(position, None, trades) == pytest.approx(1.5) == position.multiple


def test_partial_sells_average_below_the_best_sell() -> None:
    # two sells of 500 at 1.0 and 3.0 SOL: realized (1 + 3) / 1 = 4.0... of a 1.0 SOL cost
    # the best sell price is 3.0 / 500 per token against 1.0 / 1000 at entry: 6.0
    trades = [
        trade(WALLET_A, MINT_X, "buy", 1000, 1.0, 0),
        trade(WALLET_A, MINT_X, "sell", 500, 1.0, 10),
        trade(WALLET_A, MINT_X, "sell", 500, 3.0, 20),
    ]
    position = _closed(trades)
    assert position.multiple == pytest.approx(4.0)
    assert peak_of(position, None, trades) == pytest.approx(6.0)
