"""The whole pipeline under many SIGKILLs: kills / lost / duplicated per table.

    .venv/bin/python bench/bench_kills.py [--kills 120] [--seed 1]

Runs ``tests/engine/pipeline_worker.py`` once without interruption, then in rounds: a fresh data
dir is killed (by the worker's hook right after a seeded step or commit, or from outside at a
seeded random moment) and restarted until a run finishes, and compared with the uninterrupted
run, until ``--kills`` kills have landed. Prints, per table, the rows lost and the rows extra (a
duplicate or a changed value) summed over the rounds, and the alerts delivered more than once
with and without the may-repeat flag. The quick variant is tests/engine/test_pipeline_kills.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.engine.pipeline_worker import compare, deliveries, run_once  # noqa: E402

# step: the most returns a whole run has of it (a kill past the end lets the run finish)
STEPS = {
    "wallet": 400, "poll": 50, "positions": 50, "signals": 50, "settle": 100, "labels": 50,
    "deliver": 50, "send": 40, "commit": 800,
}  # fmt: skip


def pick(rng: random.Random) -> tuple[str | None, float | None]:
    """A kill: (hook, None) or (None, seconds after ready)."""
    if rng.random() < 0.25:
        return None, rng.uniform(0.05, 3.0)
    step = rng.choice(sorted(STEPS))
    return f"{step}:{rng.randint(1, STEPS[step])}", None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    lost: Counter[str] = Counter()
    extra: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    kills = rounds = flagged = 0
    with tempfile.TemporaryDirectory(prefix="bench_kills_") as tmp:
        root = Path(tmp)
        reference = root / "reference"
        reference.mkdir()
        with (root / "worker.log").open("wb") as log:
            if run_once(reference, log) != 0:
                print("the uninterrupted run failed", file=sys.stderr)
                return 1
            while kills < args.kills:
                rounds += 1
                killed = root / f"killed-{rounds}"
                killed.mkdir()
                for _ in range(200):
                    hook, after_s = pick(rng)
                    rc = run_once(killed, log, kill=hook, after_s=after_s)
                    if rc == 0:
                        break
                    if rc != -9:
                        print(f"worker exited {rc} (see {root / 'worker.log'})")
                        return 1
                    kills += 1
                    kinds[(hook or "random moment").split(":")[0]] += 1
                else:
                    print("a round never finished", file=sys.stderr)
                    return 1
                result = compare(reference, killed)
                lost.update(result.lost)
                extra.update(result.extra)
                flagged += result.flagged_repeats
        n_alerts = len(deliveries(reference))
    print(
        f"{kills} kills in {rounds} rounds ({time.perf_counter() - started:.0f} s), "
        f"seed {args.seed}; by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    )
    print(f"{'table':<18}{'lost':>8}{'duplicated/changed':>22}")
    for table in sorted(set(lost) | set(extra)):
        print(f"{table:<18}{lost[table]:>8}{extra[table]:>22}")
    print(f"alerts per run: {n_alerts}; repeats flagged may-repeat: {flagged} (over all rounds)")
    return 0 if not any(lost.values()) and not any(extra.values()) else 2


if __name__ == "__main__":
    sys.exit(main())
