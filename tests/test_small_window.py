"""The canvas shows when it has the keyboard focus, and the layout holds from 800x560 up."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor

from gui.canvas import FOCUS_RING
from gui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def rect_in(w, widget) -> QRect:
    return QRect(widget.mapTo(w, QPoint(0, 0)), widget.size())


def ring_pixels(canvas) -> int:
    image = canvas.grab().toImage()
    r = canvas.paper_rect().toAlignedRect()
    ring = 0
    for x in range(r.left() + 2, r.right() - 2, 7):
        for y in (r.top() + 1, r.top() + 2, r.bottom() - 1, r.bottom() - 2):
            c = QColor(image.pixel(x, y))
            ring += abs(c.blue() - FOCUS_RING.blue()) < 40 and abs(c.red() - FOCUS_RING.red()) < 40
    return ring


def test_the_canvas_shows_a_focus_ring_only_while_it_has_the_keyboard_focus(qtbot, window):
    canvas = window.canvas
    window.activateWindow()
    canvas.setFocus()
    qtbot.waitUntil(canvas.hasFocus, timeout=2000)
    assert ring_pixels(canvas) > 10
    window.maps_area.zoom_in_button.setFocus()  # anything else takes the focus
    window.maps_area.scroll.setFocus()
    qtbot.waitUntil(lambda: not canvas.hasFocus(), timeout=2000)
    assert ring_pixels(canvas) == 0
    assert "Type 0-9" in canvas.toolTip()


@pytest.mark.parametrize(("width", "height"), [(800, 560), (1024, 576), (1024, 768), (1366, 768)])
def test_the_layout_holds_from_800x560_up(qtbot, window, width, height):
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.width() == width and window.height() == height, timeout=3000)
    for _ in range(5):
        qtbot.wait(20)
    canvas, preview = window.canvas, window.input_view
    assert preview.width() <= canvas.width() and preview.height() <= canvas.height()
    assert canvas.width() >= 200 and canvas.height() >= 200
    parts = {
        "canvas": canvas,
        "undo": window.undo_button,
        "redo": window.redo_button,
        "clear": window.clear_button,
        "preview": preview,
        "answer": window.prediction,
        "maps": window.maps_area,
    }
    rects = {name: rect_in(window, widget) for name, widget in parts.items()}
    for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
        assert not ra.intersects(rb), (width, height, a, ra, b, rb)
    inside = window.centralWidget().geometry()
    for name, r in rects.items():
        assert inside.contains(r), (width, height, name, r, inside)
    for button in (window.undo_button, window.redo_button, window.clear_button):
        assert button.width() >= button.minimumSizeHint().width()  # its text is not cut
