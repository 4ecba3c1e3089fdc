"""Seeded randomness for the simulator: independent streams and realistic Solana identifiers.

Every stream is a ``random.Random`` seeded from a string such as ``"7:token:123"`` (string seeds
go through SHA-512, so they do not depend on the per-process salt of ``hash()``). One stream per
token keeps a token's story independent of how many snapshots another token produced.
"""

from __future__ import annotations

import math
import random

from engine.sources.base58 import b58encode


def stream(seed: int, name: str, index: int = 0) -> random.Random:
    """The independent random stream ``name``/``index`` of ``seed``."""
    return random.Random(f"{seed}:{name}:{index}")


def pubkey(rng: random.Random) -> str:
    """A base58 32-byte public key of 43 or 44 characters (like almost every Solana address)."""
    while True:
        text = b58encode(rng.getrandbits(256).to_bytes(32, "big"))
        if len(text) >= 43:
            return text


def signature(rng: random.Random) -> str:
    """A base58 64-byte transaction signature of 87 or 88 characters."""
    while True:
        text = b58encode(rng.getrandbits(512).to_bytes(64, "big"))
        if len(text) >= 87:
            return text


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; fine for the small rates used here."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def weighted_sample(rng: random.Random, weights: list[float], k: int) -> list[int]:
    """``k`` distinct indices drawn one by one with probability proportional to ``weights``."""
    w = list(weights)
    chosen: list[int] = []
    for _ in range(min(k, sum(x > 0 for x in w))):
        total = sum(w)
        r = rng.random() * total
        acc = 0.0
        pick = max(i for i, x in enumerate(w) if x > 0)  # float round-off at the very end
        for i, x in enumerate(w):
            acc += x
            if r < acc and x > 0:
                pick = i
                break
        chosen.append(pick)
        w[pick] = 0.0
    return chosen
