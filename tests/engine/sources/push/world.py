"""A live world for the push tests: the fake node (HTTP JSON-RPC), the fake WebSocket node and a
``MoonbotService`` on the live source over both, with the real fixture transactions."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from engine.config import Settings
from engine.records import TradeRecord
from engine.service import MoonbotService
from engine.sources.dexscreener import DexScreener
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.source import RpcSource
from engine.storage import Alert, Signal, Trade
from engine.storage.convert import trade_record
from tests.fakes.dexscreener_api import FakeDexScreener
from tests.fakes.fake_http import FakeServer
from tests.fakes.solana_node import FakeSolanaNode
from tests.fakes.ws_node import FakeWsNode


@dataclass
class World:
    server: FakeServer
    ws: FakeWsNode
    service: MoonbotService
    source: RpcSource

    @property
    def node(self) -> FakeSolanaNode:
        return self.server.node

    def fetched(self, signature: str) -> int:
        """How many ``getTransaction`` calls asked the node for ``signature``."""
        count = 0
        for request in self.server.requests:
            body = request.body if isinstance(request.body, list) else [request.body]
            count += sum(
                1
                for call in body
                if isinstance(call, dict)
                and call.get("method") == "getTransaction"
                and call.get("params", [None])[0] == signature
            )
        return count

    async def trades(self) -> list[TradeRecord]:
        async with self.service.db.session() as session:
            rows = (await session.exec(select(Trade).order_by(col(Trade.id)))).all()
        return [trade_record(r) for r in rows]

    async def signals(self) -> list[Signal]:
        async with self.service.db.session() as session:
            return list((await session.exec(select(Signal))).all())

    async def alerts(self) -> list[Alert]:
        async with self.service.db.session() as session:
            return list((await session.exec(select(Alert))).all())


def live_source(server: FakeServer, **kwargs: Any) -> RpcSource:
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002)
    rpc = SolanaRpc(
        server.url,
        requests_per_second=None,
        retry=retry,
        timeout=httpx.Timeout(10.0),  # generous: a loaded machine is slow, not broken
        rng=random.Random(3),
        batch_sizes={"getSignaturesForAddress": 10, "getTransaction": 10},
    )
    dex = DexScreener(
        server.url, requests_per_second=None, retry=retry, timeout=httpx.Timeout(10.0)
    )
    options: dict[str, Any] = {"new_wallet_lookback": None}
    options.update(kwargs)
    return RpcSource(rpc, dex, **options)


@asynccontextmanager
async def live_world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    with FakeServer(FakeSolanaNode(), FakeDexScreener()) as server:
        async with FakeWsNode() as ws:
            options: dict[str, Any] = {
                "data_dir": tmp_path / "data",
                "source": "rpc",
                "rpc_url": server.url,
                "push_mode": "logs",
                "push_ws_url": ws.url,
                "alert_channels": ["console"],
                "poll_budget_seconds": 0,
            }
            options.update(settings)
            config = Settings(_env_file=None, **options)  # type: ignore[call-arg]
            source = live_source(server)
            service = await MoonbotService.open(config, source)
            try:
                yield World(server, ws, service, source)
            finally:
                await service.close()
