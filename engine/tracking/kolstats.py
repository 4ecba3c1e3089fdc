"""KOL statistics from their positions.

Definitions (over the wallet's positions, as of a given time):

- ``n_closed``: positions closed (holdings back to zero).
- ``win_rate``: share of closed positions whose ``multiple`` (proceeds / cost) is above 1.
- ``three_x_rate``: share of closed positions with ``multiple`` >= 3.
- ``avg_hold_hours``: mean time from open to close of closed positions.
- ``total_pnl_sol``: realized FIFO profit over all positions, closed and partly sold.
- ``diamond_hand_score`` (0..100): how much of a winner's run the wallet kept. For each closed
  position whose token reached at least 2x after the wallet bought (``peak_multiple`` >= 2, see
  ``engine.tracking.positions``), capture = log(multiple) / log(peak_multiple), clipped to [0, 1]; the score
  is 100 x the mean capture. A wallet that sells a 10x runner at 1.3x scores ~11 on it, one that
  exits at 8x scores ~90. None until the wallet has such a position.

A wallet is a *Diamond Hand KOL* when its score is at least the configured threshold over at least
``min_positions`` qualifying positions.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.records import TradeRecord
from engine.tracking.positions import PositionState, build_positions

WINNER_PEAK = 2.0


@dataclass(frozen=True, slots=True)
class KolStats:
    n_positions: int
    n_closed: int
    win_rate: float | None
    three_x_rate: float | None
    avg_hold_hours: float | None
    total_pnl_sol: float
    diamond_hand_score: float | None
    n_winners: int  # closed positions that reached >= 2x after entry (the DH score's base)

    def is_diamond_hand(self, threshold: float, min_positions: int) -> bool:
        return (
            self.diamond_hand_score is not None
            and self.n_winners >= min_positions
            and self.diamond_hand_score >= threshold
        )


def _capture(multiple: float, peak: float) -> float:
    if multiple <= 0:
        return 0.0
    return min(1.0, max(0.0, math.log(multiple) / math.log(peak)))


def compute_stats(positions: Sequence[PositionState]) -> KolStats:
    """Stats of one wallet's positions.

    To get the stats as known at an instant, build the positions from the trades up to it (and
    peaks from snapshots up to it): nothing here looks at the clock.
    """
    closed = [p for p in positions if p.closed_at is not None]
    multiples = [m for p in closed if (m := p.multiple) is not None]
    holds = [h for p in closed if (h := p.hold_hours) is not None]
    winners = [
        (m, pk)
        for p in closed
        if (m := p.multiple) is not None
        and (pk := p.peak_multiple) is not None
        and pk >= WINNER_PEAK
    ]
    return KolStats(
        n_positions=len(positions),
        n_closed=len(closed),
        win_rate=sum(m > 1.0 for m in multiples) / len(multiples) if multiples else None,
        three_x_rate=sum(m >= 3.0 for m in multiples) / len(multiples) if multiples else None,
        avg_hold_hours=sum(holds) / len(holds) if holds else None,
        total_pnl_sol=sum(p.realized_pnl_sol for p in positions),
        diamond_hand_score=(
            100.0 * sum(_capture(m, pk) for m, pk in winners) / len(winners) if winners else None
        ),
        n_winners=len(winners),
    )


class WinRateIndex:
    """Win rates as of any instant, from every trade of some wallets, without rebuilding FIFO
    positions per question.

    A position closed by ``t`` is built from trades at or before its close, so it is the same
    whether positions are built from all trades or only from those up to ``t``: the win rate as
    of ``t`` is the share of wins among positions closed by ``t``. (The engine's features use
    this; ``tests/engine/test_features.py`` checks it against rebuilding positions.)
    """

    def __init__(self, trades: Iterable[TradeRecord]) -> None:
        closes: dict[str, list[tuple[datetime, bool]]] = {}
        for p in build_positions(trades):
            if p.closed_at is not None and (m := p.multiple) is not None:
                closes.setdefault(p.wallet, []).append((p.closed_at, m > 1.0))
        self._times: dict[str, list[datetime]] = {}
        self._wins: dict[str, list[int]] = {}  # cumulative wins
        for wallet, events in closes.items():
            events.sort()
            self._times[wallet] = [ts for ts, _ in events]
            running, cumulative = 0, []
            for _, win in events:
                running += win
                cumulative.append(running)
            self._wins[wallet] = cumulative

    def win_rate(self, wallet: str, t: datetime) -> float | None:
        """Share of the wallet's positions closed at or before ``t`` that made money."""
        n = bisect.bisect_right(self._times.get(wallet, []), t)
        return self._wins[wallet][n - 1] / n if n else None
