"""The 3x+ net: a small PyTorch MLP scoring P(max multiple >= 3) for one signal.

The seed's 3x+ predictor had recall 0 because 0.4% of its rows were positive and it was judged
at a 0.5 cut. This one follows the honesty rules of DESIGN.md:

- Rows arrive sorted by signal time. The last ``validation_fraction`` of them validate; the split
  never shuffles across time (minibatches are shuffled inside the training part only).
- Preprocessing (``ml.impute.Preprocessing``) is learned on the training part only: each
  feature's NaNs (and infinities) are imputed with its training median, a ``<name>__missing``
  indicator column is added for every feature that had missing values in training, and all
  columns are standardized with training means and standard deviations. The statistics live in
  the JSON sidecar.
- Imbalance: ``BCEWithLogitsLoss(pos_weight=n_neg / n_pos)`` over the training part, AdamW,
  early stopping on the validation loss (the same weighted loss), best epoch restored.
- The decision threshold is chosen on validation (``ml.binary.choose_threshold``): the cut
  maximizing F1 among those with recall >= ``min_recall``, else the cut maximizing F1.
  ``evaluate`` (AUC, precision, recall, F1 with counts and Wilson intervals, base rate) is
  ``ml.binary.evaluate``.
- ``predict_proba`` is the sigmoid of the logit. With ``pos_weight`` the training objective sees
  as many (weighted) positives as negatives, so this score is inflated: it is for ranking and
  thresholding, not a probability. ``calibrated_proba`` maps the logit through a Platt fit on the
  validation part (``sigmoid(a * logit + b)``), or, when validation holds fewer than
  ``MIN_PLATT_POSITIVES`` positives, through the prior correction ``logit - log(pos_weight)``.
  The validation part also chose the epoch and the threshold, so judge calibration (like every
  other number) on later rows.

Saved as ``model.pt`` (a ``state_dict``, loaded with ``torch.load(..., weights_only=True)``) plus
the ``model.json`` sidecar; never pickled.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ml.binary import choose_threshold, evaluate, fit_platt
from ml.frame import feature_names_of
from ml.frame import to_matrix as frame_to_matrix
from ml.impute import Preprocessing
from ml.params import Params
from ml.sidecar import library_versions, load_model_dir, save_model_dir

log = logging.getLogger(__name__)

TORCH_MODEL_FILE = "model.pt"
THREEX_MULTIPLE = 3.0
MIN_PLATT_POSITIVES = 5

_PARAM_NAMES: tuple[str, ...] = (
    "hidden",
    "dropout",
    "learning_rate",
    "weight_decay",
    "batch_size",
    "max_epochs",
    "patience",
    "validation_fraction",
    "min_recall",
    "device",
    "n_threads",
    "random_state",
)


def threex_labels(max_multiples: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """``max_multiple >= 3`` per row, as a bool array; NaN (unlabeled) raises ValueError."""
    mult = np.asarray(max_multiples, dtype=np.float64)
    if np.isnan(mult).any():
        raise ValueError("max multiples contain NaN: drop unlabeled rows first")
    return np.asarray(mult >= THREEX_MULTIPLE)


# --------------------------------------------------------------------- the net


def build_net(n_inputs: int, hidden: Sequence[int], dropout: float) -> nn.Sequential:
    """Linear -> LayerNorm -> ReLU -> Dropout per hidden layer, then one logit."""
    layers: list[nn.Module] = []
    width = n_inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.LayerNorm(size), nn.ReLU(), nn.Dropout(dropout)]
        width = size
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def resolve_device(device: str) -> torch.device:
    """``"auto"``: CUDA when available, else CPU; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Limit torch's intra-op CPU threads for the block (process-wide), then restore them."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class ThreeXNet(Params):
    """Binary MLP for ``max multiple >= 3`` with scikit-learn's conventions.

    Fitted attributes: ``feature_names_``, ``preprocessing_`` (``Preprocessing``), ``net_``
    (``nn.Sequential`` in eval mode on ``device_``), ``device_``, ``pos_weight_``,
    ``threshold_`` (on the ``predict_proba`` scale) and ``threshold_rule_``, ``calibration_``
    (``{"method", "a", "b"}``), ``best_epoch_`` / ``n_epochs_``, ``n_train_`` / ``n_valid_``,
    ``validation_metrics_`` (``evaluate`` on the validation part, or ``{}``), ``fit_seconds_``.

    ``n_threads`` caps torch's CPU threads while fitting and predicting (None: leave torch's
    setting). The default is 1: on a 2-core machine that was also busy with other work
    (bench/bench_learning.py, 20,000 x 34, 18 epochs) one thread fitted in 2.0-2.9 s, two in
    2.2-14.9 s: the net is too small for two threads to pay for waiting on each other.
    """

    param_names = _PARAM_NAMES

    def __init__(
        self,
        *,
        hidden: Sequence[int] = (64, 32),
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 512,
        max_epochs: int = 200,
        patience: int = 15,
        validation_fraction: float = 0.2,
        min_recall: float = 0.5,
        device: str = "cpu",
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.min_recall = min_recall
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep)
        params["hidden"] = [int(h) for h in self.hidden]
        return params

    def _check_params(self) -> None:
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden must be positive layer widths, got {self.hidden!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.batch_size < 1 or self.max_epochs < 1 or self.patience < 1:
            raise ValueError("batch_size, max_epochs and patience must be >= 1")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        if not 0.0 <= self.min_recall <= 1.0:
            raise ValueError(f"min_recall must be in [0, 1], got {self.min_recall}")

    # ----------------------------------------------------------------- training

    def fit(self, X: pd.DataFrame, y: Sequence[bool] | np.ndarray | pd.Series) -> ThreeXNet:
        """Train on ``X`` (rows sorted by time) and ``y`` (True = reached 3x)."""
        self._check_params()
        started = time.perf_counter()
        names = feature_names_of(X)
        matrix = frame_to_matrix(X, names)
        labels = _as_binary(y, len(matrix))
        n_valid = int(round(len(matrix) * self.validation_fraction))
        if n_valid >= len(matrix):
            n_valid = 0
        n_train = len(matrix) - n_valid
        n_pos = int(labels[:n_train].sum())
        if n_pos == 0 or n_pos == n_train:
            raise ValueError(f"the training part needs both classes; it has {n_pos} of {n_train}")
        pos_weight = (n_train - n_pos) / n_pos
        prep = Preprocessing.learn(matrix[:n_train], names)
        inputs = prep.transform(matrix)
        device = resolve_device(self.device)

        with torch_threads(self.n_threads):
            torch.manual_seed(self.random_state)
            generator = torch.Generator().manual_seed(self.random_state)
            net = build_net(inputs.shape[1], self.hidden, self.dropout).to(device)
            x_all = torch.from_numpy(inputs).to(device)
            y_all = torch.from_numpy(labels.astype(np.float32)).to(device)
            x_tr, y_tr = x_all[:n_train], y_all[:n_train]
            x_va, y_va = x_all[n_train:], y_all[n_train:]
            loss_fn = nn.BCEWithLogitsLoss(
                pos_weight=torch.tensor([pos_weight], dtype=torch.float32, device=device)
            )
            optimizer = torch.optim.AdamW(
                net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            best_loss, best_epoch, stale = math.inf, self.max_epochs - 1, 0
            best_state = _copy_state(net)
            epoch = 0
            for epoch in range(self.max_epochs):
                net.train()
                order = torch.randperm(n_train, generator=generator).to(device)
                for start in range(0, n_train, self.batch_size):
                    idx = order[start : start + self.batch_size]
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(net(x_tr[idx]).squeeze(1), y_tr[idx])
                    loss.backward()
                    optimizer.step()
                if n_valid == 0:
                    continue
                net.eval()
                with torch.no_grad():
                    valid_loss = float(loss_fn(net(x_va).squeeze(1), y_va))
                if valid_loss < best_loss - 1e-6:
                    best_loss, best_epoch, stale = valid_loss, epoch, 0
                    best_state = _copy_state(net)
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
            if n_valid:
                net.load_state_dict(best_state)
            net.eval()

        self.feature_names_: list[str] = names
        self.preprocessing_: Preprocessing = prep
        self.net_: nn.Sequential = net
        self.device_: torch.device = device
        self.pos_weight_: float = float(pos_weight)
        self.best_epoch_: int = int(best_epoch)
        self.n_epochs_: int = epoch + 1
        self.n_train_: int = n_train
        self.n_valid_: int = n_valid

        valid_logits = self._logits(inputs[n_train:])
        valid_truth = labels[n_train:]
        valid_scores = _sigmoid(valid_logits)
        self.threshold_, self.threshold_rule_ = choose_threshold(
            valid_truth, valid_scores, self.min_recall
        )
        if int(valid_truth.sum()) >= MIN_PLATT_POSITIVES and not valid_truth.all():
            a, b = fit_platt(valid_logits, valid_truth)
            self.calibration_: dict[str, Any] = {"method": "platt", "a": a, "b": b}
        else:
            self.calibration_ = {"method": "prior", "a": 1.0, "b": -math.log(pos_weight)}
        self.validation_metrics_: dict[str, Any] = (
            evaluate(valid_truth, valid_scores, self.threshold_) if n_valid else {}
        )
        self.fit_seconds_: float = time.perf_counter() - started
        log.info(
            "3x+ net: %d train / %d valid rows, %d inputs, pos_weight %.1f, best epoch %d of %d, "
            "threshold %.4f (%s), %.1f s",
            n_train,
            n_valid,
            inputs.shape[1],
            pos_weight,
            self.best_epoch_,
            self.n_epochs_,
            self.threshold_,
            self.threshold_rule_,
            self.fit_seconds_,
        )
        return self

    # ----------------------------------------------------------------- prediction

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise RuntimeError("this ThreeXNet is not fitted yet; call fit() or load()")

    def _logits(self, inputs: np.ndarray) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros(0, dtype=np.float64)
        with torch_threads(self.n_threads), torch.no_grad():
            out = self.net_(torch.from_numpy(inputs).to(self.device_)).squeeze(1)
        logits: np.ndarray = out.cpu().numpy().astype(np.float64)
        return logits

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The logit per row, shape ``(n,)``."""
        self._check_fitted()
        matrix = frame_to_matrix(X, self.feature_names_)
        return self._logits(self.preprocessing_.transform(matrix))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``sigmoid(logit)``, shape ``(n,)``: a ranking score (inflated by ``pos_weight``)."""
        return _sigmoid(self.decision_function(X))

    def calibrated_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``sigmoid(a * logit + b)`` from ``calibration_``: an estimate of P(3x+)."""
        a, b = float(self.calibration_["a"]), float(self.calibration_["b"])
        return _sigmoid(a * self.decision_function(X) + b)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``predict_proba(X) >= threshold_`` as a bool array."""
        return np.asarray(self.predict_proba(X) >= self.threshold_)

    # ----------------------------------------------------------------- persistence

    def save(
        self, directory: str | os.PathLike[str], *, metadata: Mapping[str, Any] | None = None
    ) -> Path:
        """Write ``model.pt`` (``state_dict``) and the ``model.json`` sidecar; return the dir."""
        self._check_fitted()
        state = {k: v.detach().cpu() for k, v in self.net_.state_dict().items()}
        return save_model_dir(
            directory,
            model_file=TORCH_MODEL_FILE,
            write_model=lambda tmp: torch.save(state, tmp),
            kind_of_model="torch-mlp-binary-3x",
            feature_names=self.feature_names_,
            fields={
                "params": self.get_params(),
                "n_inputs": len(self.preprocessing_.output_names),
                "preprocessing": self.preprocessing_.to_json(),
                "threshold": self.threshold_,
                "threshold_rule": self.threshold_rule_,
                "calibration": self.calibration_,
                "pos_weight": self.pos_weight_,
                "best_epoch": self.best_epoch_,
                "n_train": self.n_train_,
                "n_valid": self.n_valid_,
                "validation_metrics": self.validation_metrics_,
            },
            versions={**library_versions(), "torch": torch.__version__},
            metadata=metadata,
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str], *, device: str | None = None) -> ThreeXNet:
        """Restore a model written by ``save`` (``device`` overrides the saved parameter)."""
        saved = load_model_dir(directory, model_file=TORCH_MODEL_FILE)
        path, sidecar, names = saved.directory, saved.sidecar, saved.feature_names
        params = {k: v for k, v in sidecar["params"].items() if k in _PARAM_NAMES}
        params["hidden"] = tuple(int(h) for h in params.get("hidden", (64, 32)))
        if device is not None:
            params["device"] = device
        model = cls(**params)
        prep = Preprocessing.from_json(sidecar["preprocessing"])
        if prep.feature_names != names:
            raise ValueError(f"{path}: preprocessing feature names differ from the sidecar")
        n_inputs = len(prep.output_names)
        if int(sidecar["n_inputs"]) != n_inputs:
            raise ValueError(f"{path}: n_inputs does not match the preprocessing statistics")
        state = torch.load(saved.model_path, map_location="cpu", weights_only=True)
        net = build_net(n_inputs, model.hidden, model.dropout)
        net.load_state_dict(state, strict=True)
        model.device_ = resolve_device(model.device)
        model.net_ = net.to(model.device_).eval()
        model.feature_names_ = names
        model.preprocessing_ = prep
        model.pos_weight_ = float(sidecar["pos_weight"])
        model.threshold_ = float(sidecar["threshold"])
        model.threshold_rule_ = str(sidecar["threshold_rule"])
        calibration = dict(sidecar["calibration"])
        model.calibration_ = {
            "method": str(calibration["method"]),
            "a": float(calibration["a"]),
            "b": float(calibration["b"]),
        }
        model.best_epoch_ = int(sidecar["best_epoch"])
        model.n_epochs_ = model.best_epoch_ + 1
        model.n_train_ = int(sidecar["n_train"])
        model.n_valid_ = int(sidecar["n_valid"])
        model.validation_metrics_ = dict(sidecar.get("validation_metrics") or {})
        model.fit_seconds_ = 0.0
        return model


# --------------------------------------------------------------------- helpers


def _as_binary(y: Any, n_rows: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim != 1 or len(labels) != n_rows:
        raise ValueError(f"y must be 1-D with {n_rows} labels, got shape {labels.shape}")
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise ValueError("y contains NaN")
    if labels.dtype.kind != "b" and len(labels) and not np.isin(labels, (0, 1)).all():
        raise ValueError("y must be boolean or 0/1")
    return labels.astype(bool)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64))))


def _copy_state(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}
