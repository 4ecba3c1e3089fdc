"""``SimSource``: the simulated market behind the ``MarketSource`` protocol, replayed.

``until`` is the replay's "now": nothing with a later timestamp is returned, so a tracker that
polls every few simulated minutes sees the market unfold as a live source would show it. Lookups
bisect per-wallet and per-mint lists, so a poll costs O(log n + answer).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from datetime import datetime

from engine.records import (
    ContextRecord,
    KolRecord,
    SnapshotRecord,
    TokenRecord,
    TradeRecord,
    WalletTrades,
)
from engine.sim.world import SimWorld

log = logging.getLogger(__name__)


def _after(times: list[datetime], since: datetime | None) -> int:
    return 0 if since is None else bisect.bisect_right(times, since)


class SimSource:
    """A replayable ``MarketSource`` over a generated ``SimWorld``."""

    def __init__(self, world: SimWorld) -> None:
        self.world = world
        self._index = world.index

    async def kols(self) -> list[KolRecord]:
        return list(self.world.kols)

    async def wallet_trades(
        self, wallet: str, after_signature: str | None, until: datetime
    ) -> WalletTrades:
        """Trades of ``wallet`` after the one with ``after_signature`` (all when None or
        unknown) up to ``until``, ordered by (block_time, slot, signature); every simulated
        transaction is a trade, so the cursor is the last one returned."""
        trades = self._index.trades_by_wallet.get(wallet, [])
        start = 0
        if after_signature is not None:
            pos = self._index.trade_pos_by_signature.get(after_signature)
            if pos is not None and pos < len(trades) and trades[pos].signature == after_signature:
                start = pos + 1
            else:
                log.warning(
                    "signature %s is not a trade of %s: returning all its trades",
                    after_signature,
                    wallet,
                )
        keys = self._index.trade_times_by_wallet.get(wallet, [])
        end = bisect.bisect_right(keys, until)
        new = trades[start:end] if start < end else []
        return WalletTrades(new, new[-1].signature if new else None)

    async def tokens(self, mints: Sequence[str]) -> list[TokenRecord]:
        by_mint = self._index.token_by_mint
        return sorted(
            (by_mint[m] for m in dict.fromkeys(mints) if m in by_mint),
            key=lambda t: (t.created_at, t.mint),
        )

    async def snapshots(
        self, mints: Sequence[str], since: datetime | None, until: datetime
    ) -> list[SnapshotRecord]:
        out: list[SnapshotRecord] = []
        for mint in dict.fromkeys(mints):
            times = self._index.snapshot_ts_by_mint.get(mint)
            if times:
                snaps = self._index.snapshots_by_mint[mint]
                out.extend(snaps[_after(times, since) : bisect.bisect_right(times, until)])
        out.sort(key=lambda s: (s.ts, s.mint))
        return out

    async def creator_trades(
        self, mints: Sequence[str], since: datetime | None, until: datetime
    ) -> list[TradeRecord]:
        out: list[TradeRecord] = []
        for mint in dict.fromkeys(mints):
            times = self._index.creator_ts_by_mint.get(mint)
            if times:
                trades = self._index.creator_trades_by_mint[mint]
                out.extend(trades[_after(times, since) : bisect.bisect_right(times, until)])
        out.sort(key=lambda t: t.chain_order)
        return out

    async def context(self, since: datetime | None, until: datetime) -> list[ContextRecord]:
        times = self._index.context_ts
        return self.world.contexts[_after(times, since) : bisect.bisect_right(times, until)]
