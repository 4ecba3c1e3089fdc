"""Start-up checks (issue 15): `moonbot run` refuses a configuration that cannot work with one
line naming what to set, before it starts anything; the demo on a market too small to train
says so and ends normally."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console

from engine.config import Settings, check_runnable
from tests.paths import REPO

# The token shapes the platforms document: Telegram's Bot API docs ("Authorizing your bot":
# "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11") and discord.py's docs/token.rst (user id in
# base64 . timestamp . HMAC; the first part decodes to 245559087524216832).
TELEGRAM_DOC_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
DISCORD_DOC_TOKEN = "MjQ1NTU5MDg3NTI0MjE2ODMy.DulyxA.brcD2xRAqjACTuMcGPwy4TWVQdg"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_default_configuration_can_run() -> None:
    assert check_runnable(settings()) == []
    assert (
        check_runnable(
            settings(
                source="rpc",
                rpc_url="https://mainnet.helius-rpc.com/?api-key=k",
                telegram_token=TELEGRAM_DOC_TOKEN,
                discord_token=DISCORD_DOC_TOKEN,
                telegram_allowed_chat_ids="-1001234567890,42",
            )
        )
        == []
    )


def test_rpc_source_without_url_names_the_variable() -> None:
    problems = check_runnable(settings(source="rpc"))
    assert len(problems) == 1
    assert "MOONBOT_RPC_URL" in problems[0] and "MOONBOT_SOURCE=rpc" in problems[0]
    assert check_runnable(settings(source="rpc", rpc_url="   ")) == problems
    (scheme,) = check_runnable(settings(source="rpc", rpc_url="mainnet.example/KEY123"))
    assert "https://" in scheme and "KEY123" not in scheme


@pytest.mark.parametrize(
    "token",
    [
        "123456",  # no colon
        "ABC:DEF1234",  # the id is not a number
        "123456:ABC DEF",  # a space inside
        "bot123456:ABC-DEF",  # the URL's "bot" prefix pasted with it
    ],
)
def test_malformed_telegram_token(token: str) -> None:
    (problem,) = check_runnable(settings(telegram_token=token))
    assert problem.startswith("MOONBOT_TELEGRAM_TOKEN") and "BotFather" in problem
    assert token not in problem  # a secret is never part of the line


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (f"Bot {DISCORD_DOC_TOKEN}", "'Bot ' prefix"),
        ("MjQ1NTU5MDg3NTI0MjE2ODMy.DulyxA", "three parts"),
        ("bm90IGFuIGlk.DulyxA.brcD2xRAqjACTuMcGPwy4TWVQdg", "not a user id"),  # "not an id"
    ],
)
def test_malformed_discord_token(token: str, says: str) -> None:
    (problem,) = check_runnable(settings(discord_token=token))
    assert problem.startswith("MOONBOT_DISCORD_TOKEN") and says in problem
    assert token not in problem and DISCORD_DOC_TOKEN not in problem


def test_ids_and_crontab_lines() -> None:
    (ids,) = check_runnable(settings(telegram_allowed_chat_ids="123,@mygroup"))
    assert ids.startswith("MOONBOT_TELEGRAM_ALLOWED_CHAT_IDS") and "'@mygroup'" in ids
    (cron,) = check_runnable(settings(retrain_cron="0 4 * *"))
    assert cron.startswith("MOONBOT_RETRAIN_CRON") and "5" in cron  # "expected 5" fields


def _moonbot(args: list[str], env: dict[str, str], cwd: os.PathLike[str]) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def test_run_refuses_before_starting_anything(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    code, out = _moonbot(
        ["run"], {"MOONBOT_DATA_DIR": str(data), "MOONBOT_SOURCE": "rpc"}, tmp_path
    )
    assert code == 2
    assert out.strip().splitlines() == [
        "error: MOONBOT_SOURCE=rpc needs MOONBOT_RPC_URL: set your Solana RPC URL "
        "(e.g. https://mainnet.helius-rpc.com/?api-key=YOUR_KEY)"
    ]
    assert not data.exists()  # no database, no log file: nothing started


async def test_demo_on_a_market_too_small_to_train_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.demo import run_demo

    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    # 6 days of 10 tokens: about 20 labeled signals, fewer than training needs (issue 15)
    await run_demo(settings(sim_days=6, sim_tokens_per_day=10, data_dir=tmp_path), console)
    text = out.getvalue()
    assert "not enough labeled signals to train" in text
    assert "No model in use: this simulated market is too small to train" in text
    assert "/kol " in text and "/insights" in text  # what it could show, it showed
    assert "Demo finished" in text
