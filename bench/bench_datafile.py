"""Reading a labeled data file (issue 13): ``engine.learning.datafile.load_dataset`` on a CSV.

    .venv/bin/python bench/bench_datafile.py [--rows 1000000] [--path /tmp/signals-1m.csv]

Writes ``--rows`` synthetic labeled signals (epoch-second times, mcaps, every feature; booleans
as 0/1) to ``--path`` unless it exists, then times ``load_dataset`` (bulk read by pandas' C
reader, every cell checked, labels, time sort) and prints the process's peak memory. Target
(issue 13): 1M rows read + checked in <= 10 s. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.learning.datafile import load_dataset  # noqa: E402
from engine.signals.features import BOOLEAN_FEATURES, FEATURE_NAMES  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/signals-1m.csv"))
    args = parser.parse_args()
    if not args.path.exists():
        write(args.path, args.rows)
    started = time.perf_counter()
    ds, _ = load_dataset(args.path)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(  # noqa: T201
        f"{len(ds)} rows x {ds.X.shape[1]} features ({args.path.stat().st_size / 1e6:.0f} MB): "
        f"load_dataset {seconds:.2f} s, peak RSS {peak_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
