"""Reading the data sets: MNIST IDX files, UNIPEN-style pendigits strokes, stroke JSON files.

No TensorFlow here: these readers are used by tests and the command line without paying for it.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .preprocess import MAX_COORDINATE, MAX_POINTS_PER_DRAWING, MAX_POINTS_PER_STROKE, MAX_STROKES_PER_DRAWING

Strokes = list[np.ndarray]  # each (n, 2) float64 of x, y with y growing downwards

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049

# Limits on what a reader accepts, checked before the work they bound (README, "Command line").
MAX_STROKE_FILE_BYTES = 64 * 2**20  # a stroke JSON file (~3 million points); a real drawing is a few hundred KB
MAX_JSON_DEPTH = 32  # nesting of [ and {; a stroke document needs 4
MAX_IDX_BYTES = 2**30  # an IDX file after decompression (MNIST's training images: 47 MB)
MAX_TEXT_BYTES = 256 * 2**20  # a pendigits text file (the original: 3.6 MB)


class DataError(ValueError):
    """A data file that cannot be read; the message names the file and what was wrong."""


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n} bytes"


def read_limited(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """Read a whole regular file of at most ``limit`` bytes; ``"-"`` reads standard input.

    FIFOs, devices (``/dev/zero``), sockets and folders are refused without reading from them
    (the file is opened non-blocking, so a FIFO with no writer cannot hang the caller), and a file
    larger than ``limit`` is refused before it is read. Raises ``DataError`` naming the file.
    """
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise DataError(f"standard input holds more than {_mib(limit)}, the limit for a {what}.")
        return data
    path = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DataError(f"{path}: cannot read this {what}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a folder"
                if stat.S_ISDIR(info.st_mode)
                else "a FIFO (named pipe)"
                if stat.S_ISFIFO(info.st_mode)
                else "a device"
                if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "a socket"
                if stat.S_ISSOCK(info.st_mode)
                else "not a regular file"
            )
            raise DataError(f"{path} is {kind}; expected a regular {what}.")
        if info.st_size > limit:
            raise DataError(f"{path} is {_mib(info.st_size)}, more than the {_mib(limit)} limit for a {what}.")
        chunks, total = [], 0
        while True:  # st_size can lie (a file still growing): count what is actually read
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise DataError(f"{path} grew past the {_mib(limit)} limit for a {what} while being read.")
        return b"".join(chunks)
    except OSError as exc:
        raise DataError(f"{path}: cannot read this {what}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _gunzip_limited(raw: bytes, limit: int, path: Path) -> bytes:
    out, total = [], 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = raw
    try:
        while data:
            piece = d.decompress(data, limit + 1 - total)
            out.append(piece)
            total += len(piece)
            if total > limit:
                raise DataError(f"{path} unpacks to more than {_mib(limit)}, the limit for an IDX file.")
            data = d.unconsumed_tail
            if d.eof:
                break
        if not d.eof:
            raise DataError(f"{path} is a truncated .gz file (the compressed stream ends early); download it again.")
    except zlib.error as exc:
        raise DataError(f"{path} is a corrupt .gz file: {exc}") from exc
    return b"".join(out)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a uint8 array.

    Images come back as ``(n, rows, cols)`` uint8 (0 = background, 255 = ink), labels as ``(n,)``.
    """
    path = Path(path)
    raw = read_limited(path, MAX_IDX_BYTES, "IDX file")
    if raw[:2] == b"\x1f\x8b":
        raw = _gunzip_limited(raw, MAX_IDX_BYTES, path)
    if len(raw) < 8:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes).")
    magic, count = struct.unpack(">II", raw[:8])
    if magic == IDX_IMAGES_MAGIC:
        if len(raw) < 16:
            raise DataError(f"{path} is truncated: an IDX image file needs a 16-byte header, found {len(raw)} bytes.")
        rows, cols = struct.unpack(">II", raw[8:16])
        offset, shape = 16, (count, rows, cols)
    elif magic == IDX_LABELS_MAGIC:
        offset, shape = 8, (count,)
    else:
        raise DataError(
            f"{path} is not an MNIST IDX file: magic number {magic}, expected "
            f"{IDX_IMAGES_MAGIC} (images) or {IDX_LABELS_MAGIC} (labels)."
        )
    expected = int(np.prod(shape, dtype=object))
    if len(raw) - offset != expected:
        raise DataError(
            f"{path} is truncated or corrupt: header says {shape} ({expected} bytes of data), found {len(raw) - offset} bytes."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise DataError(f"No {stem}[.gz] in {directory}; expected the original MNIST IDX files there.")


def load_mnist(directory: str | os.PathLike | None = None):
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays ``(n, 28, 28)`` / ``(n,)``.

    With ``directory=None``, use the copy Keras keeps after ``keras.datasets.mnist.load_data()``
    (``~/.keras/datasets/mnist.npz``, or under ``KERAS_HOME``) if there is one; nothing is ever
    downloaded. Raises ``DataError`` saying what to pass otherwise.
    """
    if directory is None:
        home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
        cached = home / "datasets" / "mnist.npz"
        if not cached.is_file():
            raise DataError(
                "No MNIST data given: pass --data DIR, a folder with MNIST's four IDX files "
                "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
                f"t10k-labels-idx1-ubyte[.gz]). Nothing is downloaded; no Keras copy at {cached} either."
            )
        try:
            with np.load(cached, allow_pickle=False) as f:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        except Exception as exc:  # noqa: BLE001 - zip, zlib, EOF or key errors: all mean the same to the user
            raise DataError(f"{cached}: not a readable MNIST archive ({type(exc).__name__}: {exc})") from None
    d = Path(directory)
    if (d / "mnist").is_dir() and not any(d.glob("*idx*")):
        d = d / "mnist"
    train = _pair(_find(d, "train-images-idx3-ubyte"), _find(d, "train-labels-idx1-ubyte"))
    test = _pair(_find(d, "t10k-images-idx3-ubyte"), _find(d, "t10k-labels-idx1-ubyte"))
    return train, test


def load_mnist_test(directory: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    d = Path(directory)
    if (d / "mnist").is_dir() and not any(d.glob("*idx*")):
        d = d / "mnist"
    return _pair(_find(d, "t10k-images-idx3-ubyte"), _find(d, "t10k-labels-idx1-ubyte"))


def _pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels that belong together; refuses swapped files and count mismatches."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path} holds labels (shape {images.shape}), not images.")
    if labels.ndim != 1:
        raise DataError(f"{labels_path} holds images (shape {labels.shape}), not labels.")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
            "they must come from the same set."
        )
    return images, labels


@dataclass
class PenDigit:
    """One pendigits sample: strokes in screen convention (y down), its label and writer."""

    strokes: Strokes
    label: int
    writer: int


def read_pendigits(path: str | os.PathLike, tablet_height: float = 500.0) -> list[PenDigit]:
    """Parse the UNIPEN-like ``pendigits-orig`` file.

    The tablet's y grows upwards; it is flipped (``y' = tablet_height - y``) so the strokes follow
    the screen convention every other part of the app uses. A malformed line raises ``DataError``
    naming the file and the line number.
    """
    path = Path(path)
    lines = read_limited(path, MAX_TEXT_BYTES, "pendigits file").decode("ascii", errors="replace").splitlines()
    digits: list[PenDigit] = []
    label = writer = None
    strokes: Strokes = []
    points: list[tuple[float, float]] | None = None

    def finish():
        if label is not None and strokes:
            digits.append(PenDigit(strokes=list(strokes), label=label, writer=writer))

    def bad(lineno: int, expected: str, line: str) -> DataError:
        shown = line if len(line) <= 80 else line[:77] + "..."
        return DataError(f"{path}:{lineno}: expected {expected}, got {shown!r}")

    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith(".SEGMENT"):
            finish()
            strokes = []
            m = re.search(r'"\s*(\d{1,4})\s*"\s*$', s)
            if m is None:
                raise bad(lineno, '.SEGMENT ... "DIGIT"', s)
            label = int(m.group(1))
            writer = None
        elif s.startswith(".COMMENT"):
            parts = s.split()
            if len(parts) < 3 or not parts[2].isdigit() or len(parts[2]) > 9:
                raise bad(lineno, ".COMMENT DIGIT WRITER ...", s)
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
            fields = s.split()
            try:
                x, y = float(fields[0]), float(fields[1])
            except (ValueError, IndexError):
                raise bad(lineno, "'x y' (two numbers)", s) from None
            if not (abs(x) <= MAX_COORDINATE and abs(y) <= MAX_COORDINATE):
                raise bad(lineno, f"finite coordinates within +-{MAX_COORDINATE:g}", s)
            points.append((x, y))
    finish()
    return digits


# --- stroke files ----------------------------------------------------------------------------


def strokes_to_json(strokes: Strokes, label: int | None = None) -> dict:
    doc: dict = {"strokes": [np.asarray(s, dtype=float).round(3).tolist() for s in strokes]}
    if label is not None:
        doc["label"] = int(label)
    return doc


def limit_points(strokes: Strokes, per_stroke: int = MAX_POINTS_PER_STROKE, per_drawing: int = MAX_POINTS_PER_DRAWING) -> Strokes:
    """Thin strokes evenly to at most ``per_stroke`` points each and ``per_drawing`` in all.

    Even thinning keeps each stroke's ends and its shape (a dense stroke from a file has far more
    points than pixels); only drawings above the caps change. Each stroke keeps at least 2 points.
    """

    def thin(s: np.ndarray, n: int) -> np.ndarray:
        n = max(2, n)
        if len(s) <= n:
            return s
        return s[np.unique(np.linspace(0, len(s) - 1, n).round().astype(np.int64))]

    out = [thin(s, per_stroke) for s in strokes]
    total = sum(len(s) for s in out)
    if total > per_drawing:
        keep = per_drawing / total
        out = [thin(s, int(len(s) * keep)) for s in out]
    return out


def parse_strokes(doc: object, source: str = "<strokes>") -> Strokes:
    """Validate a ``{"strokes": [[[x, y], ...], ...]}`` document and return its strokes.

    Points beyond ``MAX_POINTS_PER_STROKE`` per stroke or ``MAX_POINTS_PER_DRAWING`` in all are
    thinned evenly (see :func:`limit_points`); more than ``MAX_STROKES_PER_DRAWING`` strokes or a
    coordinate beyond +-``MAX_COORDINATE`` is refused with a ``DataError``.
    """
    if not isinstance(doc, dict) or "strokes" not in doc:
        raise DataError(f"{source}: expected a JSON object with a 'strokes' key, got {type(doc).__name__}.")
    raw = doc["strokes"]
    if not isinstance(raw, list):
        raise DataError(f"{source}: 'strokes' must be a list of strokes, got {type(raw).__name__}.")
    if len(raw) > MAX_STROKES_PER_DRAWING:
        raise DataError(f"{source}: {len(raw)} strokes; a drawing may have at most {MAX_STROKES_PER_DRAWING}.")
    strokes: Strokes = []
    for i, stroke in enumerate(raw):
        if not isinstance(stroke, list):
            raise DataError(f"{source}: stroke {i} must be a list of [x, y] points, got {type(stroke).__name__}.")
        try:
            arr = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise DataError(f"{source}: stroke {i} is not a list of [x, y] numbers ({exc}).") from exc
        if arr.size == 0:
            continue
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise DataError(f"{source}: stroke {i} must be a list of [x, y] points, got shape {arr.shape}.")
        arr = np.ascontiguousarray(arr[:, :2])
        if not np.all(np.isfinite(arr)):
            raise DataError(f"{source}: stroke {i} contains NaN or infinite coordinates.")
        if np.abs(arr).max() > MAX_COORDINATE:
            raise DataError(
                f"{source}: stroke {i} has a coordinate of {np.abs(arr).max():.3g}; coordinates must lie "
                f"within +-{MAX_COORDINATE:g}."
            )
        strokes.append(arr)
    return limit_points(strokes)


# A string literal, or an unterminated one running to the end: every match succeeds, so the scan
# stays linear even for hostile input (a pattern that can fail would retry from every quote).
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)


def json_depth(raw: bytes) -> int:
    """How deeply ``[`` and ``{`` nest in a JSON text (brackets inside strings do not count)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, delete=bytes(set(range(256)) - set(b"[]{}")))
    if not brackets:
        return 0
    b = np.frombuffer(brackets, np.uint8)
    return int(np.cumsum(np.where((b == ord("[")) | (b == ord("{")), 1, -1), dtype=np.int64).max())


def checked_json_text(raw: bytes, source: str = "<strokes>") -> str:
    """A JSON document's bytes as text, refused before parsing if not UTF-8 or nested too deep."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source} is not valid JSON: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise DataError(f"{source}: JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted.")
    return text


def parse_stroke_bytes(raw: bytes, source: str = "<strokes>") -> tuple[Strokes, int | str | None]:
    """A stroke JSON document's bytes -> its strokes and optional ``label`` (an int 0-9 or a class name)."""
    if len(raw) > MAX_STROKE_FILE_BYTES:
        raise DataError(f"{source} is {_mib(len(raw))}, more than the {_mib(MAX_STROKE_FILE_BYTES)} limit for a stroke file.")
    text = checked_json_text(raw, source)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source} is not valid JSON: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # e.g. a 5000-digit integer (Python's int-to-str limit)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{source} is not usable JSON: {message[:200]}") from exc
    strokes = parse_strokes(doc, source)
    label = doc.get("label")
    if label is not None:
        ok_int = isinstance(label, int) and not isinstance(label, bool) and 0 <= label <= 9
        ok_name = isinstance(label, str) and 0 < len(label) <= 64
        if not (ok_int or ok_name):
            shown = repr(label)
            raise DataError(f"{source}: 'label' must be an integer 0-9 or a class name, got {shown[:60]}.")
    return strokes, label


def read_strokes(path: str | os.PathLike) -> tuple[Strokes, int | str | None]:
    """Read a stroke JSON file (``"-"``: standard input); returns the strokes and its optional ``label``."""
    raw = read_limited(path, MAX_STROKE_FILE_BYTES, "stroke file")
    return parse_stroke_bytes(raw, "standard input" if str(path) == "-" else str(path))


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename, so a crash never leaves half a file."""
    path = Path(path)
    # The temporary name is cut to 100 characters: a target name of up to 255 bytes must still fit.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def png_bytes(image: np.ndarray) -> bytes:
    """``(h, w)`` uint8 grey -> a PNG file's bytes (8-bit greyscale; no imaging library needed)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = np.concatenate([np.zeros((h, 1), np.uint8), image], axis=1)  # filter type 0 per row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write ``(h, w)`` uint8 grey as a PNG file, atomically."""
    write_atomically(path, png_bytes(image))


def write_strokes(path: str | os.PathLike, strokes: Strokes, label: int | None = None) -> None:
    write_atomically(path, json.dumps(strokes_to_json(strokes, label)).encode("utf-8"))
