"""Reading the data sets: MNIST IDX files, UNIPEN-style pendigits strokes, stroke JSON files.

No TensorFlow here: these readers are used by tests and the command line without paying for it.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Strokes = list[np.ndarray]  # each (n, 2) float64 of x, y with y growing downwards

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


class DataError(ValueError):
    """A data file that cannot be read; the message names the file and what was wrong."""


def _open_maybe_gzip(path: Path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a uint8 array.

    Images come back as ``(n, rows, cols)`` uint8 (0 = background, 255 = ink), labels as ``(n,)``.
    """
    path = Path(path)
    try:
        with _open_maybe_gzip(path) as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"Cannot read IDX file {path}: {exc}") from exc
    if len(raw) < 8:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes).")
    magic, count = struct.unpack(">II", raw[:8])
    if magic == IDX_IMAGES_MAGIC:
        rows, cols = struct.unpack(">II", raw[8:16])
        offset, shape = 16, (count, rows, cols)
    elif magic == IDX_LABELS_MAGIC:
        offset, shape = 8, (count,)
    else:
        raise DataError(
            f"{path} is not an MNIST IDX file: magic number {magic}, expected "
            f"{IDX_IMAGES_MAGIC} (images) or {IDX_LABELS_MAGIC} (labels)."
        )
    expected = int(np.prod(shape))
    if len(raw) - offset != expected:
        raise DataError(
            f"{path} is truncated or corrupt: header says {shape} ({expected} bytes of data), "
            f"found {len(raw) - offset} bytes."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise DataError(f"No {stem}[.gz] in {directory}; expected the original MNIST IDX files there.")


def load_mnist(directory: str | os.PathLike | None = None):
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays ``(n, 28, 28)`` / ``(n,)``.

    With ``directory=None`` fall back to ``keras.datasets.mnist`` (which downloads on first use).
    """
    if directory is None:
        import keras

        return keras.datasets.mnist.load_data()
    d = Path(directory)
    if (d / "mnist").is_dir() and not any(d.glob("*idx*")):
        d = d / "mnist"
    train = read_idx(_find(d, "train-images-idx3-ubyte")), read_idx(_find(d, "train-labels-idx1-ubyte"))
    test = read_idx(_find(d, "t10k-images-idx3-ubyte")), read_idx(_find(d, "t10k-labels-idx1-ubyte"))
    return train, test


def load_mnist_test(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    d = Path(directory)
    if (d / "mnist").is_dir() and not any(d.glob("*idx*")):
        d = d / "mnist"
    return read_idx(_find(d, "t10k-images-idx3-ubyte")), read_idx(_find(d, "t10k-labels-idx1-ubyte"))


@dataclass
class PenDigit:
    """One pendigits sample: strokes in screen convention (y down), its label and writer."""

    strokes: Strokes
    label: int
    writer: int


def read_pendigits(path: str | os.PathLike, tablet_height: float = 500.0) -> list[PenDigit]:
    """Parse the UNIPEN-like ``pendigits-orig`` file.

    The tablet's y grows upwards; it is flipped (``y' = tablet_height - y``) so the strokes follow
    the screen convention every other part of the app uses.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError as exc:
        raise DataError(f"Cannot read pendigits file {path}: {exc}") from exc
    digits: list[PenDigit] = []
    label = writer = None
    strokes: Strokes = []
    points: list[tuple[float, float]] | None = None

    def finish():
        if label is not None and strokes:
            digits.append(PenDigit(strokes=list(strokes), label=label, writer=writer))

    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith(".SEGMENT"):
            finish()
            strokes = []
            label = int(s.rsplit('"', 2)[-2])
            writer = None
        elif s.startswith(".COMMENT"):
            parts = s.split()
            writer = int(parts[2])
        elif s.startswith(".PEN_DOWN"):
            points = []
        elif s.startswith(".PEN_UP"):
            if points:
                arr = np.asarray(points, dtype=np.float64)
                arr[:, 1] = tablet_height - arr[:, 1]
                strokes.append(arr)
            points = None
        elif s.startswith("."):
            continue
        elif points is not None:
            try:
                x, y = s.split()[:2]
                points.append((float(x), float(y)))
            except ValueError as exc:
                raise DataError(f"{path}:{lineno}: expected 'x y', got {s!r}") from exc
    finish()
    return digits


# --- stroke files ----------------------------------------------------------------------------


def strokes_to_json(strokes: Strokes, label: int | None = None) -> dict:
    doc: dict = {"strokes": [np.asarray(s, dtype=float).round(3).tolist() for s in strokes]}
    if label is not None:
        doc["label"] = int(label)
    return doc


def parse_strokes(doc: object, source: str = "<strokes>") -> Strokes:
    """Validate a ``{"strokes": [[[x, y], ...], ...]}`` document and return its strokes."""
    if not isinstance(doc, dict) or "strokes" not in doc:
        raise DataError(f"{source}: expected a JSON object with a 'strokes' key, got {type(doc).__name__}.")
    raw = doc["strokes"]
    if not isinstance(raw, list):
        raise DataError(f"{source}: 'strokes' must be a list of strokes, got {type(raw).__name__}.")
    strokes: Strokes = []
    for i, stroke in enumerate(raw):
        try:
            arr = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{source}: stroke {i} is not a list of [x, y] numbers ({exc}).") from exc
        if arr.size == 0:
            continue
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise DataError(f"{source}: stroke {i} must be a list of [x, y] points, got shape {arr.shape}.")
        arr = arr[:, :2]
        if not np.all(np.isfinite(arr)):
            raise DataError(f"{source}: stroke {i} contains NaN or infinite coordinates.")
        strokes.append(arr)
    return strokes


def read_strokes(path: str | os.PathLike) -> tuple[Strokes, int | None]:
    """Read a stroke JSON file; returns the strokes and its optional ``label``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"Cannot read stroke file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from exc
    strokes = parse_strokes(doc, str(path))
    label = doc.get("label") if isinstance(doc, dict) else None
    if label is not None and not (isinstance(label, int) and 0 <= label <= 9):
        raise DataError(f"{path}: 'label' must be an integer 0-9, got {label!r}.")
    return strokes, label


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_strokes(path: str | os.PathLike, strokes: Strokes, label: int | None = None) -> None:
    write_atomically(path, json.dumps(strokes_to_json(strokes, label)).encode("utf-8"))
