"""Raw amounts are u64 on chain (Token-2022 too): stored and read back exactly, past the signed
64-bit INTEGER of SQLite, and a poll holding one goes through like any other."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select

from engine.service import MoonbotService
from engine.storage import Database, Trade
from engine.storage.convert import trade_record, trade_row
from tests.conftest import MINT_X, WALLET_A, WALLET_B, ScriptedSource, at, trade, world

U64_MAX = 2**64 - 1  # 18446744073709551615: the largest u64


async def test_u64_amounts_round_trip_exactly(db_url: str) -> None:
    db = Database(db_url)  # SQLite: decimal text; PostgreSQL: NUMERIC(40, 0)
    try:
        await db.create()
        big = dataclasses.replace(
            trade(WALLET_A, MINT_X, "buy", 1, 1, 0),
            token_amount_raw=10**19,
            sol_amount_lamports=U64_MAX,
        )
        async with db.session() as session:
            session.add(Trade(**trade_row(big, is_kol=True)))
        async with db.session() as session:
            (row,) = (await session.exec(select(Trade))).all()
        assert (row.token_amount_raw, row.sol_amount_lamports) == (10**19, U64_MAX)
        assert trade_record(row) == big
    finally:
        await db.dispose()


async def test_a_negative_raw_amount_is_refused(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.create()
        bad = dataclasses.replace(trade(WALLET_A, MINT_X, "buy", 1, 1, 0), token_amount_raw=-1)
        with pytest.raises(Exception, match="a raw amount is a non-negative integer, not -1"):
            async with db.session() as session:
                session.add(Trade(**trade_row(bad, is_kol=True)))
    finally:
        await db.dispose()


async def test_a_poll_with_a_huge_swap_stores_it_and_every_other_wallet(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    """The audit's case: 10^19 raw tokens used to overflow SQLite and abort every poll."""
    scripted = world()
    whale = dataclasses.replace(
        trade(WALLET_A, MINT_X, "buy", 1, 1, 5), token_amount_raw=10**19, signature="whale-buy"
    )
    source = ScriptedSource(
        scripted._kols,
        list(scripted._tokens.values()),
        [*scripted._trades, whale],
        scripted._snapshots,
        scripted._creator,
        scripted._context,
    )
    service = await MoonbotService.open(tmp_settings, source)
    try:
        report = await service.cycle(at(73 * 60))
        assert report.new_trades == 5  # the world's 4 KOL trades and the whale's
        async with service.db.session() as session:
            rows = (await session.exec(select(Trade).where(Trade.wallet == WALLET_B))).all()
            whale_row = (
                await session.exec(select(Trade).where(Trade.signature == "whale-buy"))
            ).one()
        assert len(rows) == 2  # the other wallet's trades are there too
        assert whale_row.token_amount_raw == 10**19
    finally:
        await service.close()
