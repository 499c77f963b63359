"""What each channel looks for: its strongest input patches, and an input optimised to excite it.

Two techniques from the feature-visualisation literature, for any Keras model's conv and pooling
layers (nested sub-models inlined by ``model.graph.flat_model``):

* **Dataset examples** (DeepVis's top-9 per unit): :func:`top_patches` runs a set of images
  through the model in batches and keeps, per channel, the ``k`` largest activations over every
  image and position (a running top-k with ``numpy.argpartition``, so memory stays bounded by one
  batch), with the receptive-field crop of the input around each (``model.geometry``).
  :func:`top_activations` does every channel of several layers in one pass.
* **Activation maximisation** (Distill's "Feature Visualization", tf-keras-vis's
  ``ActivationMaximization``): :func:`maximize` climbs the gradient of one unit's
  *pre-activation* (the conv output before its ReLU: a ReLU unit that starts at 0 gives no
  gradient), with small random shifts (jitter), a light blur and a decay towards black so the
  result reads as strokes, then a few plain steps to polish; the pixels stay inside the model's
  value range. The value it returns is the post-activation the model itself computes for the
  returned image.

Images are in the model's input form (what ``Predictor.prepare`` returns): ``(n, h, w)`` or
``(n, h, w, 1)`` float32. Keras is imported inside the functions.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.data.paths import RESOURCES
from model.nets.graph import expects_raw_pixels, first_computing_layer, flat_model, source

from .geometry import receptive_field

K = 9  # patches per channel, DeepVis's 3x3 grid
BATCH = 256
FEATURES_VERSION = 1
BUNDLED_FEATURES = RESOURCES / "mnist_cnn.features.npz"  # the bundled model's, over MNIST test
MNIST_TEST = "mnist-test"


class Cancelled(Exception):
    """Raised inside a computation when its ``cancelled()`` callback answers True."""


# --- layers ------------------------------------------------------------------------------------


def _layer(flat, layer_name: str):
    try:
        layer = flat.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in map_layers(flat)]
        raise ValueError(
            f"Model {flat.name!r} has no layer named {layer_name!r}; its conv and pooling layers are {names}."
        ) from None
    shape = tuple(layer.output.shape)
    if len(shape) != 4:
        raise ValueError(f"Layer {layer_name!r} has output shape {shape}, not a feature map (batch, h, w, c).")
    return layer


def map_layers(keras_model) -> list:
    """The conv and pooling layers of a model (nested ones inlined) with a 4-D output, in order."""
    out = []
    for layer in flat_model(keras_model).layers:
        kind = type(layer).__name__
        if "Conv" not in kind and "Pool" not in kind:
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue  # a layer used twice has no single output
        if len(shape) == 4:
            out.append(layer)
    return out


def input_shape(keras_model) -> tuple[int, ...]:
    """The model's input shape without the batch axis, unknown sizes taken as 28."""
    shape = tuple(flat_model(keras_model).inputs[0].shape[1:])
    return tuple(28 if d is None else int(d) for d in shape)


def input_range(keras_model) -> tuple[float, float]:
    """``(0, 255)`` if the model starts by rescaling raw pixels, else ``(0, 1)``: what ``Predictor`` detects.

    A model card's ``input_range`` (read by ``Predictor``) overrides this; pass it to :func:`maximize`.
    """
    raw, _ = expects_raw_pixels(first_computing_layer(flat_model(keras_model)))
    return (0.0, 255.0) if raw else (0.0, 1.0)


def model_hash(path: str | os.PathLike) -> str:
    """The sha256 of a model file's bytes: what caches of its features are keyed by."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _maps_function(keras_model, layer_names: list[str]):
    """A traced ``x -> [layer outputs]`` for ``layer_names`` of the flat model."""
    import keras
    import tensorflow as tf

    flat = flat_model(keras_model)
    outputs = [_layer(flat, name).output for name in layer_names]
    multi = keras.Model(flat.inputs[0], outputs)
    spec = [tf.TensorSpec([None, *input_shape(keras_model)], tf.float32)]  # one trace for every batch size
    fn = tf.function(lambda x: multi(x, training=False), input_signature=spec, autograph=False)
    return lambda x: [o.numpy() for o in keras.tree.flatten(fn(x))]


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


# --- top patches -------------------------------------------------------------------------------


@dataclass
class Tops:
    """The ``k`` strongest units of every channel of one layer over a set of images.

    Arrays ``(channels, k)``, largest first: ``values`` (float32 activations), ``index`` (into
    the images), ``row``, ``col`` (the unit). Fewer than ``k`` columns if the images hold fewer units.
    """

    layer: str
    values: np.ndarray
    index: np.ndarray
    row: np.ndarray
    col: np.ndarray


class _RunningTop:
    """Per channel, the ``k`` largest values seen so far and their flat positions (image, row, col).

    Ties go to the earlier position, so the answer is the brute-force one: every value sorted by
    (value descending, position ascending), the first ``k`` kept. After the first batch only the
    values above each channel's current ``k``-th best are looked at again (one vectorised compare).
    """

    def __init__(self, k: int, channels: int):
        self.k = k
        self.values = [np.empty(0, np.float32) for _ in range(channels)]
        self.where = [np.empty(0, np.int64) for _ in range(channels)]
        self.threshold = np.full(channels, -np.inf, np.float32)

    def add(self, maps: np.ndarray, first: int) -> None:
        """``maps`` ``(b, h, w, c)`` for images ``first .. first + b``."""
        b, h, w, c = maps.shape
        flat = maps.reshape(b * h * w, c)
        base = first * h * w
        mask = flat > self.threshold  # ties with the k-th best lose: it came first
        for j in np.flatnonzero(mask.any(axis=0)):
            idx = np.flatnonzero(mask[:, j])
            v = flat[idx, j]
            if len(v) > self.k:  # keep the new k best and any ties with the k-th of them
                kth = np.partition(v, len(v) - self.k)[len(v) - self.k]
                keep = v >= kth
                idx, v = idx[keep], v[keep]
            values = np.concatenate([self.values[j], v])
            where = np.concatenate([self.where[j], idx + base])
            order = np.lexsort((where, -values))[: self.k]
            self.values[j], self.where[j] = values[order], where[order]
            if len(order) == self.k:
                self.threshold[j] = self.values[j][-1]

    def result(self, layer: str, h: int, w: int) -> Tops:
        values, where = np.stack(self.values), np.stack(self.where)  # already sorted, largest first
        index, rest = np.divmod(where, h * w)
        row, col = np.divmod(rest, w)
        return Tops(layer, np.ascontiguousarray(values, np.float32), index, row, col)


def _as_batch(keras_model, images) -> np.ndarray:
    """``images`` as ``(n, *input_shape)`` float32 (a missing or extra channel axis of 1 is fixed)."""
    shape = input_shape(keras_model)
    x = np.asarray(images, np.float32)
    if x.ndim < 3 or x.shape[1:3] != shape[:2] or x[0].size != int(np.prod(shape)):
        raise ValueError(
            f"Expected images of shape (n, {', '.join(map(str, shape))}) for model {keras_model.name!r}; got {x.shape}. "
            f"Use Predictor.prepare(images) to make them from (n, 28, 28) drawings."
        )
    return x.reshape((len(x), *shape))


def top_activations(
    keras_model,
    images: np.ndarray,
    layer_names: list[str],
    k: int = K,
    batch_size: int = BATCH,
    progress: Callable[[int, int], object] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, Tops]:
    """Per layer, every channel's ``k`` largest activations over ``images`` and all positions, in one pass.

    ``images``: ``(n, h, w[, 1])`` float32 in the model's input form. The layers' outputs are
    computed ``batch_size`` images at a time and only a running top-k is kept. ``progress(done,
    total)`` is called after each batch; ``cancelled()`` returning True stops with ``Cancelled``.
    """
    x = _as_batch(keras_model, images)
    if not len(x):
        raise ValueError("No images given: top activations need at least one image.")
    run = _maps_function(keras_model, list(layer_names))
    tops: list[_RunningTop] = []
    shapes: list[tuple[int, int]] = []
    for start in range(0, len(x), batch_size):
        if cancelled is not None and cancelled():
            raise Cancelled
        outs = run(x[start : start + batch_size])
        if not tops:
            tops = [_RunningTop(k, o.shape[-1]) for o in outs]
            shapes = [o.shape[1:3] for o in outs]
        for top, out in zip(tops, outs, strict=True):
            top.add(out, start)
        if progress is not None:
            progress(min(start + batch_size, len(x)), len(x))
    return {name: top.result(name, *shape) for name, top, shape in zip(layer_names, tops, shapes, strict=True)}


# --- receptive fields and patches --------------------------------------------------------------


@dataclass(frozen=True)
class FieldGrid:
    """Where each unit of a layer looks on the input: full field size and per-axis starts.

    ``starts_r[row]``/``starts_c[col]`` may be negative or run past the input: the field as the
    layer computes it, padding included; ``size`` is its ``(height, width)``.
    """

    size: tuple[int, int]
    starts_r: np.ndarray
    starts_c: np.ndarray
    input_hw: tuple[int, int]

    def window(self, row: int, col: int) -> tuple[int, int, int, int]:
        """The field of ``(row, col)`` on the input, clipped to it: ``(row0, row1, col0, col1)``."""
        r0, c0 = int(self.starts_r[row]), int(self.starts_c[col])
        h, w = self.input_hw
        return max(r0, 0), min(r0 + self.size[0], h), max(c0, 0), min(c0 + self.size[1], w)

    def crop(self, image: np.ndarray, row: int, col: int) -> np.ndarray:
        """The ``size`` crop of a 2-D image around unit ``(row, col)``; zeros where the field is padding."""
        out = np.zeros(self.size, np.float32)
        r0, r1, c0, c1 = self.window(row, col)
        if r0 < r1 and c0 < c1:
            dr, dc = r0 - int(self.starts_r[row]), c0 - int(self.starts_c[col])
            out[dr : dr + r1 - r0, dc : dc + c1 - c0] = image[r0:r1, c0:c1]
        return out


def _axis_starts(fields: list[tuple[int, int]], n_in: int) -> tuple[int, np.ndarray]:
    """Full field size and unclipped starts along one axis from the clipped fields of every index."""
    size = max(b - a for a, b in fields)
    starts = np.zeros(len(fields), np.int64)
    known = []
    for i, (a, b) in enumerate(fields):
        if b - a == size:
            starts[i] = a
            known.append(i)
        elif a == 0 and b < n_in:
            starts[i] = b - size  # cut on the top (left) only
            known.append(i)
        elif a > 0:
            starts[i] = a  # cut on the bottom (right) only
            known.append(i)
        else:
            starts[i] = a - (size - (b - a)) // 2  # cut on both sides: centred, refined below
    unknown = [i for i in range(len(fields)) if i not in known]
    if unknown and len(known) >= 2:
        i0, i1 = known[0], known[-1]
        jump = (starts[i1] - starts[i0]) / max(i1 - i0, 1)
        for i in unknown:
            starts[i] = int(round(starts[i0] + jump * (i - i0)))
    return size, starts


def field_grid(keras_model, layer_name: str) -> FieldGrid:
    """The receptive fields of every unit of ``layer_name`` (``model.geometry.receptive_field``)."""
    flat = flat_model(keras_model)
    layer = _layer(flat, layer_name)
    h, w = (int(d) for d in layer.output.shape[1:3])
    in_h, in_w = input_shape(keras_model)[:2]
    rows = [receptive_field(flat, layer_name, r, w // 2)[0:2] for r in range(h)]
    cols = [receptive_field(flat, layer_name, h // 2, c)[2:4] for c in range(w)]
    size_r, starts_r = _axis_starts(rows, in_h)
    size_c, starts_c = _axis_starts(cols, in_w)
    return FieldGrid((size_r, size_c), starts_r, starts_c, (in_h, in_w))


@dataclass
class Patch:
    """One of a channel's strongest units: ``images[index]`` at ``(row, col)`` gave ``value``.

    ``patch``: the receptive-field crop of that image around the unit, ``(fh, fw)`` float32 in
    the model's input range, zeros where the field reaches into padding; ``window``: where the
    crop lies on the image, ``(row0, row1, col0, col1)`` clipped to it.
    """

    index: int
    row: int
    col: int
    value: float
    patch: np.ndarray
    window: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __getitem__(self, key: str):  # records read as dicts too: rec["value"]
        return getattr(self, key)


def _plane(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.ndim == 3 else image


def patches_for(tops: Tops, channel: int, images: np.ndarray, grid: FieldGrid) -> list[Patch]:
    """The records of one channel of ``tops``, with their crops cut from ``images``."""
    out = []
    for i in range(tops.values.shape[1]):
        index, row, col = int(tops.index[channel, i]), int(tops.row[channel, i]), int(tops.col[channel, i])
        plane = _plane(np.asarray(images[index], np.float32))
        out.append(Patch(index, row, col, float(tops.values[channel, i]), grid.crop(plane, row, col), grid.window(row, col)))
    return out


def top_patches(keras_model, images: np.ndarray, layer_name: str, channel: int, k: int = K) -> list[Patch]:
    """The ``k`` largest activations of ``channel`` of ``layer_name`` over all ``images`` and positions.

    ``images``: ``(n, h, w[, 1])`` float32 in the model's input form. Returns ``Patch`` records,
    largest value first (ties by image, row, col), each with ``index``, ``row``, ``col``, ``value``
    (the activation as the model computes it) and ``patch`` (the receptive-field crop).
    """
    flat = flat_model(keras_model)
    channels = int(_layer(flat, layer_name).output.shape[-1])
    if not 0 <= int(channel) < channels:
        raise ValueError(f"channel={channel} is out of range for layer {layer_name!r}: expected 0 <= channel < {channels}.")
    tops = top_activations(keras_model, images, [layer_name], k)[layer_name]
    return patches_for(tops, int(channel), np.asarray(images), field_grid(keras_model, layer_name))


# --- activation maximisation ------------------------------------------------------------------


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


# --- a whole model's features, saved and loaded ------------------------------------------------
