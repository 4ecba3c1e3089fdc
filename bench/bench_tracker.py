"""Tracker benchmarks: swap-parsing throughput and the cost of a quiet poll of 1,000 wallets.

    .venv/bin/python bench/bench_tracker.py [--wallets 1000] [--seconds 2] [--batch 10]

(a) ``parse_transaction`` over every real transaction in ../shared/fixtures/solana/getTransaction,
    in one process on one core: from already-decoded JSON, and from the raw bytes of each file
    (``parse_payload_bytes``: ``json.loads`` + parse). Target: >= 20,000 tx/s decoded.
(b) One ``Tracker.poll`` over N tracked wallets with nothing new, through ``RpcSource`` against
    the local fake node (tests/fakes) on 127.0.0.1, SQLite in a temp dir: HTTP requests made,
    JSON-RPC calls in them, wall time, with ``--batch`` history calls per request (default 10,
    Helius's cap and moonbot's default; 100 where a provider takes it). Target for 1,000
    wallets: <= 120 requests at 10 a batch (<= 20 at 100), < 5 s. The
    RPC client runs without a rate limit here; a provider meters each call of a batch, so with
    ``rpc_requests_per_second`` set the limiter spreads the calls over calls/rate seconds
    (printed too).

Prints numbers, asserts nothing: timing claims live here, not in the unit tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.sources.dexscreener import DexScreener  # noqa: E402
from engine.sources.solana import load_transactions, parse_payload_bytes, parse_transaction  # noqa: E402
from engine.sources.solana.rpc import SolanaRpc  # noqa: E402
from engine.sources.solana.source import RpcSource  # noqa: E402
from engine.storage import Database, Kol  # noqa: E402
from engine.storage.db import insert_ignore  # noqa: E402
from engine.tracking import kols  # noqa: E402
from engine.tracking.tracker import Tracker  # noqa: E402
from tests.fakes.fake_http import FakeServer  # noqa: E402
from tests.fakes.solana_node import TX_DIR, FakeSolanaNode  # noqa: E402


def fixture_payloads() -> list[bytes]:
    return [
        p.read_bytes() for p in sorted(TX_DIR.glob("*.json")) if not p.name.startswith("broken")
    ]


def rate(work: int, seconds: float) -> float:
    return work / seconds if seconds > 0 else float("inf")


def bench_parse(min_seconds: float) -> None:
    payloads = fixture_payloads()
    txs = [tx for data in payloads for tx in load_transactions(json.loads(data))]
    per_round = len(txs)
    for tx in txs:  # warm up
        parse_transaction(tx)

    rounds, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        for tx in txs:
            parse_transaction(tx)
        rounds += 1
    decoded = rate(rounds * per_round, elapsed)

    rounds, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        for data in payloads:
            parse_payload_bytes(data)
        rounds += 1
    raw = rate(rounds * per_round, elapsed)
    size = sum(len(p) for p in payloads)
    print(f"(a) parse, {per_round} real transactions ({size / per_round / 1024:.1f} KiB each):")
    print(f"    from decoded JSON: {decoded:>10,.0f} tx/s  (target >= 20,000)")
    print(f"    from raw bytes:    {raw:>10,.0f} tx/s  (json.loads included)")


async def bench_quiet_poll(n_wallets: int, rps: float, batch: int) -> None:
    node = FakeSolanaNode()
    wallets = [f"W{k:06d}".ljust(44, "1") for k in range(n_wallets)]
    for k, wallet in enumerate(wallets):
        node.add_history(wallet, [(f"s{k}-2", 300_000_100), (f"s{k}-1", 300_000_000)])
    with tempfile.TemporaryDirectory() as tmp, FakeServer(node) as server:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await db.create()
        async with db.session() as session:
            rows = [
                {"wallet": w, "name": f"kol{k}", "tier": "top", "cursor_signature": f"s{k}-2"}
                for k, w in enumerate(wallets)
            ]
            await insert_ignore(session, Kol, rows)
        sizes = {"getSignaturesForAddress": batch, "getTransaction": batch}
        rpc = SolanaRpc(server.url, requests_per_second=None, batch_sizes=sizes)
        dex = DexScreener(server.url, requests_per_second=None, cache_ttl_s=0.0)
        source = RpcSource(rpc, dex, tracked=partial(kols.tracked_cursors, db))
        tracker = Tracker(db, source, horizon=timedelta(hours=72))
        await tracker.poll(datetime.now(UTC) - timedelta(minutes=5))  # warm up
        before = len(server.requests)
        start = time.perf_counter()
        result = await tracker.poll(datetime.now(UTC))
        elapsed = time.perf_counter() - start
        requests = server.requests[before:]
        calls = sum(r.calls for r in requests)
        await source.aclose()
        await db.dispose()
    target = 120 if batch <= 10 else 20
    print(f"(b) one quiet poll of {n_wallets:,} tracked wallets (local fake node, SQLite):")
    print(f"    HTTP requests: {len(requests)}  (target <= {target} at {batch} calls a batch)")
    print(
        f"      {sum(r.http_method == 'POST' for r in requests)} JSON-RPC batches "
        f"({calls - sum(r.http_method == 'GET' for r in requests)} calls), "
        f"{sum(r.http_method == 'GET' for r in requests)} DexScreener GET (SOL price)"
    )
    print(
        f"    wall time:     {elapsed:.3f} s  (target < 5 s); new trades: {len(result.new_trades)}"
    )
    print(
        f"    with rpc_requests_per_second={rps:g} (calls metered one by one): "
        f">= {n_wallets / rps:.0f} s of rate-limit waiting for the {n_wallets:,} calls"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0, help="per parse measurement")
    parser.add_argument("--rps", type=float, default=10.0, help="for the rate-limit estimate")
    parser.add_argument("--batch", type=int, default=10, help="history calls per request")
    args = parser.parse_args()
    print(
        f"$ .venv/bin/python bench/bench_tracker.py --wallets {args.wallets} --batch {args.batch}"
    )
    print(f"python {platform.python_version()} on {platform.machine()}, one process, one core")
    bench_parse(args.seconds)
    asyncio.run(bench_quiet_poll(args.wallets, args.rps, args.batch))


if __name__ == "__main__":
    main()
