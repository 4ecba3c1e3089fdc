"""Outcome-model quality against the simulator's oracle (issue: the learning engine).

    .venv/bin/python bench/bench_quality.py [--train 20000] [--test 10000] [--seed 7]

Builds train + test signals from the embedded market (lean snapshots), trains on the earlier
signals and scores the later ones. Prints log-loss, accuracy, AUC >= 2x, AUC >= 10x and train
time for: the oracle (true class probabilities), moonbot's outcome model (defaults), the seed
configuration (200 trees, depth 8, lr 0.05, no class weights), and LightGBM when it is installed; then the
3x+ net on the same split (AUC, precision, recall, F1 at its validation-chosen threshold).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from engine.learning.training import Dataset
from engine.sim.dataset import simulated_signals
from ml.metrics import evaluate_probs
from ml.outcome import OutcomeModel
from ml.threex import ThreeXNet, evaluate, threex_labels


def _row(name: str, m: dict[str, float], seconds: float | None) -> str:
    train = "" if seconds is None else f"{seconds:8.1f}"
    return (
        f"| {name:<28} | {m['log_loss']:.4f} | {m['accuracy']:.4f} | {m['auc_2x']:.4f} "
        f"| {m['auc_10x']:.4f} | {train:>8} |"
    )


def _lightgbm(train: Dataset, test: Dataset) -> tuple[np.ndarray, float] | None:
    try:
        import lightgbm as lgb
    except ImportError:
        return None
    started = time.perf_counter()
    cut = int(len(train) * 0.85)
    model = lgb.LGBMClassifier(
        objective="multiclass",
        num_class=6,
        n_estimators=2000,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=20,
        subsample=0.9,
        subsample_freq=1,
        colsample_bytree=0.9,
        n_jobs=2,
        verbose=-1,
    )
    model.fit(
        train.X.iloc[:cut],
        train.y[:cut],
        eval_set=[(train.X.iloc[cut:], train.y[cut:])],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    probs = np.zeros((len(test), 6))
    probs[:, model.classes_] = model.predict_proba(test.X)
    return probs, time.perf_counter() - started


def _threex(train: Dataset, test: Dataset) -> None:
    """The 3x+ net on the same split: threshold chosen on its validation rows, scored on test."""
    t0 = time.perf_counter()
    net = ThreeXNet().fit(train.X, threex_labels(train.multiples))
    seconds = time.perf_counter() - t0
    m = evaluate(threex_labels(test.multiples), net.predict_proba(test.X), net.threshold_)
    print(
        f"\n3x+ net ({seconds:.1f} s to train): AUC {m['auc']:.4f}, at threshold {net.threshold_:.3f} "
        f"precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f}, "
        f"base rate {m['base_rate']:.3f} (precision / base rate {m['precision'] / m['base_rate']:.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    total = args.train + args.test
    started = time.perf_counter()
    ds = simulated_signals(total, args.seed)
    print(
        f"{len(ds.data)} signals generated and featurized in {time.perf_counter() - started:.1f} s"
    )
    train, test = ds.data.rows(slice(0, args.train)), ds.data.rows(slice(args.train, total))
    oracle = ds.oracle[args.train : total]

    print("| model                        | log-loss | accuracy | AUC 2x+ | AUC 10x+ | train s |")
    print("|---|---|---|---|---|---|")
    print(_row("oracle (true probabilities)", evaluate_probs(oracle, test.y, test.multiples), None))
    configs = {
        "moonbot outcome model (aft)": {},
        "moonbot softprob objective": dict(objective="softprob"),
        "seed config (d8, 200, no w.)": dict(
            objective="softprob",
            n_estimators=200,
            max_depth=8,
            learning_rate=0.05,
            class_weighting=None,
            early_stopping_rounds=None,
            subsample=1.0,
            colsample_bytree=1.0,
        ),
    }
    for name, params in configs.items():
        t0 = time.perf_counter()
        model = OutcomeModel(**params).fit(train.X, train.y, multiples=train.multiples)
        seconds = time.perf_counter() - t0
        print(
            _row(name, evaluate_probs(model.predict_proba(test.X), test.y, test.multiples), seconds)
        )
    _threex(train, test)
    lgbm = _lightgbm(train, test)
    if lgbm is None:
        print("| LightGBM                     | not installed (pip install lightgbm to compare) |")
    else:
        probs, seconds = lgbm
        print(_row("LightGBM (peer)", evaluate_probs(probs, test.y, test.multiples), seconds))


if __name__ == "__main__":
    main()
