"""An alert shows the P(3x+) stored with it: the 3x+ net's with its threshold (when a net was
promoted at the buy) beside the outcome model's own, which is ``ml.metrics.p_threex`` of the
stored class probabilities."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from bot import format as fmt
from engine.signals.outbox import AlertView, _threex_fields
from engine.storage import Alert
from ml.metrics import p_threex

PROBS = [0.40, 0.25, 0.15, 0.10, 0.07, 0.03]
T = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def view(**threex: object) -> AlertView:
    return AlertView(
        alert_id=7,
        channel="telegram:1",
        mint="So11111111111111111111111111111111111111112",
        symbol="T",
        name="t",
        kol_name="k",
        kol_wallet="W" * 43,
        kol_tier="top",
        diamond_hand_score=0.8,
        signal_ts=T,
        alert_ts=T,
        entry_mcap=50_000.0,
        rule_score=60,
        score=64,
        probabilities=tuple(PROBS),
        reasons=(),
        **threex,  # type: ignore[arg-type]
    )


def test_the_stored_net_score_and_the_models_own_p3x_are_read_back() -> None:
    stored = {"p": 0.31, "flag": True, "threshold": 0.25, "version": "threex-1"}
    fields = _threex_fields(Alert(signal_id=1, channel="c", threex=stored, probabilities=PROBS))
    own = float(p_threex(np.array([PROBS]))[0])
    assert fields == {
        "threex_p": 0.31,
        "threex_flag": True,
        "threex_threshold": 0.25,
        "outcome_p_threex": own,
    }
    text = fmt.alert(view(**fields))
    assert f"P(3x+): 3x+ net 31%, above its threshold 0.250 · outcome model {own:.0%}" in text


def test_without_a_net_at_the_buy_only_the_models_own_p3x_shows() -> None:
    fields = _threex_fields(Alert(signal_id=1, channel="c", threex=None, probabilities=PROBS))
    own = float(p_threex(np.array([PROBS]))[0])
    assert fields == {"outcome_p_threex": own}
    text = fmt.alert(view(**fields))
    assert f"P(3x+): outcome model {own:.0%}" in text and "3x+ net" not in text
