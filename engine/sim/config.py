"""The simulated market's knobs: one frozen dataclass, validated on creation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

SnapshotDetail = Literal["full", "lean"]
# "normal": e ~ Normal(0, sigma^2). "skewed" (issue 13, the setting the normal-in-log-space AFT
# model does not assume): a point mass of rugs, otherwise a right-skewed, heavier-tailed Gumbel
# draw with the same spread (engine.sim.oracle).
NoiseKind = Literal["normal", "skewed"]

# The outcome noise: log(max multiple) = f + N(0, NOISE_SIGMA^2) (see engine.sim.oracle).
DEFAULT_NOISE_SIGMA = 1.05
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What to simulate. The same config always gives byte-identical records.

    ``snapshot_detail``: "full" snapshots every 5 minutes from a token's creation until 6 h after
    its signal, then every 30 minutes until 72 h after it (plus the signal and peak ticks);
    "lean" keeps only what the features and the label need (see engine.sim.market).
    """

    seed: int = 7
    start: datetime = DEFAULT_START
    n_days: int = 30
    n_kols: int = 40
    elite_share: float = 0.2
    top_share: float = 0.3
    tokens_per_day: int = 30
    snapshot_detail: SnapshotDetail = "full"
    noise_sigma: float = DEFAULT_NOISE_SIGMA
    noise_kind: NoiseKind = "normal"
    base_slot: int = 385_000_000

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("SimConfig.start must be timezone-aware (UTC)")
        if self.n_days < 1 or self.tokens_per_day < 1:
            raise ValueError("SimConfig needs at least one day and one token per day")
        if self.n_kols < 4:
            raise ValueError("SimConfig needs at least 4 KOLs (a wave has up to 4)")
        if not (
            0 <= self.elite_share and 0 <= self.top_share and self.elite_share + self.top_share <= 1
        ):
            raise ValueError("elite_share and top_share must be >= 0 and sum to at most 1")
        if self.snapshot_detail not in ("full", "lean"):
            raise ValueError(
                f"snapshot_detail must be 'full' or 'lean', got {self.snapshot_detail!r}"
            )
        if not self.noise_sigma > 0:
            raise ValueError("noise_sigma must be positive")
        if self.noise_kind not in ("normal", "skewed"):
            raise ValueError(f"noise_kind must be 'normal' or 'skewed', got {self.noise_kind!r}")

    @property
    def n_tokens(self) -> int:
        return self.n_days * self.tokens_per_day

    @property
    def n_elite(self) -> int:
        return round(self.n_kols * self.elite_share)

    @property
    def n_top(self) -> int:
        return round(self.n_kols * self.top_share)
