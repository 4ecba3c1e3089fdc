"""Which router, bot or keeper a swap went through, from instruction program ids (never logs).

The router of a swap is the nearest router program above the venue's invocation in the
instruction tree (Jupiter calling Raydium, OKX calling PumpSwap); a keeper at the top level
(Jupiter DCA) wins over the aggregator it calls for the fill. When nothing above the venue is a
router, a router or bot that runs beside it at the top level names the trade (Maestro and Banana
Gun call pump.fun/PumpSwap from separate top-level instructions); else there is none.
"""

from __future__ import annotations

from engine.sources.solana.programs import KEEPER_PROGRAMS, ROUTER_PROGRAMS
from engine.sources.solana.transfers import Tree

__all__ = ["router_of"]


def router_of(tree: Tree, call: int) -> str | None:
    """The router label of the venue invocation at position ``call``, or None."""
    programs, starts = tree.programs, tree.starts
    for at in starts:
        if programs[at] in KEEPER_PROGRAMS:
            return ROUTER_PROGRAMS[programs[at]]
    at = tree.callers[call]
    while at >= 0:
        name = ROUTER_PROGRAMS.get(programs[at])
        if name is not None:
            return name
        at = tree.callers[at]
    for at in starts:
        name = ROUTER_PROGRAMS.get(programs[at])
        if name is not None:
            return name
    return None
