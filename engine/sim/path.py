"""A token's market-cap path: launch -> signal (entry) -> peak -> decay.

Times are seconds relative to the signal time t (negative before it). Log market cap is

  before t   (x = (s + age) / age in [0, 1])
      l_launch + (l_entry - l_launch) * x**b + pre_amp * sin(pre_waves * pi * x)
  t .. peak  (x = s / peak_s in (0, 1])
      l_entry + l_mult * x**a - up_amp * |sin(up_waves * pi * x)|
  after peak (d = (s - peak_s) / 3600 hours)
      l_entry + l_mult - drop * (1 - exp(-d / drop_hours)) - post_amp * (1 - cos(2 pi d / period)) / 2

For l_mult > 0 the rise stays below the peak (x**a < 1, the wiggle only subtracts) and the decay
is strictly below it, so the peak tick is the unique maximum after t (the label relies on it).
For l_mult < 0 the peak is the first snapshot tick after t and the path only falls afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PrePath:
    age_s: float  # seconds from creation to t (> 0)
    l_launch: float
    l_entry: float
    b: float
    amp: float
    waves: int

    def log_mcap(self, s: FloatArray) -> FloatArray:
        x = np.minimum(np.maximum((s + self.age_s) / self.age_s, 0.0), 1.0)
        return (
            self.l_launch
            + (self.l_entry - self.l_launch) * x**self.b
            + self.amp * np.sin(self.waves * math.pi * x)
        )

    def log_mcap_at(self, s: float) -> float:
        x = min(max((s + self.age_s) / self.age_s, 0.0), 1.0)
        rise: float = x**self.b  # float ** float is typed Any (a negative base gives complex)
        return (
            self.l_launch
            + (self.l_entry - self.l_launch) * rise
            + self.amp * math.sin(self.waves * math.pi * x)
        )


@dataclass(frozen=True, slots=True)
class PostPath:
    l_entry: float
    l_mult: float  # log(peak mcap / entry mcap)
    peak_s: float  # seconds from t to the peak (> 0)
    a: float
    up_amp: float
    up_waves: int
    drop: float  # total log fall after the peak
    drop_hours: float
    post_amp: float
    period_hours: float

    def up_cross_seconds(self, level: float) -> float | None:
        """Seconds after t at which the rise (without its wiggle) reaches log(mcap/entry) =
        ``level``; 0 if already there at t; None if the rise never gets there."""
        if self.l_mult <= 0 or level >= self.l_mult:
            return None
        if level <= 0:
            return 0.0
        share: float = (level / self.l_mult) ** (1.0 / self.a)  # 0 < level / l_mult < 1
        return self.peak_s * share


@dataclass(frozen=True, slots=True)
class PricePath:
    pre: PrePath
    post: PostPath

    def log_mcap(self, s: FloatArray) -> FloatArray:
        p = self.post
        x = np.minimum(np.maximum(s / p.peak_s, 0.0), 1.0)
        up = p.l_entry + p.l_mult * x**p.a - p.up_amp * np.abs(np.sin(p.up_waves * math.pi * x))
        d = np.maximum((s - p.peak_s) / 3600.0, 0.0)
        down = (
            p.l_entry
            + p.l_mult
            - p.drop * -np.expm1(-d / p.drop_hours)
            - p.post_amp * 0.5 * (1.0 - np.cos(2.0 * math.pi * d / p.period_hours))
        )
        return np.where(s <= 0.0, self.pre.log_mcap(s), np.where(s <= p.peak_s, up, down))

    def log_mcap_at(self, s: float) -> float:
        p = self.post
        if s <= 0.0:
            return self.pre.log_mcap_at(s)
        if s <= p.peak_s:
            x = s / p.peak_s
            rise: float = x**p.a  # 0 < x <= 1, so real
            return p.l_entry + p.l_mult * rise - p.up_amp * abs(math.sin(p.up_waves * math.pi * x))
        d = (s - p.peak_s) / 3600.0
        return (
            p.l_entry
            + p.l_mult
            - p.drop * -math.expm1(-d / p.drop_hours)
            - p.post_amp * 0.5 * (1.0 - math.cos(2.0 * math.pi * d / p.period_hours))
        )
