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

The layers and the traced call they share are in ``model_maps.py``, activation maximisation in
``maximisation.py``; their names still import from here.

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
from model.nets.graph import flat_model

from .geometry import receptive_field
from .maximisation import maximize, maximize_channels, unit_values  # noqa: F401 (re-exported)
from .model_maps import (  # noqa: F401 (re-exported: the layers and their traced call live in model_maps.py)
    Cancelled,
    _as_batch,
    _layer,
    _maps_function,
    input_range,
    input_shape,
    map_layers,
)

K = 9  # patches per channel, DeepVis's 3x3 grid
BATCH = 256
FEATURES_VERSION = 1
BUNDLED_FEATURES = RESOURCES / "mnist_cnn.features.npz"  # the bundled model's, over MNIST test
MNIST_TEST = "mnist-test"


def model_hash(path: str | os.PathLike) -> str:
    """The sha256 of a model file's bytes: what caches of its features are keyed by."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
