"""Outcome-model quality against the simulator's oracle and the class-frequency prior (issue 13).

    .venv/bin/python bench/bench_quality.py [--train 20000] [--test 10000] [--seed 7]
        [--noise normal|skewed] [--shuffle]

Builds train + test signals from the embedded market (lean snapshots), trains on the earlier
signals and scores the later ones. ``--noise skewed`` is the non-normal outcome setting (a point
mass of rugs and a heavy right tail, ``engine.sim.oracle``); ``--shuffle`` permutes the outcomes
(label and multiple together) across all rows, so that no feature carries any signal and the best
possible model is the prior. Prints log-loss, accuracy, AUC >= 2x, AUC >= 10x, the binary log-loss
and AUC of P(3x+) and the train time for: the oracle (true class probabilities; the prior when
shuffled), the class-frequency prior of the training rows, ``aft``, ``softprob``, the chosen model
(``objective="auto"``, the default: shape and prior blend chosen on validation rows, refit on all
training rows), the seed configuration, and the 3x+ net (P(3x+) only, calibrated). P(3x+) of a
six-class model is ``ml.metrics.p_threex``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from engine.learning.training import Dataset
from engine.sim.dataset import simulated_signals
from ml.metrics import auc, binary_log_loss, evaluate_probs, p_threex
from ml.outcome import OutcomeModel
from ml.prior import ClassPrior
from ml.threex import ThreeXNet, threex_labels

HEADER = (
    "| model | log-loss | accuracy | AUC 2x+ | AUC 10x+ | 3x+ log-loss | 3x+ AUC | train s |\n"
    "|---|---|---|---|---|---|---|---|"
)


def _row(
    name: str,
    probs: np.ndarray | None,
    test: Dataset,
    seconds: float | None,
    p3: np.ndarray | None = None,
) -> str:
    truth3 = threex_labels(test.multiples)
    p3 = p_threex(probs) if p3 is None and probs is not None else p3
    assert p3 is not None
    three = f"{binary_log_loss(p3, truth3):.4f} | {auc(p3, truth3):.4f}"
    train = "" if seconds is None else f"{seconds:.1f}"
    if probs is None:
        return f"| {name} | | | | | {three} | {train} |"
    m = evaluate_probs(probs, test.y, test.multiples)
    return (
        f"| {name} | {m['log_loss']:.4f} | {m['accuracy']:.4f} | {m['auc_2x']:.4f} "
        f"| {m['auc_10x']:.4f} | {three} | {train} |"
    )


def _timed(fit: Callable[[], object]) -> tuple[object, float]:
    t0 = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - t0


CONFIGS: dict[str, dict[str, object]] = {
    "aft": dict(objective="aft"),
    "softprob": dict(objective="softprob"),
    "seed config (softprob d8, 200, no w.)": dict(
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


def _shuffled(ds: Dataset, seed: int) -> Dataset:
    order = np.random.default_rng(seed).permutation(len(ds))
    return Dataset(ds.X, ds.y[order], ds.multiples[order], ds.ts, ds.mints)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noise", choices=("normal", "skewed"), default="normal")
    parser.add_argument("--shuffle", action="store_true")
    args = parser.parse_args()
    total = args.train + args.test
    started = time.perf_counter()
    sim = simulated_signals(total, args.seed, noise_kind=args.noise)
    data = _shuffled(sim.data, args.seed) if args.shuffle else sim.data
    setting = f"{args.noise} noise" + (", outcomes shuffled" if args.shuffle else "")
    print(
        f"{len(data)} signals ({setting}) generated and featurized in "
        f"{time.perf_counter() - started:.1f} s; train {args.train}, test {args.test}"
    )
    train, test = data.rows(slice(0, args.train)), data.rows(slice(args.train, total))
    prior = ClassPrior().fit(train.y)

    print(HEADER)
    if not args.shuffle:
        print(_row("oracle (true probabilities)", sim.oracle[args.train : total], test, None))
    print(_row("prior (training class frequencies)", prior.predict_proba(len(test)), test, None))
    for name, params in CONFIGS.items():
        model, seconds = _timed(
            lambda params=params: OutcomeModel(**params).fit(  # type: ignore[arg-type]
                train.X, train.y, multiples=train.multiples
            )
        )
        assert isinstance(model, OutcomeModel)
        print(_row(name, model.predict_proba(test.X), test, seconds))
    chosen, seconds = _timed(
        lambda: OutcomeModel().fit(train.X, train.y, multiples=train.multiples)
    )
    assert isinstance(chosen, OutcomeModel)
    label = f"chosen (auto: {chosen.shape_}, prior weight {chosen.blend_:.2f})"
    print(_row(label, chosen.predict_proba(test.X), test, seconds))
    net, seconds = _timed(lambda: ThreeXNet().fit(train.X, threex_labels(train.multiples)))
    assert isinstance(net, ThreeXNet)
    print(_row("3x+ net (calibrated P(3x+))", None, test, seconds, net.calibrated_proba(test.X)))
    print(
        "\nchosen model's validation log-loss per candidate: "
        + ", ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in chosen.selection_.items()
        )
    )


if __name__ == "__main__":
    main()
