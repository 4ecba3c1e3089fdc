"""Holder statistics only when due: at once for a mint a KOL just traded, else every
``holder_refresh``; between refreshes a snapshot's holder fields are None (never restamped)."""

from __future__ import annotations

from datetime import timedelta

from engine.sources.solana.source import RpcSource
from tests.engine.sources.solana.test_source import (
    MOODOG,
    MOODOG_CREATOR,
    MOODOG_CURVE,
    NOW,
    PUMPFUN_PROGRAM,
    WALLET_O,
    make_source,
    pair_for,
    script_moodog,
    server,  # noqa: F401  (the fixture)
)
from tests.fakes.fake_http import FakeServer

HOLDER_CALLS = ("getTokenLargestAccounts", "getTokenSupply")


def holder_calls(node_calls: dict[str, int]) -> int:
    return sum(node_calls.get(m, 0) for m in HOLDER_CALLS)


async def test_holder_statistics_are_read_when_due_only(server: FakeServer) -> None:  # noqa: F811
    script_moodog(server.node)
    server.node.add_token(
        MOODOG,
        1_000_000_000 * 10**6,
        6,
        [
            ("CurveAta111111111111111111111111111111111111", MOODOG_CURVE, 600 * 10**12),
            ("DevAta11111111111111111111111111111111111111", MOODOG_CREATOR, 250 * 10**12),
            ("BobAta11111111111111111111111111111111111111", WALLET_O, 100 * 10**12),
        ],
        owner_programs={MOODOG_CURVE: PUMPFUN_PROGRAM},
    )
    server.dex.pairs = [pair_for(MOODOG)]
    now = [NOW]
    source: RpcSource = make_source(
        server, holder_refresh=timedelta(minutes=15), clock=lambda: now[0]
    )
    async with source:
        (first,) = await source.snapshots([MOODOG], None, now[0])
        read = holder_calls(server.node.calls)
        assert read > 0 and first.top1_pct == 25.0  # never read: due

        now[0] += timedelta(minutes=5)
        (quiet,) = await source.snapshots([MOODOG], None, now[0])
        assert holder_calls(server.node.calls) == read  # not due: no holder call
        assert quiet.top1_pct is None and quiet.holder_count is None
        assert quiet.price_usd == first.price_usd  # the market part is still read

        source._holders_due.add(MOODOG)  # a KOL trade of it was just read (``_remember``)
        (traded,) = await source.snapshots([MOODOG], None, now[0])
        assert holder_calls(server.node.calls) == 2 * read and traded.top1_pct == 25.0

        now[0] += timedelta(minutes=15)
        (later,) = await source.snapshots([MOODOG], None, now[0])
        assert holder_calls(server.node.calls) == 3 * read and later.top1_pct == 25.0
