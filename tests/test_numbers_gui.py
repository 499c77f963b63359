"""Writing a number on the canvas: one box and answer per digit, the whole number as the answer, click a digit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from gui.main_window import MainWindow
from tests.automation import draw_with_mouse

pytestmark = pytest.mark.slow


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))  # labelled drawings go here
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=90_000)
    yield w
    w.close()


def number_strokes(stroke_fixtures, digits: str, gap: float = 0.25) -> list[np.ndarray]:
    """Pen-drawn fixture digits written left to right, each one unit tall, ``gap`` units apart."""
    first = {}
    for _path, strokes, label in stroke_fixtures:
        first.setdefault(str(label), strokes)
    out, x = [], 0.0
    for d in digits:
        pts = np.concatenate(first[d])
        lo, hi = pts.min(0), pts.max(0)
        scale = 1.0 / (hi[1] - lo[1])
        out += [(s - lo) * scale + [x, 0.0] for s in first[d]]
        x += (hi[0] - lo[0]) * scale + gap
    return out


def answer(w) -> str:
    return w.findChild(QLabel, "predicted_digit").text()


def test_a_written_number_reads_as_a_number_and_a_click_picks_a_digit(qtbot, window, stroke_fixtures):
    draw_with_mouse(window.canvas, number_strokes(stroke_fixtures, "2026"))
    qtbot.waitUntil(lambda: window.requests.settled, timeout=20_000)
    assert answer(window) == "2026"
    assert len(window.canvas.digit_boxes()) == 4
    assert "sure of all 4 digits" in window.findChild(QLabel, "confidence").text()
    result = window.last_result
    assert result.selected == 3  # the digit written last is the one shown while writing

    strokes_before = window.canvas.stroke_count()
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=window.canvas.digit_rect(1).center().toPoint())
    assert window.canvas.stroke_count() == strokes_before  # a click on a box draws nothing
    assert window.last_result.selected == 1
    np.testing.assert_array_equal(window.last_result.input, result.digits[1].input)
    assert window.last_result.activations  # the maps show the clicked digit
    assert answer(window) == "2026"

    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: answer(window) == "", timeout=5_000)
    assert window.canvas.digit_boxes() == []


def test_one_digit_is_shown_as_today(qtbot, window, stroke_fixtures):
    from model.data.preprocess import strokes_to_input

    strokes = number_strokes(stroke_fixtures, "4")
    draw_with_mouse(window.canvas, strokes)
    qtbot.waitUntil(lambda: window.requests.settled, timeout=20_000)
    assert answer(window) == "4"
    assert window.canvas.digit_boxes() == []
    assert window.last_result.digits == []
    np.testing.assert_array_equal(window.last_result.input, strokes_to_input(window.canvas.strokes()))


def test_typing_a_number_and_enter_stores_its_digits_labelled(qtbot, window, stroke_fixtures):
    draw_with_mouse(window.canvas, number_strokes(stroke_fixtures, "2026"))
    qtbot.waitUntil(lambda: window.requests.settled, timeout=20_000)
    assert answer(window) == "2026"
    window.canvas.setFocus()
    for key in (Qt.Key.Key_2, Qt.Key.Key_0, Qt.Key.Key_2, Qt.Key.Key_7, Qt.Key.Key_Backspace, Qt.Key.Key_6):
        qtbot.keyClick(window.canvas, key)
    assert window.canvas.stroke_count() > 0  # nothing stored while the number is typed
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.canvas.is_empty()
    stored = window.handwriting.store.drawings()
    assert sorted(d.label for d in stored) == [0, 2, 2, 6]
    assert sum(len(d.strokes) for d in stored) == len(number_strokes(stroke_fixtures, "2026"))
