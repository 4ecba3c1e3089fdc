"""/kol that adds up: a removed KOL is marked not tracked, no forecast without history, and two
horizons that say the same are one line.

The world (tests/conftest.py): alpha bought 1,000 X for 2.0 SOL at minute 0 and sold them for
6.0 SOL at minute 120 (one closed position, 3.00x); gamma below is added with no trade at all."""

from __future__ import annotations

import pytest

from bot.commands import dispatch
from engine.service import MoonbotService
from tests.conftest import WALLET_A, WALLET_C, at, world


@pytest.fixture
async def service(tmp_settings):  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    await svc.cycle(at(73 * 60))
    await svc.refresh_stats()
    yield svc
    await svc.close()


async def test_a_tracked_kol_with_history_has_one_forecast_line_when_horizons_agree(
    service: MoonbotService,
) -> None:
    lines = (await dispatch(service, "/kol alpha")).text.split("\n")
    assert lines[0] == f"alpha [elite] · {WALLET_A}"
    assert "NOT TRACKED" not in "\n".join(lines)
    forecasts = [line for line in lines if "3x+ rate" in line and "Win rate" not in line]
    days = [line for line in forecasts if line.startswith("Next ")]
    alike = [line for line in forecasts if "d alike" in line]
    # either two different horizons, or one line saying both are the same
    assert (len(days), len(alike)) in ((2, 0), (0, 1)), forecasts
    if len(days) == 2:
        assert days[0].split(":", 1)[1] != days[1].split(":", 1)[1]
    # X's mcap is 50,000 + 100 * minute: 50,000 at the buy, 482,000 at 72 h: a 9.64x run-up
    assert any(line.endswith("2.00 SOL -> 3.00x, peak 9.6x") for line in lines), lines


async def test_a_removed_kol_is_marked_not_tracked_and_gets_no_forecast(
    service: MoonbotService,
) -> None:
    await dispatch(service, f"/track remove {WALLET_A}", is_admin=True)
    reply = await dispatch(service, "/kol alpha")
    lines = reply.text.split("\n")
    assert lines[1] == (
        "NOT TRACKED: removed with /track remove; its past record only, no forecast"
    )
    assert not any("3x+ rate:" in line or "d alike" in line for line in lines)


async def test_a_kol_without_trades_gets_no_forecast(service: MoonbotService) -> None:
    await dispatch(service, f"/track add {WALLET_C} gamma top", is_admin=True)
    lines = (await dispatch(service, "/kol gamma")).text.split("\n")
    assert "No forecast: no closed position yet" in lines
    assert not any("3x+ rate:" in line for line in lines)
