"""Opening files off the GUI thread: pictures, stroke drawings and models, one batch at a time.

A drop or an Open dialog hands :class:`FileReader` a list of paths; a background thread reads and
checks each one and ``batch_read`` brings the outcome of every file back to the GUI thread, in the
order given. A file that fails never stops the others: its ``OpenedFile.error`` says why.

Why the care: ``json.loads`` (C) holds the GIL for its whole run (1.6 s for a 1e6-point drawing,
the GUI thread frozen all that time even though the parse runs on another thread). Large stroke
files are therefore parsed with the json module's pure-Python scanner, which lets the GUI thread
run between its steps, with the garbage collector paused (it would otherwise walk the millions of
new objects again and again), and every stroke is thinned to the points-per-drawing cap *before*
NumPy converts it.
"""

from __future__ import annotations

import gc
import json
import json.scanner
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtGui import QImage, QImageReader

from model.data.preprocess import MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS, MAX_POINTS_PER_DRAWING
from model.data.readers import (
    MAX_STROKE_FILE_BYTES,
    DataError,
    checked_json_text,
    parse_stroke_bytes,
    parse_strokes,
    read_limited,
)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
OPENABLE_SUFFIXES = IMAGE_SUFFIXES | {".json", ".keras"}
FAST_PARSE_BYTES = 512 * 2**10  # below this the C parser's GIL hold is too short to notice


@dataclass
class OpenedFile:
    """One file of a batch, read and checked; ``error`` is set instead of the content if it failed.

    ``kind``: ``"model"`` (read by the inference worker), ``"strokes"`` (``strokes``: ``(n, 2)``
    float arrays, y down) or ``"picture"`` (``image`` a ``QImage``, ``pixels`` its ``(h, w, 4)``
    uint8 RGBA copy). ``note`` tells the user what was changed on the way (points thinned, ...).
    """

    path: Path
    kind: str
    strokes: list[np.ndarray] | None = None
    label: int | None = None
    image: QImage | None = None
    pixels: np.ndarray | None = None
    note: str = ""
    error: str | None = None


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage -> ``(h, w, 4)`` uint8 RGBA array (a copy)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buf = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.sizeInBytes())
    return buf.reshape(h, rgba.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def _parse_json_yielding(text: str):
    """``json.loads`` with the pure-Python scanner and the garbage collector paused (see above)."""
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return decoder.decode(text)
    finally:
        if was_enabled:
            gc.enable()


def _thin(doc: object, max_points: int) -> tuple[object, int]:
    """Keep every k-th point (and the last) of each stroke so the drawing has about ``max_points``
    points at most, before NumPy sees it; returns the document and its original point count."""
    if not isinstance(doc, dict) or not isinstance(doc.get("strokes"), list):
        return doc, 0
    strokes = doc["strokes"]
    total = sum(len(s) for s in strokes if isinstance(s, list))
    if total <= max_points:
        return doc, total
    step = -(-total // max_points)
    thinned = []
    for s in strokes:
        if isinstance(s, list) and len(s) > 2:
            kept = s[::step]
            if kept[-1] is not s[-1]:
                kept.append(s[-1])
            thinned.append(kept)
        else:
            thinned.append(s)
    return {**doc, "strokes": thinned}, total


def read_drawing(path: Path) -> OpenedFile:
    """A stroke JSON file -> its strokes, checked and limited as ``model.data.read_strokes`` does.

    Small files go through ``parse_stroke_bytes`` itself; larger ones get the same checks (size,
    UTF-8, nesting depth, points, coordinates) with the parse done so the GUI thread keeps running.
    """
    source = str(path)
    raw = read_limited(path, MAX_STROKE_FILE_BYTES, "stroke file")
    if len(raw) < FAST_PARSE_BYTES:
        strokes, _ = parse_stroke_bytes(raw, source)
        return OpenedFile(path, "strokes", strokes=strokes)
    text = checked_json_text(raw, source)
    del raw
    try:
        doc = _parse_json_yielding(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source} is not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # e.g. a 5000-digit integer
        raise DataError(f"{source} is not usable JSON: {str(exc).splitlines()[0][:200] if str(exc) else exc!r}") from exc
    del text
    doc, total = _thin(doc, MAX_POINTS_PER_DRAWING)
    strokes = parse_strokes(doc, source)
    kept = sum(len(s) for s in strokes)
    note = f"{total:,} points thinned to {kept:,}" if total > kept else ""
    return OpenedFile(path, "strokes", strokes=strokes, note=note)


def read_picture(path: Path) -> OpenedFile:
    """A picture file -> ``QImage`` and RGBA pixels; the size is checked from the header first."""
    raw = read_limited(path, MAX_IMAGE_FILE_BYTES, "image")  # regular files only, size-limited
    buffer = QBuffer()
    buffer.setData(QByteArray(raw))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_IMAGE_PIXELS:
        raise DataError(
            f"{path} is {size.width()}x{size.height()} pixels; pictures over "
            f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels are not opened. Scale it down first."
        )
    image = reader.read()
    if image.isNull():
        raise DataError(f"{path} is not a picture Qt can read (PNG, JPEG, BMP, GIF): {reader.errorString()}.")
    return OpenedFile(path, "picture", image=image, pixels=qimage_to_array(image))


def read_one(path: str | Path) -> OpenedFile:
    """Read and check one file; never raises: a failure comes back as ``OpenedFile.error``."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".keras":
            return OpenedFile(path, "model")
        if suffix == ".json":
            return read_drawing(path)
        return read_picture(path)
    except DataError as exc:
        return OpenedFile(path, "error", error=str(exc))
    except MemoryError:
        return OpenedFile(path, "error", error=f"{path} needs more memory than is free.")
    except Exception as exc:  # any other failure is this file's, not the app's
        return OpenedFile(path, "error", error=f"{path}: {type(exc).__name__}: {exc}")


class FileReader(QObject):
    """Reads batches of files on one background thread; ``batch_read(list[OpenedFile])`` per batch."""

    batch_read = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-reader")

    def read(self, paths: list[str | Path]) -> None:
        """Start reading ``paths``; returns at once."""
        self._pool.submit(self._read_batch, [Path(p) for p in paths])

    def _read_batch(self, paths: list[Path]) -> None:
        self.batch_read.emit([read_one(p) for p in paths])

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)  # a file being parsed finishes on its own
