"""The demo's reset and its live-data guard (engine.sim.demo), the same on SQLite and on
PostgreSQL: a second demo starts from an empty database, and a database that ever held a real
source's data is refused, untouched."""

from __future__ import annotations

import pytest

from engine.errors import UserError
from engine.service import MoonbotService
from engine.sim.demo import DemoService
from engine.storage import Kol, Signal, Trade
from tests.conftest import at, world

SMALL = {"sim_days": 4, "sim_kols": 8, "sim_tokens_per_day": 8, "sim_seed": 3}


async def _demo_days(settings, days: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Start a demo and run ``days`` of it: the signal count after each day."""
    service = await DemoService.start(settings)
    try:
        counts = [await service.db.count(Signal)]
        for day in range(1, days + 1):
            await service.cycle(service.day_end(day))
            counts.append(await service.db.count(Signal))
        return counts
    finally:
        await service.close()


async def test_a_second_demo_starts_from_an_empty_database(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    settings = tmp_settings.model_copy(update=SMALL)
    first = await _demo_days(settings, 3)
    (settings.models_dir / "left-from-the-first-demo").mkdir(parents=True)
    second = await _demo_days(settings, 3)
    # The same seed, the same market: the same signals day by day, from none.
    assert first[0] == 0 and first[-1] > 0 and second == first
    assert not (settings.models_dir / "left-from-the-first-demo").exists()


async def test_the_demo_refuses_a_database_with_live_data(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    live = tmp_settings.model_copy(update={"source": "rpc"})
    service = await MoonbotService.open(live, world())  # what `moonbot run` on mainnet stored
    try:
        await service.cycle(at(73 * 60))
        trades = await service.db.count(Trade)
    finally:
        await service.close()
    with pytest.raises(UserError) as refused:
        await DemoService.start(tmp_settings.model_copy(update=SMALL))
    message = str(refused.value)
    assert "holds data from the 'rpc' source" in message
    if tmp_settings.database_url is None:
        assert message.endswith("set MOONBOT_DATA_DIR to another directory for the demo")
    else:
        assert message.endswith("set MOONBOT_DATABASE_URL to another database for the demo")
    check = await MoonbotService.open(live, world())
    try:  # nothing was dropped, and nothing simulated was written
        assert await check.db.count(Trade) == trades == 5
        assert await check.db.count(Kol) == 2
    finally:
        await check.close()


async def test_a_demo_database_used_live_once_is_live(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    """The source mark is the first source, except that a real one replaces "sim": a demo's
    database that `moonbot run --source rpc` then used is refused by the next demo."""
    settings = tmp_settings.model_copy(update=SMALL)
    await _demo_days(settings, 1)
    live = await MoonbotService.open(settings.model_copy(update={"source": "rpc"}), world())
    await live.close()
    again = await MoonbotService.open(settings, world())  # a later sim start keeps it live
    await again.close()
    with pytest.raises(UserError, match="holds data from the 'rpc' source"):
        await DemoService.start(settings)
