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
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtGui import QImage, QImageReader

from model.data import DataError, parse_strokes

from .canvas import MAX_POINTS

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
OPENABLE_SUFFIXES = IMAGE_SUFFIXES | {".json", ".keras"}
MAX_PICTURE_PIXELS = 50_000_000  # checked from the file's header, before decoding
MAX_DRAWING_BYTES = 64 * 2**20  # a stroke file larger than this is refused before it is read
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


def _check_regular(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise DataError(f"{path} is a folder, not a file.")
    if not stat.S_ISREG(mode):  # a FIFO would block forever, /dev/zero never ends
        raise DataError(f"{path} is not a regular file (a pipe or a device); only files are opened.")


def _parse_json(text: str):
    if len(text) < FAST_PARSE_BYTES:
        return json.loads(text)
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
    """Keep every k-th point of over-long strokes (the last one too), so the drawing has at most
    about ``max_points`` points; returns the document and the original point count."""
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


def read_drawing(path: Path, max_points: int = MAX_POINTS) -> OpenedFile:
    """A stroke JSON file -> strokes with at most about ``max_points`` points (thinned if more)."""
    _check_regular(path)
    size = path.stat().st_size
    if size > MAX_DRAWING_BYTES:
        raise DataError(
            f"{path} is {size / 2**20:.0f} MB; stroke files over {MAX_DRAWING_BYTES // 2**20} MB "
            f"are not opened (a drawing keeps at most {max_points:,} points)."
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text: {exc}") from exc
    try:
        doc = _parse_json(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise DataError(f"{path} is nested too deeply to be a stroke file.") from exc
    del text
    doc, total = _thin(doc, max_points)
    strokes = parse_strokes(doc, str(path))
    label = doc.get("label") if isinstance(doc, dict) else None
    if not (isinstance(label, int) and not isinstance(label, bool) and 0 <= label <= 9):
        label = None
    kept = sum(len(s) for s in strokes)
    note = f"{total:,} points thinned to {kept:,}" if total > max_points else ""
    return OpenedFile(path, "strokes", strokes=strokes, label=label, note=note)


def read_picture(path: Path) -> OpenedFile:
    """A picture file -> ``QImage`` and RGBA pixels; the size is checked from the header first."""
    _check_regular(path)
    reader = QImageReader(str(path))
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_PICTURE_PIXELS:
        raise DataError(
            f"{path} is {size.width()}x{size.height()} pixels; pictures over "
            f"{MAX_PICTURE_PIXELS // 1_000_000} megapixels are not opened."
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
