"""What a ``Predictor`` reports: a :class:`Prediction` per input, a :class:`LayerInfo` per layer shown.

``feature_layers`` picks the layers whose maps are shown (every 4-D output that is not the input
passed through), in model order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .confidence import Verdict

# 4-D outputs that only repeat the input (reshaped, rescaled, or augmented only while training): not maps
_PASS_THROUGH_MAPS = {"InputLayer", "Reshape", "Rescaling", "Normalization", "Resizing"}


@dataclass
class Prediction:
    """The network's answer for one input.

    ``probabilities``: ``(classes,)`` float32 summing to 1. ``activations``: layer name ->
    ``(h, w, c)`` float32 for every layer with a 4-D output (convolutions, pooling, ...), in model
    order, nested layers included. ``dense_activations``: layer name -> ``(units,)`` float32 for
    every ``Dense`` layer. ``digit``/``class_index`` is ``None`` when the input held no digit.
    """

    probabilities: np.ndarray | None
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    dense_activations: dict[str, np.ndarray] = field(default_factory=dict)
    # How sure the answer is (``model.nets.confidence.Verdict``); ``probabilities`` are calibrated where
    # the model's card has a calibration, ``raw_probabilities`` are the model's own.
    verdict: Verdict | None = None
    raw_probabilities: np.ndarray | None = None

    @property
    def class_index(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))

    @property
    def digit(self) -> int | None:
        return self.class_index

    @property
    def confidence(self) -> float:
        return 0.0 if self.probabilities is None else float(np.max(self.probabilities))


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the Keras class name, e.g. "Conv2D"
    shape: tuple[int, ...]  # output without the batch axis: (h, w, channels), or (units,) for Dense
    params: int


def feature_layers(flat) -> list:
    """The layers of a flat model with a 4-D output ``(batch, h, w, c)``, in order (convolutions, pooling, ...)."""
    out = []
    for layer in flat.layers:
        kind = type(layer).__name__
        if kind in _PASS_THROUGH_MAPS or kind.startswith("Random"):
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue  # layers used more than once have no single output; skip them
        if len(shape) == 4:
            out.append(layer)
    return out


def _dense_layers(flat) -> list:
    return [layer for layer in flat.layers if type(layer).__name__ == "Dense" and len(layer.output.shape) == 2]


def _info(layer, shape) -> LayerInfo:
    return LayerInfo(layer.name, type(layer).__name__, tuple(int(d) for d in shape[1:]), int(layer.count_params()))
