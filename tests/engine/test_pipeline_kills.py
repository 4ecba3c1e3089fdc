"""The whole pipeline killed and restarted: nothing lost, nothing doubled, alerts sent once.

``pipeline_worker.py`` runs the cycles (poll, positions, signals with their alerts, labels) and
the alert delivery on a small simulated market in a child process. One data dir is run without
interruption; another is killed again and again, by the worker's own hook right after a step
(the tracker's poll, the steps after it, the signal step, a send before it is marked) or after
a seeded number of commits, and from outside at seeded random moments, then restarted from the
same data dir until it finishes. Every table must then hold exactly the uninterrupted run's rows
(wall-clock columns aside), and every alert must have been delivered once, a repeat only when
the outbox flagged it may-repeat. ``bench/bench_kills.py`` does the same with 100+ kills.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.engine.pipeline_worker import compare, deliveries, dump, run_once

# Step boundaries first (each is reached within the first cycles), then seeded commit counts.
HOOK_KILLS = ("poll:2", "wallet:25", "positions:5", "signals:3", "settle:6", "send:3", "labels:9")


def test_killed_pipeline_ends_as_the_uninterrupted_run(tmp_path: Path) -> None:
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    reference.mkdir()
    killed.mkdir()
    rng = random.Random(11)
    with (tmp_path / "worker.log").open("wb") as log:
        assert run_once(reference, log) == 0
        kills = [*HOOK_KILLS, *(f"commit:{rng.randint(20, 400)}" for _ in range(2))]
        codes = [run_once(killed, log, kill=k) for k in kills]
        codes += [run_once(killed, log, after_s=rng.uniform(0.1, 1.5)) for _ in range(2)]
        assert run_once(killed, log) == 0
    assert codes[: len(kills)] == [-9] * len(kills), codes  # each hook fired, mid-way

    want = dump(reference)
    assert sum(want["alert"].values()) > 20 and sum(want["outcome"].values()) > 30
    assert len(deliveries(reference)) == sum(want["alert"].values())
    result = compare(reference, killed)
    assert result.clean, str((result.lost, result.extra))
