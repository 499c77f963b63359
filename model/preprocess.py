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
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence

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


_CHUNK = 64  # segments per vectorised rasterising step


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
    centres = (np.arange(n) + 0.5) * step  # sub-sample centres in model-pixel coordinates
    dist2 = np.full((n, n), np.inf, dtype=np.float64)
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
    points, or all points in one place). The result does not change when the strokes are
    translated or uniformly scaled.
    """
    cleaned = _clean_strokes(strokes)
    if not cleaned:
        return None
    points = np.concatenate(cleaned)
    magnitude = float(np.abs(points).max())
    if magnitude > MAX_COORDINATE:
        raise ValueError(f"A coordinate of {magnitude:.3g} is out of range; coordinates must lie within +-{MAX_COORDINATE:g}.")
    lo, hi = points.min(0), points.max(0)
    extent = float((hi - lo).max())
    if extent <= 1e-9 * max(1.0, magnitude):
        return None  # a dot or a tap: nothing a digit can be read from
    # The ink (pen included) fills the 20x20 box along its longer side.
    scale = (BOX_SIZE - pen_width) / extent
    bbox_centre = (lo + hi) / 2.0
    placed = [(s - bbox_centre) * scale + _CENTRE for s in cleaned]
    step = 0.25 / SUPERSAMPLE
    placed = [_decimate(s, step) for s in placed]
    a, b = _segments_within_budget(placed, pen_width / 2 + 1.0 / SUPERSAMPLE)
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

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
STROKE_SUFFIXES = (".json",)
_STACK_PIXELS = 1 << 18  # pictures processed together hold at most this many pixels (bounds memory)


def _resample_matrices(n_src: int, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(N, 28, n_src)`` float32 area weights: source pixel i of picture k covers ``[offset_k + i*scale_k, ... + scale_k)``."""
    src_lo = (offset[:, None] + np.arange(n_src) * scale[:, None]).astype(np.float32)[:, None, :]  # (N, 1, n_src)
    src_hi = src_lo + scale.astype(np.float32)[:, None, None]
    dst_lo = np.arange(INPUT_SIZE, dtype=np.float32)[None, :, None]  # (1, 28, 1)
    # Each destination pixel has area 1, so the overlap is already the weight.
    w = np.minimum(src_hi, dst_lo + 1)
    w -= np.maximum(src_lo, dst_lo)
    return np.maximum(w, 0.0, out=w)


def _check_picture(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (2, 3, 4))):
        raise ValueError(f"Expected a grey, RGB or RGBA image; got an array of shape {np.shape(image)}.")
    if min(arr.shape[:2]) < 1:
        raise ValueError(f"The image is empty (shape {np.shape(image)}).")
    return arr


def _unit_scale(arr: np.ndarray) -> np.ndarray:
    """``(N, h, w[, c])`` of any dtype -> float32 in [0, 1] (float pictures above 1 are taken as 0-255)."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    out = arr.astype(np.float32)
    if arr.dtype != bool and out.size:
        with np.errstate(invalid="ignore"):
            big = np.nanmax(out.reshape(len(out), -1), axis=1) > 1.0
        out[big] /= 255.0
    return out


def _box_downsample(arr: np.ndarray, f: int) -> np.ndarray:
    """``(h, w[, c])`` -> float32 in [0, 1], ``f``x``f`` block means (edges replicated), a few rows at a time."""
    h, w = arr.shape[:2]
    rows_out, cols_out = -(-h // f), -(-w // f)
    rest = arr.shape[2:]
    out = np.empty((rows_out, cols_out, *rest), np.float32)
    step = max(1, _STACK_PIXELS // (w * f))
    for r in range(0, rows_out, step):
        block = _unit_scale(arr[None, r * f : (r + step) * f])[0]
        n = -(-block.shape[0] // f)
        pad = ((0, n * f - block.shape[0]), (0, cols_out * f - w)) + ((0, 0),) * len(rest)
        block = np.pad(block, pad, mode="edge")
        out[r : r + n] = block.reshape(n, f, cols_out, f, *rest).mean(axis=(1, 3))
    return out


def _to_grey(stack: np.ndarray) -> np.ndarray:
    """``(N, h, w[, 2|3|4])`` pictures -> ``(N, h, w)`` float32 grey in [0, 1]."""
    arr = _unit_scale(stack)
    if arr.ndim == 3:
        return np.nan_to_num(arr)
    channels = arr.shape[3]
    has_alpha = channels in (2, 4)
    colour = arr[..., : channels - 1] if has_alpha else arr
    grey = colour[..., 0] if colour.shape[3] == 1 else colour @ np.array([0.299, 0.587, 0.114], np.float32)
    if has_alpha:
        alpha = arr[..., -1]
        for k in np.flatnonzero(alpha.reshape(len(arr), -1).min(axis=1) < 0.99):
            opaque = grey[k][alpha[k] > 0.5]
            # Ink drawn on a transparent sheet: lay it on the background that contrasts with it.
            background = 1.0 if (opaque.size == 0 or np.median(opaque) < 0.5) else 0.0
            grey[k] = grey[k] * alpha[k] + background * (1.0 - alpha[k])
    return np.nan_to_num(grey)


def _inputs_from_grey(grey: np.ndarray) -> list[np.ndarray | None]:
    """``(N, h, w)`` float32 grey pictures of one size -> model inputs, every step vectorised over N.

    ``grey`` is used as scratch space (overwritten).
    """
    n, h, w = grey.shape
    border = np.concatenate([grey[:, 0], grey[:, -1], grey[:, :, 0], grey[:, :, -1]], axis=1)
    background = np.median(border, axis=1)
    light = background > 0.5
    ink = grey
    ink[light] = 1.0 - ink[light]  # dark ink on light paper: make the ink the bright part
    floor = np.where(light, 1.0 - background, background).astype(np.float32)
    peak = ink.reshape(n, -1).max(axis=1)
    contrast = peak - floor >= 0.1  # below: a blank page
    span = np.where(contrast, peak - floor, 1.0).astype(np.float32)
    ink -= floor[:, None, None]
    ink /= span[:, None, None]
    np.clip(ink, 0.0, 1.0, out=ink)
    ink[ink < 0.15] = 0.0  # paper texture and JPEG ringing are not ink
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    has_ink = contrast & rows.any(axis=1)
    top, left = rows.argmax(axis=1), cols.argmax(axis=1)
    bottom, right = h - rows[:, ::-1].argmax(axis=1), w - cols[:, ::-1].argmax(axis=1)
    out: list[np.ndarray | None] = [None] * n
    idx = np.flatnonzero(has_ink)
    if idx.size == 0:
        return out
    hs, ws = (bottom - top)[idx], (right - left)[idx]
    crops = np.zeros((idx.size, int(hs.max()), int(ws.max())), np.float32)
    for j, k in enumerate(idx.tolist()):  # slicing only; the arithmetic below is batched
        crops[j, : hs[j], : ws[j]] = ink[k, top[k] : bottom[k], left[k] : right[k]]
    scale = BOX_SIZE / np.maximum(hs, ws)

    def place(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        ry = _resample_matrices(crops.shape[1], _CENTRE - hs * scale / 2.0 + dy, scale)
        rx = _resample_matrices(crops.shape[2], _CENTRE - ws * scale / 2.0 + dx, scale)
        return ry @ crops @ rx.transpose(0, 2, 1)

    fitted = place(np.zeros(idx.size), np.zeros(idx.size))
    total = fitted.sum(axis=(1, 2), dtype=np.float64)
    centres = np.arange(INPUT_SIZE) + 0.5
    safe = np.where(total > 0, total, 1.0)
    cx = (fitted.sum(axis=1, dtype=np.float64) @ centres) / safe
    cy = (fitted.sum(axis=2, dtype=np.float64) @ centres) / safe
    placed = place(COM_TARGET - cx, COM_TARGET - cy)
    peaks = placed.reshape(len(placed), -1).max(axis=1)
    # Thin lines in a big picture average out faint; MNIST ink peaks at 1.
    placed /= np.where(peaks > 0, peaks, 1.0).astype(np.float32)[:, None, None]
    np.clip(placed, 0.0, 1.0, out=placed)
    for j, k in enumerate(idx.tolist()):
        if total[j] >= _MIN_INK:
            out[k] = placed[j]
    return out


def images_to_inputs(images: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Many pictures -> their model inputs (as :func:`image_to_input`, one result per picture).

    Pictures of the same shape are processed together with array operations (the centring by
    centre of mass included), which is what makes batch ``predict`` fast. Raises ``ValueError``
    naming the first picture that is not a grey/RGB/RGBA array.
    """
    arrays = []
    for i, image in enumerate(images):
        try:
            arr = _check_picture(image)
        except ValueError as exc:
            raise ValueError(f"picture {i}: {exc}") if len(images) > 1 else exc from None
        factor = int(max(arr.shape[:2]) // 1024)
        if factor > 1:  # very large photos: average down first so the matrices stay small
            arr = _box_downsample(arr, factor)
        arrays.append(arr)
    out: list[np.ndarray | None] = [None] * len(arrays)
    groups: dict[tuple, list[int]] = {}
    for i, arr in enumerate(arrays):
        groups.setdefault((arr.shape, arr.dtype.str), []).append(i)
    for (shape, _), members in groups.items():
        per = max(1, _STACK_PIXELS // (shape[0] * shape[1]))
        for k in range(0, len(members), per):
            part = members[k : k + per]
            grey = _to_grey(np.stack([arrays[i] for i in part]))
            for i, x in zip(part, _inputs_from_grey(grey)):
                out[i] = x
    return out


def image_to_input(image: np.ndarray) -> np.ndarray | None:
    """Turn any picture of a digit into the model's input.

    ``image``: ``(h, w)`` grey or ``(h, w, 3|4)`` RGB(A), uint8 or float in [0, 1], dark ink on a
    light background or light ink on a dark one (decided from the border pixels).
    Returns ``(28, 28)`` float32 in [0, 1], white ink on black, fitted into 20x20 and centred by
    centre of mass as in MNIST; ``None`` if the picture is blank.
    """
    return images_to_inputs([image])[0]


def image_header(raw: bytes) -> tuple[str, int, int]:
    """``(format, width, height)`` read from a PNG, JPEG, GIF or BMP header, without decoding.

    Raises ``ValueError`` for any other format or a header that makes no sense.
    """
    import struct

    if raw[:8] == b"\x89PNG\r\n\x1a\n":
        if len(raw) < 24 or raw[12:16] != b"IHDR":
            raise ValueError("PNG header is truncated or has no IHDR chunk")
        w, h = struct.unpack(">II", raw[16:24])
        return "PNG", w, h
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        if len(raw) < 10:
            raise ValueError("GIF header is truncated")
        w, h = struct.unpack("<HH", raw[6:10])
        return "GIF", w, h
    if raw[:2] == b"BM":
        if len(raw) < 26:
            raise ValueError("BMP header is truncated")
        (size,) = struct.unpack("<I", raw[14:18])
        w, h = struct.unpack("<HH", raw[18:22]) if size == 12 else struct.unpack("<ii", raw[18:26])
        return "BMP", abs(w), abs(h)
    if raw[:2] == b"\xff\xd8":
        i = 2
        while i + 4 <= len(raw):
            if raw[i] != 0xFF:
                raise ValueError(f"JPEG marker expected at byte {i}")
            marker = raw[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
                i += 2
                continue
            if marker in (0xD9, 0xDA):
                raise ValueError("JPEG has no frame header (SOF) before its image data")
            (length,) = struct.unpack(">H", raw[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                if i + 9 > len(raw):
                    break
                h, w = struct.unpack(">HH", raw[i + 5 : i + 9])
                return "JPEG", w, h
            if length < 2:
                raise ValueError(f"JPEG segment at byte {i} has length {length}")
            i += 2 + length
        raise ValueError("JPEG header is truncated (no frame header found)")
    head = raw[:8]
    raise ValueError(f"not a PNG, JPEG, GIF or BMP image (it starts with {head!r})")


def gif_frames(raw: bytes) -> tuple[int, int]:
    """``(frames, pixels)`` of a GIF: how many images it holds and their total area, by walking its blocks.

    Stops quietly at the trailer or at anything malformed (the decoder reports that itself).
    """

    def table(packed: int) -> int:
        return 3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0

    def skip_sub_blocks(i: int) -> int:
        while i < len(raw) and raw[i]:
            i += raw[i] + 1
        return i + 1

    if len(raw) < 13:
        return 0, 0
    i = 13 + table(raw[10])
    frames = pixels = 0
    while i < len(raw):
        block = raw[i]
        if block == 0x21:  # extension: label, then data sub-blocks
            i = skip_sub_blocks(i + 2)
        elif block == 0x2C and i + 10 <= len(raw):  # image descriptor
            w, h = int.from_bytes(raw[i + 5 : i + 7], "little"), int.from_bytes(raw[i + 7 : i + 9], "little")
            frames, pixels = frames + 1, pixels + w * h
            i = skip_sub_blocks(i + 10 + table(raw[i + 9]) + 1)
        else:  # 0x3B trailer, or something malformed
            break
    return frames, pixels


def decode_image(raw: bytes, source: str = "<image>") -> np.ndarray:
    """Decode PNG/JPEG/GIF/BMP bytes into an ``(h, w, c)`` uint8 array.

    The size in the header is checked against ``MAX_IMAGE_PIXELS`` before anything is decoded.
    Uses TensorFlow's decoders (imported here, quietly and lazily) so the core needs no imaging
    library. Raises ``model.data.DataError`` naming ``source`` when the bytes cannot be used.
    """
    from .data import DataError

    if not raw:
        raise DataError(f"{source} is empty (0 bytes); expected a PNG or JPEG image.")
    try:
        fmt, w, h = image_header(raw)
    except ValueError as exc:
        raise DataError(f"{source}: {exc}") from None
    if w < 1 or h < 1:
        raise DataError(f"{source}: the {fmt} header says {w}x{h} pixels; nothing to read.")
    if w * h > MAX_IMAGE_PIXELS:
        raise DataError(
            f"{source} is a {w}x{h} {fmt} ({w * h / 1e6:.1f} megapixels); the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels. Scale it down first."
        )
    if fmt == "GIF":
        frames, pixels = gif_frames(raw)
        if pixels > MAX_IMAGE_PIXELS:  # the decoder expands every frame of an animation first
            raise DataError(
                f"{source} is a GIF of {frames} frames holding {pixels / 1e6:.1f} megapixels in all; the limit is "
                f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels."
            )
    from .tf_runtime import import_tensorflow

    tf = import_tensorflow()
    try:
        if fmt == "PNG":  # the format-specific ops skip decode_image's dispatch (a third of the cost)
            decoded = tf.io.decode_png(raw, channels=0, dtype=tf.uint8)
        elif fmt == "JPEG":
            decoded = tf.io.decode_jpeg(raw, channels=0)
        else:
            decoded = tf.io.decode_image(raw, channels=0, expand_animations=False, dtype=tf.uint8)
    except (tf.errors.OpError, ValueError) as exc:
        message = str(getattr(exc, "message", exc)).splitlines()[0]
        message = message.split("}}", 1)[-1].strip() or message  # drop TF's {{function_node ...}} prefix
        message = re.sub(r"\s*\[Op:\w+\]$", "", message)  # and its " [Op:DecodePng]" suffix
        raise DataError(f"{source} is not a readable {fmt} image: {message}") from None
    return decoded.numpy()


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode a PNG, JPEG, GIF or BMP file into an ``(h, w, c)`` uint8 array.

    Only regular files of at most ``MAX_IMAGE_FILE_BYTES`` are read (``"-"``: standard input).
    Raises ``model.data.DataError`` naming the file when it cannot be read or decoded.
    """
    from .data import read_limited

    return decode_image(read_limited(path, MAX_IMAGE_FILE_BYTES, "image"), _source(path))


def _source(path: str | os.PathLike) -> str:
    return "standard input" if str(path) == "-" else os.fspath(path)


def is_stroke_document(raw: bytes, name: str = "") -> bool:
    """True for a stroke JSON document: a ``.json`` name, or text starting with ``{``."""
    if os.path.splitext(name)[1].lower() in STROKE_SUFFIXES:
        return True
    return raw.lstrip()[:1] == b"{"


def read_input(path: str | os.PathLike) -> tuple[str, object]:
    """Read a file (``"-"``: standard input) as ``("strokes", Strokes)`` or ``("image", (h, w, c) uint8)``.

    Raises ``model.data.DataError`` naming the file for anything that cannot be used.
    """
    from .data import parse_stroke_bytes, read_limited

    source = _source(path)
    raw = read_limited(path, MAX_IMAGE_FILE_BYTES, "image or stroke file")
    if is_stroke_document(raw, str(path)):
        return "strokes", parse_stroke_bytes(raw, source)[0]
    return "image", decode_image(raw, source)


_BATCHED_PIXELS = 1 << 20  # larger pictures become inputs at once, so a batch never holds many of them


def inputs_from_files(paths: Sequence[str | os.PathLike], with_labels: bool = False) -> list:
    """Read many files (``"-"``: standard input) into model inputs, one result per path, in order.

    Each result is the ``(28, 28)`` input, ``None`` (the file holds no digit), or the exception
    that stopped that file (any exception, ``MemoryError`` and ``RecursionError`` included): one
    bad file never costs the others. With ``with_labels`` a good result is ``(input, label)``, the
    label of a stroke file's ``"label"`` key (else ``None``). Small pictures are preprocessed
    together (:func:`images_to_inputs`); if that fails they are retried one by one.
    """
    from .data import parse_stroke_bytes, read_limited

    results: list = [None] * len(paths)
    labels: list = [None] * len(paths)
    pictures: dict[int, np.ndarray] = {}
    for i, path in enumerate(paths):
        try:
            raw = read_limited(path, MAX_IMAGE_FILE_BYTES, "image or stroke file")
            if is_stroke_document(raw, str(path)):
                strokes, labels[i] = parse_stroke_bytes(raw, _source(path))
                results[i] = strokes_to_input(strokes)
            else:
                picture = decode_image(raw, _source(path))
                del raw
                if picture.shape[0] * picture.shape[1] > _BATCHED_PIXELS:
                    results[i] = image_to_input(picture)
                else:
                    pictures[i] = picture
        except Exception as exc:  # noqa: BLE001 - whatever stops one file is that file's alone
            results[i] = exc
    if pictures:
        keys = list(pictures)
        try:
            done: list = images_to_inputs([pictures[k] for k in keys])
        except Exception:  # noqa: BLE001 - find the culprit one by one
            done = []
            for k in keys:
                try:
                    done.append(image_to_input(pictures[k]))
                except Exception as exc:  # noqa: BLE001
                    done.append(exc)
        for k, x in zip(keys, done):
            results[k] = x
    if with_labels:
        return [r if isinstance(r, BaseException) else (r, labels[i]) for i, r in enumerate(results)]
    return results


def read_ahead(chunks: list, read: Callable) -> Iterator:
    """``read(chunk)`` for each chunk, in order, computed one chunk ahead on a background thread.

    While the model classifies one batch, the next is read and decoded (TensorFlow's decoders and
    NumPy release the GIL), so the two overlap on a machine with 4 or more cores (with fewer, it
    reads in turn). The thread is a daemon: Ctrl+C never waits for it.
    """
    if (os.cpu_count() or 1) < 4:
        # Measured on 2 cores: the overlap gains no time there (TensorFlow already keeps both busy)
        # and costs ~0.3 s of CPU per 10,000 files in thread hand-offs.
        yield from (read(chunk) for chunk in chunks)
        return
    results: queue.Queue = queue.Queue(maxsize=1)
    done = object()

    def work() -> None:
        try:
            for chunk in chunks:
                results.put((True, read(chunk)))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            results.put((False, exc))
        results.put((True, done))

    threading.Thread(target=work, name="read-ahead", daemon=True).start()
    while True:
        ok, item = results.get()
        if not ok:
            raise item
        if item is done:
            return
        yield item


def describe_failure(path: str | os.PathLike, exc: BaseException) -> str:
    """One line naming the file and what went wrong, e.g. ``"x.png: not a PNG, JPEG, GIF or BMP image ..."``."""
    if isinstance(exc, MemoryError):
        message = "not enough memory to read it"
    elif isinstance(exc, RecursionError):
        message = "nested too deeply to read"
    else:
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, (ValueError, OSError)):
            message = f"{type(exc).__name__}: {message}"
    message = " ".join(message.split())
    if len(message) > 400:
        message = message[:397] + "..."
    shown, source = str(path), _source(path)
    if message.startswith(source + " ") or message.startswith(source + ":"):
        return shown + message[len(source) :]
    return f"{shown}: {message}"


def file_to_input(path: str | os.PathLike) -> np.ndarray | None:
    """A stroke JSON file or an image file -> the model input (``None`` if it holds no digit)."""
    kind, value = read_input(path)
    return strokes_to_input(value) if kind == "strokes" else image_to_input(value)
