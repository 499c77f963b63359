"""Strokes or pictures -> the model's ``(28, 28)`` float32 input, following MNIST's own recipe.

MNIST's digits were size-normalised to fit a 20x20 box (aspect ratio kept, anti-aliased) and then
translated so that their centre of mass sits at the centre of the 28x28 field. Both functions here
do exactly that, with pure NumPy (no Qt, no TensorFlow), so the canvas, the command line and the
tests share one path:

* :func:`strokes_to_input` rasterises vector strokes (any units, y down) with a round pen whose
  width is fixed in *model* pixels, so the ink looks like MNIST ink whatever the canvas size.
* :func:`model.pictures.image_to_input` takes any picture (grey, RGB, RGBA; dark-on-light or
  light-on-dark) by the same recipe.

Both return ``None`` when there is no digit (nothing drawn, a single dot, a blank picture): the
caller shows "no digit" instead of a made-up prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

INPUT_SIZE = 28  # the model's input is INPUT_SIZE x INPUT_SIZE
BOX_SIZE = 20  # MNIST fits each digit, ink included, into a BOX_SIZE x BOX_SIZE box
# Pen width in model pixels. Chosen so that rendered pen-tablet digits carry about the same
# ink as MNIST digits (mean intensity 0.13; see bench/stroke_width.py for the measurement).
PEN_WIDTH = 2.4
SUPERSAMPLE = 4  # sub-samples per model pixel and axis for anti-aliasing
FIELD_CENTRE = INPUT_SIZE / 2.0  # centre of the field in continuous pixel coordinates (pixel i spans [i, i+1))
# Where MNIST puts the centre of mass: measured over its training set, the mean lies on pixel
# *index* 14 in both axes (continuous 14.5), not between pixels 13 and 14.
COM_TARGET = 14.5
MIN_INK = 1e-3
# A stray mark (a tap, a pen bounce): strokes fitting in STRAY_SIZE of the drawing's size, more than
# STRAY_GAP of it away from every other stroke. It is not part of the digit, and keeping it would
# shrink the digit to fit both in the box. MNIST's own segmentation dropped such specks too.
STRAY_SIZE = 0.1
STRAY_GAP = 0.15
STRAY_MAX_STROKES = 200

# --- limits on what a drawing or a picture may be (README, "Command line") --------------------
# One owner for the canvas (live drawing) and the file readers: a runaway stroke is cut on the
# canvas and thinned evenly when read from a file, never a frozen GUI.
MAX_POINTS_PER_STROKE = 20_000
MAX_POINTS_PER_DRAWING = 100_000  # a file's strokes are thinned evenly down to this many points
MAX_STROKES_PER_DRAWING = 5_000  # more is refused: dropping whole strokes would change the shape
MAX_COORDINATE = 1e9  # |x|, |y| in any units; beyond it the extent of a drawing can overflow
MAX_IMAGE_PIXELS = 50_000_000  # width x height, read from the file's header before decoding
MAX_IMAGE_FILE_BYTES = 64 * 2**20
# Rasterising costs (segments x pixels each touches); a scribble of long crossing segments past
# this budget is thinned evenly (its shape survives, the run time stays under a few seconds).
_RASTER_BUDGET = 40_000_000


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


def drop_stray_marks(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """``strokes`` without stray marks (see ``STRAY_SIZE``): small groups of strokes far from the rest.

    Strokes closer than ``STRAY_GAP`` of the drawing's size to each other form one group, so a digit
    drawn in short dashes stays whole; a group is stray when all of it fits in ``STRAY_SIZE`` of the
    drawing's size (a tap, a double tap) and some other group does not. A drawing of more than
    ``STRAY_MAX_STROKES`` strokes is left as it is (nobody writes a digit that way; the check would
    cost time).
    """
    n = len(strokes)
    if n < 2 or n > STRAY_MAX_STROKES:
        return strokes
    lo = np.array([s.min(0) for s in strokes])
    hi = np.array([s.max(0) for s in strokes])
    extent = float((hi.max(0) - lo.min(0)).max())
    if extent <= 0:
        return strokes
    # Gap between every pair of stroke boxes (0 where they overlap), then groups of linked strokes.
    apart = np.maximum(np.maximum(lo[None] - hi[:, None], lo[:, None] - hi[None]), 0.0)
    linked = np.hypot(apart[..., 0], apart[..., 1]) <= STRAY_GAP * extent
    group = np.full(n, -1)
    for start in range(n):
        if group[start] >= 0:
            continue
        group[start], todo = start, [start]
        while todo:
            for j in np.flatnonzero(linked[todo.pop()] & (group < 0)):
                group[j] = start
                todo.append(j)
    small = {}
    for g in np.unique(group):
        members = group == g
        small[g] = float((hi[members].max(0) - lo[members].min(0)).max()) <= STRAY_SIZE * extent
    if all(small.values()):
        return strokes
    return [s for s, g in zip(strokes, group) if not small[g]]


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


_CHUNK = 16  # segments per vectorised rasterising step: few, so that a chunk's box stays small (sorted by place)


def _local_order(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments sorted by the 4x4-pixel tile of their midpoint, so each chunk covers a small area.

    The coverage is a minimum over segments, so order does not change the image, only the cost.
    """
    mid = np.clip((a + b) / 8.0, 0, INPUT_SIZE).astype(np.int64)  # 4-pixel tiles
    order = np.argsort(mid[:, 1] * 64 + mid[:, 0], kind="stable")
    return a[order], b[order]


def _raster_cost(a: np.ndarray, b: np.ndarray, reach: float) -> float:
    """Sub-samples :func:`_rasterise` visits: each chunk's bounding box times its segment count."""
    n = len(a)
    pad = -n % _CHUNK
    ends = np.concatenate([a, b], axis=1)  # (n, 4): x0 y0 x1 y1
    ends = np.concatenate([ends, np.repeat(ends[-1:], pad, axis=0)]).reshape(-1, _CHUNK, 2, 2)
    span = ends.max(axis=(1, 2)) - ends.min(axis=(1, 2))  # (chunks, 2)
    area = np.prod(np.minimum(span + 2 * reach, INPUT_SIZE) * SUPERSAMPLE, axis=1)
    return float((area * _CHUNK).sum())


def _segments_within_budget(placed: list[np.ndarray], reach: float) -> tuple[np.ndarray, np.ndarray]:
    while True:
        a, b = _local_order(*_segments(placed))
        if _raster_cost(a, b, reach) <= _RASTER_BUDGET or not any(len(s) > 2 for s in placed):
            return a, b
        placed = [s if len(s) <= 2 else np.concatenate([s[:-1:2], s[-1:]]) for s in placed]


def _rasterise(a: np.ndarray, b: np.ndarray, pen_width: float) -> np.ndarray:
    """Anti-aliased coverage of round-capped segments ``a[k] -> b[k]`` (model-pixel units) on 28x28."""
    n = INPUT_SIZE * SUPERSAMPLE
    step = 1.0 / SUPERSAMPLE
    centres = ((np.arange(n) + 0.5) * step).astype(np.float32)  # sub-sample centres in model-pixel coordinates
    dist2 = np.full((n, n), np.inf, dtype=np.float32)
    a, b = a.astype(np.float32), b.astype(np.float32)
    radius = pen_width / 2.0
    reach = radius + step
    chunk = _CHUNK
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
    points, or all points in one place). A stray mark far outside the digit (a tap; see
    :func:`drop_stray_marks`) is left out. The result does not change when the strokes are
    translated or uniformly scaled.
    """
    cleaned = _clean_strokes(strokes)
    if not cleaned:
        return None
    magnitude = max(float(np.abs(s).max()) for s in cleaned)
    if magnitude > MAX_COORDINATE:
        raise ValueError(f"A coordinate of {magnitude:.3g} is out of range; coordinates must lie within +-{MAX_COORDINATE:g}.")
    cleaned = drop_stray_marks(cleaned)
    points = np.concatenate(cleaned)
    lo, hi = points.min(0), points.max(0)
    extent = float((hi - lo).max())
    if extent <= 1e-9 * max(1.0, magnitude):
        return None  # a dot or a tap: nothing a digit can be read from
    # The ink (pen included) fills the 20x20 box along its longer side.
    scale = (BOX_SIZE - pen_width) / extent
    bbox_centre = (lo + hi) / 2.0
    placed = [(s - bbox_centre) * scale + FIELD_CENTRE for s in cleaned]
    step = 0.25 / SUPERSAMPLE
    placed = [_decimate(s, step) for s in placed]
    a, b = _segments_within_budget(placed, pen_width / 2 + 1.0 / SUPERSAMPLE)
    image = _rasterise(a, b, pen_width)
    if image.sum() < MIN_INK:
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
