"""Every command answers bad input with one clear line, never a traceback, and changes nothing."""

import math

import pytest
from sqlmodel import func, select

from bot.commands import COMMANDS, dispatch, help_text
from engine.service import MoonbotService
from engine.storage import Alert, ModelVersion, Signal, Trade
from tests.conftest import MINT_X, WALLET_A, at, world

UNKNOWN_MINT = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"  # valid address, never traded here
USAGE_ALERTS = (
    "usage: /alerts status · /alerts on · /alerts off · /alerts threshold <0-100> · "
    "/alerts followups on|off"
)


@pytest.fixture
async def service(tmp_settings):  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    await svc.cycle(at(73 * 60))
    yield svc
    await svc.close()


async def _rows(svc: MoonbotService) -> tuple[int, ...]:
    async with svc.db.session() as s:
        return tuple(
            [
                (await s.exec(select(func.count()).select_from(t))).one()
                for t in (Trade, Signal, Alert, ModelVersion)
            ]
        )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/predict", "missing argument: usage /predict <mint>"),
        (
            "/predict abc",
            "'abc' is not a valid Solana mint: expected 32-44 base58 characters, got 3",
        ),
        (
            "/predict 0PjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
            "'0PjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v' is not a valid Solana mint: '0' is not a base58 character",
        ),
        (f"/predict {UNKNOWN_MINT}", f"unknown token {UNKNOWN_MINT}: no tracked KOL has traded it"),
        (f"/predict {MINT_X} extra", "too many arguments: usage /predict <mint>"),
        ("/kol", "missing argument: usage /kol <wallet|name>"),
        ("/kol nobody", "no tracked KOL is named 'nobody': try /kol with a wallet address"),
        (f"/kol {UNKNOWN_MINT}", f"wallet {UNKNOWN_MINT} is not a tracked KOL"),
        (
            "/kol 0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl",
            "'0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl' is not a valid Solana wallet: '0' is not a base58 character",
        ),
        ("/retrain", "/retrain is for admins only"),
        ("/frobnicate", "unknown command /frobnicate: try /help"),
        ("hello", "commands start with /: try /help"),
    ],
)
async def test_bad_input_gets_one_clear_line(
    service: MoonbotService, line: str, expected: str
) -> None:
    before = await _rows(service)
    reply = await dispatch(service, line)
    assert "\n" not in reply.text and "Traceback" not in reply.text
    assert reply.text == expected
    assert reply.image is None
    assert await _rows(service) == before


async def test_retrain_with_too_little_data_says_so(service: MoonbotService) -> None:
    reply = await dispatch(service, "/retrain", is_admin=True)
    assert reply.text == "not enough labeled signals to train: 1 (need about 72)"
    assert (await _rows(service))[3] == 0


async def test_kol_by_name_and_wallet(service: MoonbotService) -> None:
    by_name = await dispatch(service, "/kol ALPHA")
    by_wallet = await dispatch(service, f"/kol {WALLET_A}")
    assert by_name.text == by_wallet.text
    assert by_name.text.startswith(f"alpha [elite] · {WALLET_A}")
    assert "Win rate 100% · 3x+ rate 100% · avg hold 2.0 h" in by_name.text  # 2 SOL -> 6 SOL in 2 h


async def test_help_lists_every_command(service: MoonbotService) -> None:
    text = (await dispatch(service, "/help")).text
    assert text == help_text()
    for command in COMMANDS:
        assert command.usage in text


async def test_status_counts_rows(service: MoonbotService) -> None:
    text = (await dispatch(service, "/status")).text
    assert "kols 2 · tokens 2 · trades 5 · signals 2 · labeled 1 · alerts_pending 0" in text
    assert "Model none (run /retrain)" in text


async def test_insights_on_an_empty_database(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        reply = await dispatch(svc, "/insights")
        assert reply.text == "no labeled signals yet: insights need outcomes to learn from"
    finally:
        await svc.close()


@pytest.mark.parametrize(
    ("line", "admin", "expected"),
    [
        ("/alerts on", False, "/alerts is for admins only"),
        ("/alerts on", True, "alerts on for this channel (conviction threshold 60)"),
        ("/alerts threshold 75", True, "alerts off for this channel (conviction threshold 75)"),
        (
            "/alerts threshold 101",
            True,
            "the threshold is a conviction score from 0 to 100, not 101",
        ),
        (
            "/alerts threshold x",
            True,
            USAGE_ALERTS,
        ),
        (
            "/alerts threshold ²",  # a digit to str.isdigit, not to int()
            True,
            USAGE_ALERTS,
        ),
        (
            "/alerts threshold " + "9" * 5000,  # more digits than int() converts
            True,
            USAGE_ALERTS,
        ),
        ("/alerts", True, "missing argument: usage /alerts <setting> [value]"),
        ("/track add " + UNKNOWN_MINT, False, "/track add is for admins only"),
        ("/track remove", True, "missing argument: usage /track remove <wallet>"),
        (
            "/track add abc",
            True,
            "'abc' is not a valid Solana wallet: expected 32-44 base58 characters, got 3",
        ),
        (
            "/track add " + UNKNOWN_MINT + " gamma legend",
            True,
            "tier 'legend' is not one of elite, top, regular",
        ),
        (
            "/track dance",
            True,
            "usage: /track add <wallet> [name] [tier] · /track remove <wallet> · /track list",
        ),
    ],
)
async def test_channel_and_admin_commands(
    service: MoonbotService, line: str, admin: bool, expected: str
) -> None:
    reply = await dispatch(service, line, is_admin=admin, channel="telegram:42")
    assert reply.text == expected


async def test_track_add_list_remove(service: MoonbotService) -> None:
    added = await dispatch(service, f"/track add {UNKNOWN_MINT} gamma top", is_admin=True)
    assert added.text == f"added gamma [top] {UNKNOWN_MINT}"
    listed = (await dispatch(service, "/track list")).text.splitlines()
    assert f"{UNKNOWN_MINT}  [top]  0 trades  gamma" in listed and len(listed) == 3
    removed = await dispatch(service, f"/track remove {UNKNOWN_MINT}", is_admin=True)
    assert removed.text == f"stopped tracking gamma {UNKNOWN_MINT} (its 0 trades are kept)"
    assert len((await dispatch(service, "/track list")).text.splitlines()) == 2


async def test_alert_thresholds_are_per_channel(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    # WALLET_A turned 2 SOL into 6 on a token that ran 9.64x: Diamond Hand score
    # 100 * ln 3 / ln 9.64 = 48.5 over one winner, so it qualifies at 40 / 1 position.
    settings = tmp_settings.model_copy(
        update={
            "diamond_hand_threshold": 40.0,
            "diamond_hand_min_positions": 1,
            "alert_channels": [],
        }
    )
    svc = await MoonbotService.open(settings, world())
    try:
        await dispatch(svc, "/alerts threshold 0", is_admin=True, channel="telegram:1")
        await dispatch(svc, "/alerts on", is_admin=True, channel="telegram:1")
        await dispatch(svc, "/alerts on", is_admin=True, channel="telegram:2")
        await dispatch(svc, "/alerts threshold 100", is_admin=True, channel="telegram:2")
        await dispatch(
            svc, "/alerts threshold 0", is_admin=True, channel="telegram:3"
        )  # never turned on
        await svc.cycle(at(73 * 60))
        views = await svc.pending_alerts()
        assert [(v.channel, v.kol_wallet, v.mint) for v in views] == [
            ("telegram:1", WALLET_A, MINT_X)
        ]
        assert views[0].diamond_hand_score == pytest.approx(
            100 * math.log(3) / math.log(9.64), abs=0.01
        )
    finally:
        await svc.close()


async def test_kol_names_match_case_insensitively_beyond_ascii(service: MoonbotService) -> None:
    """SQLite's lower() folds ASCII only: "ÉMILE" must still find "Émile", and a name written
    with a combining accent (E + U+0301) the same one."""
    await dispatch(service, f"/track add {UNKNOWN_MINT} Émile top", is_admin=True)
    for query in ("ÉMILE", "émile", "E\u0301mile"):
        reply = await dispatch(service, f"/kol {query}")
        assert reply.text.startswith(f"Émile [top] · {UNKNOWN_MINT}"), (query, reply.text)


async def test_bytes_that_are_not_utf8_get_one_line(service: MoonbotService) -> None:
    """`moonbot ask` hands over argv as the terminal decoded it: invalid UTF-8 bytes become lone
    surrogates ("\udcff"), which no database or chat API takes."""
    before = await _rows(service)
    reply = await dispatch(service, "/kol \udcff\udcfe")
    assert reply.text == "that is not valid UTF-8 text"
    assert await _rows(service) == before


async def test_alerts_status_shows_the_channel_settings_to_anyone(service: MoonbotService) -> None:
    before = await dispatch(service, "/alerts status", channel="telegram:9")
    assert before.text.startswith("alerts off for this channel (conviction threshold 60;")
    await dispatch(service, "/alerts threshold 70", is_admin=True, channel="telegram:9")
    await dispatch(service, "/alerts on", is_admin=True, channel="telegram:9")
    after = await dispatch(service, "/alerts status", channel="telegram:9")  # not an admin
    assert after.text.startswith("alerts on for this channel (conviction threshold 70;")
    assert not after.error


async def test_performance_counts_sent_alerts_by_their_outcome(service: MoonbotService) -> None:
    from engine.storage import Alert, Signal

    async with service.db.session() as s:
        signal = (await s.exec(select(Signal).where(Signal.mint == MINT_X))).one()
        assert signal.id is not None
        s.add(
            Alert(
                signal_id=signal.id,
                channel="telegram:1",
                kol_wallet=WALLET_A,
                buy_ts=at(0),
                status="sent",
            )
        )
    text = (await dispatch(service, "/performance 7")).text
    # X is labeled: its mcap went from 50,000 at the signal to 482,000 at 72 h (9.64x): a 2x,
    # not a 10x, not a rug; one alert of one channel, so no per-channel lines
    assert text.split("\n") == [
        "Alerts sent in the last 7 days (to 2026-03-04 13:00 UTC), by their signal's outcome:",
        "  all channels: 1 alerts, 1 with an outcome · reached 2x 1/1 (21%-100%) · 10x 0/1 "
        "(0%-79%) · rugs 0/1 (0%-79%) · best $DROCK 9.6x · worst $DROCK 9.64x",
    ]
    assert (await dispatch(service, "/performance x")).error
