"""Data files at scale (issue 13): reading a labeled CSV, and ``predict --data`` end to end.

    .venv/bin/python bench/bench_datafile.py [--rows 1000000] [--path /tmp/signals-1m.csv]
    .venv/bin/python bench/bench_datafile.py --predict [--rows 1000000] [--path ...] [--out ...]
    .venv/bin/python bench/bench_datafile.py --train [--rows 1000000] [--train-path ...]
        [--noise normal|skewed] [--fits] [--candidates aft,softprob]

Writes ``--rows`` synthetic labeled signals (epoch-second times, mcaps, every feature; booleans
as 0/1) to ``--path`` unless it exists, then times ``load_dataset`` (bulk read by pandas' C
reader, every cell checked, labels, time sort) and prints the process's peak memory. Target
(issue 13): 1M rows read + checked in <= 10 s.

``--train``: ``engine.learning.modelops.train_from_file`` (what ``moonbot train --data`` runs:
read, check, split off the newest 20% as the holdout, choose the shape and refit, evaluate
against the prior) on ``--train-path``, ``--rows`` rows whose outcomes depend on three features,
written once (``--noise skewed``: the simulator's non-normal noise, where ``softprob`` or the
learned link win). ``--fits`` prints the time of every fit; ``--candidates softprob`` leaves
only those objectives to choose from (to time a softprob winner). Target (issue 13): 1M rows
trained in <= 60 s at <= 2 GB peak.

``--predict``: ``engine.learning.modelops.predict_file`` (what ``moonbot predict --data`` runs:
read, check, score with the champion, write the CSV at full precision) on ``--path``, with a
progress callback as the CLI passes one. The champion is trained once, with the product's
default parameters, on 50,000 synthetic rows whose outcomes depend on a few features (so its
trees are real trees), in ``--models`` (kept between runs). Target (issue 13): >= 100k rows/s.
Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.learning.datafile import load_dataset  # noqa: E402
from engine.learning.modelops import predict_file, train_from_file  # noqa: E402
from engine.signals.features import BOOLEAN_FEATURES, FEATURE_NAMES  # noqa: E402
from engine.signals.scoring import KIND  # noqa: E402
from engine.sim.oracle import draw_log_multiple  # noqa: E402
from ml.registry import Registry  # noqa: E402


def write(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(n, len(FEATURE_NAMES))).round(6), columns=list(FEATURE_NAMES)
    )
    for name in BOOLEAN_FEATURES:
        frame[name] = (frame[name] > 0).astype(int)
    frame.insert(0, "max_mcap", rng.uniform(1e4, 1e6, n).round(2))
    frame.insert(0, "entry_mcap", rng.uniform(1e4, 1e6, n).round(2))
    frame.insert(0, "signal_time", (1_772_366_400 + np.arange(n)).astype(str))
    frame.to_csv(path, index=False)


def write_training(path: Path, n: int, noise: str = "normal") -> None:
    """``n`` rows whose log multiple depends on three features, plus noise: normal, or the
    simulator's "skewed" noise (a point mass of rugs, a heavy right tail; ``engine.sim.oracle``)."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        rng.normal(size=(n, len(FEATURE_NAMES))).round(6), columns=list(FEATURE_NAMES)
    )
    f = (
        0.8
        + 0.9 * frame["kol_elite_count"]
        - 0.6 * frame["holder_top10_pct"]
        + 0.4 * frame["volume_spike_vs_avg"]
    )
    if noise == "normal":
        log_multiple = f + rng.normal(scale=1.0, size=n)
    else:
        draws = random.Random(1)
        log_multiple = pd.Series([draw_log_multiple(draws, v, 1.0, noise) for v in f.tolist()])
    for name in BOOLEAN_FEATURES:
        frame[name] = (frame[name] > 0).astype(int)
    entry = rng.uniform(1e4, 1e6, n).round(2)
    frame.insert(0, "max_mcap", (entry * np.exp(log_multiple)).round(2))
    frame.insert(0, "entry_mcap", entry)
    frame.insert(0, "signal_time", (1_772_366_400 + np.arange(n)).astype(str))
    frame.to_csv(path, index=False)


def champion(models: Path) -> Registry:
    registry = Registry(models)
    if registry.champion(KIND) is None:
        train = models / "train-50k.csv"
        models.mkdir(parents=True, exist_ok=True)
        write_training(train, 50_000)
        started = time.perf_counter()
        report = train_from_file(registry, train, holdout_fraction=0.2, min_gain=0.002).report
        print(  # noqa: T201
            f"trained {report.version} in {time.perf_counter() - started:.1f} s "
            f"(promoted: {report.promoted})"
        )
    return registry


def bench_predict(args: argparse.Namespace) -> None:
    registry = champion(args.models)
    info = registry.champion(KIND)
    assert info is not None, "the bench's model was not promoted"
    calls = [0]

    def progress(done: int, total: int) -> None:
        calls[0] += 1

    started = time.perf_counter()
    result = predict_file(registry, args.path, args.out, progress=progress)
    seconds = time.perf_counter() - started
    peak_mib = _peak_mib()
    sidecar = json.loads((info.path / "model.json").read_text(encoding="utf-8"))
    rounds = sidecar.get("best_iteration")
    print(  # noqa: T201
        f"predict_file {result.n_rows} rows ({args.path.stat().st_size / 1e6:.0f} MB in, "
        f"{args.out.stat().st_size / 1e6:.0f} MB out) with {info.version} "
        f"({sidecar.get('kind_of_model')}, best iteration {rounds}): {seconds:.2f} s, "
        f"{result.n_rows / seconds:,.0f} rows/s, {calls[0]} progress calls, "
        f"peak RSS {peak_mib:.0f} MiB"
    )


def time_fits() -> None:
    """Print the seconds and rounds of every boosting fit (each candidate, the refit) and link."""
    import ml.outcome

    def timed(owner: Any, name: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = inner(*args, **kwargs)
            rows = [len(a.y) for a in args if isinstance(a, ml.outcome._Split)]
            rounds = getattr(result, "best_iteration", None)
            print(  # noqa: T201
                f"  {name}{f' on {rows} rows' if rows else ''}: "
                f"{time.perf_counter() - started:.1f} s"
                + ("" if rounds is None else f", {rounds + 1} rounds")
            )
            return result

        setattr(owner, name, wrapper)

    timed(ml.outcome.OutcomeModel, "_fit_aft")
    timed(ml.outcome.OutcomeModel, "_fit_softprob")
    timed(ml.outcome, "fit_link")


def bench_train(args: argparse.Namespace) -> None:
    """``train_from_file`` (what ``moonbot train --data`` runs) on ``--train-path``: ``--rows``
    rows whose outcome depends on three features (``write_training``), written once."""
    if not args.train_path.exists():
        write_training(args.train_path, args.rows, args.noise)
    if args.fits:
        time_fits()
    if args.candidates:
        import ml.outcome

        ml.outcome.OBJECTIVES = tuple(args.candidates.split(","))  # e.g. a softprob winner
    with tempfile.TemporaryDirectory() as models:
        registry = Registry(Path(models))
        started = time.perf_counter()
        result = train_from_file(registry, args.train_path, holdout_fraction=0.2, min_gain=0.002)
        seconds = time.perf_counter() - started
        report = result.report
        info = registry.get(report.version)
        selection = json.loads((info.path / "model.json").read_text(encoding="utf-8"))["selection"]
    peak_mib = _peak_mib()
    print(  # noqa: T201
        f"train_from_file {result.n_rows} rows ({args.train_path.stat().st_size / 1e6:.0f} MB): "
        f"{seconds:.1f} s, peak RSS {peak_mib:.0f} MiB; {report.n_train} train / "
        f"{report.n_holdout} holdout rows, shape {report.objective}, prior weight "
        f"{report.prior_weight:.2f}, holdout log-loss {report.metrics['log_loss']:.4f} "
        f"(prior {report.prior_metrics['log_loss']:.4f}), promoted {report.promoted}"
    )
    blends = {k: v for k, v in selection.items() if k.endswith("+prior")}
    print(  # noqa: T201
        "chosen on the judging rows: "
        + ", ".join(f"{k} {v:.4f}" for k, v in blends.items())
        + f" (prior {selection['prior']:.4f}); refit rounds {selection.get('rounds')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/signals-1m.csv"))
    parser.add_argument("--predict", action="store_true")
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--train-path", type=Path, default=Path("/tmp/train-1m.csv"))
    parser.add_argument("--noise", choices=("normal", "skewed"), default="normal")
    parser.add_argument("--fits", action="store_true", help="time every fit of the training")
    parser.add_argument("--candidates", help="the objectives tried, e.g. softprob (a bench knob)")
    parser.add_argument("--models", type=Path, default=Path("/tmp/bench-predict-models"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-predictions.csv"))
    args = parser.parse_args()
    if args.train:
        bench_train(args)
        return
    if not args.path.exists():
        write(args.path, args.rows)
    if args.predict:
        bench_predict(args)
        return
    started = time.perf_counter()
    ds, _ = load_dataset(args.path)
    seconds = time.perf_counter() - started
    peak_mib = _peak_mib()
    print(  # noqa: T201
        f"{len(ds)} rows x {ds.X.shape[1]} features ({args.path.stat().st_size / 1e6:.0f} MB): "
        f"load_dataset {seconds:.2f} s, peak RSS {peak_mib:.0f} MiB"
    )


def _peak_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
