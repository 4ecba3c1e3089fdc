"""``moonbot track`` through typer's runner, over a real service, database and engine functions.

The commands are built with ``make_track_app`` around the real service, over a new source each
time (as the CLI opens one per command).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli_track import TrackService, make_track_app
from engine.config import Settings
from engine.records import MarketSource
from engine.service import MoonbotService
from engine.sources.dexscreener import DexScreener
from engine.sources.net.retry import RetryPolicy
from engine.sources.solana.rpc import SolanaRpc
from engine.sources.solana.source import RpcSource
from tests.conftest import WALLET_A, WALLET_B, ScriptedSource
from tests.fakes.fake_http import FakeServer
from tests.fakes.solana_node import FakeSolanaNode, fixture_transaction, resign_transaction

runner = CliRunner()


class Opener:
    """Opens the service as the CLI would, over a new source each time (one per command)."""

    def __init__(self, make_source: Callable[[], MarketSource]) -> None:
        self.make_source = make_source
        self.opened = 0

    async def __call__(self, settings: Settings) -> TrackService:
        self.opened += 1
        return await MoonbotService.open(settings, self.make_source())


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("MOONBOT_DATA_DIR", str(path))
    return path


def invoke(opener: Opener, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(make_track_app(opener), list(args))
    return result.exit_code, result.output.splitlines()


def test_bad_input_is_one_line_exit_2_and_changes_nothing(data_dir: Path) -> None:
    opener = Opener(lambda: ScriptedSource([], [], [], []))
    code, lines = invoke(opener, "add", "not-a-wallet", "--tier", "top")
    assert code == 2
    assert lines == [
        "error: 'not-a-wallet' is not a valid Solana wallet: expected 32-44 base58 characters, "
        "got 12"
    ]
    code, lines = invoke(opener, "add", WALLET_A, "--tier", "legend")
    assert (code, lines) == (2, ["error: tier 'legend' is not one of elite, top, regular"])
    code, lines = invoke(opener, "backfill", WALLET_A + "0", "--days", "3")
    assert code == 2 and lines[0].startswith("error: ") and len(lines) == 1
    code, lines = invoke(opener, "backfill", WALLET_A, "--days", "0")
    assert (code, lines) == (2, ["error: days must be between 1 and 365, not 0"])
    assert opener.opened == 0 and not data_dir.exists()  # nothing opened, nothing written


def test_add_list_remove_and_add_again(data_dir: Path) -> None:
    opener = Opener(lambda: ScriptedSource([], [], [], []))
    assert invoke(opener, "list") == (
        0, ["no tracked wallets: add one with `moonbot track add ADDRESS`"],
    )  # fmt: skip
    assert invoke(opener, "add", WALLET_A, "--name", "alpha", "--tier", "elite") == (
        0, [f"added alpha (elite) {WALLET_A}"],
    )  # fmt: skip
    assert invoke(opener, "add", WALLET_B)[1] == [f"added 9WzD…AWWM (regular) {WALLET_B}"]
    assert invoke(opener, "add", WALLET_A, "--tier", "TOP")[1] == [
        f"updated alpha (top) {WALLET_A}"  # the name stays when none is given
    ]
    code, lines = invoke(opener, "list")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert code == 0 and [line.split() for line in lines] == [
        [WALLET_A, "top", "0", "trades", "since", today, "alpha"],
        [WALLET_B, "regular", "0", "trades", "since", today, "9WzD…AWWM"],
    ]
    assert invoke(opener, "remove", WALLET_B) == (
        0,
        [f"removed 9WzD…AWWM {WALLET_B} (0 trades kept)"],
    )
    assert invoke(opener, "remove", WALLET_B) == (2, [f"error: wallet {WALLET_B} is not tracked"])
    assert [line.split()[0] for line in invoke(opener, "list")[1]] == [WALLET_A]
    assert invoke(opener, "add", WALLET_B, "--tier", "top")[1] == [
        f"reactivated 9WzD…AWWM (top) {WALLET_B}"
    ]


def test_backfill_needs_the_live_source(data_dir: Path) -> None:
    opener = Opener(lambda: ScriptedSource([], [], [], []))
    invoke(opener, "add", WALLET_A)
    code, lines = invoke(opener, "backfill", WALLET_A, "--days", "3")
    assert code == 2 and lines[0].startswith(
        "error: backfill reads the chain: set MOONBOT_SOURCE=rpc"
    )


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer(FakeSolanaNode()) as running:
        yield running


def rpc_source(server: FakeServer) -> RpcSource:
    options: dict[str, Any] = {
        "requests_per_second": None,
        "retry": RetryPolicy(max_attempts=2, backoff_base_s=0.001, backoff_max_s=0.002),
        "timeout": httpx.Timeout(2.0),
        "rng": random.Random(1),
    }
    return RpcSource(SolanaRpc(server.url, **options), DexScreener(server.url, **options))


def test_backfill_stores_the_wallets_swaps_of_the_last_days(
    data_dir: Path, server: FakeServer
) -> None:
    # a real pump.fun sell and buy of one wallet, moved to 10 and 2 days ago
    wallet = "4DdrfiDHpmx55i4SPssxVzS9ZaKLb8qr45NKY9Er9nNh"
    now = int(datetime.now(UTC).timestamp())
    txs = [
        resign_transaction(
            fixture_transaction(name), signature=f"{name[:-5]}-{k}", slot=slot,
            block_time=now - days_ago * 86400,
        )
        for k, (name, slot, days_ago) in enumerate(
            [("pumpfun_sell_0.json", 300_000_000, 10), ("pumpfun_buy_1.json", 302_000_000, 2)]
        )
    ]  # fmt: skip
    for tx in txs:
        server.node.add_transaction(tx)
    server.node.add_history(
        wallet,
        [(tx["transaction"]["signatures"][0], tx["slot"]) for tx in reversed(txs)],
        block_times={tx["transaction"]["signatures"][0]: tx["blockTime"] for tx in txs},
    )
    opener = Opener(lambda: rpc_source(server))
    invoke(opener, "add", wallet, "--name", "pumper")
    code, lines = invoke(opener, "backfill", wallet, "--days", "5")
    assert code == 0, lines
    assert lines[0].startswith(f"{wallet}: 1 transactions since ")
    assert lines[0].endswith(" UTC, 1 swaps, 1 new")
    code, lines = invoke(opener, "backfill", wallet, "--days", "30")
    assert code == 0, lines
    # the first back-fill set the cursor at the buy: now only what is older is read
    assert lines[0].startswith(f"{wallet}: 1 transactions since ")
    assert lines[0].endswith(" UTC, 1 swaps, 1 new")
    assert invoke(opener, "list")[1][0].split()[2] == "2"  # trades


def test_a_data_dir_that_cannot_be_written_is_one_line_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No traceback: the command says what the machine refused, and exits 1."""
    blocker = tmp_path / "occupied"
    blocker.write_text("a file where the data directory should be")
    monkeypatch.setenv("MOONBOT_DATA_DIR", str(blocker / "data"))
    opener = Opener(lambda: ScriptedSource([], [], [], []))
    code, lines = invoke(opener, "add", WALLET_A, "--tier", "top")
    assert code == 1
    assert lines == [f"error: cannot create the data directory {blocker / 'data'}: Not a directory"]
