"""Help ▸ About: the app, the active model, every one of its layers, and its card, as plain text.

A model card is a JSON file that sits next to a model and may come from anyone: it is shown as
text (never rendered as HTML), and every field is checked before use, so a broken card shows less,
never an error.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from .worker import ModelInfo

INTRO = "Digit Recognizer\n\nDraw a digit and watch a convolutional neural network recognise it, layer by layer."


def _accuracy(card: dict, key: str) -> float | None:
    entry = card.get("evaluation", {})
    entry = entry.get(key) if isinstance(entry, dict) else None
    value = entry.get("accuracy") if isinstance(entry, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def summary(info: ModelInfo | None) -> str:
    """Plain-text lines about the active model (the card's figures only where they are sound)."""
    if info is None:
        return "The model is still loading."
    lines = [f"Model: {info.path}" + (" (bundled)" if info.bundled else "")]
    total = sum(row.params for row in info.model_layers)
    if total:
        lines.append(f"Parameters: {total:,}")
    lines.append(f"Classes: {', '.join(info.class_names)}")
    card = info.card if isinstance(info.card, dict) else {}
    for key, text in (("mnist_test", "MNIST test accuracy"), ("pendigits_heldout_writers", "Pen-drawn digits of unseen writers")):
        accuracy = _accuracy(card, key)
        if accuracy is not None and 0 <= accuracy <= 1:
            lines.append(f"{text}: {accuracy * 100:.2f}%")
    lines.extend(info.notes)
    return "\n".join(lines)


def card_text(info: ModelInfo | None) -> str:
    if info is None or info.card is None:
        return "This model has no card (a .json file with the same name next to it)."
    try:
        return json.dumps(info.card, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(info.card)[:20_000]


class AboutDialog(QDialog):
    """The app, the model, a table of every layer and the model card, all plain text."""

    def __init__(self, info: ModelInfo | None, parent=None):
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About Digit Recognizer")
        layout = QVBoxLayout(self)
        try:
            text = INTRO + "\n\n" + summary(info)
        except Exception as exc:  # a card or model we did not foresee: say so, show the rest
            text = INTRO + f"\n\n(Could not read the model's details: {exc})"
        self.summary_label = QLabel(text, objectName="about_summary")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)
        rows = info.model_layers if info is not None else []
        self.layer_table = QTableWidget(len(rows), 4, objectName="about_layers")
        self.layer_table.setHorizontalHeaderLabels(["layer", "type", "output", "parameters"])
        self.layer_table.verticalHeader().setVisible(False)
        self.layer_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, value in enumerate((row.name, row.kind, row.shape, f"{row.params:,}")):
                item = QTableWidgetItem(value)
                if c == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.layer_table.setItem(r, c, item)
        self.layer_table.resizeColumnsToContents()
        layout.addWidget(self.layer_table, 2)
        layout.addWidget(QLabel("Model card:"))
        self.card_view = QPlainTextEdit(card_text(info), objectName="about_card")
        self.card_view.setReadOnly(True)
        layout.addWidget(self.card_view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.resize(560, 620)
