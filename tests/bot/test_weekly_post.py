"""The weekly post end to end on the small world: every chart of the report, captioned, the
week's backtest beside them, and no server path in the text."""

from __future__ import annotations

import pytest

from bot.commands import REPORT_TEXT, weekly_reply, write_weekly_report
from engine.service import MoonbotService
from tests.conftest import at, world


@pytest.fixture
async def service(tmp_settings):  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    await svc.cycle(at(73 * 60))
    yield svc
    await svc.close()


async def test_the_weekly_post_carries_every_chart_with_a_caption(service: MoonbotService) -> None:
    weekly, text = await write_weekly_report(service)
    reply = weekly_reply(weekly, text)
    names = set(weekly.charts)
    assert {"patterns", "kol_leaderboard", "backtest"} <= names  # no model: no SHAP charts
    assert sorted(p for p, _ in reply.charts) == sorted(weekly.charts.values())
    assert all(path.is_file() and caption for path, caption in reply.charts)
    assert len({caption for _, caption in reply.charts}) == len(reply.charts)
    assert str(service.settings.data_dir) not in text and ".png" not in text
    assert "Since last week: no earlier report to compare with" in text
    assert "Alerts sent in the last 7 days" in text
    assert (weekly.directory / REPORT_TEXT).read_text(encoding="utf-8") == text + "\n"
