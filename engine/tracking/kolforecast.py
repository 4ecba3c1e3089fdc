"""KOL forecasts: each KOL's share of positions closing at 3x+ over the next 7 and 30 days.

An event is a closed position (at its close time); a hit is one that closed at 3x or more.
``ml.kol.predictor`` answers from day one with empirical Bayes and switches a horizon to its learned
model only where that beat empirical Bayes on past windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import pandas as pd

from engine.tracking.positions import PositionState
from engine.views import KolForecast
from ml.kol.predictor import KolPredictor


def _forecast_table(
    positions: Sequence[PositionState], now: datetime, kols: Sequence[str] | None
) -> pd.DataFrame:
    events = pd.DataFrame(
        {
            "kol": [p.wallet for p in positions],
            "ts": [p.closed_at for p in positions],
            "hit": [(p.multiple or 0.0) >= 3.0 for p in positions],
        }
    )
    if events.empty:
        return pd.DataFrame(
            columns=["kol", "horizon", "estimate", "low", "high", "n_events", "method"]
        )
    return KolPredictor().fit(events, data_end=now).predict(events, now, kols=kols)


def kol_forecasts(
    positions: Sequence[PositionState], wallet: str, now: datetime
) -> list[KolForecast]:
    """The 7- and 30-day forecasts of one wallet, learned from every KOL's positions."""
    return [
        KolForecast(
            int(r["horizon"]),
            float(r["estimate"]),
            float(r["low"]),
            float(r["high"]),
            str(r["method"]),
        )
        for r in _forecast_table(positions, now, [wallet]).to_dict("records")
    ]


def leaderboard(
    positions: Sequence[PositionState],
    names: Mapping[str, str],
    now: datetime,
    horizon_days: int = 30,
) -> pd.DataFrame:
    """Every KOL's forecast for one horizon: columns kol (name), estimate, low, high, n."""
    table = _forecast_table(positions, now, sorted(names))
    table = table[table["horizon"] == horizon_days]
    return pd.DataFrame(
        {
            "kol": [names.get(k, k[:8]) for k in table["kol"]],
            "estimate": table["estimate"].to_numpy(dtype=float),
            "low": table["low"].to_numpy(dtype=float),
            "high": table["high"].to_numpy(dtype=float),
            "n": table["n_events"].to_numpy(),
        }
    )
