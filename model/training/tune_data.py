"""What ``tune`` (``model/training/tune.py``) tunes on: the person's drawings and MNIST replay digits.

``holdout_split`` holds every ``HOLDOUT_EVERY``-th drawing of each digit out (the honest "after"),
``most_recent`` keeps at most ``MAX_DRAWINGS`` of them, ``load_replay`` takes balanced MNIST
training digits (from the files, else the sample shipped in ``resources/``), and ``_targets``
makes the training targets: the person's labels, and for replay digits the base model's softened
answers (distillation).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.data.paths import RESOURCES

REPLAY_FILE = RESOURCES / "mnist_replay.npz"
HOLDOUT_EVERY = 5  # every 5th drawing of each digit is held out of tuning (20%)
MIN_DRAWINGS = 5
# At most this many drawings are tuned on, the most recently stored first (by file time): with 8
# warped variants each that is 27,000 images (85 MB as float32) however many are stored.
MAX_DRAWINGS = 3000


def holdout_split(labels: Sequence[int], every: int = HOLDOUT_EVERY) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(tune, held_out)``: the ``every``-th, ``2*every``-th, ... drawing of each digit is held out.

    Deterministic, stratified by digit, and keeps the earliest drawings of each digit for tuning.
    """
    seen: dict[int, int] = {}
    tune, held = [], []
    for i, label in enumerate(labels):
        seen[label] = seen.get(label, 0) + 1
        (held if seen[label] % every == 0 else tune).append(i)
    return np.asarray(tune, np.int64), np.asarray(held, np.int64)


def load_replay(count: int, rng: np.random.Generator, mnist_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """``count`` MNIST training digits ``(n, 28, 28)`` float32 in [0, 1], labels, and where they came from.

    Balanced over the digits. From ``mnist_dir`` (IDX files) when given and readable, else from the
    shipped ``resources/mnist_replay.npz`` (then at most as many as it holds).
    """
    x = y = None
    source = ""
    if mnist_dir is not None:
        from model.data.readers import DataError, load_mnist

        try:
            (x, y), _ = load_mnist(mnist_dir)
            source = f"MNIST training set in {mnist_dir}"
        except DataError:
            x = None
    if x is None:
        with np.load(REPLAY_FILE) as f:
            x, y = f["x"], f["y"]
        source = f"{REPLAY_FILE.name} (MNIST training digits shipped with the app)"
    per_class = max(1, count // 10)
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == d))[:per_class] for d in range(10)])
    keep = rng.permutation(keep)
    return x[keep].astype(np.float32) / 255.0, y[keep].astype(np.int64), source


def _targets(base_probs, y_user: np.ndarray, y_rep: np.ndarray, temperature: float | None):
    """Training targets and loss: the person's labels, and for replay digits the labels or the base's softened answers.

    Labels are output indices (``Feeding.label_index``); ``base_probs()`` gives the base model's
    ``(n_replay, 10)`` probabilities. With distillation, targets are ``(n, 11)``: a distribution over
    the outputs plus a flag column (1 = compare the *softened* output, ``softmax(log p / T)``, with
    it, scaled by ``T**2``).
    """
    if temperature is None:
        return np.concatenate([y_user, y_rep]), "sparse_categorical_crossentropy"
    from keras import ops

    base = np.asarray(base_probs(), np.float64)
    soft = np.exp(np.log(np.clip(base, 1e-12, 1.0)) / temperature)
    soft /= soft.sum(1, keepdims=True)
    user = np.concatenate([np.eye(10)[y_user], np.zeros((len(y_user), 1))], 1)
    replay = np.concatenate([soft, np.ones((len(soft), 1))], 1)
    t = float(temperature)

    def loss(y_true, p):
        target, distilled = y_true[:, :10], y_true[:, 10]
        log_p = ops.log(ops.clip(p, 1e-7, 1.0))
        hard = -ops.sum(target * log_p, axis=-1)
        log_soft = ops.log_softmax(log_p / t, axis=-1)
        return ops.where(distilled > 0.5, -ops.sum(target * log_soft, axis=-1) * t * t, hard)

    return np.concatenate([user, replay]).astype(np.float32), loss


def most_recent(drawings: Sequence, limit: int = MAX_DRAWINGS) -> list:
    """At most ``limit`` of ``drawings``, the most recently stored (file time; else the last given), in their order."""
    if len(drawings) <= limit:
        return list(drawings)

    def stored(i: int) -> float:
        path = getattr(drawings[i], "path", None)
        try:
            return Path(path).stat().st_mtime if path is not None else float(i)
        except OSError:
            return float("-inf")

    keep = sorted(sorted(range(len(drawings)), key=lambda i: (stored(i), i))[-limit:])
    return [drawings[i] for i in keep]
