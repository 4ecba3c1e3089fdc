"""KOL forecasts: each KOL's share of positions closing at 3x+ over the next 7 and 30 days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from engine.positions import PositionState
from engine.views import KolForecast
from ml.kolpred import KolPredictor


def kol_forecasts(
    positions: Sequence[PositionState], wallet: str, now: datetime
) -> list[KolForecast]:
    """7- and 30-day 3x+ forecasts for ``wallet`` from every KOL's closed positions: an event is
    a position closing, a hit one that closed at 3x or more (ml.kolpred picks empirical Bayes or
    a learned model, whichever held up better on past windows)."""
    events = pd.DataFrame(
        {
            "kol": [p.wallet for p in positions],
            "ts": [p.closed_at for p in positions],
            "hit": [(p.multiple or 0.0) >= 3.0 for p in positions],
        }
    )
    if events.empty:
        return []
    predictor = KolPredictor().fit(events, data_end=now)
    table = predictor.predict(events, now, kols=[wallet])
    return [
        KolForecast(
            int(r["horizon"]),
            float(r["estimate"]),
            float(r["low"]),
            float(r["high"]),
            str(r["method"]),
        )
        for r in table.to_dict("records")
    ]
