"""Pictures and input files -> the model's ``(28, 28)`` input, by the same MNIST recipe as strokes.

* :func:`image_to_input` / :func:`images_to_inputs` take any picture (grey, RGB, RGBA;
  dark-on-light or light-on-dark), many at once with array operations: fit the ink into 20x20
  keeping its aspect, anti-aliased, centre of mass at the centre.
* :func:`load_image` reads a PNG/JPEG/GIF/BMP file (decoding, with the size checked from the
  header first, lives in :mod:`model.decode`).
* :func:`inputs_from_files` turns files (pictures or stroke documents) into inputs, one result or
  one failure per file, for the command line's batches.

The limits (``MAX_IMAGE_PIXELS``, ``MAX_IMAGE_FILE_BYTES``, ...) live in :mod:`model.preprocess`
with the drawing limits, so the window and the command line share one owner.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .decode import BATCH_DECODE_PIXELS, check_image, decode_image, decode_images
from .preprocess import (
    BOX_SIZE,
    COM_TARGET,
    FIELD_CENTRE,
    INPUT_SIZE,
    MAX_IMAGE_FILE_BYTES,
    MIN_INK,
    strokes_to_input,
)

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
        ry = _resample_matrices(crops.shape[1], FIELD_CENTRE - hs * scale / 2.0 + dy, scale)
        rx = _resample_matrices(crops.shape[2], FIELD_CENTRE - ws * scale / 2.0 + dx, scale)
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
        if total[j] >= MIN_INK:
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


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Decode a PNG, JPEG, GIF or BMP file into an ``(h, w, c)`` uint8 array.

    Only regular files of at most ``MAX_IMAGE_FILE_BYTES`` are read (``"-"``: standard input).
    Raises ``model.data.DataError`` naming the file when it cannot be read or decoded.
    """
    from .readers import read_limited

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
    from .readers import parse_stroke_bytes, read_limited

    source = _source(path)
    raw = read_limited(path, MAX_IMAGE_FILE_BYTES, "image or stroke file")
    if is_stroke_document(raw, str(path)):
        return "strokes", parse_stroke_bytes(raw, source)[0]
    return "image", decode_image(raw, source)


_PENDING_BYTES = 64 << 20  # encoded + decoded bytes of the pictures decoded together (bounds memory)


def inputs_from_files(paths: Sequence[str | os.PathLike], with_labels: bool = False) -> list:
    """Read many files (``"-"``: standard input) into model inputs, one result per path, in order.

    Each result is the ``(28, 28)`` input, ``None`` (the file holds no digit), or the exception
    that stopped that file (any exception, ``MemoryError`` and ``RecursionError`` included): one
    bad file never costs the others. With ``with_labels`` a good result is ``(input, label)``, the
    label of a stroke file's ``"label"`` key (else ``None``). Small pictures are decoded together
    (:func:`model.decode.decode_images`) and preprocessed together (:func:`images_to_inputs`; if
    that fails, one by one); a large one is decoded and reduced to its input on its own.
    """
    from .readers import parse_stroke_bytes, read_limited

    results: list = [None] * len(paths)
    labels: list = [None] * len(paths)
    pictures: dict[int, np.ndarray] = {}
    pending: dict[int, bytes] = {}

    def decode_pending() -> None:
        keys = list(pending)
        try:
            decoded = decode_images([pending[k] for k in keys], [_source(paths[k]) for k in keys])
        except Exception as exc:  # noqa: BLE001 - e.g. MemoryError: each waiting file reports it
            decoded = [exc] * len(keys)
        pending.clear()
        for k, picture in zip(keys, decoded):
            if isinstance(picture, BaseException):
                results[k] = picture
            else:
                pictures[k] = picture

    held = 0
    for i, path in enumerate(paths):
        try:
            raw = read_limited(path, MAX_IMAGE_FILE_BYTES, "image or stroke file")
            if is_stroke_document(raw, str(path)):
                strokes, labels[i] = parse_stroke_bytes(raw, _source(path))
                results[i] = strokes_to_input(strokes)
                continue
            _, w, h = check_image(raw, _source(path))
            if w * h > BATCH_DECODE_PIXELS:
                picture = decode_image(raw, _source(path))
                del raw
                results[i] = image_to_input(picture)
                continue
            pending[i] = raw
            held += len(raw) + 4 * w * h  # encoded, and decoded (up to 4 channels)
            if held > _PENDING_BYTES:
                decode_pending()
                held = 0
        except Exception as exc:  # noqa: BLE001 - whatever stops one file is that file's alone
            results[i] = exc
    decode_pending()
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
