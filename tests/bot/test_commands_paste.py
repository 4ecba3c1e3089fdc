"""Input as people paste it: a mint, $SYMBOL, a site's URL; an ambiguous symbol gets a short list.

The world (tests/conftest.py) has token X (mint MINT_X, symbol DROCK) and token Y (PLN); no model
is trained, so a /predict that found its token answers from the score stored with X's signal (its
title line names X's mint) — not the one line an unknown or invalid token gets, which is what
these tests tell apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.commands import dispatch
from engine.service import MoonbotService
from engine.storage import Token
from tests.conftest import MINT_X, at, world

FOUND = f"$DROCK (Doge Rocket) · {MINT_X}"  # the answer's title line
OTHER_MINT = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"  # valid, never traded here


@pytest.fixture
async def service(tmp_settings):  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    await svc.cycle(at(73 * 60))
    yield svc
    await svc.close()


@pytest.mark.parametrize(
    "pasted",
    [
        MINT_X,
        "$DROCK",
        "$drock",
        f"https://dexscreener.com/solana/{MINT_X.lower()}",  # DexScreener lower-cases addresses
        f"https://pump.fun/coin/{MINT_X}",
        f"https://solscan.io/token/{MINT_X}?cluster=mainnet-beta",
        f"https://birdeye.so/token/{MINT_X}?chain=solana",
        f"https://gmgn.ai/sol/token/aB3xYz_{MINT_X}",
        f"<https://www.dexscreener.com/solana/{MINT_X}>",  # as Discord wraps a pasted link
    ],
)
async def test_a_token_pasted_any_usual_way_is_found(service: MoonbotService, pasted: str) -> None:
    reply = await dispatch(service, f"/predict {pasted}")
    assert reply.text.splitlines()[0] == FOUND and not reply.error


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("$NOPE", "no token with the symbol $NOPE has been traded by a tracked KOL"),
        (
            f"https://dexscreener.com/solana/{OTHER_MINT.lower()}",
            f"no tracked KOL has traded the token of that link ({OTHER_MINT.lower()}): "
            "paste its mint instead",
        ),
        (  # not a site moonbot reads: checked as an address (66 characters, shown cut at 57)
            f"https://evil.example/{MINT_X}x",
            "'https://evil.example/EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGk...' is not a valid "
            "Solana mint: expected 32-44 base58 characters, got 66",
        ),
    ],
)
async def test_what_cannot_be_found_says_so_in_one_line(
    service: MoonbotService, pasted: str, expected: str
) -> None:
    reply = await dispatch(service, f"/predict {pasted}")
    assert (reply.text, reply.error) == (expected, True)


async def test_an_ambiguous_symbol_lists_the_tokens_to_pick_from(service: MoonbotService) -> None:
    async with service.db.session() as session:
        session.add(
            Token(
                mint=OTHER_MINT,
                symbol="DROCK",
                name="Another Doge Rocket",
                created_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
            )
        )
    reply = await dispatch(service, "/predict $DROCK")
    assert reply.error
    assert reply.text.split("\n") == [
        "2 tokens are called $DROCK (newest first); ask again with the mint:",
        f"1. {OTHER_MINT} · Another Doge Rocket · created 2026-03-02 09:30 UTC",
        f"2. {MINT_X} · Doge Rocket · created 2026-03-01 11:00 UTC",  # conftest: at(-60)
    ]


async def test_a_kol_name_with_spaces_needs_no_quotes(service: MoonbotService) -> None:
    wallet = "5Q544fKrFoe6tsEbD7S8EmxGTJYAKtTVhAW5Q5pge4j1"
    added = await dispatch(service, f'/track add {wallet} "Big  Whale" top', is_admin=True)
    assert not added.error
    for asked in ("/kol Big Whale", "/kol big whale", "/kol  BIG   WHALE "):
        reply = await dispatch(service, asked)
        assert reply.text.startswith(f"Big Whale [top] · {wallet}") and not reply.error


async def test_without_a_model_a_token_with_a_signal_answers_from_its_stored_score(
    service: MoonbotService,
) -> None:
    # X: bought by alpha at 12:00 and beta at 12:30, ran to 9.64x by 72 h (tests/conftest.py);
    # its signal opened at alpha's buy and was scored by the rules alone (no model then or now)
    lines = (await dispatch(service, f"/predict {MINT_X}")).text.splitlines()
    assert lines[1] == "At the signal, 2026-03-01 12:00 UTC · model none"
    assert lines[2].startswith("Conviction ") and "+ ML 0)" in lines[2]
    assert lines[-1] == "Outcome: ended 9.6x: 5–10x"
