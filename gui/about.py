"""Help ▸ About: the version, the active model (name, parameters, accuracy), its layers, and its card one click away.

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
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from model.nets.card import parse_card

from .worker import ModelInfo

INTRO = "Digit Recognizer\n\nDraw a digit and watch a convolutional neural network recognise it, layer by layer."


def summary(info: ModelInfo | None) -> str:
    """Plain-text lines: the app's version, then the active model's name, parameters and accuracies.

    The figures come from the model card (``model.nets.card`` owns how it is read); a card that
    lacks one, or holds nonsense, shows less, never an error.
    """
    from model.cli import version

    lines = [f"Version {version()}"]
    if info is None:
        return "\n".join([*lines, "The model is still loading."])
    card = parse_card(info.card if isinstance(info.card, dict) else {})
    lines.append(f"Model: {card.name or info.name}" + (" (bundled with the app)" if info.bundled else ""))
    lines.append(f"File: {info.path}")
    total = card.total_params if card.total_params is not None else sum(row.params for row in info.model_layers)
    if total:
        lines.append(f"Parameters: {total:,}")
    for label, accuracy in card.accuracies().items():
        if accuracy is not None:
            lines.append(f"Accuracy on the {label}: {accuracy * 100:.2f}%")
    lines.append(f"Classes: {', '.join(info.class_names)}")
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
        # The card is raw JSON from whoever made the model: one click away, not in the way.
        self.card_view = QPlainTextEdit(card_text(info), objectName="about_card")
        self.card_view.setReadOnly(True)
        self.card_view.hide()
        self.card_button = QPushButton("Show card", objectName="about_show_card")
        self.card_button.setCheckable(True)
        self.card_button.setToolTip("The model card: the JSON file next to the model that says how it was made and measured")
        self.card_button.toggled.connect(self._show_card)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.card_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.card_view, 1)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def _show_card(self, shown: bool) -> None:
        self.card_view.setVisible(shown)
        self.card_button.setText("Hide card" if shown else "Show card")
