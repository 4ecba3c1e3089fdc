"""Probe: a distributional outcome model on the same split as bench_quality.py (issue 3).

    .venv/bin/python bench/probe_aft.py [--train 20000] [--test 10000] [--seed 7]

XGBoost ``survival:aft`` with normal errors on the exact max multiple (multiples below 1x are
left-censored: "somewhere under 1x"), then class probabilities
P(class k) = Phi((ln b_k - mu) / s) - Phi((ln b_(k-1) - mu) / s), with s chosen on the training
data's own time-ordered validation rows. It uses the whole multiple, not only its class, and one
ordered latent outcome instead of six separate scores. Printed next to the oracle; not yet the
product's model (the issue asks for multi:softprob; see the issue-3 note for the options).
"""

from __future__ import annotations

import argparse
from statistics import NormalDist

import numpy as np
import xgboost as xgb

from engine.dataset import world_dataset
from engine.labels import LOG_BOUNDARIES
from engine.sim import SimConfig, generate
from ml.metrics import evaluate_probs

_PHI = np.vectorize(NormalDist().cdf)


def class_probs(mu: np.ndarray, scale: float) -> np.ndarray:
    cdf = [np.zeros(len(mu)), *(_PHI((b - mu) / scale) for b in LOG_BOUNDARIES), np.ones(len(mu))]
    return np.diff(np.column_stack(cdf), axis=1)


def _matrix(X, multiples):  # type: ignore[no-untyped-def]
    m = xgb.DMatrix(X, missing=np.nan)
    m.set_float_info("label_lower_bound", np.where(multiples < 1.0, 0.0, multiples))
    m.set_float_info("label_upper_bound", np.where(multiples < 1.0, 1.0, multiples))
    return m


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--test", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    total = args.train + args.test
    world = generate(
        SimConfig(
            seed=args.seed, n_days=-(-total // 100), tokens_per_day=100, snapshot_detail="lean"
        )
    )
    ds = world_dataset(world)
    train, test = ds.data.rows(slice(0, args.train)), ds.data.rows(slice(args.train, total))
    cut = int(len(train) * 0.85)
    params = {
        "objective": "survival:aft",
        "eval_metric": "aft-nloglik",
        "aft_loss_distribution": "normal",
        "aft_loss_distribution_scale": 1.05,
        "max_depth": 3,
        "learning_rate": 0.05,
        "min_child_weight": 5,
        "subsample": 0.9,
        "colsample_bytree": 0.9,
        "tree_method": "hist",
        "nthread": 2,
        "seed": 0,
    }
    fit = _matrix(train.X.iloc[:cut], train.multiples[:cut])
    valid = _matrix(train.X.iloc[cut:], train.multiples[cut:])
    booster = xgb.train(
        params, fit, 3000, evals=[(valid, "valid")], early_stopping_rounds=50, verbose_eval=False
    )
    rounds = (0, booster.best_iteration + 1)
    mu_valid = np.log(booster.predict(valid, iteration_range=rounds))
    scale = min(
        np.linspace(0.8, 1.4, 25),
        key=lambda s: evaluate_probs(class_probs(mu_valid, s), train.y[cut:])["log_loss"],
    )
    mu = np.log(booster.predict(xgb.DMatrix(test.X, missing=np.nan), iteration_range=rounds))
    for name, probs in (
        ("oracle", ds.oracle[args.train : total]),
        (f"AFT normal (s={scale:.3f})", class_probs(mu, scale)),
    ):
        m = evaluate_probs(probs, test.y, test.multiples)
        print(
            f"{name:<24} log-loss {m['log_loss']:.4f}  accuracy {m['accuracy']:.4f}  AUC 2x+ {m['auc_2x']:.4f}  AUC 10x+ {m['auc_10x']:.4f}"
        )


if __name__ == "__main__":
    main()
