"""Planned legs -> TradeRecords: amounts from the price path, slots, signatures and programs.

Prices: a whole token costs mcap_usd / 1e9 / SOL-USD (latest hourly context) at the trade's
second. Slots advance 2.5 per second from ``SimConfig.base_slot`` at the simulation start, so
trades in the same second share a slot (the first KOL wave is one block). Before the token's
market cap first reaches BOND_MCAP_USD it trades on the "pump.fun" bonding curve; afterwards on
its migration pool ("PumpSwap" or "Raydium AMM v4"), or through "Jupiter v6" for a third of trades.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from engine.records import LAMPORTS_PER_SOL, TradeRecord
from engine.sim.kols import Leg
from engine.sim.market import SUPPLY_TOKENS
from engine.sim.rand import signature

BOND_MCAP_USD = 69_000.0
DECIMALS = 6
TOKEN_UNIT = 10**DECIMALS
JUPITER_SHARE = 0.35


def slot_at(base_slot: int, seconds_since_start: int) -> int:
    return base_slot + seconds_since_start * 5 // 2


def realize(
    rng: random.Random,
    legs: Sequence[Leg],
    *,
    mint: str,
    t: datetime,
    t_s: int,
    base_slot: int,
    mcap_at: Callable[[int], float],
    sol_usd_at: Callable[[int], float],
    bond_s: float,
    venue: str,
) -> list[TradeRecord]:
    """Trades for ``legs`` (seconds relative to t, whose offset from the start is ``t_s``)."""
    held: dict[str, int] = {}
    out: list[TradeRecord] = []
    for leg in sorted(legs, key=lambda g: g.s):
        price_sol = mcap_at(leg.s) / SUPPLY_TOKENS / sol_usd_at(t_s + leg.s)
        if leg.side == "buy":
            tokens = leg.tokens if leg.tokens > 0 else leg.sol / price_sol
            raw = int(tokens * TOKEN_UNIT)
            sol = leg.sol if leg.tokens <= 0 else tokens * price_sol
            lamports = round(sol * LAMPORTS_PER_SOL)
            held[leg.wallet] = held.get(leg.wallet, 0) + raw
        else:
            holding = held.get(leg.wallet, 0)
            raw = holding if leg.fraction >= 1.0 else math.floor(holding * leg.fraction)
            if raw <= 0:
                continue
            held[leg.wallet] = holding - raw
            lamports = math.floor(raw / TOKEN_UNIT * price_sol * LAMPORTS_PER_SOL)
        if leg.s < bond_s:
            program = "pump.fun"
        else:
            program = "Jupiter v6" if rng.random() < JUPITER_SHARE else venue
        out.append(
            TradeRecord(
                signature=signature(rng),
                wallet=leg.wallet,
                mint=mint,
                side=leg.side,
                token_amount_raw=raw,
                decimals=DECIMALS,
                sol_amount_lamports=lamports,
                block_time=t + timedelta(seconds=leg.s),
                slot=slot_at(base_slot, t_s + leg.s),
                program=program,
            )
        )
    return out
