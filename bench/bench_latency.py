"""Latency benchmark: from a KOL buy to its alert row and to the fake Telegram Bot API.

    .venv/bin/python bench/bench_latency.py [--quick] [--buys 40]

Everything runs locally, against the fakes the tests use (tests/fakes: the JSON-RPC node and
DexScreener on 127.0.0.1, the WebSocket node, the Telegram Bot API) with ``MoonbotService`` on
the live source (``RpcSource``), SQLite in a temp dir, 10-call batches for the history methods
(Helius's). The push runs in real time, its RPC rate limit really waited for. The poll runs on a
*hybrid* clock: the real time the work takes plus virtual time for every wait of the RPC rate
limiter (which serves one caller at a time, so those waits add up to the time the budget
takes), so a poll of 10,000 wallets at 10 calls/s costs what it would without the benchmark
waiting 1,000 s for it.

(a) **push**: N tracked wallets subscribed with ``logsSubscribe`` (one per wallet, 1,000 per
    connection); each buy (a re-signed copy of the real pump.fun buy in ../shared/fixtures/
    solana/getTransaction/pumpfun_buy_1.json, by a random tracked wallet, of a new mint) is
    notified by the fake node (one every 2 s on average, Poisson), fetched (``getTransaction``), parsed, stored, its token facts,
    snapshot and holder statistics read, its signal opened and scored and its alert written;
    the alert is then sent to the fake Telegram Bot API. A reconciliation poll of all N wallets
    runs the whole time on the same RPC budget (the push path takes the limiter's urgent lane).
    Latency = notification sent -> alert row committed, and -> ``sendMessage`` answered.
(b) **poll** (push off): the same buys land at uniform times in the 5 minutes before a poll;
    latency = block time -> alert row (written as each wallet's trades are stored) and ->
    Telegram.
(c) **a quiet reconciliation poll** of 1,000 wallets (nothing new): HTTP requests and calls.

Scenarios: 1,000 and 10,000 wallets at 10, 50 and 200 calls/s (``--quick``: (a) at 10,000
wallets and 50 calls/s, and (c); under 2 minutes). Targets: push p50 <= 2 s, p99 <= 5 s to the
alert row at 10,000 wallets on 50 calls/s; (c) <= 120 requests. The last line of ``--quick`` is
``push p50 <seconds> s p99 <seconds> s`` (10,000 wallets, 50 calls/s, to the alert row).

Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlmodel import col, select  # noqa: E402
from telegram import Bot  # noqa: E402

from bot import telegram_face as tg  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.records import SnapshotRecord, TradeRecord  # noqa: E402
from engine.service import MoonbotService  # noqa: E402
from engine.sources.base58 import b58encode  # noqa: E402
from engine.sources.dexscreener import DexScreener  # noqa: E402
from engine.sources.solana.rpc import SolanaRpc  # noqa: E402
from engine.sources.solana.source import RpcSource  # noqa: E402
from engine.storage import Alert, Kol, MarketSnapshot, Signal, Trade  # noqa: E402
from engine.storage.convert import snapshot_row, trade_row  # noqa: E402
from engine.storage.db import insert_ignore  # noqa: E402
from engine.tracking import kols  # noqa: E402
from engine.tracking.positionstore import refresh_positions  # noqa: E402
from tests.bot.fake_telegram import TOKEN, FakeTelegram  # noqa: E402
from tests.fakes.dexscreener_api import FakeDexScreener  # noqa: E402
from tests.fakes.fake_http import FakeServer  # noqa: E402
from tests.fakes.solana_node import FakeSolanaNode, fixture_transaction, resign_transaction  # noqa: E402
from tests.fakes.ws_node import FakeWsNode  # noqa: E402

BUY = fixture_transaction("pumpfun_buy_1.json")
BUY_MINT = "7nYhDYAxQdFn2DRPcjBFPQQz5qb8HeFiJv9o9w6fpump"  # what it buys (the parser tests)
CHAT = "telegram:1"
POLL_S = 300.0  # the poll interval whose buys (b) measures
BUY_EVERY_S = 2.0  # mean time between two notified buys (Poisson arrivals)


class RealTime:
    """The wall clock: the push runs in real time, its rate limit really waited for."""

    def clock(self) -> float:
        return time.perf_counter()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class HybridTime(RealTime):
    """Real time plus the virtual seconds the rate limiter has waited (the poll: its limiter
    serves one caller at a time, so the sum of its waits is the time the budget takes)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def clock(self) -> float:
        return time.perf_counter() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)
        await asyncio.sleep(0)


def address(rng: random.Random) -> str:
    return b58encode(rng.randbytes(32))


def signature(rng: random.Random) -> str:
    return b58encode(rng.randbytes(64))


@dataclass
class Timings:
    row: dict[str, float] = field(default_factory=dict)  # mint -> alert row written
    sent: dict[str, float] = field(default_factory=dict)  # mint -> sendMessage answered
    start: dict[str, float] = field(default_factory=dict)  # mint -> notification / block time

    def latencies(self, which: dict[str, float]) -> list[float]:
        return [which[m] - self.start[m] for m in self.start if m in which]


def percentiles(values: list[float]) -> str:
    if not values:
        return "no alerts"
    if len(values) == 1:
        return f"p50 {values[0]:.2f} s (n=1)"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {cuts[49]:.2f} s  p90 {cuts[89]:.2f} s  p99 {cuts[98]:.2f} s  (n={len(values)})"


class Bench:
    """One scenario's world: fakes, database, service, Telegram."""

    def __init__(self, tmp: Path, wallets: int, rate: float, *, push: bool, seed: int = 5):
        self.tmp = tmp
        self.n = wallets
        self.rate = rate
        self.push = push
        self.rng = random.Random(seed)
        self.time: RealTime = RealTime() if push else HybridTime()
        self.timings = Timings()
        self.wallets = [address(self.rng) for _ in range(wallets)]
        self.poll_load = 0.0

    @contextlib.asynccontextmanager
    async def running(self) -> Any:
        with FakeServer(FakeSolanaNode(), FakeDexScreener()) as server:
            async with FakeWsNode() as ws:
                telegram = await FakeTelegram().start()
                try:
                    self.server, self.ws, self.telegram = server, ws, telegram
                    await self._open()
                    try:
                        yield self
                    finally:
                        await self.service.close()
                        await self.bot.shutdown()
                finally:
                    await telegram.close()

    async def _open(self) -> None:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=self.tmp / "data",
            source="rpc",
            rpc_url=self.server.url,
            push_mode="logs" if self.push else "none",
            push_ws_url=self.ws.url,
            push_ws_connections=max(1, -(-self.n // 1000)),
            push_ws_subscriptions_per_connection=1000,
            alert_channels=[CHAT],
            alert_score_threshold=0,
            diamond_hand_threshold=50.0,
            diamond_hand_min_positions=1,
            poll_budget_seconds=0,
        )
        rpc = SolanaRpc(
            self.server.url,
            requests_per_second=self.rate,
            batch_sizes={"getSignaturesForAddress": 10, "getTransaction": 10},
            clock=self.time.clock,
            sleep=self.time.sleep,
        )
        dex = DexScreener(self.server.url, requests_per_second=None, cache_ttl_s=0.0)
        self.service = await MoonbotService.open(settings, None)
        source = RpcSource(
            rpc,
            dex,
            tracked=partial(kols.tracked_cursors, self.service.db),
            holder_refresh=timedelta(minutes=15),
        )
        self.service._source = source
        self.source = source
        self.bot = Bot(TOKEN, base_url=self.telegram.base_url)
        await self.bot.initialize()
        self.service.alerts_hook = self._deliver
        await self._seed()

    async def _seed(self) -> None:
        """N tracked wallets at a cursor; the buyers are Diamond Hands (one closed 3x of a 4x
        runner each: score 100 * ln 3 / ln 4 = 79)."""
        db = self.service.db
        t0 = datetime.now(UTC) - timedelta(days=3)
        self.cursors = {w: signature(self.rng) for w in self.wallets}
        async with db.session() as session:
            await insert_ignore(
                session,
                Kol,
                [
                    {"wallet": w, "name": f"kol{k}", "tier": "top", "cursor_signature": c}
                    for k, (w, c) in enumerate(self.cursors.items())
                ],
            )
        for wallet, cursor in self.cursors.items():
            self.server.node.add_history(wallet, [(cursor, 300_000_000)])
        self.buyers = self.rng.sample(self.wallets, min(len(self.wallets), 60))
        trades, snaps = [], []
        for k, wallet in enumerate(self.buyers):
            mint = address(self.rng)
            for side, sol, hours in (("buy", 1, 0), ("sell", 3, 2)):
                trades.append(
                    TradeRecord(
                        f"seed-{k}-{side}",
                        wallet,
                        mint,
                        side,
                        1000 * 10**6,
                        6,
                        sol * 10**9,
                        t0 + timedelta(hours=hours),
                        299_000_000 + 10 * k + hours,
                        "pumpfun",
                    )  # fmt: skip
                )
            snaps += [
                SnapshotRecord(mint, t0, 1.0, 1e6),
                SnapshotRecord(mint, t0 + timedelta(hours=1), 4.0, 4e6),
            ]
        async with db.session() as session:
            await insert_ignore(session, Trade, [trade_row(t, is_kol=True) for t in trades])
            await insert_ignore(session, MarketSnapshot, [snapshot_row(s) for s in snaps])
        await refresh_positions(db, self.buyers)

    def buy(self, block_time: datetime) -> tuple[str, str, dict[str, Any]]:
        """A new buy of a new mint by a Diamond Hand wallet, served by the node (with the
        mint's holders and a DexScreener pair), and its signature."""
        wallet = self.rng.choice(self.buyers)
        mint = address(self.rng)
        sig = signature(self.rng)
        self.slot = getattr(self, "slot", 300_000_100) + 1
        tx = resign_transaction(
            BUY,
            signature=sig,
            slot=self.slot,
            block_time=int(block_time.timestamp()),
            wallet=wallet,
            mints={BUY_MINT: mint},
        )
        node = self.server.node
        node.add_transaction(tx)
        node.add_token(
            mint,
            10**15,
            6,
            [(address(self.rng), address(self.rng), 10**13 * (k + 1)) for k in range(5)],
        )
        self.server.dex.pairs.append(_pair(mint))
        return wallet, mint, tx

    async def _deliver(self) -> int:
        """The service's alerts hook (called right after a signal step wrote alerts): the
        alert rows exist now; send them to Telegram."""
        self.record_rows(iter(await self.alerted()))
        sent = await tg.deliver_alerts(self.service, self.bot)
        now = self.time.clock()
        async with self.service.db.session() as session:
            mints = (
                await session.exec(
                    select(Signal.mint)
                    .join(Alert, col(Alert.signal_id) == col(Signal.id))
                    .where(Alert.status == "sent")
                )
            ).all()
        for mint in mints:
            self.timings.sent.setdefault(mint, now)
        return sent

    async def alerted(self) -> set[str]:
        async with self.service.db.session() as session:
            rows = (
                await session.exec(
                    select(Signal.mint).join(Alert, col(Alert.signal_id) == col(Signal.id))
                )
            ).all()
        return set(rows)

    def record_rows(self, mints: Iterator[str]) -> None:
        now = self.time.clock()
        for mint in mints:
            self.timings.row.setdefault(mint, now)


async def run_push(tmp: Path, wallets: int, rate: float, buys: int) -> tuple[Timings, float]:
    bench = Bench(tmp, wallets, rate, push=True)
    async with bench.running():
        service = bench.service
        assert await service.start_push()
        ingest = service._push
        assert ingest is not None
        await until(lambda: len(bench.ws.subscriptions) >= wallets, 120.0)
        store = ingest.store

        async def timed_store(trades: list[TradeRecord]) -> object:
            settled = await store(trades)
            # the alert row exists now (written by this step, or a moment earlier by the
            # poll's settle, which would make this a little late: never early)
            alerted = await bench.alerted()
            bench.record_rows(t.mint for t in trades if t.mint in alerted)
            return settled

        ingest.store = timed_store
        stop = asyncio.Event()

        async def reconcile() -> None:  # the poll, busy the whole time on the same budget
            while not stop.is_set():
                await service.cycle(datetime.now(UTC))

        poller = asyncio.create_task(reconcile())
        await asyncio.sleep(0.5)
        node = bench.server.node
        history_calls, started = node.calls["getSignaturesForAddress"], time.perf_counter()
        for _ in range(buys):
            wallet, mint, tx = bench.buy(datetime.now(UTC))
            bench.timings.start[mint] = bench.time.clock()
            await bench.ws.notify_logs(wallet, tx["transaction"]["signatures"][0], tx["slot"])
            await asyncio.sleep(bench.rng.expovariate(1 / BUY_EVERY_S))
        await until(lambda: len(bench.timings.sent) >= buys, 120.0)
        bench.poll_load = (node.calls["getSignaturesForAddress"] - history_calls) / (
            time.perf_counter() - started
        )
        stop.set()
        poller.cancel()  # a poll of N wallets takes N / rate seconds: not waited for here
        with contextlib.suppress(asyncio.CancelledError):
            await poller
    return bench.timings, bench.poll_load


async def run_poll(tmp: Path, wallets: int, rate: float, buys: int) -> Timings:
    bench = Bench(tmp, wallets, rate, push=False)
    async with bench.running():
        service = bench.service
        await service.cycle(datetime.now(UTC))  # a first poll: cursors read, nothing new
        now = datetime.now(UTC)
        landed: dict[str, list[tuple[str, int]]] = {}
        for _ in range(buys):
            ago = bench.rng.uniform(0, POLL_S)
            wallet, mint, tx = bench.buy(now - timedelta(seconds=ago))
            bench.timings.start[mint] = bench.time.clock() - ago
            landed.setdefault(wallet, []).append((tx["transaction"]["signatures"][0], tx["slot"]))
        for wallet, new in landed.items():
            history = sorted(new, key=lambda e: -e[1]) + [(bench.cursors[wallet], 300_000_000)]
            bench.server.node.add_history(wallet, history)
        await service.cycle(datetime.now(UTC))
    return bench.timings


async def quiet_poll(tmp: Path, wallets: int) -> tuple[int, int, float]:
    bench = Bench(tmp, wallets, 0.0, push=False)
    async with bench.running():
        await bench.service.cycle(datetime.now(UTC))  # warm up
        before = len(bench.server.requests)
        start = time.perf_counter()
        await bench.service.cycle(datetime.now(UTC))
        elapsed = time.perf_counter() - start
        requests = bench.server.requests[before:]
    return len(requests), sum(r.calls for r in requests), elapsed


async def until(condition: Callable[[], bool], bound_s: float) -> None:
    """Wait (polling, bounded) for ``condition``; a benchmark goes on with what it has."""
    for _ in range(int(bound_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)


def _pair(mint: str) -> dict[str, Any]:
    import copy
    import json

    pairs = json.loads((REPO / "tests/engine/sources/dexscreener_tokens_v1.json").read_bytes())
    pair: dict[str, Any] = copy.deepcopy(pairs[0])
    pair["baseToken"] = {"address": mint, "name": "bench", "symbol": "BENCH"}
    pair["pairAddress"] = f"pair-of-{mint[:8]}"
    return pair


async def main_async(args: argparse.Namespace) -> None:
    scenarios = (
        [(10_000, 50.0)]
        if args.quick
        else [(n, r) for n in (1_000, 10_000) for r in (10.0, 50.0, 200.0)]
    )
    quick_line = ""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, (wallets, rate) in enumerate(scenarios):
            started = time.perf_counter()
            push, load = await run_push(root / f"push{k}", wallets, rate, args.buys)
            line = f"push p50 {_p(push.latencies(push.row), 50)} s p99 {_p(push.latencies(push.row), 99)} s"
            print(
                f"(a) push, {wallets:,} wallets, {rate:g} calls/s (the poll meanwhile: {load:.0f} history calls/s):"
            )
            print(f"    -> alert row: {percentiles(push.latencies(push.row))}")
            print(f"    -> Telegram:  {percentiles(push.latencies(push.sent))}")
            if not args.quick:
                poll = await run_poll(root / f"poll{k}", wallets, rate, args.buys)
                print(f"(b) poll, {wallets:,} wallets, {rate:g} calls/s (buys of the last 5 min):")
                print(f"    -> alert row: {percentiles(poll.latencies(poll.row))}")
                print(f"    -> Telegram:  {percentiles(poll.latencies(poll.sent))}")
            print(f"    ({time.perf_counter() - started:.1f} s real)")
            if (wallets, rate) == (10_000, 50.0):
                quick_line = line
        requests, calls, elapsed = await quiet_poll(root / "quiet", 1_000)
        print("(c) a quiet reconciliation poll of 1,000 wallets, 10-call history batches:")
        print(
            f"    HTTP requests: {requests} (target <= 120), JSON-RPC calls {calls}, {elapsed:.2f} s"
        )
    if quick_line:
        print(quick_line)


def _p(values: list[float], q: int) -> str:
    if not values:
        return "nan"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[q - 1]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 wallets at 50 calls/s only")
    parser.add_argument("--buys", type=int, default=0, help="buys per scenario (30, quick 25)")
    args = parser.parse_args()
    args.buys = args.buys or (25 if args.quick else 30)
    logging.basicConfig(level=logging.ERROR)
    flag = " --quick" if args.quick else ""
    print(f"$ .venv/bin/python bench/bench_latency.py{flag} --buys {args.buys}")
    print(f"python {platform.python_version()} on {platform.machine()}, hybrid clock (see doc)")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
