"""A tuned model's nearest-neighbour memory of its person's digits (issue 26).

The tuned network's last hidden features (the input of its output layer) of the person's labelled
drawings are stored next to the model (``me.keras`` -> ``me.personal.npz``), together with those of
a few thousand MNIST training digits as references; the Predictor adds to the network's
probabilities a vote of the (up to) MEMORY_K stored digits most like the new one, each weighted by
how far its cosine similarity exceeds MEMORY_THRESHOLD. The references keep the vote honest on
everyone else's digits: an MNIST digit that happens to resemble one of the person's finds MNIST
digits of its own class nearer still, so the person's digits only win where they are the nearest
(without them, a vote strong enough to fix a hard writer cost MNIST test up to 1.8 points on
bench/hard_writers.py). A digit unlike all of them is read by the network alone. Labels are the
model's *output indices* (the card's class order), so the vote lands on the outputs the Predictor
shows. Written by model/training/personal.py; here so that model/nets does not depend on
model/training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEMORY_SUFFIX = ".personal.npz"
# Chosen on bench/hard_writers.py's tuned models (README, "Hard writers"): k 3/5/10, threshold
# 0.8/0.85, weight 0.5/1/2, references 0/1,000/3,000.
MEMORY_K = 5
MEMORY_THRESHOLD = 0.8
MEMORY_WEIGHT = 1.0
COMBINE_ROWS = 2048  # drawings compared with the memory at a time
MEMORY_REFERENCES = 3000  # MNIST training digits stored beside the person's (fewer if the replay sample is smaller)


def memory_path(model_path) -> Path:
    """``me.keras`` -> ``me.personal.npz`` (the memory sidecar of a tuned model)."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + MEMORY_SUFFIX)


@dataclass
class Memory:
    """Unit-length features ``(m, d)`` of the person's drawings, their output indices, and the vote's settings."""

    features: np.ndarray
    labels: np.ndarray
    threshold: float = MEMORY_THRESHOLD
    weight: float = MEMORY_WEIGHT
    k: int = MEMORY_K

    def combine(self, features: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """``(n, classes)`` probabilities with the neighbours' vote added, rows summing to 1."""
        probs = np.asarray(probs, np.float64)
        if len(self.labels) == 0 or len(probs) == 0:
            return probs.astype(np.float32)
        f = np.asarray(features, np.float32).reshape(len(probs), -1)
        f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
        stored = np.asarray(self.features, np.float32)
        k = min(self.k, len(stored))
        vote = np.zeros_like(probs)
        for start in range(0, len(f), COMBINE_ROWS):  # bounded memory: rows x stored similarities at a time
            sim = f[start : start + COMBINE_ROWS] @ stored.T
            # the k most similar, in no particular order (the vote is a sum): a partition, not a sort
            nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < sim.shape[1] else np.tile(np.arange(k), (len(sim), 1))
            strength = np.clip((np.take_along_axis(sim, nearest, 1) - self.threshold) / (1 - self.threshold), 0, 1)
            rows = np.repeat(np.arange(start, start + len(sim)), k)
            np.add.at(vote, (rows, self.labels[nearest].ravel()), strength.ravel().astype(np.float64))
        out = probs + self.weight * vote
        return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)

    def to_bytes(self) -> bytes:
        import io

        buf = io.BytesIO()
        np.savez(
            buf,
            features=self.features.astype(np.float32),
            labels=self.labels.astype(np.int64),
            settings=np.array([self.threshold, self.weight, self.k], np.float64),
        )
        return buf.getvalue()


def read_memory(model_path) -> Memory | None:
    """The memory next to ``model_path``; ``None`` when there is none or it cannot be read."""
    path = memory_path(model_path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            features, labels, settings = f["features"], f["labels"], f["settings"]
        if features.ndim != 2 or labels.shape != (len(features),) or settings.shape != (3,):
            return None
        return Memory(
            features.astype(np.float32), labels.astype(np.int64), float(settings[0]), float(settings[1]), int(settings[2])
        )
    except (OSError, ValueError, KeyError):
        return None
