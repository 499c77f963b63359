"""Activation maximisation: an input optimised to excite one unit of a channel.

After Distill's "Feature Visualization" and tf-keras-vis's ``ActivationMaximization``:
:func:`maximize` climbs the gradient of one unit's *pre-activation* (the conv output before its
ReLU: a ReLU unit that starts at 0 gives no gradient), with small random shifts (jitter), a light
blur and a decay towards black so the result reads as strokes, then a few plain steps to polish;
the pixels stay inside the model's value range. The value it returns is the post-activation the
model itself computes for the returned image. Keras and TensorFlow are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.nets.graph import flat_model, source

from .model_maps import Cancelled, _as_batch, _layer, _maps_function, input_range, input_shape


def _linear_clone(layer):
    """A copy of ``layer`` with a linear activation and the same weights (unbuilt until called)."""
    config = layer.get_config()
    config["activation"] = "linear"
    config["name"] = f"{layer.name}_pre_activation"
    return type(layer).from_config(config)


_ACTIVATION_LAYERS = {"Activation", "ReLU", "LeakyReLU", "ELU", "PReLU"}


def _pre_activation(tensor):
    """The symbolic tensor of ``tensor`` before its last monotone activation (itself if none).

    A layer with its own activation is recomputed by a linear copy; a separate activation layer
    gives its input; max pooling commutes with a monotone activation, so it is applied to the
    pre-activation of its input. Copies only: the model's layers gain no new nodes.
    """
    op, inputs = source(tensor)
    kind = type(op).__name__
    fn = getattr(op, "activation", None)
    name = getattr(fn, "__name__", "") if fn is not None else ""
    if kind in _ACTIVATION_LAYERS and inputs:
        return inputs[0]
    if fn is not None and name not in {"", "linear"} and inputs and hasattr(op, "get_weights"):
        clone = _linear_clone(op)
        out = clone(inputs[0])
        clone.set_weights(op.get_weights())
        return out
    if kind.startswith("MaxPooling") and inputs:
        pre = _pre_activation(inputs[0])
        if pre is not inputs[0]:
            return type(op).from_config({**op.get_config(), "name": f"{op.name}_pre_activation"})(pre)
    return tensor


def _blur(x: np.ndarray) -> np.ndarray:
    """A light 3x3 binomial blur over the spatial axes of ``(b, h, w, ...)``, edges repeated."""
    p = np.pad(x, [(0, 0), (1, 1), (1, 1)] + [(0, 0)] * (x.ndim - 3), mode="edge")
    rows = 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]
    return 0.25 * rows[:, :, :-2] + 0.5 * rows[:, :, 1:-1] + 0.25 * rows[:, :, 2:]


def unit_values(keras_model, layer_name: str, images: np.ndarray, row: int, col: int) -> np.ndarray:
    """``(n, channels)``: the layer's activation at ``(row, col)`` for each image, one image per call.

    One call per image, as the window's Predictor runs it, so the numbers are exactly what the app shows.
    """
    run = _maps_function(keras_model, [layer_name])
    x = _as_batch(keras_model, images)
    return np.stack([run(x[i : i + 1])[0][0, row, col] for i in range(len(x))]).astype(np.float32)


def maximize_channels(
    keras_model,
    layer_name: str,
    channels: list[int] | None = None,
    row: int | None = None,
    col: int | None = None,
    seed: int = 0,
    value_range: tuple[float, float] | None = None,
    starts: np.ndarray | None = None,
    steps: int = 256,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Optimised inputs for several channels of one layer at once (one image per channel, one batch).

    Returns ``(images, values)``: ``(len(channels), *input_shape)`` float32 inside ``value_range``
    and ``(len(channels),)`` the activation the model gives for each at unit ``(row, col)``
    (default: the centre of the map). ``starts``: one start image per channel (e.g. the digit the
    unit answers most to); default grey noise. See :func:`maximize`.
    """
    import keras
    import tensorflow as tf

    flat = flat_model(keras_model)
    layer = _layer(flat, layer_name)
    h, w, n_channels = (int(d) for d in layer.output.shape[1:4])
    row = h // 2 if row is None else int(row)
    col = w // 2 if col is None else int(col)
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"Unit ({row}, {col}) is outside layer {layer_name!r}'s {h}x{w} map.")
    channels = list(range(n_channels)) if channels is None else [int(c) for c in channels]
    if any(not 0 <= c < n_channels for c in channels):
        raise ValueError(f"channels {channels} out of range for layer {layer_name!r}: expected 0 <= channel < {n_channels}.")
    low, high = input_range(keras_model) if value_range is None else (float(value_range[0]), float(value_range[1]))
    span = high - low
    shape = input_shape(keras_model)
    rng = np.random.default_rng(seed)
    n = len(channels)
    if starts is None:
        x = low + span * np.clip(0.1 + 0.05 * rng.standard_normal((n, *shape)), 0, 1)
    else:
        x = np.clip(_as_batch(keras_model, starts), low, high)
    x = x.astype(np.float32)

    pre_model = keras.Model(flat.inputs[0], _pre_activation(layer.output))
    pick = tf.constant(np.eye(n_channels, dtype=np.float32)[channels])  # (n, C): each image's own channel

    @tf.function(autograph=False, reduce_retracing=True)
    def ascend(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            pre = pre_model(images, training=False)[:, row, col, :]
            objective = tf.reduce_sum(pre * pick)
        return tape.gradient(objective, images), tf.reduce_sum(pre * pick, axis=1)

    # Adam on the pixels, projected into the value range. The first three quarters regularise
    # (jitter, blur, decay towards black) so the picture reads; the last quarter only climbs.
    lr = 0.05 * span
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    shift = 1 if min(shape[:2]) < 40 else 2
    regular = int(steps * 0.75)
    best_x, best_pre = x.copy(), np.full(n, -np.inf, np.float32)
    for t in range(1, steps + 1):
        if cancelled is not None and t % 16 == 0 and cancelled():
            raise Cancelled
        if t <= regular:
            dy, dx = (int(d) for d in rng.integers(-shift, shift + 1, size=2))
            g, _ = ascend(tf.constant(np.roll(x, (dy, dx), axis=(1, 2))))
            g = np.roll(g.numpy(), (-dy, -dx), axis=(1, 2))
        else:
            g, pre = ascend(tf.constant(x))
            g, pre = g.numpy(), pre.numpy()
            better = pre > best_pre  # the climb's best so far, judged before this step moves it
            best_x[better], best_pre[better] = x[better], pre[better]
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        step = lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8 * span)
        x = x + step.astype(np.float32)
        if t <= regular:
            if t % 4 == 0:
                x = 0.5 * x + 0.5 * _blur(x)
            x = low + (x - low) * 0.995
        x = np.clip(x, low, high).astype(np.float32)
    _, pre = ascend(tf.constant(x))
    better = pre.numpy() > best_pre
    best_x[better] = x[better]
    values = unit_values(keras_model, layer_name, best_x, row, col)
    return best_x, values[np.arange(n), channels]


def maximize(
    keras_model,
    layer_name: str,
    channel: int,
    row: int | None = None,
    col: int | None = None,
    seed: int = 0,
    value_range: tuple[float, float] | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """An input that makes unit ``(row, col)`` of ``channel`` of ``layer_name`` answer strongly.

    Gradient ascent on the unit's pre-activation (before its ReLU, so a unit that starts at 0
    still has a gradient) with jitter, blur and decay, then plain steps; pixels stay inside
    ``value_range`` (default: what ``Predictor`` detects without a card, ``(0, 1)`` or ``(0, 255)``).
    ``start``: an image to start from (e.g. the digit the unit answers most to); default grey
    noise drawn with ``seed``. ``row``/``col`` default to the centre of the map.

    Returns ``(image, value)``: ``image`` of the model's input shape (``(h, w)`` or ``(h, w, 1)``)
    float32, and ``value`` the activation (after the layer's activation function) that the model
    computes for it at that unit.
    """
    starts = None if start is None else np.asarray(start, np.float32)[None]
    images, values = maximize_channels(keras_model, layer_name, [channel], row, col, seed, value_range, starts)
    return images[0], float(values[0])
