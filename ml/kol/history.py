"""KOL event history: the event table, per-KOL history features as of a time, future counts.

The event table has one row per KOL position: ``kol`` (str), ``ts`` (UTC, timezone-aware) and
``hit`` (bool: the position reached >= 3x). An event joins a KOL's history only once its outcome
is known, at ``ts + label_delay``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ml.kol.betabinom import BetaBinomialPrior


def normalize_events(events: pd.DataFrame) -> pd.DataFrame:
    """``kol`` (str), ``ts`` (UTC), ``hit`` (bool), sorted by ``ts``; checks the input."""
    missing = {"kol", "ts", "hit"} - set(events.columns)
    if missing:
        raise ValueError(f"events need columns kol, ts, hit; missing {', '.join(sorted(missing))}")
    ts: pd.Series = pd.Series([], dtype="datetime64[ns, UTC]")
    if len(events):
        parsed = pd.to_datetime(events["ts"])
        if getattr(parsed.dt, "tz", None) is None:
            raise ValueError("events.ts must be timezone-aware (UTC)")
        ts = parsed.dt.tz_convert("UTC")
    if events["hit"].isna().any():
        raise ValueError("events.hit has missing values: drop unresolved positions")
    out = pd.DataFrame(
        {
            "kol": events["kol"].astype(str).to_numpy(),
            "ts": ts.reset_index(drop=True),
            "hit": events["hit"].astype(bool).to_numpy(),
        }
    )
    return out.sort_values("ts", kind="stable").reset_index(drop=True)


def history_features(
    events: pd.DataFrame,
    as_of: pd.Timestamp,
    prior: BetaBinomialPrior,
    *,
    windows_days: Sequence[int] = (7, 30, 90),
    label_delay: timedelta = timedelta(0),
    kols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-KOL history as of ``as_of``, indexed by ``kol``; fits ``prior`` on every KOL's counts.

    Columns: ``n_all``/``k_all`` (events / hits known by ``as_of``), ``rate_all``, then
    ``n_<w>d``/``k_<w>d``/``rate_<w>d`` over the last ``w`` days (``rate_*`` NaN without events),
    ``days_since_last``, ``days_since_last_hit``, ``tenure_days`` (days since the first known
    event; NaN when undefined), and ``eb_mean``/``eb_low``/``eb_high`` (the posterior under
    ``prior``), ``population_rate`` (the prior mean). ``events`` must come from
    ``normalize_events``. Rows: ``kols`` when given (a KOL with no known event gets zero counts
    and the prior), else every KOL with an event known by ``as_of``; the prior is always fitted
    on all KOLs with known events.
    """
    known = events[events["ts"] + pd.Timedelta(label_delay) <= as_of]
    index = pd.Index(sorted(set(known["kol"]) | set(kols or ())), name="kol")
    age_days = (as_of - known["ts"]).dt.total_seconds().to_numpy() / 86400.0
    groups = known.assign(age=age_days, hit_age=np.where(known["hit"], age_days, np.nan))
    by_kol = groups.groupby("kol")
    feats = pd.DataFrame(index=index)
    feats["n_all"] = by_kol.size().reindex(index, fill_value=0).astype(np.float64)
    feats["k_all"] = by_kol["hit"].sum().reindex(index, fill_value=0).astype(np.float64)
    feats["rate_all"] = feats["k_all"] / feats["n_all"].where(feats["n_all"] > 0)
    for w in windows_days:
        recent = groups[groups["age"] <= w].groupby("kol")
        n_w = recent.size().reindex(index, fill_value=0).astype(np.float64)
        k_w = recent["hit"].sum().reindex(index, fill_value=0).astype(np.float64)
        feats[f"n_{w}d"], feats[f"k_{w}d"] = n_w, k_w
        feats[f"rate_{w}d"] = k_w / n_w.where(n_w > 0)
    feats["days_since_last"] = by_kol["age"].min().reindex(index)
    feats["days_since_last_hit"] = by_kol["hit_age"].min().reindex(index)
    feats["tenure_days"] = by_kol["age"].max().reindex(index)
    prior.fit(feats["k_all"].to_numpy(), feats["n_all"].to_numpy())
    mean, low, high = prior.posterior(feats["k_all"].to_numpy(), feats["n_all"].to_numpy())
    feats["eb_mean"], feats["eb_low"], feats["eb_high"] = mean, low, high
    feats["population_rate"] = prior.mean_
    return feats if kols is None else feats.loc[list(kols)]


def weekly_cutoffs(
    events: pd.DataFrame, *, step_days: int = 7, warmup_days: int = 14
) -> list[datetime]:
    """Cutoffs every ``step_days`` from ``warmup_days`` after the first event to the last one."""
    ev = normalize_events(events)
    if ev.empty:
        return []
    first, last = ev["ts"].iloc[0].floor("D"), ev["ts"].iloc[-1]
    stamps = pd.date_range(first + pd.Timedelta(days=warmup_days), last, freq=f"{step_days}D")
    return [t.to_pydatetime() for t in stamps]


def to_utc(value: datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware (UTC), got {value!r}")
    return stamp.tz_convert("UTC")


def with_future_counts(
    feats: pd.DataFrame, events: pd.DataFrame, cutoff: pd.Timestamp, span: pd.Timedelta
) -> pd.DataFrame:
    """``feats`` for KOLs with history, plus ``future_n``/``future_k`` in ``(cutoff, cutoff+span]``;
    rows without future events are dropped (nothing to score)."""
    future = events[(events["ts"] > cutoff) & (events["ts"] <= cutoff + span)]
    by_kol = future.groupby("kol")["hit"]
    out = feats[feats["n_all"] > 0].copy()
    out["future_n"] = by_kol.size().reindex(out.index, fill_value=0).astype(np.float64)
    out["future_k"] = by_kol.sum().reindex(out.index, fill_value=0).astype(np.float64)
    return out[out["future_n"] > 0]
