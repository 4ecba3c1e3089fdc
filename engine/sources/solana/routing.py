"""Which program routed a swap, from instruction program ids (never from log text).

Top-level instructions are read first: a router or aggregator there (Jupiter, OKX, Photon)
names the trade even though it calls an AMM below it; else the first known AMM at the top level
(pump.fun, PumpSwap, Raydium AMM v4). Only when the top level names none are the inner
instructions read, with the same rule. Unknown programs (bots, tip programs) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import MalformedPayload
from engine.sources.solana.programs import AMM_PROGRAMS, OTHER, ROUTER_PROGRAMS


def route_program(
    message: Mapping[str, Any], meta: Mapping[str, Any], keys: list[Any], signature: str
) -> str:
    """Router at the top level, else AMM at the top level, else the same among inner ones."""
    router, amm = _scan_programs(message["instructions"], keys, signature)
    if router is not None:
        return router
    if amm is not None:
        return amm
    for group in meta.get("innerInstructions") or ():
        router, found = _scan_programs(group["instructions"], keys, signature)
        if router is not None:
            return router
        if amm is None:
            amm = found
    return amm if amm is not None else OTHER


def _scan_programs(
    instructions: Iterable[Any], keys: list[Any], signature: str
) -> tuple[str | None, str | None]:
    """(first router, first AMM) among ``instructions``; stops at the first router."""
    amm: str | None = None
    n = len(keys)
    for instruction in instructions:
        index = instruction.get("programIdIndex")
        if index is None:
            program_id = instruction["programId"]  # jsonParsed
        elif type(index) is int and 0 <= index < n:
            program_id = keys[index]
        else:
            raise MalformedPayload(
                f"transaction {signature}: programIdIndex {index!r} is not one of the {n} accounts"
            )
        router = ROUTER_PROGRAMS.get(program_id)
        if router is not None:
            return router, amm
        if amm is None:
            amm = AMM_PROGRAMS.get(program_id)
    return None, amm
