"""Strokes or pictures -> the model's ``(28, 28)`` float32 input, following MNIST's own recipe.

MNIST's digits were size-normalised to fit a 20x20 box (aspect ratio kept, anti-aliased) and then
translated so that their centre of mass sits at the centre of the 28x28 field. Both functions here
do exactly that, with pure NumPy (no Qt, no TensorFlow), so the canvas, the command line and the
tests share one path:

* :func:`strokes_to_input` rasterises vector strokes (any units, y down) with a round pen whose
  width is fixed in *model* pixels, so the ink looks like MNIST ink whatever the canvas size.
* :func:`image_to_input` takes any picture (grey, RGB, RGBA; dark-on-light or light-on-dark).

Both return ``None`` when there is no digit (nothing drawn, a single dot, a blank picture): the
caller shows "no digit" instead of a made-up prediction.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

INPUT_SIZE = 28  # the model's input is INPUT_SIZE x INPUT_SIZE
BOX_SIZE = 20  # MNIST fits each digit, ink included, into a BOX_SIZE x BOX_SIZE box
# Pen width in model pixels. Chosen so that rendered pen-tablet digits carry about the same
# ink as MNIST digits (mean intensity 0.13; see bench/stroke_width.py for the measurement).
PEN_WIDTH = 2.4
SUPERSAMPLE = 4  # sub-samples per model pixel and axis for anti-aliasing
_CENTRE = INPUT_SIZE / 2.0  # centre of the field in continuous pixel coordinates (pixel i spans [i, i+1))
# Where MNIST puts the centre of mass: measured over its training set, the mean lies on pixel
# *index* 14 in both axes (continuous 14.5), not between pixels 13 and 14.
COM_TARGET = 14.5
_MIN_INK = 1e-3


def _clean_strokes(strokes: Sequence) -> list[np.ndarray]:
    out = []
    for i, stroke in enumerate(strokes):
        arr = np.asarray(stroke, dtype=np.float64)
        if arr.size == 0:
            continue
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise ValueError(f"Stroke {i} must be an (n, 2) array of x, y points; got shape {arr.shape}.")
        arr = arr[:, :2]
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"Stroke {i} contains NaN or infinite coordinates.")
        out.append(arr)
    return out


def _decimate(points: np.ndarray, min_step: float) -> np.ndarray:
    """Drop points closer than ``min_step`` to the last kept one (bounds the work for huge drawings)."""
    if len(points) <= 2:
        return points
    keep = [0]
    last = points[0]
    # Vectorised pre-filter: most points of a fast stroke are far apart already.
    for i in range(1, len(points) - 1):
        if abs(points[i, 0] - last[0]) + abs(points[i, 1] - last[1]) >= min_step:
            keep.append(i)
            last = points[i]
    keep.append(len(points) - 1)
    return points[keep]


def _segments(strokes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points of every segment; a one-point stroke becomes a zero-length segment (a dot)."""
    starts, ends = [], []
    for s in strokes:
        if len(s) == 1:
            starts.append(s)
            ends.append(s)
        else:
            starts.append(s[:-1])
            ends.append(s[1:])
    return np.concatenate(starts), np.concatenate(ends)


def _rasterise(a: np.ndarray, b: np.ndarray, pen_width: float) -> np.ndarray:
    """Anti-aliased coverage of round-capped segments ``a[k] -> b[k]`` (model-pixel units) on 28x28."""
    n = INPUT_SIZE * SUPERSAMPLE
    step = 1.0 / SUPERSAMPLE
    centres = (np.arange(n) + 0.5) * step  # sub-sample centres in model-pixel coordinates
    dist2 = np.full((n, n), np.inf, dtype=np.float64)
    radius = pen_width / 2.0
    reach = radius + step
    chunk = 64
    for k in range(0, len(a), chunk):
        ca, cb = a[k : k + chunk], b[k : k + chunk]
        lo = np.minimum(ca.min(0), cb.min(0)) - reach
        hi = np.maximum(ca.max(0), cb.max(0)) + reach
        c0, c1 = np.clip(np.floor(lo / step).astype(int), 0, n), np.clip(np.ceil(hi / step).astype(int), 0, n)
        if c0[0] >= c1[0] or c0[1] >= c1[1]:
            continue
        xs = centres[c0[0] : c1[0]][None, :, None]  # (1, w, 1)
        ys = centres[c0[1] : c1[1]][:, None, None]  # (h, 1, 1)
        d = cb - ca  # (K, 2)
        len2 = np.maximum((d**2).sum(1), 1e-12)
        t = ((xs - ca[:, 0]) * d[:, 0] + (ys - ca[:, 1]) * d[:, 1]) / len2
        t = np.clip(t, 0.0, 1.0)
        px = ca[:, 0] + t * d[:, 0] - xs
        py = ca[:, 1] + t * d[:, 1] - ys
        window = dist2[c0[1] : c1[1], c0[0] : c1[0]]
        np.minimum(window, (px * px + py * py).min(-1), out=window)
    # One sub-sample-wide linear ramp at the pen's edge, then box-average the sub-samples.
    cover = np.clip((radius - np.sqrt(dist2)) / step + 0.5, 0.0, 1.0)
    return cover.reshape(INPUT_SIZE, SUPERSAMPLE, INPUT_SIZE, SUPERSAMPLE).mean(axis=(1, 3))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """``(x, y)`` centre of mass of a 2-D intensity image in continuous pixel coordinates."""
    total = float(image.sum())
    ys = np.arange(image.shape[0]) + 0.5
    xs = np.arange(image.shape[1]) + 0.5
    return float((image.sum(0) * xs).sum() / total), float((image.sum(1) * ys).sum() / total)


def strokes_to_input(strokes: Sequence, pen_width: float = PEN_WIDTH) -> np.ndarray | None:
    """Render strokes as an MNIST-style digit.

    ``strokes``: a sequence of ``(n, 2)`` point arrays (x, y; y grows downwards; any units).
    Returns ``(28, 28)`` float32 in [0, 1], white ink on black, the ink fitted into 20x20 with its
    aspect ratio kept and its centre of mass at the centre; ``None`` if there is no digit (no
    points, or all points in one place). The result does not change when the strokes are
    translated or uniformly scaled.
    """
    cleaned = _clean_strokes(strokes)
    if not cleaned:
        return None
    points = np.concatenate(cleaned)
    lo, hi = points.min(0), points.max(0)
    extent = float((hi - lo).max())
    magnitude = float(np.abs(points).max())
    if extent <= 1e-9 * max(1.0, magnitude):
        return None  # a dot or a tap: nothing a digit can be read from
    # The ink (pen included) fills the 20x20 box along its longer side.
    scale = (BOX_SIZE - pen_width) / extent
    bbox_centre = (lo + hi) / 2.0
    placed = [(s - bbox_centre) * scale + _CENTRE for s in cleaned]
    step = 0.25 / SUPERSAMPLE
    placed = [_decimate(s, step) for s in placed]
    a, b = _segments(placed)
    image = _rasterise(a, b, pen_width)
    if image.sum() < _MIN_INK:
        return None
    cx, cy = centre_of_mass(image)
    # Second pass: the strokes are vectors, so the centre-of-mass shift is exact (sub-pixel),
    # not an integer roll as on a bitmap.
    shift = np.array([COM_TARGET - cx, COM_TARGET - cy])
    # A lopsided drawing (a heavy bar and a far-away dot) could be pushed partly off the field;
    # keep all the ink inside instead, as a user expects to see everything they drew.
    ink_lo = np.minimum(a.min(0), b.min(0)) - pen_width / 2
    ink_hi = np.maximum(a.max(0), b.max(0)) + pen_width / 2
    shift = np.clip(shift, -ink_lo, INPUT_SIZE - ink_hi)
    image = _rasterise(a + shift, b + shift, pen_width)
    return image.astype(np.float32)


# --- pictures --------------------------------------------------------------------------------


def _resample_matrix(n_src: int, n_dst: int, offset: float, scale: float) -> np.ndarray:
    """``(n_dst, n_src)`` area-weighted resampling: source pixel i lands on ``[offset + i*scale, offset + (i+1)*scale)``."""
    src_lo = offset + np.arange(n_src) * scale
    src_hi = src_lo + scale
    dst_lo = np.arange(n_dst, dtype=np.float64)[:, None]
    overlap = np.clip(np.minimum(src_hi[None, :], dst_lo + 1) - np.maximum(src_lo[None, :], dst_lo), 0.0, None)
    return overlap  # each destination pixel has area 1, so overlap is already the weight


def _to_grey(image: np.ndarray) -> np.ndarray:
    """Any ``(h, w)``, ``(h, w, 1|2|3|4)`` array (uint8/uint16/float) -> ``(h, w)`` float in [0, 1]."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    elif arr.dtype == bool:
        arr = arr.astype(np.float32)
    else:
        arr = arr.astype(np.float32)
        if arr.size and np.nanmax(arr) > 1.0:
            arr = arr / 255.0
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return np.nan_to_num(arr)
    if arr.ndim != 3 or arr.shape[2] not in (2, 3, 4):
        raise ValueError(f"Expected a grey, RGB or RGBA image; got an array of shape {arr.shape}.")
    has_alpha = arr.shape[2] in (2, 4)
    colour = arr[..., : arr.shape[2] - 1] if has_alpha else arr
    grey = colour[..., 0] if colour.shape[2] == 1 else colour @ np.array([0.299, 0.587, 0.114], np.float32)
    if has_alpha:
        alpha = arr[..., -1]
        if alpha.min() < 0.99:
            opaque = grey[alpha > 0.5]
            # Ink drawn on a transparent sheet: lay it on the background that contrasts with it.
            background = 1.0 if (opaque.size == 0 or np.median(opaque) < 0.5) else 0.0
            grey = grey * alpha + background * (1.0 - alpha)
    return np.nan_to_num(grey)


def image_to_input(image: np.ndarray) -> np.ndarray | None:
    """Turn any picture of a digit into the model's input.

    ``image``: ``(h, w)`` grey or ``(h, w, 3|4)`` RGB(A), uint8 or float in [0, 1], dark ink on a
    light background or light ink on a dark one (decided from the border pixels).
    Returns ``(28, 28)`` float32 in [0, 1], white ink on black, fitted into 20x20 and centred by
    centre of mass as in MNIST; ``None`` if the picture is blank.
    """
    grey = _to_grey(image)
    if grey.ndim != 2 or min(grey.shape) < 1:
        raise ValueError(f"The image is empty (shape {grey.shape}).")
    # Very large photos: average down by an integer factor first so the matrices stay small.
    factor = int(max(grey.shape) // 1024)
    if factor > 1:
        h, w = (grey.shape[0] // factor) * factor, (grey.shape[1] // factor) * factor
        grey = grey[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = 1.0 - grey if background > 0.5 else grey.copy()
    floor = 1.0 - background if background > 0.5 else background
    peak = float(ink.max())
    if peak - floor < 0.1:
        return None  # no contrast: a blank page
    ink = np.clip((ink - floor) / (peak - floor), 0.0, 1.0)
    ink[ink < 0.15] = 0.0  # paper texture and JPEG ringing are not ink
    rows, cols = np.nonzero(ink)
    if rows.size == 0:
        return None
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = ink.shape
    scale = BOX_SIZE / max(h, w)

    def place(dx: float, dy: float) -> np.ndarray:
        ox = _CENTRE - w * scale / 2.0 + dx
        oy = _CENTRE - h * scale / 2.0 + dy
        ry = _resample_matrix(h, INPUT_SIZE, oy, scale)
        rx = _resample_matrix(w, INPUT_SIZE, ox, scale)
        return ry @ ink @ rx.T

    fitted = place(0.0, 0.0)
    if fitted.sum() < _MIN_INK:
        return None
    cx, cy = centre_of_mass(fitted)
    out = place(COM_TARGET - cx, COM_TARGET - cy)
    peak = out.max()
    if peak > 0:
        out = out / peak  # thin lines in a big picture average out faint; MNIST ink peaks at 1
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode a PNG, JPEG, GIF or BMP file into an ``(h, w, c)`` uint8 array.

    Uses TensorFlow's decoders (imported here, lazily) so the core needs no imaging library.
    Raises ``model.data.DataError`` naming the file when it cannot be read or decoded.
    """
    from .data import DataError

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read image {path}: {exc.strerror or exc}") from exc
    if not raw:
        raise DataError(f"{path} is empty (0 bytes); expected a PNG or JPEG image.")
    import tensorflow as tf

    try:
        decoded = tf.io.decode_image(raw, channels=0, expand_animations=False, dtype=tf.uint8)
    except (tf.errors.InvalidArgumentError, ValueError) as exc:
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        raise DataError(f"{path} is not a readable PNG/JPEG/GIF/BMP image: {message}") from exc
    return decoded.numpy()


def file_to_input(path: str | os.PathLike) -> np.ndarray | None:
    """A stroke JSON file or an image file -> the model input (``None`` if it holds no digit)."""
    from .data import read_strokes

    path = Path(path)
    if path.suffix.lower() == ".json":
        strokes, _ = read_strokes(path)
        return strokes_to_input(strokes)
    return image_to_input(load_image(path))
