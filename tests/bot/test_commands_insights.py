"""/insights answers from the week's report while no signal has been labeled since, in the
report's own words, and computes the insights again once the data has moved on."""

from bot import format as fmt
from bot.commands import dispatch
from engine.service import MoonbotService
from tests.conftest import at, world


async def test_insights_come_from_the_weekly_report_while_it_is_current(tmp_settings) -> None:  # type: ignore[no-untyped-def]
    svc = await MoonbotService.open(tmp_settings, world())
    try:
        await svc.cycle(at(73 * 60))  # token X's signal is labeled; Y's is not yet
        first = (await dispatch(svc, "/insights")).text.splitlines()[0]
        assert first == "Insights from 1 labeled signals · model none · computed now"

        weekly = await svc.report()
        assert weekly.week == "2026-W10"  # 2026-03-04, a Wednesday
        assert (weekly.directory / "insights.json").is_file()
        reply = await dispatch(svc, "/insights")
        assert reply.text == fmt.insights(weekly.insights)  # one formatter: the report's text
        assert reply.text.splitlines()[0] == (
            "Insights from 1 labeled signals · model none · from the weekly report of 2026-W10"
        )

        await svc.cycle(at(80 * 60))  # Y's signal is labeled too: the report is behind
        later = (await dispatch(svc, "/insights")).text.splitlines()[0]
        assert later == "Insights from 2 labeled signals · model none · computed now"
    finally:
        await svc.close()
