"""Records <-> table rows."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from engine.records import ContextRecord, SnapshotRecord, TokenRecord, TradeRecord
from engine.storage import MarketContext, MarketSnapshot, Position, Token, Trade
from engine.tracking.positions import PositionState

_SNAPSHOT_FIELDS = tuple(f.name for f in fields(SnapshotRecord))
_TOKEN_FIELDS = tuple(f.name for f in fields(TokenRecord))
_POSITION_FIELDS = tuple(f.name for f in fields(PositionState))


def trade_row(trade: TradeRecord, *, is_kol: bool) -> dict[str, Any]:
    row = asdict(trade)
    row.update(
        token_amount=trade.token_amount,
        sol_amount=trade.sol_amount,
        price_sol=trade.price_sol,
        is_kol=is_kol,
    )
    return row


def trade_record(row: Trade) -> TradeRecord:
    return TradeRecord(
        signature=row.signature,
        wallet=row.wallet,
        mint=row.mint,
        side="buy" if row.side == "buy" else "sell",
        token_amount_raw=row.token_amount_raw,
        decimals=row.decimals,
        sol_amount_lamports=row.sol_amount_lamports,
        block_time=row.block_time,
        slot=row.slot,
        program=row.program,
        swap_index=row.swap_index,
        venue=row.venue,
        router=row.router,
        quote_mint=row.quote_mint,
        quote_amount_raw=row.quote_amount_raw,
        sol_usd=row.sol_usd,
        venue_fee_raw=row.venue_fee_raw,
        network_fee_lamports=row.network_fee_lamports,
        priority_fee_lamports=row.priority_fee_lamports,
        tip_lamports=row.tip_lamports,
        router_fee_lamports=row.router_fee_lamports,
        rent_lamports=row.rent_lamports,
    )


def snapshot_row(snapshot: SnapshotRecord) -> dict[str, Any]:
    return asdict(snapshot)


def snapshot_record(row: MarketSnapshot) -> SnapshotRecord:
    return SnapshotRecord(**{name: getattr(row, name) for name in _SNAPSHOT_FIELDS})


def token_row(token: TokenRecord) -> dict[str, Any]:
    return asdict(token)


def token_record(row: Token) -> TokenRecord:
    return TokenRecord(**{name: getattr(row, name) for name in _TOKEN_FIELDS})


def context_row(ctx: ContextRecord) -> dict[str, Any]:
    return asdict(ctx)


def context_record(row: MarketContext) -> ContextRecord:
    return ContextRecord(ts=row.ts, sol_price_usd=row.sol_price_usd, sentiment=row.sentiment)


def position_row(state: PositionState) -> dict[str, Any]:
    """The ``Position`` columns of ``state``: its fields, plus the derived status and multiple."""
    row = {name: getattr(state, name) for name in _POSITION_FIELDS}
    row.update(status=state.status, multiple=state.multiple)
    return row


def position_state(row: Position) -> PositionState:
    return PositionState(**{name: getattr(row, name) for name in _POSITION_FIELDS})
