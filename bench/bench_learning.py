"""Learning-engine benchmarks: 3x+ net training time and quality, KOL predictor fit time.

    .venv/bin/python bench/bench_learning.py [--rows 20000] [--features 34] [--threads 1]

(a) ``ThreeXNet`` on synthetic time-ordered rows with a rare 3x+ class (about 4%; log-odds from
    three of the features, one of them missing for 20% of rows), default parameters (64-32 MLP,
    batch 512, early stopping, ``n_threads`` torch threads), trained on the first ``--rows`` rows
    and scored on the next 25%: fit seconds, epochs, and recall / precision / AUC on the later
    rows at the validation-chosen threshold. Target: 20,000 x 34 well under a minute on 2 cores.
(b) ``KolPredictor.fit`` (weekly walk-forward, both horizons) on 40 synthetic KOLs over 150 days
    with drifting skill (~9,000 events): fit seconds and the method chosen per horizon.

Prints numbers, asserts nothing: timing claims live here, not in the unit tests.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml.binary import evaluate  # noqa: E402
from ml.kol.history import weekly_cutoffs  # noqa: E402
from ml.kol.predictor import KolPredictor  # noqa: E402
from ml.threex import ThreeXNet  # noqa: E402


def rare_rows(n: int, d: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, d)), columns=[f"f{i:02d}" for i in range(d)])
    X.loc[rng.random(n) < 0.2, "f02"] = np.nan
    X.loc[rng.random(n) < 0.05, "f03"] = np.nan
    logit = (
        -4.6 + 1.4 * X["f00"] - 1.0 * X["f01"] + 0.8 * X["f02"].fillna(0.0) + 0.6 * X["f02"].isna()
    )
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-logit.to_numpy()))
    return X, y


def drifting_kols(n_kols: int, days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(datetime(2026, 1, 1, tzinfo=UTC))
    frames = []
    for j in range(n_kols):
        hot = (rng.random() < 0.5) ^ (np.cumsum(rng.random(days) < 1 / 30) % 2 == 1)
        rate = np.where(hot, 0.5, 0.03)
        day = np.repeat(np.arange(days), rng.poisson(1.5, days))
        seconds = day * 86_400.0 + rng.uniform(0, 86_400, len(day))
        frames.append(
            pd.DataFrame(
                {
                    "kol": f"kol{j:03d}",
                    "ts": t0 + pd.to_timedelta(seconds, unit="s"),
                    "hit": rng.random(len(day)) < rate[day],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=34)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}")

    n_later = args.rows // 4
    X, y = rare_rows(args.rows + n_later, args.features, seed=0)
    for repeat in range(args.repeats):
        start = time.perf_counter()
        net = ThreeXNet(n_threads=args.threads, random_state=repeat)
        net.fit(X.iloc[: args.rows], y[: args.rows])
        seconds = time.perf_counter() - start
        report = evaluate(y[args.rows :], net.predict_proba(X.iloc[args.rows :]), net.threshold_)
        print(
            f"threex {args.rows}x{args.features}, {args.threads} threads: fit {seconds:.2f} s, "
            f"{net.n_epochs_} epochs (best {net.best_epoch_}), "
            f"{seconds / net.n_epochs_ * 1e3:.0f} ms/epoch | later rows: base rate "
            f"{report['base_rate']:.3f} ({report['n_pos']} of {report['n']}), "
            f"AUC {report['auc']:.3f}, recall {report['recall']:.2f} "
            f"({report['true_positives']} of {report['n_pos']}), precision "
            f"{report['precision']:.3f} ({report['true_positives']} of {report['n_flagged']})"
        )

    events = drifting_kols(40, 150, seed=0)
    start = time.perf_counter()
    predictor = KolPredictor().fit(events, weekly_cutoffs(events))
    seconds = time.perf_counter() - start
    chosen = ", ".join(
        f"{h}d {c['method']} (EB {c['eb']['log_loss']:.3f} vs learned "
        f"{c['learned']['log_loss']:.3f}, z {c['z']:.1f})"
        for h, c in predictor.comparison_.items()
    )
    print(f"kol predictor: {len(events)} events, fit {seconds:.2f} s: {chosen}")


if __name__ == "__main__":
    main()
