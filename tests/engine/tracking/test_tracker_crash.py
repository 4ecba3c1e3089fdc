"""Crash safety of the tracker over the live source, with a real process killed by SIGKILL.

The fake node serves 5 wallets x 60 transactions: the real fixtures copied to each wallet as its
own (new signature, slot, block time, the wallet as fee payer), some failed (listed with ``err``,
or only ``meta.err``), transfers, DCA and USDC swaps among them. Faults come at a steady rate: a
fifth of the HTTP requests get a 429 with Retry-After, a 500, a timeout, a dropped connection,
malformed JSON or a JSON-RPC rate-limit error, and a tenth of the ``getTransaction`` answers are
``null``. The tracker runs in ``tracker_worker.py`` in its own process, is killed at seeded
random moments and started again, then run until it has caught up. The database must then hold
exactly the trades the node holds: none lost, none doubled, every field the same.

The expected trades are those of each original fixture for its own fee payer (the parser's
numbers, checked by hand in test_solana_parser.py), moved to the new wallet and signature.
"""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import select as sql_select

from engine.sources.base58 import b58encode
from engine.sources.solana import parse_transaction
from engine.storage import Database, Trade
from engine.tracking import kols
from tests.fakes.fake_http import FakeServer, Fault
from tests.fakes.solana_node import FakeSolanaNode, fixture_transactions, resign_transaction
from tests.paths import REPO

WORKER = Path(__file__).with_name("tracker_worker.py")
REPO = REPO
WSOL = "So11111111111111111111111111111111111111112"
N_WALLETS = 5
PER_WALLET = 60
KILLS = 4

Row = tuple[str, str, str, str, int, int, int, int, int, str]
"""signature, wallet, mint, side, token raw, decimals, lamports, slot, block time, program"""


def script_wallets(node: FakeSolanaNode) -> tuple[list[str], set[Row]]:
    rng = random.Random(2024)
    templates = [tx for _, tx in sorted(fixture_transactions().items())]
    wallets: list[str] = []
    expected: set[Row] = set()
    for w in range(N_WALLETS):
        wallet = b58encode(rng.randbytes(32))
        entries: list[tuple[str, int]] = []
        listed_failed: list[str] = []
        times: dict[str, int] = {}
        slot = 320_000_000 + w
        for _ in range(PER_WALLET):
            original = rng.choice(templates)
            slot += rng.randint(1, 400)
            block_time = 1_760_000_000 + slot // 3
            signature = b58encode(rng.randbytes(64))
            failed = rng.random() < 0.1
            node.add_transaction(
                resign_transaction(
                    original, signature=signature, slot=slot, block_time=block_time,
                    wallet=wallet, failed=failed,
                )
            )  # fmt: skip
            entries.append((signature, slot))
            times[signature] = block_time
            if failed and rng.random() < 0.5:
                listed_failed.append(signature)
            if failed:
                continue
            for t in parse_transaction(original):  # the original fee payer's trades
                if t.quote_mint == WSOL:
                    expected.add(
                        (signature, wallet, t.mint, t.side, t.token_amount_raw, t.decimals,
                         t.quote_amount_raw, slot, block_time, t.program)
                    )  # fmt: skip
        node.add_history(wallet, entries[::-1], failed=listed_failed, block_times=times)
        wallets.append(wallet)
    return wallets, expected


def start(db_path: Path, url: str, log: IO[Any]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db_path), url],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
    )


def wait_for_line(proc: subprocess.Popen[bytes], text: str, timeout_s: float) -> None:
    """Read the worker's output until ``text`` (bounded); fail if it exits first."""
    assert proc.stdout is not None
    deadline = datetime.now(UTC).timestamp() + timeout_s
    while (left := deadline - datetime.now(UTC).timestamp()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"worker exited with {proc.wait()} before {text!r}")
        if line.decode().strip() == text:
            return
    raise AssertionError(f"worker did not print {text!r} within {timeout_s} s")


def count_trades(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        (n,) = conn.execute("SELECT count(*) FROM trade").fetchone()
    return int(n)


async def stored(db: Database) -> list[Row]:
    async with db.session() as session:
        rows = (await session.exec(sql_select(Trade))).all()
    return [
        (r.signature, r.wallet, r.mint, r.side, r.token_amount_raw, r.decimals,
         r.sol_amount_lamports, r.slot, int(r.block_time.timestamp()), r.program)
        for r in rows
    ]  # fmt: skip


async def test_killed_and_restarted_tracker_stores_every_trade_exactly_once(
    tmp_path: Path,
) -> None:
    node = FakeSolanaNode()
    wallets, expected = script_wallets(node)
    assert len(expected) > 150  # enough swaps that a kill lands in the middle of the work
    db_path = tmp_path / "moonbot.db"
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.create()
    for wallet in wallets:
        await kols.add_kol(db, wallet, None, "top")
    await db.dispose()

    rng = random.Random(7)
    progress: list[int] = []
    with FakeServer(node) as server, (tmp_path / "worker.log").open("wb") as log:
        server.random_faults(
            0.2,
            [
                Fault.status(429, retry_after="0.01"),
                Fault.status(500),
                Fault.timeout(0.4),
                Fault.dropped(),
                Fault.malformed(),
                Fault.rpc_error(-32429, "Too many requests for a specific RPC call"),
            ],
            seed=3,
        )
        node.null_rate = 0.1
        for _ in range(KILLS):
            proc = start(db_path, server.url, log)
            try:
                wait_for_line(proc, "ready", timeout_s=20)
                proc.wait(timeout=rng.uniform(0.1, 1.0))  # a random moment, bounded
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                assert proc.stdout is not None
                proc.stdout.close()
            progress.append(count_trades(db_path))

        final = start(db_path, server.url, log)
        try:
            wait_for_line(final, "caught up", timeout_s=60)
            assert final.wait(timeout=10) == 0
        finally:
            if final.poll() is None:
                final.kill()
                final.wait()
            assert final.stdout is not None
            final.stdout.close()
        faults = sum(1 for r in server.requests if r.fault)

    assert faults > 20, "the faults did not happen"
    assert any(0 < n < len(expected) for n in progress), f"no kill mid-way: {progress}"
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    rows = await stored(db)
    assert len(rows) == len(set(rows)) == len(expected)  # none doubled, none lost
    assert set(rows) == expected  # and each one as the node holds it
    newest = {w: node.histories[w][0]["signature"] for w in wallets}
    assert await kols.tracked_cursors(db) == newest
    await db.dispose()
