"""The "Model input" dialog, used as a user would: it shows what was detected and writes the card."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialogButtonBox, QLabel, QLineEdit

from gui.model_input_dialog import ModelInputDialog
from model.data.paths import BUNDLED_MODEL
from model.nets.card import read_card


def open_dialog(qtbot, path, num_classes=3, **notes):
    dialog = ModelInputDialog(path, num_classes, **notes)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def save_button(dialog):
    return dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)


def test_shows_what_was_detected_as_plain_text(qtbot, tmp_path):
    note = "Input 28x28 pixels: the drawing as is; values 0 (black) to 255 (white) (<b>Rescaling</b>)."
    dialog = open_dialog(qtbot, tmp_path / "m.keras", input_note=note, output_note="The model outputs raw scores.")
    shown = dialog.findChild(QLabel, "detected")
    assert note in shown.text() and "raw scores" in shown.text()
    assert shown.textFormat() == Qt.TextFormat.PlainText


def test_user_settings_are_written_to_the_card_keeping_other_keys(qtbot, tmp_path):
    model = tmp_path / "letters.keras"
    model.with_suffix(".json").write_text(json.dumps({"trained_on": "my letters"}))
    dialog = open_dialog(qtbot, model)
    saved = []
    dialog.card_saved.connect(saved.append)

    ranges = dialog.findChild(QComboBox, "input_range")
    ranges.setFocus()
    qtbot.keyClick(ranges, Qt.Key.Key_Down)
    qtbot.keyClick(ranges, Qt.Key.Key_Down)  # "0 to 255 (raw pixels)"
    assert "255" in ranges.currentText()
    invert = dialog.findChild(QCheckBox, "invert")
    qtbot.mouseClick(invert, Qt.MouseButton.LeftButton, pos=QPoint(6, invert.height() // 2))
    assert invert.isChecked()
    names = dialog.findChild(QLineEdit, "class_names")
    qtbot.keyClicks(names, "a, b")
    assert not save_button(dialog).isEnabled()
    assert "3 outputs; 2 names" in dialog.findChild(QLabel, "error").text()
    qtbot.keyClicks(names, ", c")
    assert save_button(dialog).isEnabled()
    qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)

    assert saved == [model.with_suffix(".json")] and not dialog.isVisible()
    card = read_card(model)
    assert card.input_range == (0.0, 255.0) and card.invert is True and card.class_names == ("a", "b", "c")
    assert card.raw["trained_on"] == "my letters"


def test_reopening_shows_the_card_and_detected_clears_it(qtbot, tmp_path):
    model = tmp_path / "m.keras"
    model.with_suffix(".json").write_text(json.dumps({"input_range": [-1, 1], "class_names": ["x", "y", "z"], "invert": True}))
    dialog = open_dialog(qtbot, model)
    ranges = dialog.findChild(QComboBox, "input_range")
    assert ranges.currentText() == "-1 to 1"
    assert dialog.findChild(QLineEdit, "class_names").text() == "x, y, z"
    ranges.setFocus()
    qtbot.keyClick(ranges, Qt.Key.Key_Home)
    names = dialog.findChild(QLineEdit, "class_names")
    names.selectAll()
    qtbot.keyClick(names, Qt.Key.Key_Delete)
    invert = dialog.findChild(QCheckBox, "invert")
    invert.setFocus()
    qtbot.keyClick(invert, Qt.Key.Key_Space)
    qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    assert json.loads(model.with_suffix(".json").read_text()) == {}


def test_a_broken_card_is_named_and_the_dialog_still_works(qtbot, tmp_path):
    model = tmp_path / "m.keras"
    model.with_suffix(".json").write_text('{"invert": "sometimes"}')
    dialog = open_dialog(qtbot, model)
    assert "invert 'sometimes'" in dialog.findChild(QLabel, "card_problems").text()
    qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    assert read_card(model).problems == ()


@pytest.mark.skipif(not BUNDLED_MODEL.exists(), reason="no bundled model")
def test_the_bundled_models_card_is_read_only(qtbot):
    before = BUNDLED_MODEL.with_suffix(".json").read_bytes()
    dialog = open_dialog(qtbot, BUNDLED_MODEL, num_classes=10)
    assert not save_button(dialog).isEnabled()
    assert not dialog.findChild(QLineEdit, "class_names").isEnabled()
    assert BUNDLED_MODEL.with_suffix(".json").read_bytes() == before
