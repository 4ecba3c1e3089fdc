"""FIFO positions on a hand-computed example."""

import pytest

from engine.tracking.positions import build_positions
from tests.conftest import MINT_X, MINT_Y, WALLET_A, at, trade


def test_fifo_partial_sells_and_close() -> None:
    trades = [
        trade(WALLET_A, MINT_X, "buy", 100, 1.0, 0),  # lot 1: 100 tokens for 1 SOL (0.01/token)
        trade(WALLET_A, MINT_X, "buy", 100, 2.0, 10),  # lot 2: 100 tokens for 2 SOL (0.02/token)
        trade(WALLET_A, MINT_X, "sell", 150, 6.0, 20),  # FIFO cost: 1.0 + 50*0.02 = 2.0 -> +4.0
        trade(WALLET_A, MINT_X, "sell", 50, 0.5, 30),  # cost 50*0.02 = 1.0 -> -0.5; closes
    ]
    (pos,) = build_positions(trades)
    assert pos.status == "closed"
    assert pos.opened_at == at(0) and pos.closed_at == at(30)
    assert pos.cost_sol == pytest.approx(3.0)
    assert pos.proceeds_sol == pytest.approx(6.5)
    assert pos.realized_pnl_sol == pytest.approx(3.5)
    assert pos.multiple == pytest.approx(6.5 / 3.0)
    assert pos.hold_hours == pytest.approx(0.5)


def test_open_position_realizes_only_what_was_sold() -> None:
    trades = [
        trade(WALLET_A, MINT_X, "buy", 100, 1.0, 0),
        trade(WALLET_A, MINT_X, "buy", 100, 3.0, 5),
        trade(WALLET_A, MINT_X, "sell", 100, 2.0, 9),  # sells exactly lot 1: +1.0
    ]
    (pos,) = build_positions(trades)
    assert pos.status == "open" and pos.multiple is None
    assert pos.realized_pnl_sol == pytest.approx(1.0)
    assert pos.tokens_sold_raw == 100_000_000


def test_reopen_after_close_is_a_new_position_and_oversell_is_capped() -> None:
    trades = [
        trade(WALLET_A, MINT_X, "buy", 10, 1.0, 0),
        trade(WALLET_A, MINT_X, "sell", 20, 4.0, 1),  # only 10 were bought: half the proceeds count
        trade(WALLET_A, MINT_X, "buy", 10, 1.0, 2),
        trade(WALLET_A, MINT_Y, "sell", 5, 1.0, 3),  # never bought: ignored
    ]
    first, second = build_positions(trades)
    assert first.closed_at == at(1) and first.proceeds_sol == pytest.approx(2.0)
    assert first.multiple == pytest.approx(2.0)
    assert second.opened_at == at(2) and second.status == "open"


def test_order_of_input_does_not_matter() -> None:
    trades = [
        trade(WALLET_A, MINT_X, "buy", 100, 1.0, 0),
        trade(WALLET_A, MINT_X, "sell", 100, 2.0, 5),
    ]
    assert build_positions(trades) == build_positions(list(reversed(trades)))
