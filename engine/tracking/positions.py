"""FIFO positions of a wallet in a token, rebuilt from its trades.

A position opens with a buy while the wallet holds none of the token and closes when its holdings
return to zero. Sells consume the oldest lots first (FIFO), so ``realized_pnl_sol`` of a partly
sold position is proceeds minus the FIFO cost of the tokens sold. A sell of more tokens than the
tracked buys hold (tokens that came from elsewhere) is capped at the holdings: only that share of
its proceeds counts, the rest is ignored.

``multiple`` is proceeds / cost of a closed position. ``peak_multiple`` is filled in by the caller
(see ``with_peak`` and ``peak_of``): how far the token ran after the wallet bought, the highest of

* the market's run-up: the highest snapshot price in the 72 hours after the position opened over
  the snapshot price at opening, and
* the swap prices over the wallet's own average entry price (SOL per raw unit, so no currency
  conversion): every tracked swap of the token in those 72 hours, and each of the wallet's own
  sells of the position whenever it happened.

A position's realized multiple is its average sell price over its average buy price, and every
sell price is among the swap prices, so ``multiple <= peak_multiple`` always holds. With snapshots
alone it did not (issue 14: 4 of 1,806 closed positions) when the wallet bought below the last
snapshot price, sold into a spike between snapshots, sold after the 72 hours, or the token had
no snapshot at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from engine.records import TradeRecord

PositionStatus = Literal["open", "closed"]
# How long after opening a position its peak is measured (the outcome horizon too).
PEAK_WINDOW = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class PositionState:
    wallet: str
    mint: str
    opened_at: datetime
    closed_at: datetime | None
    tokens_bought_raw: int
    tokens_sold_raw: int
    cost_sol: float
    proceeds_sol: float
    realized_pnl_sol: float
    peak_multiple: float | None = None

    @property
    def status(self) -> PositionStatus:
        return "closed" if self.closed_at is not None else "open"

    @property
    def multiple(self) -> float | None:
        """Proceeds over cost of a closed position; None while open."""
        if self.closed_at is None or self.cost_sol <= 0:
            return None
        return self.proceeds_sol / self.cost_sol

    @property
    def hold_hours(self) -> float | None:
        if self.closed_at is None:
            return None
        return (self.closed_at - self.opened_at).total_seconds() / 3600.0

    @property
    def entry_price_sol(self) -> float:
        """Average SOL paid per raw token unit."""
        return self.cost_sol / self.tokens_bought_raw if self.tokens_bought_raw else 0.0

    def with_peak(self, peak_multiple: float | None) -> PositionState:
        return replace(self, peak_multiple=peak_multiple)


@dataclass(slots=True)
class _Lot:
    tokens_raw: int
    cost_sol: float


@dataclass(slots=True)
class _Open:
    opened_at: datetime
    lots: deque[_Lot]
    bought_raw: int = 0
    sold_raw: int = 0
    cost: float = 0.0
    proceeds: float = 0.0
    realized: float = 0.0

    def holdings(self) -> int:
        return sum(lot.tokens_raw for lot in self.lots)


def build_positions(trades: Iterable[TradeRecord]) -> list[PositionState]:
    """All positions (closed and open) of the wallets and mints in ``trades``, oldest first."""
    by_key: dict[tuple[str, str], list[TradeRecord]] = {}
    for trade in trades:
        by_key.setdefault((trade.wallet, trade.mint), []).append(trade)
    positions: list[PositionState] = []
    for (wallet, mint), group in by_key.items():
        positions.extend(_positions_of(wallet, mint, sorted(group, key=lambda t: t.chain_order)))
    positions.sort(key=lambda p: (p.opened_at, p.wallet, p.mint))
    return positions


def _positions_of(wallet: str, mint: str, trades: Sequence[TradeRecord]) -> list[PositionState]:
    done: list[PositionState] = []
    cur: _Open | None = None
    for trade in trades:
        if trade.side == "buy":
            if trade.token_amount_raw <= 0:
                continue
            if cur is None:
                cur = _Open(opened_at=trade.block_time, lots=deque())
            cur.lots.append(_Lot(trade.token_amount_raw, trade.sol_amount))
            cur.bought_raw += trade.token_amount_raw
            cur.cost += trade.sol_amount
            continue
        if cur is None or trade.token_amount_raw <= 0:
            continue  # a sell of tokens we never saw bought: nothing to close
        held = cur.holdings()
        sold = min(trade.token_amount_raw, held)
        proceeds = trade.sol_amount * sold / trade.token_amount_raw
        fifo_cost = _consume(cur.lots, sold)
        cur.sold_raw += sold
        cur.proceeds += proceeds
        cur.realized += proceeds - fifo_cost
        if sold == held:
            done.append(_freeze(wallet, mint, cur, trade.block_time))
            cur = None
    if cur is not None:
        done.append(_freeze(wallet, mint, cur, None))
    return done


def _consume(lots: deque[_Lot], tokens_raw: int) -> float:
    """Remove ``tokens_raw`` from the oldest lots; return their cost."""
    cost = 0.0
    remaining = tokens_raw
    while remaining > 0 and lots:
        lot = lots[0]
        take = min(remaining, lot.tokens_raw)
        share = lot.cost_sol * take / lot.tokens_raw
        cost += share
        lot.cost_sol -= share
        lot.tokens_raw -= take
        remaining -= take
        if lot.tokens_raw == 0:
            lots.popleft()
    return cost


def _freeze(wallet: str, mint: str, cur: _Open, closed_at: datetime | None) -> PositionState:
    return PositionState(
        wallet=wallet,
        mint=mint,
        opened_at=cur.opened_at,
        closed_at=closed_at,
        tokens_bought_raw=cur.bought_raw,
        tokens_sold_raw=cur.sold_raw,
        cost_sol=cur.cost,
        proceeds_sol=cur.proceeds,
        realized_pnl_sol=cur.realized,
    )


def peak_of(
    state: PositionState, market_peak: float | None, swaps: Sequence[TradeRecord]
) -> float | None:
    """``state``'s peak multiple (see the module docstring): ``market_peak`` (the snapshots'
    run-up, or None) and the swaps of its token (any tracked wallet's, in time order)."""
    entry = state.entry_price_sol
    best = market_peak
    if entry <= 0:
        return best
    end = state.opened_at + PEAK_WINDOW
    for t in swaps:
        if t.token_amount_raw <= 0 or t.block_time < state.opened_at:
            continue
        own_sell = (
            t.wallet == state.wallet
            and t.side == "sell"
            and (state.closed_at is None or t.block_time <= state.closed_at)
        )
        if t.block_time > end and not own_sell:
            continue
        ratio = t.sol_amount / t.token_amount_raw / entry
        best = ratio if best is None else max(best, ratio)
    return best
