"""Accuracy of a model on MNIST's test set, on pendigits writers, or on a folder of stroke files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class EvalResult:
    name: str
    labels: np.ndarray
    predicted: np.ndarray  # -1 where the input held no digit

    @property
    def accuracy(self) -> float:
        return float((self.labels == self.predicted).mean()) if len(self.labels) else float("nan")

    def per_class(self) -> dict[int, float]:
        return {
            d: round(float((self.predicted[self.labels == d] == d).mean()), 4)
            for d in range(10)
            if (self.labels == d).any()
        }

    def summary(self) -> dict:
        return {
            "n": int(len(self.labels)),
            "accuracy": round(self.accuracy, 5),
            "errors": int((self.labels != self.predicted).sum()),
            "per_class": self.per_class(),
        }

    def report(self) -> str:
        lines = [f"{self.name}: accuracy {self.accuracy * 100:.2f}% ({int((self.labels == self.predicted).sum())}/{len(self.labels)})"]
        lines.append("  per digit: " + "  ".join(f"{d}:{acc * 100:.1f}%" for d, acc in self.per_class().items()))
        confusion = np.zeros((10, 11), int)
        for t, p in zip(self.labels, self.predicted):
            confusion[t, p if p >= 0 else 10] += 1
        lines.append("  confusion (rows: true, cols: predicted 0-9, '-' = no digit):")
        lines.append("       " + " ".join(f"{c:>5}" for c in list(range(10)) + ["-"]))
        for t in range(10):
            lines.append(f"    {t}: " + " ".join(f"{v:>5}" for v in confusion[t]))
        return "\n".join(lines)


def _classify(predictor, images: list[np.ndarray | None]) -> np.ndarray:
    predicted = np.full(len(images), -1, np.int64)
    idx = [i for i, x in enumerate(images) if x is not None]
    if idx:
        probs = predictor.predict_probabilities(np.stack([images[i] for i in idx]))
        predicted[idx] = probs.argmax(1)
    return predicted


def evaluate_mnist(predictor, directory: str | os.PathLike) -> EvalResult:
    """The official 10,000-image MNIST test set, fed as MNIST prepared it (no re-processing)."""
    from .data import load_mnist_test

    x, y = load_mnist_test(directory)
    probs = predictor.predict_probabilities(x.astype(np.float32) / 255.0)
    return EvalResult("MNIST test set", y.astype(np.int64), probs.argmax(1))


def evaluate_pendigits(predictor, path: str | os.PathLike, writers: list[int] | None = None) -> EvalResult:
    """Pen-tablet digits of the given writers, rendered through the canvas's strokes-to-input path."""
    from .data import read_pendigits
    from .preprocess import strokes_to_input

    digits = [d for d in read_pendigits(path) if writers is None or d.writer in writers]
    images = [strokes_to_input(d.strokes) for d in digits]
    labels = np.array([d.label for d in digits], np.int64)
    who = "all writers" if writers is None else f"writers {_span(writers)}"
    return EvalResult(f"pendigits ({who})", labels, _classify(predictor, images))


def _span(writers: list[int]) -> str:
    ws = sorted(writers)
    return f"{ws[0]}-{ws[-1]}" if ws == list(range(ws[0], ws[-1] + 1)) else ",".join(map(str, ws))


def label_of(path: Path, doc_label: int | None) -> int | None:
    """A stroke file's label: its ``"label"`` key, else a parent folder named 0-9, else a ``N_`` filename prefix."""
    if doc_label is not None:
        return int(doc_label)
    if path.parent.name.isdigit() and len(path.parent.name) == 1:
        return int(path.parent.name)
    head = path.stem.split("_", 1)[0].split("-", 1)[0]
    if head.isdigit() and len(head) == 1:
        return int(head)
    return None


def evaluate_stroke_folder(predictor, directory: str | os.PathLike) -> tuple[EvalResult, list[str]]:
    """Every ``*.json`` stroke file under ``directory`` with a known label; returns the result and problems."""
    from .data import DataError, read_strokes
    from .preprocess import strokes_to_input

    images, labels, problems = [], [], []
    for path in sorted(Path(directory).rglob("*.json")):
        try:
            strokes, doc_label = read_strokes(path)
        except DataError as exc:
            problems.append(str(exc))
            continue
        label = label_of(path, doc_label)
        if label is None:
            problems.append(f"{path}: no label (add \"label\": N, or put it in a folder named N)")
            continue
        images.append(strokes_to_input(strokes))
        labels.append(label)
    return EvalResult(f"stroke files in {directory}", np.array(labels, np.int64), _classify(predictor, images)), problems
