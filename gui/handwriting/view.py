""" "My handwriting": the stored digits as 28x28 thumbnails grouped by label, with the model's reading.

Delete, relabel, import and export work on the files of :class:`model.handwriting.HandwritingStore`;
the current model's accuracy on them is computed off the GUI thread and shown at the top, and each
thumbnail the model misreads is captioned with what it read (``4 → 9``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
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


def thumbnail(x: np.ndarray | None) -> QPixmap:
    """A ``(28, 28)`` float32 model input in [0, 1] as a grey pixmap (blank for ``None``)."""
    pixels = np.zeros((28, 28), np.uint8) if x is None else np.ascontiguousarray((np.clip(x, 0, 1) * 255).astype(np.uint8))
    image = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(image).scaled(
        28 * THUMB_SCALE, 28 * THUMB_SCALE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


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
        self.delete_button.clicked.connect(self.delete_selected)
        self.relabel_button.clicked.connect(self.relabel_selected)
        self.import_button.clicked.connect(self.import_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        buttons = QHBoxLayout()
        for b in (self.delete_button, self.relabel_button, self.import_button, self.export_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.accuracy)
        layout.addWidget(self.practise)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        controller.readings_ready.connect(self._show_readings)
        self.refresh()

    # --- contents ----------------------------------------------------------------------------

    def refresh(self) -> None:
        from model.data.preprocess import strokes_to_input

        drawings = self.store.drawings()
        for lst in self.lists.values():
            lst.clear()
        for d in drawings:
            item = QListWidgetItem(QIcon(thumbnail(strokes_to_input(d.strokes))), "")
            item.setData(PATH_ROLE, str(d.path))
            item.setToolTip(f"{d.path.name}\nlabelled {d.label}")
            self.lists[d.label].addItem(item)
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

    def _show_readings(self, model_name: str, paths: list, labels: np.ndarray, predicted: np.ndarray) -> None:
        by_path = {str(p): int(v) for p, v in zip(paths, predicted, strict=True)}
        shown = 0
        for digit, lst in self.lists.items():
            for i in range(lst.count()):
                item = lst.item(i)
                read = by_path.get(item.data(PATH_ROLE))
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
        return [Path(item.data(PATH_ROLE)) for lst in self.lists.values() for item in lst.selectedItems()]

    # --- actions -----------------------------------------------------------------------------

    def delete_selected(self) -> None:
        paths = self.selected_paths()
        for path in paths:
            self.store.delete(path)
        if paths:
            self._changed()

    def relabel_selected(self, label: int | None = None) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        if label is None or isinstance(label, bool):  # a clicked() signal passes a bool
            label, ok = QInputDialog.getInt(self, "Relabel", f"Digit for the {len(paths)} selected drawing(s):", 0, 0, 9)
            if not ok:
                return
        for path in paths:
            self.store.relabel(path, label)
        self._changed()

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
