"""A tracker process for test_tracker_crash.py: ``python tracker_worker.py DB_PATH URL``.

Polls the (fake) Solana node at URL into the SQLite file DB_PATH with ``Tracker`` over
``RpcSource``, until no tracked wallet has a signature newer than its cursor; prints "ready"
once set up and "caught up" at the end (exit 0), exit 3 if it never gets there. The test kills
it with SIGKILL at random moments and starts it again. Short timeouts and backoffs: the node is
local and injects its faults on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx

from engine.errors import SourceError
from engine.sources.dexscreener import DexScreener
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.source import RpcSource
from engine.storage import Database
from engine.tracking import kols
from engine.tracking.tracker import Tracker

MAX_ROUNDS = 300
log = logging.getLogger("tracker_worker")


async def run(db_path: str, url: str) -> int:
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    retry = RetryPolicy(
        max_attempts=4, backoff_base_s=0.005, backoff_max_s=0.02, retry_after_max_s=0.05
    )
    timeout = httpx.Timeout(0.25)
    rpc = SolanaRpc(
        url, requests_per_second=None, batch_size=8, retry=retry, timeout=timeout,
        rng=random.Random(),
    )  # fmt: skip
    dex = DexScreener(url, requests_per_second=None, retry=retry, timeout=timeout)
    source = RpcSource(
        rpc, dex, tracked=partial(kols.tracked_cursors, db), new_wallet_lookback=None,
        new_wallet_pages=10, tx_chunk=16,
    )  # fmt: skip
    tracker = Tracker(db, source, horizon=timedelta(hours=72))
    print("ready", flush=True)
    try:
        for _ in range(MAX_ROUNDS):
            try:
                await tracker.poll(datetime.now(UTC))
                pending = await rpc.new_signatures_many(await kols.tracked_cursors(db))
            except SourceError as exc:
                log.info("poll failed, again: %s", exc)
                continue
            if not any(pending.values()):
                print("caught up", flush=True)
                return 0
        return 3
    finally:
        await source.aclose()
        await db.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    sys.exit(asyncio.run(run(sys.argv[1], sys.argv[2])))
