"""Teach it your handwriting, through the real window: label by key, the view, Cancel, the model switch."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QProgressBar, QPushButton

from gui.main_window import MainWindow
from model.data.paths import BUNDLED_MODEL
from tests.automation import draw_with_mouse

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))
    yield tmp_path
    from gui.handwriting import USE_PERSONAL_KEY
    from gui.settings import WindowSettings

    WindowSettings().remove(USE_PERSONAL_KEY)  # other tests start with the bundled model


def open_window(qtbot, wait_model=True):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    if wait_model:
        qtbot.waitUntil(lambda: w.model_info is not None, timeout=90_000)
    return w


def menu_action(w, name):
    for action in w.findChildren(type(w.menuBar().actions()[0])):
        if action.objectName() == name:
            return action
    raise AssertionError(f"no action {name}")


def test_a_digit_key_on_the_canvas_stores_the_drawing_with_that_label(qtbot, data_dir, stroke_fixtures):
    w = open_window(qtbot, wait_model=False)
    _, strokes, _ = stroke_fixtures[12]  # a pen-drawn 4
    draw_with_mouse(w.canvas, strokes)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_4)
    files = list((data_dir / "handwriting").glob("*.json"))
    assert len(files) == 1
    doc = json.loads(files[0].read_text())
    assert doc["label"] == 4 and len(doc["strokes"]) == len(strokes)
    assert "4:1" in w.findChild(QLabel, "handwriting_counts").text()
    assert w.canvas.is_empty()  # ready for the next digit ...
    undo = next(b for b in w.findChildren(QPushButton) if b.text() == "Undo")
    qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert not w.canvas.is_empty()  # ... and undo brings the drawing back
    qtbot.mouseClick(next(b for b in w.findChildren(QPushButton) if b.text() == "Clear"), Qt.MouseButton.LeftButton)
    qtbot.keyClick(w.canvas, Qt.Key.Key_7)  # nothing drawn: nothing stored
    assert len(list((data_dir / "handwriting").glob("*.json"))) == 1
    w.close()


def test_my_handwriting_view_groups_relabels_deletes_and_reads(qtbot, data_dir, fixtures):
    w = open_window(qtbot)
    w.handwriting.store.import_folder(fixtures / "strokes")
    menu_action(w, "my_handwriting_action").trigger()
    view = w.findChild(QListWidget, "digits_3").window()
    assert view.findChild(QListWidget, "digits_3").count() == 3
    accuracy = view.findChild(QLabel, "handwriting_accuracy")
    qtbot.waitUntil(lambda: "of 30" in accuracy.text(), timeout=60_000)
    threes = view.findChild(QListWidget, "digits_3")
    threes.item(0).setSelected(True)
    view.relabel_selected(8)
    assert view.findChild(QListWidget, "digits_3").count() == 2
    assert view.findChild(QListWidget, "digits_8").count() == 4
    view.findChild(QListWidget, "digits_8").item(0).setSelected(True)
    qtbot.mouseClick(view.findChild(QPushButton, "delete_drawings"), Qt.MouseButton.LeftButton)
    assert view.findChild(QListWidget, "digits_8").count() == 3
    assert sum(w.handwriting.store.counts().values()) == 29
    assert "29" in w.findChild(QLabel, "handwriting_counts").text()
    w.close()


def test_cancel_leaves_nothing_half_written(qtbot, data_dir, fixtures):
    w = open_window(qtbot)
    w.handwriting.store.import_folder(fixtures / "writer" / "tune")
    menu_action(w, "fine_tune_action").trigger()
    dialog = w.handwriting.tune_dialog
    progress = dialog.findChild(QProgressBar, "tune_progress")
    qtbot.mouseClick(dialog.findChild(QPushButton, "start_tuning"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: progress.value() > 100, timeout=90_000)  # training has started
    qtbot.mouseClick(dialog.findChild(QPushButton, "cancel_tuning"), Qt.MouseButton.LeftButton)
    stage = dialog.findChild(QLabel, "tune_stage")
    qtbot.waitUntil(lambda: "Cancelled" in stage.text(), timeout=60_000)
    models = data_dir / "models"
    assert not models.exists() or list(models.iterdir()) == []
    assert not menu_action(w, "use_personal_action").isEnabled()
    w.close()


def test_the_model_choice_is_remembered_across_starts(qtbot, data_dir):
    (data_dir / "models").mkdir()
    shutil.copy(BUNDLED_MODEL, data_dir / "models" / "personal.keras")  # stands in for a tuned model
    w = open_window(qtbot)
    use = menu_action(w, "use_personal_action")
    assert use.isEnabled() and not use.isChecked()
    use.trigger()
    qtbot.waitUntil(lambda: "personal.keras" in w.windowTitle(), timeout=60_000)
    w.close()

    w2 = open_window(qtbot)
    qtbot.waitUntil(lambda: "personal.keras" in w2.windowTitle(), timeout=60_000)
    assert menu_action(w2, "use_personal_action").isChecked()
    menu_action(w2, "use_personal_action").trigger()  # back to the bundled model, also remembered
    qtbot.waitUntil(lambda: BUNDLED_MODEL.name in w2.windowTitle(), timeout=60_000)
    w2.close()

    w3 = open_window(qtbot)
    assert not menu_action(w3, "use_personal_action").isChecked()
    assert BUNDLED_MODEL.name in w3.windowTitle()
    w3.close()


def test_shift_clicking_a_digits_bar_stores_the_drawing_with_that_label(qtbot, data_dir, stroke_fixtures):
    from gui.panels import PredictionPanel

    if not hasattr(PredictionPanel, "label_requested"):
        pytest.skip("this PredictionPanel has no clickable bars")
    w = open_window(qtbot)
    _, strokes, _ = stroke_fixtures[21]  # a pen-drawn 7
    draw_with_mouse(w.canvas, strokes)
    qtbot.waitUntil(lambda: w.requests.settled, timeout=10_000)  # the bars a user clicks are the answer's
    panel = w.findChild(PredictionPanel)
    viewport = panel.plot.viewport()
    pos = viewport.mapFrom(panel, panel.bar_centre(1).toPoint())
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)  # a plain click explains, stores nothing
    assert not list((data_dir / "handwriting").glob("*.json"))
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=pos)
    files = list((data_dir / "handwriting").glob("*.json"))
    assert [json.loads(f.read_text())["label"] for f in files] == [1]
    w.close()


def test_fine_tune_in_the_dialog_then_switch_and_compare(qtbot, data_dir, fixtures, stroke_fixtures):
    w = open_window(qtbot)
    w.handwriting.store.import_folder(fixtures / "writer" / "tune")
    menu_action(w, "fine_tune_action").trigger()
    dialog = w.handwriting.tune_dialog
    qtbot.mouseClick(dialog.findChild(QPushButton, "start_tuning"), Qt.MouseButton.LeftButton)
    draw_with_mouse(w.canvas, stroke_fixtures[21][1])  # drawing and live predictions go on meanwhile
    qtbot.waitUntil(lambda: w.findChild(QLabel, "predicted_digit").text() == "7", timeout=30_000)
    results = dialog.findChild(QLabel, "tune_results")
    qtbot.waitUntil(lambda: "held-out" in results.text(), timeout=300_000)
    assert "before" in results.text() and "after" in results.text()
    assert (data_dir / "models" / "personal.keras").is_file() and (data_dir / "models" / "personal.json").is_file()
    use = dialog.findChild(QPushButton, "use_personal")
    qtbot.waitUntil(use.isEnabled, timeout=10_000)
    qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "personal.keras" in w.windowTitle(), timeout=60_000)
    assert menu_action(w, "use_personal_action").isChecked()

    menu_action(w, "compare_action").trigger()
    answers = w.findChild(QLabel, "compare_answers")
    qtbot.waitUntil(lambda: "bundled: <b>" in answers.text() and "my model: <b>" in answers.text(), timeout=60_000)
    w.close()


def test_my_handwriting_view_filters_to_the_digits_still_confused(qtbot, data_dir, fixtures):
    """Issue 26: the personal model's card lists the digits it still confuses; the view can show only those."""
    from PySide6.QtWidgets import QCheckBox

    w = open_window(qtbot, wait_model=False)
    w.handwriting.store.import_folder(fixtures / "strokes")
    card = {
        "tuning": {
            "still_confused": [{"digit": 4, "read_as": 9, "count": 1, "of": 3}, {"digit": 7, "read_as": 2, "count": 1, "of": 3}]
        }
    }
    w.handwriting.personal_path.parent.mkdir(parents=True, exist_ok=True)
    w.handwriting.personal_path.with_suffix(".json").write_text(json.dumps(card))
    menu_action(w, "my_handwriting_action").trigger()
    view = w.findChild(QListWidget, "digits_3").window()
    practise = view.findChild(QCheckBox, "practise_filter")
    assert not practise.isHidden() and "(4, 7)" in practise.text()
    practise.setChecked(True)
    assert [d for d in range(10) if not view.findChild(QListWidget, f"digits_{d}").isHidden()] == [4, 7]
    practise.setChecked(False)
    assert all(not view.findChild(QListWidget, f"digits_{d}").isHidden() for d in range(10))
    w.close()
