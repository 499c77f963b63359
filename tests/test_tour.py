"""The first-run tour: each bubble beside the part it talks about, the maps' empty grid, storing a digit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtWidgets import QLabel, QPushButton

from gui.hints import DONE_KEY, place_beside
from gui.main_window import MainWindow
from model.data.paths import APPLICATION, ORGANIZATION


@pytest.fixture
def new_user_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))  # stored digits go here, not to the user's folder
    QSettings(ORGANIZATION, APPLICATION).remove(DONE_KEY)
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 760)
    w.show()
    qtbot.waitExposed(w)
    yield w
    QSettings(ORGANIZATION, APPLICATION).setValue(DONE_KEY, True)
    w.close()


def rect_of(w, widget) -> QRect:
    return QRect(widget.mapTo(w, QPoint(0, 0)), widget.size())


def bubble_rect(w) -> QRect:
    bubble = w.hints
    return QRect(bubble.pos(), bubble.size())


def test_place_beside_prefers_the_first_side_that_fits_and_stays_in_bounds():
    bounds = QRect(0, 0, 1000, 700)
    target = QRect(10, 40, 400, 400)
    point, side = place_beside(target, QSize(300, 120), bounds, ("right", "below"))
    assert side == "right" and point.x() >= target.right() and QRect(point, QSize(300, 120)).intersected(target).isEmpty()
    point, side = place_beside(QRect(600, 40, 390, 600), QSize(300, 120), bounds, ("right", "left"))
    assert side == "left" and point.x() + 300 <= 600
    point, side = place_beside(QRect(0, 0, 1000, 700), QSize(300, 120), bounds, (), inside=True)
    assert side == "inside" and bounds.contains(QRect(point, QSize(300, 120)))


def test_each_bubble_sits_beside_what_it_describes(qtbot, new_user_window):
    w = new_user_window
    text = w.findChild(QLabel, "hint_text")
    next_button = w.findChild(QPushButton, "hint_next")
    seen = []
    for _ in range(len(w.hints.hints)):
        qtbot.waitUntil(text.isVisible, timeout=2000)
        seen.append(text.text())
        target = w.hints.outline.geometry().adjusted(3, 3, -3, -3)
        assert w.hints.outline.isVisible()
        if w.hints.side != "inside":
            # beside, not over, the part it talks about, and next to it (within 40 px)
            assert not bubble_rect(w).intersects(target)
            assert bubble_rect(w).adjusted(-40, -40, 40, 40).intersects(target)
        qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    canvas, preview, answer, maps = (rect_of(w, x) for x in (w.canvas, w.input_view, w.prediction, w.maps_area))
    assert "Draw" in seen[0] and "28×28" in seen[1]
    assert "not sure" in seen[2] and "not a digit" in seen[2]
    assert "feature map" in seen[3] and "Type a digit" in seen[4] and "Learn" in seen[5]
    assert not w.hints.isVisible() and not w.hints.outline.isVisible()
    assert canvas.isValid() and preview.isValid() and answer.isValid() and maps.isValid()


def test_first_bubble_points_at_the_canvas_and_leaves_it_free(qtbot, new_user_window):
    w = new_user_window
    paper = w.canvas.paper_rect().toAlignedRect()
    canvas = QRect(w.canvas.mapTo(w, paper.topLeft()), paper.size())  # the black square
    assert w.hints.outline.geometry().adjusted(3, 3, -3, -3) == canvas
    assert not bubble_rect(w).intersects(canvas)
    preview_hint = w.hints.hints[1].anchor()
    assert preview_hint is w.input_view


def test_before_the_first_drawing_the_maps_show_a_faint_grid_of_empty_maps(qtbot, new_user_window):
    w = new_user_window
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60_000)
    panel = w.feature_maps
    assert panel.layers
    for info in panel.layers:
        image = panel._items[info.name].image
        values = image[np.isfinite(image)]
        assert values.size and 0 < values.min() == values.max() < 0.3  # faint, even tiles
        assert np.isnan(image).any() or info.shape[-1] == 1  # with gaps between the maps: a grid


@pytest.mark.slow
def test_storing_a_typed_digit_moves_the_tour_past_its_hint(qtbot, new_user_window, stroke_fixtures):
    w = new_user_window
    w.hints.index = 4
    w.hints._show_current()
    _, strokes, label = stroke_fixtures[0]
    w.canvas.set_strokes(strokes)
    w.canvas.setFocus()
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60_000)
    with qtbot.waitSignal(w.handwriting.stored, timeout=10_000):
        qtbot.keyClick(w.canvas, getattr(Qt.Key, f"Key_{label}"))
    assert w.hints.index == 5 and "Learn" in w.findChild(QLabel, "hint_text").text()


def test_hiding_the_bubble_hides_its_outline(qtbot, new_user_window):
    w = new_user_window
    assert w.hints.outline.isVisible()
    w.hints.hide()  # as bench/screenshot.py does
    assert not w.hints.outline.isVisible()
