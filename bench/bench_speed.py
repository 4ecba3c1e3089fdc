"""Outcome-model speed on 100,000 genuine simulator signals (issue: the learning engine).

    .venv/bin/python bench/bench_speed.py [--train 100000] [--seed 7] [--repeats 2000]

Generates the embedded market (lean snapshots) until it has ``--train`` signals plus a tenth
more, then prints:

- training time of the default outcome model (and of the ``softprob`` objective, for
  comparison) on the first ``--train`` signals, with early stopping as in production;
- batch scoring throughput: ``predict_proba`` on every signal (rows/s), and the whole
  ``moonbot predict --data FILE --out FILE.csv`` path (read the CSV, score, write the CSV);
- one token scored with its top-3 reasons through the engine's ``Scorer`` (the object the
  service answers ``/predict`` with): p50 / p99 over ``--repeats`` different signals.

Targets (issue 3): training < 60 s on 2 cores, batch >= 50,000 rows/s, one token p50 <= 2 ms and
p99 <= 10 ms. Timings depend on the machine and on what else runs on it: BENCHMARKS.md records
them with the machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.learning.modelops import predict_file
from engine.signals.features import FEATURE_NAMES
from engine.signals.scoring import KIND, Scorer
from engine.sim.dataset import simulated_signals
from ml.outcome import OutcomeModel
from ml.registry import Registry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    total = args.train + args.train // 10

    started = time.perf_counter()
    ds = simulated_signals(total, args.seed).data
    print(f"{len(ds)} signals generated and featurized in {time.perf_counter() - started:.1f} s")
    train = ds.rows(slice(0, args.train))

    models = {}
    for objective in ("aft", "softprob"):
        t0 = time.perf_counter()
        models[objective] = OutcomeModel(objective=objective).fit(
            train.X, train.y, multiples=train.multiples
        )
        m = models[objective]
        print(
            f"train {objective:<8} on {len(train)} signals: {time.perf_counter() - t0:6.1f} s "
            f"({m.best_iteration_ + 1} rounds)"
        )
    model = models["aft"]

    for _ in range(2):  # warm-up
        model.predict_proba(ds.X.iloc[:1000])
    t0 = time.perf_counter()
    model.predict_proba(ds.X)
    seconds = time.perf_counter() - t0
    print(f"predict_proba, {len(ds)} rows: {len(ds) / seconds:,.0f} rows/s")

    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "models")
        window = (train.ts[0].isoformat(), train.ts[-1].isoformat())
        registry.save(model, kind=KIND, metrics={}, training_window=window, n_samples=len(train))
        data = Path(tmp) / "signals.csv"
        ds.X.assign(id=np.arange(len(ds))).to_csv(data, index=False)
        t0 = time.perf_counter()
        predict_file(registry, data, Path(tmp) / "scores.csv")
        seconds = time.perf_counter() - t0
        print(f"moonbot predict (CSV in, CSV out), {len(ds)} rows: {len(ds) / seconds:,.0f} rows/s")

        scorer = Scorer(registry)
        scorer.reload()
        rows = ds.X.iloc[args.train :].to_dict("records")
        features = [{k: float(v) for k, v in r.items() if k in FEATURE_NAMES} for r in rows]
        for f in features[:50]:
            scorer.score(f)
        times = np.empty(args.repeats)
        for i in range(args.repeats):
            f = features[i % len(features)]
            t0 = time.perf_counter()
            scorer.score(f)
            times[i] = time.perf_counter() - t0
        print(
            f"one token + top-3 reasons (Scorer.score), {args.repeats} calls: "
            f"p50 {np.percentile(times, 50) * 1e3:.2f} ms, p99 {np.percentile(times, 99) * 1e3:.2f} ms"
        )


if __name__ == "__main__":
    main()
