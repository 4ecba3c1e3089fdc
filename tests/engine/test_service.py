"""The whole loop on a small simulated market, through the service facade: what the engine
stores must agree with the simulator's truth, and a trained model must answer every command."""

import math
import struct
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.commands import dispatch
from engine.learning.labels import label_for_multiple
from engine.sim import SimConfig, SimSource, generate
from engine.sim.demo import DemoService
from engine.sim.oracle import F_INPUTS, outcome_mean
from engine.storage import Outcome, Signal

CONFIG = SimConfig(seed=11, n_days=8, n_kols=16, tokens_per_day=18)


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    return generate(CONFIG)


async def test_engine_agrees_with_the_simulator_and_answers(tmp_settings, world) -> None:  # type: ignore[no-untyped-def]
    service = await DemoService.open(tmp_settings, SimSource(world))
    assert isinstance(service, DemoService)  # the facade plus what only the demo asks
    try:
        for day in range(1, CONFIG.n_days + 1):
            await service.cycle(CONFIG.start + timedelta(days=day))
        async with service.db.session() as session:
            rows = (
                await session.exec(
                    select(Signal, Outcome).outerjoin(
                        Outcome, col(Outcome.signal_id) == col(Signal.id)
                    )
                )
            ).all()
        truths = {t.mint: t for t in world.truths}
        labeled = 0
        for signal, outcome in rows:
            truth = truths[signal.mint]
            assert signal.ts == truth.signal_time
            assert signal.entry_mcap == pytest.approx(truth.entry_mcap_usd)
            # The features the engine stored are exactly the values the simulator's f read.
            for name in F_INPUTS:
                assert signal.features[name] == pytest.approx(truth.f_inputs[name]), name
            assert outcome_mean(
                {k: v for k, v in signal.features.items() if v is not None}
            ) == pytest.approx(truth.f)
            if outcome is not None:
                labeled += 1
                assert outcome.label == truth.label
                assert label_for_multiple(outcome.max_mcap / signal.entry_mcap) == truth.label
        end = CONFIG.start + timedelta(days=CONFIG.n_days)
        assert len(rows) == sum(t.signal_time <= end for t in world.truths)
        assert labeled == sum(t.signal_time + timedelta(hours=72) <= end for t in world.truths)

        report = await service.retrain({"n_estimators": 60, "n_jobs": 1})
        assert report.promoted and report.n_train + report.n_holdout == labeled

        mint = max(rows, key=lambda r: r[0].ts)[0].mint
        prediction = await service.predict(mint)
        assert prediction.score.probabilities is not None
        assert math.fsum(prediction.score.probabilities) == pytest.approx(1.0)
        assert len(prediction.score.reasons) == 3
        text = (await dispatch(service, f"/predict {mint}")).text
        assert text.count("%") >= 6 and "Top reasons:" in text

        name = (await service.top_kols(1))[0].name
        kol_text = (await dispatch(service, f"/kol {name}")).text
        assert "Win rate" in kol_text and "Diamond Hand score" in kol_text

        insights = await dispatch(service, "/insights")
        assert (
            insights.image is not None and insights.image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        )
        # 89 labeled signals: below the configured count, no driver is claimed (issue 13)
        assert "the sample is too small to tell: 89 labeled signals" in insights.text
        # after the importance chart, one chart per question the data can answer (issue 13)
        assert [(p.name, c.split(":")[0]) for p, c in insights.charts[1:]] == [
            ("question_holders.png", "Top-10 holder share"),
            ("question_kols.png", "KOLs it takes for 10x"),
            ("question_narratives.png", "Narratives"),
            ("question_volume.png", "Volume before moonshots"),
        ]

        weekly = await service.report()
        assert (
            weekly.directory == tmp_settings.reports_dir / "2026-W02"
        )  # the data's week, not today's
        assert set(weekly.charts) == {
            "feature_importance",
            "patterns",
            "kol_leaderboard",
            "shap_summary",
            "calibration",
            # the questions with two bands of >= 20 signals; 100x+: too few to tell, no chart
            "question_holders",
            "question_kols",
            "question_narratives",
            "question_volume",
        }
        assert "What marks a 100x token (100x+): too few 100x+ signals" in insights.text
        for path in weekly.charts.values():
            png = path.read_bytes()
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            assert struct.unpack(">II", png[16:24]) == (1000, 600), path.name

        comparison = await service.holdout_comparison(world.oracle_probs)
        assert comparison["oracle"]["n"] == comparison["model"]["n"] == report.n_holdout
    finally:
        await service.close()
