"""The "Model input" dialog: what the app detected about a model, and the user's corrections.

A model someone brings may have been trained on raw 0-255 pixels, on dark ink, or on classes that
are not digits. The app detects what it can (``model.inference.Predictor``: ``input_note``,
``output_note``); this dialog shows that and lets the user set the three things a card can say
(``model.card``: input range, invert, class names). Saving writes the card next to the model,
atomically, keeping every other key; the window then reloads the model so the card takes effect.

No Keras here: the dialog gets plain text and numbers, and reads and writes the card itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from model.data.paths import is_bundled
from model.nets.card import card_path, read_card, write_card_fields

# (shown text, card value); None: no card key, the app decides from the model.
RANGES: tuple[tuple[str, tuple[float, float] | None], ...] = (
    ("Detected by the app", None),
    ("0 to 1", (0.0, 1.0)),
    ("0 to 255 (raw pixels)", (0.0, 255.0)),
    ("-1 to 1", (-1.0, 1.0)),
)


def _plain_label(text: str, name: str) -> QLabel:
    """A word-wrapped label that never interprets its text as HTML (notes come from model files)."""
    label = QLabel(text)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ModelInputDialog(QDialog):
    """Shows what was detected about ``model_path`` and writes the user's settings to its card.

    ``num_classes``: the model's outputs (class names must match it). ``input_note`` and
    ``output_note``: the Predictor's sentences. ``card_saved`` (the card's path) is emitted after
    a successful save; the caller reloads the model. The bundled model's card is read-only.
    """

    card_saved = Signal(Path)

    def __init__(
        self, model_path: str | Path, num_classes: int, input_note: str = "", output_note: str = "", parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Model input")
        self.model_path = Path(model_path)
        self.num_classes = int(num_classes)
        self._custom_range: tuple[float, float] | None = None
        card = read_card(self.model_path)

        layout = QVBoxLayout(self)
        # Wrapped labels get their height from the width: give them a readable one from the start.
        self.setMinimumWidth(520)
        layout.addWidget(_plain_label(f"Model: {self.model_path.name}", "model_name"))
        detected = "\n".join(t for t in (input_note, output_note) if t) or "Nothing detected yet (the model is loading)."
        layout.addWidget(_plain_label(detected, "detected"))
        if card.problems:
            layout.addWidget(_plain_label("Ignored in the card: " + "; ".join(card.problems) + ".", "card_problems"))

        form = QFormLayout()
        self.range_box = QComboBox(objectName="input_range")
        for text, _ in RANGES:
            self.range_box.addItem(text)
        known = [value for _, value in RANGES]
        if card.input_range in known:
            self.range_box.setCurrentIndex(known.index(card.input_range))
        elif card.input_range is not None:  # a custom range from the file: keep it selectable
            self.range_box.addItem(f"{card.input_range[0]:g} to {card.input_range[1]:g} (from the card)")
            self._custom_range = card.input_range
            self.range_box.setCurrentIndex(self.range_box.count() - 1)
        self.range_box.setToolTip("The pixel values the model was trained on for black and white.")
        form.addRow("Pixel values:", self.range_box)

        self.invert_box = QCheckBox("Dark ink on a light background (invert the drawing)", objectName="invert")
        self.invert_box.setChecked(bool(card.invert))
        form.addRow("", self.invert_box)

        self.names_edit = QLineEdit(objectName="class_names")
        self.names_edit.setPlaceholderText(
            ", ".join(str(i) for i in range(min(self.num_classes, 10))) + (", ..." if self.num_classes > 10 else "")
        )
        if card.class_names is not None:
            self.names_edit.setText(", ".join(card.class_names))
        self.names_edit.setToolTip(
            f"{self.num_classes} names, separated by commas, in output order. Empty: 0 to {self.num_classes - 1}."
        )
        form.addRow("Class names:", self.names_edit)
        layout.addLayout(form)

        self.error_label = _plain_label("", "error")
        self.error_label.setStyleSheet("color: #b00020;")
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.names_edit.textChanged.connect(self._check)
        if is_bundled(self.model_path):
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            self.error_label.setStyleSheet("")
            self.error_label.setText("This is the model that ships with the app; its card cannot be changed here.")
            for widget in (self.range_box, self.invert_box, self.names_edit):
                widget.setEnabled(False)
        self._check()

    # --- reading the form ----------------------------------------------------------------------

    def input_range(self) -> tuple[float, float] | None:
        index = self.range_box.currentIndex()
        return RANGES[index][1] if index < len(RANGES) else self._custom_range

    def class_names(self) -> list[str] | None:
        """The typed names, or ``None`` for the default ``0..N-1``."""
        text = self.names_edit.text().strip()
        return [name.strip() for name in text.split(",")] if text else None

    def _problem(self) -> str:
        names = self.class_names()
        if names is None:
            return ""
        if len(names) != self.num_classes:
            return f"The model has {self.num_classes} outputs; {len(names)} names given."
        if any(not name for name in names) or len(set(names)) != len(names):
            return "Every class needs its own, non-empty name."
        return ""

    def _check(self) -> None:
        if is_bundled(self.model_path):
            return
        problem = self._problem()
        self.error_label.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problem)

    # --- saving --------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the card (atomically) and close; on failure say why and stay open."""
        if self._problem() or is_bundled(self.model_path):
            return
        try:
            path = write_card_fields(
                self.model_path,
                input_range=self.input_range(),
                class_names=self.class_names(),
                invert=self.invert_box.isChecked() or None,
            )
        except (OSError, ValueError) as exc:
            self.error_label.setText(f"Could not write {card_path(self.model_path)}: {exc}")
            return
        self.card_saved.emit(path)
        self.accept()
