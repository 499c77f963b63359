"""The main window's files: open (File ▸ Open, drops), a ready digit shown, the drawing saved, the maps exported.

``FileWindow`` is ``MainWindow``'s base (``gui/main_window.py``): files are read off the GUI
thread by ``gui/files.py``'s ``FileReader`` (``file_reader``), models go to ``load_model``,
drawings and pictures to the canvas and ``_submit``. What cannot be opened or written is said in
one dialog (``warn``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMainWindow, QMessageBox

from model.data.readers import write_atomically, write_strokes

from .files import OpenedFile, png_bytes
from .worker import Request


class FileWindow(QMainWindow):
    """Opening, dropping, saving and exporting for ``MainWindow``, which provides ``canvas``,
    ``feature_maps``, ``file_reader``, ``last_result``, ``load_model`` and ``_submit``."""

    files_opened = Signal(int, int)  # files opened, files that failed (after each Open or drop)

    def open_file(self, path: str | Path) -> None:
        """Open a picture, a stroke file or a model, read off the GUI thread (see :meth:`open_files`)."""
        self.open_files([path])

    def open_files(self, paths: list[str | Path]) -> None:
        """Open files in the background; bad ones are named in one dialog, the good ones still open.

        ``files_opened(opened, failed)`` is emitted when the batch is done.
        """
        self.statusBar().showMessage(f"Opening {len(paths)} file{'s' if len(paths) != 1 else ''}…")
        self.file_reader.read(list(paths))

    @Slot(list)
    def _on_files_read(self, files: list[OpenedFile]) -> None:
        failed = [f for f in files if f.error]
        notes = []
        for f in files:
            if f.error:
                continue
            if f.kind == "model":
                self.load_model(f.path)
            elif f.kind == "strokes":
                self._picture = self._covered = None
                self.canvas.set_picture(None)
                self.canvas.set_strokes(f.strokes)
            elif f.kind == "picture":
                self.canvas.clear()
                self._picture, self._picture_image, self._covered = f.pixels, f.image, None
                self.canvas.set_picture(f.image)
                self._submit(Request(0, image=f.pixels))
            if f.note:
                notes.append(f"{f.path.name}: {f.note}")
        opened = len(files) - len(failed)
        if opened:
            last = next(f for f in reversed(files) if not f.error)
            self.statusBar().showMessage(
                f"Opened {last.path.name}"
                + (f" ({opened} files)" if opened > 1 else "")
                + (" · " + "; ".join(notes) if notes else ""),
                8000,
            )
        else:
            self.statusBar().clearMessage()
        if failed:
            title = "Cannot open this file" if len(failed) == 1 else f"Cannot open {len(failed)} files"
            detail = "\n\n".join(f.error for f in failed)
            if opened:
                detail += f"\n\nThe other {opened} file{'s were' if opened > 1 else ' was'} opened."
            self.warn(title, detail, "open_error_dialog")
        self.files_opened.emit(opened, len(failed))

    def show_digit(self, drawing: np.ndarray) -> None:
        """Put a ready ``(28, 28)`` input (float32 in [0, 1], white on black, e.g. an MNIST digit) on the
        canvas as a picture, and recognise it as is (not re-centred, so its units stay where they were)."""
        grey = 255 - np.round(np.clip(drawing, 0, 1) * 255).astype(np.uint8)  # dark ink on paper, as drawn
        pixels = np.ascontiguousarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]))
        self.canvas.clear()
        self._picture = pixels
        self.canvas.set_picture(QImage(pixels.data, 28, 28, 28 * 4, QImage.Format.Format_RGBA8888).copy())
        self._submit(Request(0, image=pixels, ready=np.asarray(drawing, np.float32)))

    @property
    def picture_shown(self) -> bool:
        """An opened picture is on the paper (it can be saved as PNG; it has no strokes)."""
        return self._picture is not None

    def save_drawing(self, path: str | Path) -> None:
        path = Path(path)
        label = self.last_result.digit if self.last_result else None
        if path.suffix.lower() == ".json" and self.canvas.is_empty() and self.picture_shown:
            self.warn("Cannot save", f"{path.name}: an opened picture has no strokes to save as JSON; save it as PNG.")
            return
        try:
            if path.suffix.lower() == ".json":
                write_strokes(path, self.canvas.strokes(), label)
            else:
                write_atomically(path, png_bytes(self.canvas.grab(self.canvas.paper_rect().toAlignedRect()).toImage()))
        except OSError as exc:
            self.warn("Cannot save", f"Could not write {path}: {exc.strerror or exc}. Your drawing is unchanged.")
            return
        self.statusBar().showMessage(f"Saved {path}", 5000)

    def export_maps(self, path: str | Path) -> None:
        try:
            write_atomically(path, png_bytes(self.feature_maps.grab().toImage()))
        except OSError as exc:
            self.warn("Cannot export", f"Could not write {path}: {exc.strerror or exc}")
            return
        self.statusBar().showMessage(f"Exported feature maps to {path}", 5000)

    def warn(self, title: str, text: str, name: str = "warning_dialog") -> None:
        self.last_error = text
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setObjectName(name)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event):  # noqa: N802 (Qt override)
        urls = event.mimeData().urls()
        if urls and any(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802 (Qt override)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_files(paths)
        event.acceptProposedAction()
