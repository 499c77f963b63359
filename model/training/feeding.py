"""Feeding a model that is trained further (``tune``, ``train --init``) exactly as it is used.

A model brought by a user may want 32x32 inputs, raw 0-255 pixels (a ``Rescaling`` layer or its
card's ``input_range``), dark ink on white (the card's ``invert``) or classes in another order
(the card's ``class_names``). :class:`Predictor.prepare <model.nets.inference.Predictor>` is the
one owner of how a 28x28 drawing becomes such an input; training on anything else teaches the
model a different input than it will see, and its before/after figures are false.

:func:`digit_feeding` reads that from a :class:`Predictor` of the base model and refuses models
that cannot learn the ten digits (not 10 outputs, classes not named 0-9, independent sigmoids).
:func:`feeding_layers` turns it into Keras layers that sit between the on-the-fly warp (which works
on 28x28 drawings, white on black) and the model while training; a test proves they compute
``prepare`` exactly. :func:`outputs` runs the model on ``prepare``'d inputs in byte-bounded batches
for the before/after figures and the distillation targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.data.preprocess import INPUT_SIZE

DIGITS = tuple(str(d) for d in range(10))


class FeedingError(ValueError):
    """The model cannot be trained on the digits; the message (one line) says why."""


@dataclass(frozen=True)
class Feeding:
    """How the base model is fed, as ``Predictor.prepare`` does, and where each digit's output is."""

    input_size: tuple[int, int]
    channel_axis: bool
    input_range: tuple[float, float]
    invert: bool
    class_names: tuple[str, ...]
    logits: bool  # the model outputs raw scores: a softmax is added while training
    label_index: np.ndarray  # (10,) int64: digit d is output label_index[d]
    prepare: object  # the Predictor's prepare: (n, 28, 28) [0, 1] -> the model's input
    rows_per_batch: int

    def card_keys(self) -> dict:
        """The feeding keys a card of a model trained from this one must carry."""
        return {"input_range": list(self.input_range), "invert": self.invert, "class_names": list(self.class_names)}


def digit_feeding(path: str | Path) -> Feeding:
    """How the model at ``path`` is fed; raises ``FeedingError`` (or ``ModelError``) in one line."""
    from model.nets.inference import Predictor

    predictor = Predictor(path, feature_maps=False)
    name = Path(path).name
    if predictor.num_classes != 10:
        raise FeedingError(
            f"{name} has {predictor.num_classes} outputs; training on the digits needs a model with 10 outputs "
            f"(one per digit 0-9)."
        )
    names = tuple(predictor.class_names)
    if sorted(names) != list(DIGITS):
        shown = ", ".join(names)
        raise FeedingError(f"{name} names its classes {shown[:80]}; training on the digits needs them to be 0-9 (in any order).")
    if predictor.output_kind == "sigmoid":
        raise FeedingError(f"{name} ends in independent sigmoids; training on the digits needs softmax outputs or logits.")
    return Feeding(
        input_size=predictor.input_size,
        channel_axis=predictor._channel_axis,
        input_range=tuple(float(v) for v in predictor.input_range),
        invert=predictor.invert,
        class_names=names,
        logits=predictor.output_kind == "logits",
        label_index=np.array([names.index(d) for d in DIGITS], np.int64),
        prepare=predictor.prepare,
        rows_per_batch=min(1024, predictor.rows_per_batch),
    )


def feeding_layers(feeding: Feeding) -> list:
    """Keras layers: ``(n, 28, 28, 1)`` drawings in [0, 1] -> exactly what ``prepare`` makes of them."""
    import keras

    h, w = feeding.input_size
    layers = []
    if (h, w) == (32, 32):
        layers.append(keras.layers.ZeroPadding2D(2))
    elif (h, w) != (INPUT_SIZE, INPUT_SIZE):
        layers.append(keras.layers.Resizing(h, w, interpolation="bilinear"))
    low, high = feeding.input_range
    # prepare: x -> (1 - x if invert) -> low + (high - low) * x
    scale, offset = (-(high - low), high) if feeding.invert else (high - low, low)
    if (scale, offset) != (1.0, 0.0):
        layers.append(keras.layers.Rescaling(scale, offset))
    if not feeding.channel_axis:
        layers.append(keras.layers.Reshape((h, w)))
    return layers


def outputs(model, feeding: Feeding, x: np.ndarray) -> np.ndarray:
    """``(n, 28, 28)`` drawings -> ``(n, 10)`` probabilities of ``model`` fed as ``prepare`` does, in bounded batches."""
    out = np.empty((len(x), 10), np.float32)
    step = max(1, feeding.rows_per_batch)
    for i in range(0, len(x), step):
        raw = np.asarray(model(feeding.prepare(x[i : i + step]), training=False), np.float64)
        if feeding.logits:
            raw = np.exp(raw - raw.max(axis=1, keepdims=True))
            raw /= raw.sum(axis=1, keepdims=True)
        out[i : i + step] = raw
    return out


def accuracy(model, feeding: Feeding, x: np.ndarray | None, digits: np.ndarray | None) -> float | None:
    """The share of ``x`` whose digit (``digits``, 0-9) the model reads right, fed as ``prepare`` does."""
    if x is None or len(x) == 0:
        return None
    predicted = outputs(model, feeding, x).argmax(1)
    return float(np.mean(predicted == feeding.label_index[np.asarray(digits, np.int64)]))
