"""The generated market: records in the engine's shapes plus the hidden truth of each signal."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from engine.errors import UnknownToken
from engine.records import ContextRecord, KolRecord, SnapshotRecord, Tier, TokenRecord, TradeRecord
from engine.signals.features import FeatureInputs, PriorSignal
from engine.signals.narratives import match_narratives
from engine.sim.config import SimConfig
from engine.sim.kols import SimKol


@dataclass(frozen=True, slots=True)
class SimTruth:
    """What really happened to one signal (never shown to the model).

    ``f`` is the deterministic part of log(max multiple), ``noise`` the Normal draw added to it,
    ``max_multiple`` = peak mcap / entry mcap as the snapshots give it, ``class_probs`` the
    oracle's P(class | signal-time features). ``f_inputs`` holds the feature values f read.
    """

    mint: str
    signal_time: datetime
    entry_mcap_usd: float
    f: float
    noise: float
    max_multiple: float
    class_probs: tuple[float, ...]
    time_to_peak_hours: float
    label: int
    f_inputs: Mapping[str, float]


class WorldIndex:
    """Per-wallet and per-mint views of a world's records (sorted like the world's lists)."""

    def __init__(self, world: SimWorld) -> None:
        self.token_by_mint = {t.mint: t for t in world.tokens}
        self.tier_by_wallet: dict[str, Tier] = {k.wallet: k.tier for k in world.kols}
        self.trades_by_wallet: dict[str, list[TradeRecord]] = {}
        self.creator_trades_by_mint: dict[str, list[TradeRecord]] = {}
        self.kol_buys_by_mint: dict[str, list[TradeRecord]] = {}
        for trade in world.trades:
            self.trades_by_wallet.setdefault(trade.wallet, []).append(trade)
            token = self.token_by_mint.get(trade.mint)
            if token is not None and trade.wallet == token.creator:
                self.creator_trades_by_mint.setdefault(trade.mint, []).append(trade)
            elif trade.side == "buy" and trade.wallet in self.tier_by_wallet:
                self.kol_buys_by_mint.setdefault(trade.mint, []).append(trade)
        self.trade_times_by_wallet = {
            w: [t.block_time for t in trades] for w, trades in self.trades_by_wallet.items()
        }
        self.trade_pos_by_signature = {
            t.signature: i
            for trades in self.trades_by_wallet.values()
            for i, t in enumerate(trades)
        }
        self.snapshots_by_mint: dict[str, list[SnapshotRecord]] = {}
        for snap in world.snapshots:
            self.snapshots_by_mint.setdefault(snap.mint, []).append(snap)
        self.snapshot_ts_by_mint = {
            m: [s.ts for s in snaps] for m, snaps in self.snapshots_by_mint.items()
        }
        self.creator_ts_by_mint = {
            m: [t.block_time for t in trades] for m, trades in self.creator_trades_by_mint.items()
        }
        self.context_ts = [c.ts for c in world.contexts]


@dataclass
class SimWorld:
    """Everything ``generate`` made. Lists are sorted oldest first: tokens by creation, trades by
    (block_time, slot, signature), snapshots by (ts, mint), truths by signal time."""

    config: SimConfig
    kol_profiles: list[SimKol]
    kols: list[KolRecord]
    tokens: list[TokenRecord]
    trades: list[TradeRecord]
    snapshots: list[SnapshotRecord]
    contexts: list[ContextRecord]
    truths: list[SimTruth]
    _truth_by_mint: dict[str, SimTruth] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._truth_by_mint = {t.mint: t for t in self.truths}

    @cached_property
    def index(self) -> WorldIndex:
        return WorldIndex(self)

    def truth(self, mint: str) -> SimTruth:
        try:
            return self._truth_by_mint[mint]
        except KeyError:
            raise UnknownToken(f"{mint} is not a token of the simulated market") from None

    def oracle_probs(self, mint: str) -> tuple[float, ...]:
        """The exact P(class | signal-time features) of the mint's signal, classes as in
        engine.learning.labels.CLASSES."""
        return self.truth(mint).class_probs

    @cached_property
    def _prior_signals(self) -> list[PriorSignal]:
        out = []
        for truth in self.truths:
            token = self.index.token_by_mint[truth.mint]
            names = frozenset(n.name for n in match_narratives(token.name, token.symbol))
            out.append(PriorSignal(mint=truth.mint, ts=truth.signal_time, narratives=names))
        return out

    def feature_inputs(self, mint: str, t: datetime | None = None) -> FeatureInputs:
        """What the engine would know about ``mint`` at ``t`` (default: its signal time): the
        token, its snapshots, the tiers and all trades of the KOLs that bought it by then, its
        creator's trades, the context and the other signals. Records after t are left out."""
        truth = self.truth(mint)
        at = truth.signal_time if t is None else t
        idx = self.index
        snaps = idx.snapshots_by_mint.get(mint, [])
        snaps = snaps[: bisect.bisect_right(idx.snapshot_ts_by_mint.get(mint, []), at)]
        wallets = sorted(
            {b.wallet for b in idx.kol_buys_by_mint.get(mint, []) if b.block_time <= at}
        )
        kol_trades = [tr for w in wallets for tr in idx.trades_by_wallet[w] if tr.block_time <= at]
        creator = [tr for tr in idx.creator_trades_by_mint.get(mint, []) if tr.block_time <= at]
        return FeatureInputs(
            token=idx.token_by_mint[mint],
            t=at,
            snapshots=snaps,
            kol_tiers={w: idx.tier_by_wallet[w] for w in wallets},
            kol_trades=kol_trades,
            creator_trades=creator,
            context=self.contexts[: bisect.bisect_right(idx.context_ts, at)],
            prior_signals=[p for p in self._prior_signals if p.ts < at],
        )
