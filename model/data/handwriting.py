"""The user's labelled drawings: stroke JSON files with a ``"label"`` key, one file per drawing.

The files are exactly what ``main.py predict`` and ``main.py evaluate`` read (``model.data``'s
format), so a folder of them can be evaluated, exported, shared or tuned on from the command line.
They live in :func:`model.paths.handwriting_dir` (the app's ``AppDataLocation``/handwriting) and are
written atomically, so a crash never leaves half a drawing. No Qt here: the window, the command
line and the tests share this one store.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .readers import DataError, Strokes, read_strokes, write_strokes


@dataclass(frozen=True)
class LabelledDrawing:
    """One stored drawing: its file, strokes (``(n, 2)`` float arrays, y down, any units) and digit."""

    path: Path
    strokes: Strokes
    label: int


MAX_NAME_BYTES = 255  # a file name on ext4, APFS, NTFS


def display_name(path: str | os.PathLike) -> str:
    """A file name that can be shown: bytes that are not UTF-8 shown as U+FFFD."""
    return os.fsencode(os.path.basename(path)).decode("utf-8", "replace")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile (another window): sorts first, read by nobody
        return float("-inf")


def _check_label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ValueError(f"a digit label must be an integer 0-9; got {label!r}")
    return label


def read_labelled_folder(folder: str | os.PathLike, cache: dict | None = None) -> tuple[list[LabelledDrawing], list[str]]:
    """Every ``*.json`` stroke file under ``folder`` (recursively) that carries a label.

    The label is the file's ``"label"`` key, else a parent folder named 0-9, else a ``N_`` file-name
    prefix (as ``main.py evaluate`` reads folders). Returns the drawings, sorted by path, and one
    message per file that was skipped (unreadable, no strokes, no label) naming the file.
    ``cache``: a dict kept between calls; a file whose inode, size and time are unchanged is not
    read again (the store's counts after each label keystroke cost a ``stat`` per file).
    """

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of stroke files")
    drawings, problems = [], []
    for path in sorted(folder.rglob("*.json")):
        if path.name.startswith("."):
            continue  # a temporary file of an interrupted atomic write
        stamp = None
        if cache is not None:
            try:
                st = path.stat()
            except OSError:
                continue  # deleted meanwhile
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            hit = cache.get(path)
            if hit is not None and hit[0] == stamp:
                drawings.extend(hit[1]) if isinstance(hit[1], list) else problems.append(hit[1])
                continue
        found = _read_labelled(path)
        if cache is not None:
            cache[path] = (stamp, found)
        drawings.extend(found) if isinstance(found, list) else problems.append(found)
    if cache is not None and len(cache) > len(drawings) + len(problems):
        keep = {d.path for d in drawings}
        for path in [p for p, (_, v) in cache.items() if isinstance(v, list) and p not in keep]:
            del cache[path]  # files gone
    return drawings, problems


def _read_labelled(path: Path) -> list[LabelledDrawing] | str:
    """The labelled drawings of one file (a whole number gives one per digit), or the message saying why it is skipped."""
    from model.nets.evaluate import label_of

    try:
        strokes, doc_label = read_strokes(path)
    except DataError as exc:
        return str(exc)
    label = label_of(path, doc_label)
    if label is None and isinstance(doc_label, str) and len(doc_label) >= 2 and doc_label.isdigit():
        # A whole number ("label": "4071"): tuned on as its digits, split as model.data.segment groups them.
        from .segment import split_labelled_number

        parts = split_labelled_number(strokes, doc_label)
        if parts is None:
            return f"{path}: its strokes do not group into the {len(doc_label)} digits of {doc_label}"
        return [LabelledDrawing(path, part, int(c)) for part, c in zip(parts, doc_label)]
    if label is None:
        return f'{path}: no label (add "label": N, or put it in a folder named N)'
    if not strokes:
        return f"{path}: no strokes"
    return [LabelledDrawing(path, strokes, label)]


class HandwritingStore:
    """A folder of labelled drawings. ``HandwritingStore()`` uses the app's handwriting folder.

    File names are ``<label>_<time>_<id>.json``: unique, sortable by time, and readable by tools
    that take the label from the name; the ``"label"`` key inside is what counts.
    """

    def __init__(self, folder: str | os.PathLike | None = None):
        if folder is None:
            from .paths import handwriting_dir

            folder = handwriting_dir()
        self.folder = Path(folder)
        self._cache: dict = {}  # path -> (stamp, drawing or problem): see read_labelled_folder
        self._lock = threading.Lock()  # the window counts once on a thread, then on the GUI thread

    def add(self, strokes: Strokes, label: int) -> Path:
        """Store one drawing with its label; returns the new file. Refuses an empty drawing."""
        _check_label(label)
        if not any(len(s) for s in strokes):
            raise ValueError("nothing is drawn; there is no digit to store")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{label}_{time.strftime('%Y%m%d-%H%M%S')}_{uuid.uuid4().hex[:8]}.json"
        write_strokes(path, strokes, label)
        return path

    def drawings(self) -> list[LabelledDrawing]:
        """All stored drawings, oldest first (unreadable files are left alone and skipped)."""
        if not self.folder.is_dir():
            return []
        with self._lock:
            drawings, _ = read_labelled_folder(self.folder, cache=self._cache)
        return sorted(drawings, key=lambda d: (_mtime(d.path), d.path.name))

    def counts(self) -> dict[int, int]:
        """How many drawings of each digit are stored: ``{0: n0, ..., 9: n9}`` (zeros included)."""
        found = Counter(d.label for d in self.drawings())
        return {digit: found.get(digit, 0) for digit in range(10)}

    def delete(self, path: str | os.PathLike) -> bytes:
        """Delete a stored drawing (in the store or a class folder inside it); returns its bytes, for an undo.

        Raises ``FileNotFoundError`` if it is already gone, ``ValueError`` if it is not in the store.
        """
        path = self._own(path)
        data = path.read_bytes()
        path.unlink()
        return data

    def restore(self, path: str | os.PathLike, data: bytes) -> None:
        """Undo :meth:`delete`: write the drawing back (atomically)."""
        from .readers import write_atomically

        path = self._own(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)

    def relabel(self, path: str | os.PathLike, label: int) -> Path:
        """Give a stored drawing another label (rewritten atomically); returns its new path.

        Raises ``DataError`` if the file is no longer a readable drawing (changed or deleted on disk).
        A name that would grow past ``MAX_NAME_BYTES`` gets a fresh one.
        """
        _check_label(label)
        path = self._own(path)
        strokes, _ = read_strokes(path)
        head, _, rest = path.name.partition("_")
        new = path.with_name(f"{label}_{rest}" if head.isdigit() and rest else f"{label}_{path.name}")
        if len(os.fsencode(new.name)) > MAX_NAME_BYTES:
            new = path.with_name(f"{label}_{time.strftime('%Y%m%d-%H%M%S')}_{uuid.uuid4().hex[:8]}.json")
        write_strokes(new, strokes, label)
        if new != path:
            path.unlink(missing_ok=True)
        return new

    def import_folder(self, folder: str | os.PathLike) -> tuple[int, list[str]]:
        """Copy every labelled stroke file under ``folder`` into the store; returns (count, problems)."""
        drawings, problems = read_labelled_folder(folder)
        for d in drawings:
            self.add(d.strokes, d.label)
        return len(drawings), problems

    def export_folder(self, folder: str | os.PathLike) -> int:
        """Write every stored drawing into ``folder`` (created if needed), one file each; returns how many.

        Each file carries its ``"label"`` (drawings labelled by their class folder included) under a
        name of its own (``<label>_<name>``, numbered if two would collide). Never into the store
        or a folder inside it (that would double it).
        """
        folder = Path(folder)
        if folder.resolve().is_relative_to(self.folder.resolve()):
            raise ValueError(f"cannot export the handwriting folder into itself: {folder}")
        folder.mkdir(parents=True, exist_ok=True)
        drawings = self.drawings()
        used: set[str] = {p.name for p in folder.iterdir()}
        for d in drawings:
            stem = d.path.stem
            head, _, rest = stem.partition("_")
            stem = rest if head.isdigit() and rest else stem
            stem = os.fsencode(stem)[:200].decode("utf-8", "ignore") or "drawing"
            name, n = f"{d.label}_{stem}.json", 1
            while name in used:
                n += 1
                name = f"{d.label}_{stem}-{n}.json"
            used.add(name)
            write_strokes(folder / name, d.strokes, d.label)
        return len(drawings)

    def _own(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if not path.resolve().is_relative_to(self.folder.resolve()) or path.resolve() == self.folder.resolve():
            raise ValueError(f"{display_name(path)} is not in the handwriting folder {self.folder}")
        return path
