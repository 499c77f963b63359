""" "My handwriting": the stored digits as 28x28 thumbnails grouped by label, with the model's reading.

Delete, relabel, import and export work on the files of :class:`model.handwriting.HandwritingStore`;
the current model's accuracy on them is computed off the GUI thread and shown at the top, and each
thumbnail the model misreads is captioned with what it read (``4 → 9``).

At 10,000 stored drawings the view still opens at once: the items are listed with a blank icon
and the thumbnails are rendered on a background thread (``ThumbnailRenderer``), in chunks, and
set as they arrive. Delete is never the default button (Enter does not delete) and can be
undone; every failure of a button is shown, one line per file.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

THUMB_SCALE = 2  # 28x28 shown at 56x56 screen pixels: the model's input, big enough to read
PATH_ROLE = Qt.ItemDataRole.UserRole
KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # -> the item's Path (a name need not be UTF-8, which Qt text cannot hold)
THUMB_CHUNK = 64  # thumbnails rendered between two deliveries to the GUI thread


def thumbnail(x: np.ndarray | None) -> QPixmap:
    """A ``(28, 28)`` float32 model input in [0, 1] as a grey pixmap (blank for ``None``)."""
    pixels = np.zeros((28, 28), np.uint8) if x is None else np.ascontiguousarray((np.clip(x, 0, 1) * 255).astype(np.uint8))
    image = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image).scaled(
        28 * THUMB_SCALE, 28 * THUMB_SCALE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


def thumbnail_image(strokes) -> QImage:
    """Strokes -> a 28x28 grey ``QImage`` of the model input (safe off the GUI thread, unlike a pixmap)."""
    from model.data.preprocess import strokes_to_input

    x = strokes_to_input(strokes)
    pixels = np.zeros((28, 28), np.uint8) if x is None else np.ascontiguousarray((np.clip(x, 0, 1) * 255).astype(np.uint8))
    return QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()


class ThumbnailRenderer(QObject):
    """Renders thumbnails on a background thread; ``rendered`` brings each chunk to the GUI thread.

    ``render(drawings)`` starts a new pass (the previous one stops at its next chunk); ``stop()``
    ends it (the view closes).
    """

    rendered = Signal(int, list)  # pass number, [(key, QImage)]

    def __init__(self):
        super().__init__()  # no parent: alive as long as its thread holds it
        self._pass = 0
        self._lock = threading.Lock()

    def render(self, items: list) -> int:
        """``items``: ``[(key, strokes)]``; returns the pass number its chunks carry."""
        with self._lock:
            self._pass += 1
            number = self._pass
        threading.Thread(target=self._run, args=(number, items), name="thumbnails", daemon=True).start()
        return number

    def stop(self) -> None:
        with self._lock:
            self._pass += 1

    def _run(self, number: int, items: list) -> None:
        for start in range(0, len(items), THUMB_CHUNK):
            if self._pass != number:
                return  # a newer pass, or the view closed
            chunk = [(key, thumbnail_image(strokes)) for key, strokes in items[start : start + THUMB_CHUNK]]
            if self._pass != number:
                return
            self.rendered.emit(number, chunk)


class HandwritingView(QDialog):
    """The stored drawings, grouped by digit. ``changed`` fires after the user altered the store."""

    changed = Signal()

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("handwriting_view")
        self.setWindowTitle("My handwriting")
        self.controller = controller
        self.store = controller.store
        self.resize(760, 640)
        self.summary = QLabel(objectName="handwriting_summary")
        self.summary.setWordWrap(True)
        self.accuracy = QLabel(objectName="handwriting_accuracy")
        self.accuracy.setWordWrap(True)
        self.lists: dict[int, QListWidget] = {}
        self.headers: dict[int, QLabel] = {}
        groups = QWidget()
        groups_layout = QVBoxLayout(groups)
        for digit in range(10):
            header = QLabel(objectName=f"digit_header_{digit}")
            lst = QListWidget(objectName=f"digits_{digit}")
            lst.setViewMode(QListView.ViewMode.IconMode)
            lst.setIconSize(QSize(28 * THUMB_SCALE, 28 * THUMB_SCALE))
            lst.setResizeMode(QListView.ResizeMode.Adjust)
            lst.setMovement(QListView.Movement.Static)
            lst.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
            lst.setSpacing(2)
            lst.setFixedHeight(28 * THUMB_SCALE + 40)  # one row of thumbnails, captions and a scroll bar
            lst.setFlow(QListView.Flow.LeftToRight)
            lst.setWrapping(False)
            lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            groups_layout.addWidget(header)
            groups_layout.addWidget(lst)
            self.lists[digit], self.headers[digit] = lst, header
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(groups)
        # Issue 26: show only the digits the personal model's card says it still confuses.
        self.practise = QCheckBox(objectName="practise_filter")
        self.practise.toggled.connect(self._apply_filter)

        self.delete_button = QPushButton("Delete", objectName="delete_drawings")
        self.delete_button.setToolTip("Delete the selected drawings (Del)")
        self.delete_button.setShortcut(Qt.Key.Key_Delete)
        self.relabel_button = QPushButton("Relabel…", objectName="relabel_drawings")
        self.relabel_button.setToolTip("Give the selected drawings another digit")
        self.import_button = QPushButton("Import folder…", objectName="import_drawings")
        self.import_button.setToolTip("Add every labelled stroke .json file of a folder")
        self.export_button = QPushButton("Export folder…", objectName="export_drawings")
        self.export_button.setToolTip('Copy your drawings into a folder (stroke .json files with a "label" key)')
        self.undo_button = QPushButton("Undo delete", objectName="undo_delete")
        self.undo_button.setToolTip("Bring back the drawings deleted last (Ctrl+Z)")
        self.undo_button.setShortcut(Qt.KeyboardModifier.ControlModifier | Qt.Key.Key_Z)
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo_delete)
        self._undo: list[tuple[Path, bytes]] = []
        self.delete_button.clicked.connect(self.delete_selected)
        self.relabel_button.clicked.connect(self.relabel_selected)
        self.import_button.clicked.connect(self.import_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        buttons = QHBoxLayout()
        for b in (self.delete_button, self.undo_button, self.relabel_button, self.import_button, self.export_button):
            b.setAutoDefault(False)  # Enter in the dialog presses no button: above all, it never deletes
            b.setDefault(False)
            buttons.addWidget(b)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.accuracy)
        layout.addWidget(self.practise)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        controller.readings_ready.connect(self._show_readings)
        self._paths: dict[int, Path] = {}
        self._items: dict[int, QListWidgetItem] = {}
        self._keys = itertools.count()
        self._blank = QIcon(thumbnail(None))
        self._renderer = ThumbnailRenderer()
        self._renderer.rendered.connect(self._thumbnails_rendered)
        self._pass = 0
        self.finished.connect(lambda _result: self._renderer.stop())
        self.refresh()

    # --- contents ----------------------------------------------------------------------------

    def refresh(self) -> None:
        from model.data.handwriting import display_name

        drawings = self.store.drawings()
        for lst in self.lists.values():
            lst.clear()
        self._paths.clear()
        self._items.clear()
        for d in drawings:
            key = next(self._keys)
            item = QListWidgetItem(self._blank, "")  # the thumbnail follows from the renderer's thread
            shown = display_name(d.path)  # string work only: 10,000 of these
            item.setData(PATH_ROLE, os.path.join(os.path.dirname(d.path), shown))
            item.setData(KEY_ROLE, key)
            item.setToolTip(f"{shown}\nlabelled {d.label}")
            self._paths[key], self._items[key] = d.path, item
            self.lists[d.label].addItem(item)
        # The first thumbnails of every digit's row first (those are the ones on screen), then the next.
        place = {digit: itertools.count() for digit in range(10)}
        order = sorted(zip(self._paths, drawings, strict=True), key=lambda kd: next(place[kd[1].label]))
        self._pass = self._renderer.render([(key, d.strokes) for key, d in order])
        for digit, lst in self.lists.items():
            self.headers[digit].setText(f"<b>{digit}</b> — {lst.count()} drawing{'s' if lst.count() != 1 else ''}")
        counts = [lst.count() for lst in self.lists.values()]
        self.summary.setText(
            f"{sum(counts)} drawings stored in {self.store.folder}. Add more: draw a digit, then type it (0-9) "
            "while the canvas has focus."
            if sum(counts)
            else "No drawings stored yet. Draw a digit, then type it (0-9) while the canvas has focus to store it."
        )
        self.accuracy.setText("Reading them with the current model…" if drawings else "")
        self._update_practise()
        if drawings:
            self.controller.request_readings(drawings)

    def practise_digits(self) -> list[int]:
        """The digits the personal model's card says are still confused (empty without one)."""
        from model.nets.card import read_card_document
        from model.training.personal import digits_to_practise

        path = getattr(self.controller, "personal_path", None)
        try:
            return digits_to_practise(read_card_document(path)) if path is not None else []
        except (AttributeError, KeyError, TypeError, ValueError):  # a card not written by tune
            return []

    def _update_practise(self) -> None:
        self._practise = digits = self.practise_digits()
        self.practise.setVisible(bool(digits))
        self.practise.setText(
            "Only the digits your personal model still confuses (" + ", ".join(map(str, digits)) + "): draw more of these"
        )
        if not digits:
            self.practise.setChecked(False)
        self._apply_filter()

    def _apply_filter(self) -> None:
        only = set(getattr(self, "_practise", [])) if self.practise.isChecked() else set(range(10))
        for digit in range(10):
            self.headers[digit].setVisible(digit in only)
            self.lists[digit].setVisible(digit in only)

    def _thumbnails_rendered(self, number: int, chunk: list) -> None:
        if number != self._pass:
            return  # from a pass before the last refresh
        for key, image in chunk:
            item = self._items.get(key)
            if item is not None:
                item.setIcon(QIcon(QPixmap.fromImage(image).scaled(28 * THUMB_SCALE, 28 * THUMB_SCALE)))

    def _show_readings(self, model_name: str, paths: list, labels: np.ndarray, predicted: np.ndarray) -> None:
        by_path = {Path(p): int(v) for p, v in zip(paths, predicted, strict=True)}
        shown = 0
        for digit, lst in self.lists.items():
            for i in range(lst.count()):
                item = lst.item(i)
                read = by_path.get(self._paths.get(item.data(KEY_ROLE)))
                if read is None:
                    continue
                shown += 1
                item.setText("" if read == digit else f"{digit}→{'-' if read < 0 else read}")
                item.setToolTip(
                    f"{Path(item.data(PATH_ROLE)).name}\nlabelled {digit}, the model reads {'no digit' if read < 0 else read}"
                )
        if shown != len(paths) or not len(labels):
            return  # the store changed meanwhile; a newer reading is on its way
        right = int((labels == predicted).sum())
        self.accuracy.setText(
            f"The current model ({model_name}) reads <b>{right} of {len(labels)}</b> "
            f"({right / len(labels) * 100:.1f}%) of them as you labelled them; misread ones are "
            "captioned label→reading."
        )

    def selected_paths(self) -> list[Path]:
        return [self._paths[item.data(KEY_ROLE)] for lst in self.lists.values() for item in lst.selectedItems()]

    # --- actions -----------------------------------------------------------------------------

    def _problems(self, title: str, problems: list[str]) -> None:
        """Say what failed, one line per file (never silently)."""
        if not problems:
            return
        # A path that is not UTF-8 holds surrogates, which Qt text cannot: shown as U+FFFD.
        problems = [p.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for p in problems]
        box = QMessageBox(QMessageBox.Icon.Warning, title, "\n".join(problems[:10]), QMessageBox.StandardButton.Ok, self)
        if len(problems) > 10:
            box.setText(f"{len(problems)} drawings failed; the first: {problems[0]}")
            box.setDetailedText("\n".join(problems))
        box.setObjectName("handwriting_problems")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def delete_selected(self) -> None:
        """Delete the selected drawings; Undo delete (Ctrl+Z) brings them back."""
        from model.data.handwriting import display_name

        paths = self.selected_paths()
        deleted, problems = [], []
        for path in paths:
            try:
                deleted.append((path, self.store.delete(path)))
            except FileNotFoundError:
                problems.append(f"{display_name(path)}: already gone (deleted elsewhere?)")
            except (OSError, ValueError) as exc:
                problems.append(f"{display_name(path)}: not deleted: {exc}")
        if deleted:
            self._undo = deleted
            self.undo_button.setEnabled(True)
            self.undo_button.setText(f"Undo delete ({len(deleted)})")
        if paths:
            self._changed()
        self._problems("Delete", problems)

    def undo_delete(self) -> None:
        """Write back the drawings the last Delete removed."""
        from model.data.handwriting import display_name

        problems = []
        for path, data in self._undo:
            try:
                self.store.restore(path, data)
            except (OSError, ValueError) as exc:
                problems.append(f"{display_name(path)}: not restored: {exc}")
        self._undo = []
        self.undo_button.setEnabled(False)
        self.undo_button.setText("Undo delete")
        self._changed()
        self._problems("Undo delete", problems)

    def relabel_selected(self, label: int | None = None) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        if label is None or isinstance(label, bool):  # a clicked() signal passes a bool
            label, ok = QInputDialog.getInt(self, "Relabel", f"Digit for the {len(paths)} selected drawing(s):", 0, 0, 9)
            if not ok:
                return
        from model.data.handwriting import display_name
        from model.data.readers import DataError

        problems = []
        for path in paths:
            try:
                self.store.relabel(path, label)
            except (DataError, OSError, ValueError) as exc:  # changed or deleted on disk, a name too long, ...
                text = str(exc) if isinstance(exc, DataError) else f"not relabelled: {exc}"
                problems.append(text if display_name(path) in text else f"{display_name(path)}: {text}")
        self._changed()
        self._problems("Relabel", problems)

    def import_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import labelled stroke files from")
        if folder:
            self.import_folder(folder)

    def import_folder(self, folder: str | Path) -> int:
        from model.data.readers import DataError

        try:
            count, problems = self.store.import_folder(folder)
        except DataError as exc:
            QMessageBox.warning(self, "Import", str(exc))
            return 0
        if problems:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "Import",
                f"Imported {count} drawings; skipped {len(problems)} files.",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setDetailedText("\n".join(problems))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self._changed()
        return count

    def export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export your drawings to")
        if folder:
            try:
                count = self.store.export_folder(folder)
            except (OSError, ValueError) as exc:
                QMessageBox.warning(self, "Export", f"Could not export to {folder}: {exc}")
                return
            self.controller.window.statusBar().showMessage(f"Exported {count} drawings to {folder}", 6000)

    def _changed(self) -> None:
        self.refresh()
        self.changed.emit()
