"""Simulated KOLs: who they are, which tokens they pick, and how they hold.

Tiers are reputations (8 elite, 12 top, 20 regular by default) and skill is correlated with them
but varies (some elite KOLs are overrated, some regulars are sharp). Skill never touches the
outcome directly: a KOL with skill k picks a token with weight ``activity * exp(k * z)``, where z
is the token's observable quality (``oracle.token_quality``, standardised). Skilled KOLs thus end
up in better tokens and earn better win rates, while the outcome stays a function of the
observable features only.

Styles: "diamond" holds through volatility and sells after the peak (a trailing stop) when the
token at least doubled for it, otherwise late (24-72 h) or never (bag held); "paper" takes a
small gain (1.15-1.7x) or leaves after a short hold (20 min - 3 h); "mixed" sometimes adds a
second lot, sells half at 2x and the rest after the peak (FIFO partial sells), or leaves within
a day when 2x never comes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final, Literal

from engine.records import KolRecord, Side, Tier
from engine.sim import rand
from engine.sim.config import SimConfig
from engine.sim.names import kol_handles
from engine.sim.path import PostPath

Style = Literal["diamond", "paper", "mixed"]
STYLES: Final[tuple[Style, ...]] = ("diamond", "paper", "mixed")
STYLE_WEIGHTS: Final[tuple[float, ...]] = (0.3, 0.35, 0.35)
_SKILL: Final[dict[Tier, tuple[float, float]]] = {
    "elite": (1.2, 0.35),
    "top": (0.7, 0.45),
    "regular": (0.15, 0.6),
}
_BUY_SOL: Final[dict[Tier, float]] = {"elite": 8.0, "top": 4.0, "regular": 1.5}
MIN_BUY_SOL, MAX_BUY_SOL = 0.5, 20.0
# Wave sizes 1..4 and their base weights; better tokens draw bigger waves.
WAVE_WEIGHTS: Final[tuple[float, ...]] = (0.62, 0.22, 0.11, 0.05)
WAVE_TILT: Final[float] = 0.35
# Centre and spread of token_quality over the simulated token mix (measured on 30k tokens),
# used to standardise quality before KOLs react to it.
QUALITY_CENTER: Final[float] = -0.71
QUALITY_SCALE: Final[float] = 0.85


@dataclass(frozen=True, slots=True)
class SimKol:
    """A KOL with its hidden traits (the engine only ever sees ``record``)."""

    wallet: str
    name: str
    tier: Tier
    skill: float
    style: Style
    buy_sol: float  # typical buy size
    activity: float  # how often it trades, relative

    @property
    def record(self) -> KolRecord:
        return KolRecord(wallet=self.wallet, name=self.name, tier=self.tier)


def make_kols(config: SimConfig) -> list[SimKol]:
    rng = rand.stream(config.seed, "kols")
    names = kol_handles(rng, config.n_kols)
    counts: dict[Tier, int] = {"elite": config.n_elite, "top": config.n_top}
    counts["regular"] = config.n_kols - counts["elite"] - counts["top"]
    tiers = [tier for tier, n in counts.items() for _ in range(n)]
    out = []
    for name, tier in zip(names, tiers, strict=True):
        mean, sd = _SKILL[tier]
        out.append(
            SimKol(
                wallet=rand.pubkey(rng),
                name=name,
                tier=tier,
                skill=round(rng.gauss(mean, sd), 4),
                style=rng.choices(STYLES, STYLE_WEIGHTS)[0],
                buy_sol=round(rand.clip(rand.lognormal(rng, _BUY_SOL[tier], 0.3), 0.5, 20.0), 3),
                activity=round(rand.lognormal(rng, 1.0, 0.4), 4),
            )
        )
    return out


def choose_wave(rng: random.Random, kols: list[SimKol], quality: float) -> list[int]:
    """Indices of the KOLs that buy first, together in one block."""
    z = (quality - QUALITY_CENTER) / QUALITY_SCALE
    sizes = [w * math.exp(WAVE_TILT * k * z) for k, w in enumerate(WAVE_WEIGHTS)]
    size = rng.choices(range(1, len(sizes) + 1), sizes)[0]
    return rand.weighted_sample(rng, [k.activity * math.exp(k.skill * z) for k in kols], size)


def choose_joiners(rng: random.Random, kols: list[SimKol], taken: list[int], n: int) -> list[int]:
    """Indices of ``n`` KOLs (not in ``taken``) that buy after the signal, chasing the move."""
    weights = [0.0 if i in taken else k.activity for i, k in enumerate(kols)]
    return rand.weighted_sample(rng, weights, n)


@dataclass(frozen=True, slots=True)
class Leg:
    """A planned trade of one wallet in one token, ``s`` seconds after the signal time."""

    s: int
    wallet: str
    side: Side
    sol: float = 0.0  # buy: SOL spent
    tokens: float = 0.0  # buy: whole tokens bought instead (the creator's launch buy)
    fraction: float = 1.0  # sell: share of the wallet's holdings


def buy_size(rng: random.Random, kol: SimKol) -> float:
    return round(
        rand.clip(kol.buy_sol * math.exp(rng.gauss(0.0, 0.35)), MIN_BUY_SOL, MAX_BUY_SOL), 3
    )


def plan_position(
    rng: random.Random, kol: SimKol, buy_s: int, buy_level: float, post: PostPath
) -> list[Leg]:
    """The KOL's buy at ``buy_s`` (log mcap/entry ``buy_level`` then) and its exits."""
    sol = buy_size(rng, kol)
    legs = [Leg(buy_s, kol.wallet, "buy", sol=sol)]
    rising = buy_s < post.peak_s

    def cross(gain: float) -> int | None:
        at = post.up_cross_seconds(buy_level + math.log(gain)) if rising else None
        return None if at is None else max(int(at), buy_s + 60)

    if kol.style == "paper":
        sell = buy_s + rng.randint(20 * 60, 3 * 3600)
        hit = cross(rng.uniform(1.15, 1.7))
        legs.append(Leg(sell if hit is None else min(sell, hit), kol.wallet, "sell"))
    elif kol.style == "mixed":
        add_at = buy_s + rng.randint(5 * 60, 45 * 60) if rng.random() < 0.3 else None
        half = cross(2.0)
        if half is not None:
            rest = max(int(post.peak_s) + rng.randint(0, 10 * 3600), half + 60)
            exits = [Leg(half, kol.wallet, "sell", fraction=0.5), Leg(rest, kol.wallet, "sell")]
        else:
            exits = [Leg(buy_s + rng.randint(3600, 24 * 3600), kol.wallet, "sell")]
        if add_at is not None and add_at < exits[0].s:
            legs.append(Leg(add_at, kol.wallet, "buy", sol=round(max(MIN_BUY_SOL, sol / 2), 3)))
        legs.extend(exits)
    else:
        doubled = rising and post.l_mult - buy_level >= math.log(2.0)
        if doubled:
            legs.append(Leg(int(post.peak_s) + rng.randint(1080, 8 * 3600), kol.wallet, "sell"))
        elif rng.random() >= 0.15:  # otherwise the bag is held for good
            legs.append(Leg(buy_s + rng.randint(24 * 3600, 72 * 3600), kol.wallet, "sell"))
    return legs
