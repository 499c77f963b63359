"""Where in the drawing a prediction comes from, and how the CNN's parameters compare with a dense net.

- ``integrated_gradients``: attributions of the *pre-softmax* class score, from a black (no ink)
  baseline to the image; they add up to ``score(image) - score(baseline)`` (completeness), which
  ``integrated_gradients_result`` reports and enforces by refining the integral.
- ``signal_below_noise``: whether a map is below float32 rounding, so a view says so instead of
  drawing noise at full contrast.
- ``saliency`` (gradient x input of the probability) and ``occlusion`` (probability change when
  a square is blanked).
- ``parameter_comparison``: the CNN's parameters against a fully connected network.

``model_input`` is what the model receives (``Predictor.prepare(image)``), or a ``(28, 28)``
drawing for a 28x28 model; maps come back ``(h, w)`` at the model's input size. All functions are
re-exported by ``model.explain``. Keras and TensorFlow are imported inside the functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.nets.graph import as_model_batch, score_function

_CHUNK = 128  # path points per model call


@dataclass(frozen=True)
class LayerParameters:
    """One layer in ``parameter_comparison``: its own parameters and those of its dense stand-in."""

    name: str
    kind: str  # Keras class name, e.g. "Conv2D"
    output_shape: tuple[int, ...]  # without the batch axis
    params: int
    dense_params: int


@dataclass(frozen=True)
class ParameterComparison:
    rows: list[LayerParameters]
    total_params: int
    total_dense_params: int

    @property
    def ratio(self) -> float:
        """How many times more parameters the fully connected network needs."""
        return self.total_dense_params / self.total_params if self.total_params else math.inf


@dataclass(frozen=True)
class IntegratedGradients:
    """Integrated gradients of class ``class_index``'s pre-softmax score.

    ``attributions``: ``(h, w)`` float32 (channels summed), in score units. ``score`` and
    ``baseline_score``: the score of the image and of the baseline; ``steps``: the intervals of
    the trapezoid rule used.
    """

    attributions: np.ndarray
    class_index: int
    score: float
    baseline_score: float
    steps: int

    @property
    def score_change(self) -> float:
        return self.score - self.baseline_score

    @property
    def attribution_sum(self) -> float:
        return float(self.attributions.astype(np.float64).sum())

    @property
    def completeness_gap(self) -> float:
        """``|sum of attributions - score change|`` relative to the change (0 when both vanish)."""
        return abs(self.attribution_sum - self.score_change) / max(abs(self.score_change), 1e-6)

    @property
    def below_noise(self) -> bool:
        return signal_below_noise(self.attributions, self.score)


def signal_below_noise(values: np.ndarray, output_value: float, dtype=np.float32) -> bool:
    """True when a map carries nothing above numerical noise.

    A map explaining a number ``output_value`` computed in ``dtype`` cannot resolve changes below
    that number's rounding error, at worst ``n x eps x max(|output_value|, 1)`` for a sum of ``n``
    terms (``n``: the map's size). Every ``|value|`` below that is noise: for example gradient x
    input of a softmax probability near 1 (1e-15 .. 1e-5 on 784 pixels, floor 9e-5).
    """
    values = np.asarray(values, np.float64)
    if not np.isfinite(values).all():
        return True
    floor = values.size * float(np.finfo(dtype).eps) * max(abs(float(output_value)), 1.0)
    return bool(np.max(np.abs(values), initial=0.0) <= floor)


def _check_class(keras_model, class_index: int) -> int:
    classes = int(keras_model.outputs[0].shape[-1])
    if not 0 <= int(class_index) < classes:
        raise ValueError(f"target_class={class_index} is out of range: the model has {classes} classes (0..{classes - 1}).")
    return int(class_index)


def _to_map(values: np.ndarray) -> np.ndarray:
    """``(h, w[, c])`` -> ``(h, w)`` float32, channels summed."""
    return (values.sum(axis=-1) if values.ndim == 3 else values).astype(np.float32)


def integrated_gradients_result(
    keras_model,
    model_input: np.ndarray,
    class_index: int,
    steps: int = 32,
    baseline: np.ndarray | None = None,
    tolerance: float | None = 0.01,
    max_steps: int = 1024,
) -> IntegratedGradients:
    """Integrated gradients of ``class_index``'s pre-softmax score, with its completeness.

    The score is the logit: for a final ``Dense(activation="softmax")`` it is computed from the
    penultimate output and the Dense weights (``model.graph.score_function``), so saturated
    probabilities do not flatten the map. ``baseline``: the black (no ink) input by default,
    zeros. The path integral uses the trapezoid rule on ``steps`` intervals; while the
    attributions miss the score change by more than ``tolerance`` (relative) the intervals are
    halved (reusing every gradient already computed), up to ``max_steps``. ``tolerance=None``
    keeps exactly ``steps``.
    """
    import tensorflow as tf

    class_index = _check_class(keras_model, class_index)
    if steps < 1 or max_steps < steps:
        raise ValueError(f"Expected 1 <= steps <= max_steps; got steps={steps}, max_steps={max_steps}.")
    x = as_model_batch(keras_model, model_input)
    base = np.zeros_like(x) if baseline is None else as_model_batch(keras_model, baseline)
    delta = x - base
    score = score_function(keras_model)

    def gradients(alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Summed gradients at the path points ``alphas`` and the scores there."""
        total = np.zeros(x.shape[1:], np.float64)
        scores = []
        for i in range(0, len(alphas), _CHUNK):
            a = alphas[i : i + _CHUNK].reshape((-1,) + (1,) * (x.ndim - 1)).astype(np.float32)
            points = tf.convert_to_tensor(base + a * delta)
            with tf.GradientTape() as tape:
                tape.watch(points)
                s = score(points)[:, class_index]
            total += tape.gradient(s, points).numpy().astype(np.float64).sum(axis=0)
            scores.append(s.numpy())
        return total, np.concatenate(scores)

    n = int(steps)
    ends, end_scores = gradients(np.array([0.0, 1.0]))
    inner, _ = gradients(np.arange(1, n) / n)
    integral = (inner + ends / 2) / n  # trapezoid rule: the ends count half

    def result(integral: np.ndarray, n: int) -> IntegratedGradients:
        return IntegratedGradients(
            _to_map((delta[0] * integral).astype(np.float32)), class_index, float(end_scores[1]), float(end_scores[0]), n
        )

    out = result(integral, n)
    while tolerance is not None and out.completeness_gap > tolerance and 2 * n <= max_steps:
        midpoints, _ = gradients((np.arange(n) + 0.5) / n)
        integral = integral / 2 + midpoints / (2 * n)  # T(2n) = T(n) / 2 + (sum at the midpoints) / 2n
        n *= 2
        out = result(integral, n)
    return out


def integrated_gradients(
    keras_model, image: np.ndarray, class_index: int, steps: int = 32, baseline: np.ndarray | None = None
) -> np.ndarray:
    """``(h, w)`` float32 attributions of ``class_index``'s pre-softmax score for ``image``.

    ``(28, 28)`` for a ``(28, 28)`` image. They add up to ``score(image) - score(black image)``
    within 1% (see :func:`integrated_gradients_result` for the numbers and the rule).
    """
    return integrated_gradients_result(keras_model, image, class_index, steps=steps, baseline=baseline).attributions


def saliency(keras_model, model_input: np.ndarray, target_class: int) -> np.ndarray:
    """Gradient x input of the probability of ``target_class``: ``(h, w)`` float32.

    Positive where more ink would raise the probability (and there is ink), negative where it
    would lower it; zero on blank pixels. Values are small and unnormalised, and near a
    probability of 1 they are rounding noise: check :func:`signal_below_noise` before drawing.
    """
    import tensorflow as tf

    target_class = _check_class(keras_model, target_class)
    x = tf.convert_to_tensor(as_model_batch(keras_model, model_input))
    with tf.GradientTape() as tape:
        tape.watch(x)
        probability = keras_model(x, training=False)[:, target_class]
    gradient = tape.gradient(probability, x)
    return _to_map((gradient * x).numpy()[0])


def occlusion(
    keras_model, model_input: np.ndarray, target_class: int, patch: int = 4, stride: int = 2, fill: np.ndarray | None = None
) -> np.ndarray:
    """How much the probability of ``target_class`` changes when the pixels are blanked.

    A ``patch x patch`` square of zeros slides over the input in steps of ``stride`` (the last
    step is moved in to reach the far edge); each pixel gets the mean of ``p(original) -
    p(occluded)`` over the squares that cover it: positive where blanking lowers the probability
    (the ink matters for the class), negative where it raises it. ``(h, w)`` float32. All
    occluded inputs run in one batch. ``fill``: what a blank input looks like to the model, shaped
    like ``model_input`` (``Predictor.prepare`` of a blank drawing: white for an inverted model);
    zeros by default.
    """
    import keras

    target_class = _check_class(keras_model, target_class)
    x = as_model_batch(keras_model, model_input)
    height, width = x.shape[1:3]
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise ValueError(f"Expected 1 <= patch <= {min(height, width)} and stride >= 1; got patch={patch}, stride={stride}.")

    def starts(n: int) -> list[int]:
        s = list(range(0, n - patch + 1, stride))
        return s if s[-1] == n - patch else s + [n - patch]

    corners = [(r, c) for r in starts(height) for c in starts(width)]
    blank = np.zeros_like(x) if fill is None else as_model_batch(keras_model, fill)
    batch = np.repeat(x, len(corners) + 1, axis=0)
    for i, (r, c) in enumerate(corners, start=1):
        batch[i, r : r + patch, c : c + patch] = blank[0, r : r + patch, c : c + patch]
    probabilities = keras.ops.convert_to_numpy(keras_model(batch, training=False))[:, target_class].astype(np.float64)
    change_sum = np.zeros((height, width))
    count = np.zeros((height, width))
    for (r, c), p in zip(corners, probabilities[1:], strict=True):
        change_sum[r : r + patch, c : c + patch] += probabilities[0] - p
        count[r : r + patch, c : c + patch] += 1
    return (change_sum / np.maximum(count, 1)).astype(np.float32)


def parameter_comparison(keras_model) -> ParameterComparison:
    """Parameters per layer of the CNN and of a fully connected network of the same width.

    The comparison network is the same network with every convolution replaced by a ``Dense``
    layer that produces as many numbers (``h * w * c`` of the conv's output) from all of the
    previous layer's flattened output: ``dense_params = (in_units + 1) * out_units``, the ``+ 1``
    being the biases. Every other layer is kept as it is (pooling: 0 parameters in both), so the
    layers after the convolutions see inputs of the same size and keep their parameter counts.
    """
    import keras

    rows = []
    for layer in keras_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        output_shape = tuple(int(d) for d in layer.output.shape[1:])
        params = int(layer.count_params())
        name = type(layer).__name__
        if "Conv" in name:
            in_units = math.prod(int(d) for d in layer.input.shape[1:])
            dense_params = (in_units + 1) * math.prod(output_shape)
        elif "Pooling" in name:
            dense_params = 0
        else:
            dense_params = params
        rows.append(LayerParameters(layer.name, name, output_shape, params, dense_params))
    return ParameterComparison(rows, sum(r.params for r in rows), sum(r.dense_params for r in rows))
