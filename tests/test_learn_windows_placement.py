"""Learn windows open beside the canvas, never over it, and close with Close, Esc and Ctrl+W."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QPushButton

from gui.learn.placement import MIN_HEIGHT, MIN_WIDTH, free_area_beside
from gui.main_window import MainWindow

OPENERS = ("open_playground", "open_filters", "open_architecture", "open_saliency")


def canvas_on_screen(w) -> QRect:
    return QRect(w.canvas.mapToGlobal(QPoint(0, 0)), w.canvas.size())


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    yield w
    w.close()


def show_at(qtbot, w, x, y, width, height):
    w.setGeometry(x, y, width, height)
    w.show()
    qtbot.waitExposed(w)
    w.move(x, y)


def test_free_area_prefers_the_right_then_below_then_left_then_the_maps_side(qtbot, window):
    area = QRect(0, 0, 1600, 900)
    show_at(qtbot, window, 0, 0, 900, 600)
    spot = free_area_beside(window, (1200, 800), area)
    assert spot.left() > window.frameGeometry().right() and spot.width() >= MIN_WIDTH  # right
    spot = free_area_beside(window, (1200, 800), QRect(0, 0, 1000, 1000))
    assert spot.top() > window.frameGeometry().bottom()  # below
    spot = free_area_beside(window, (1200, 800), QRect(0, 0, 900, 600))  # the window fills the screen
    assert spot.left() >= canvas_on_screen(window).right() and spot.right() <= 899


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("where", ["roomy", "full"])
def test_each_learn_window_opens_beside_the_canvas_and_closes(qtbot, window, opener, where):
    screen = window.screen().availableGeometry()
    if where == "roomy":  # room below the main window (the offscreen screen is too narrow for beside it)
        show_at(qtbot, window, screen.left(), screen.top(), screen.width(), max(screen.height() - MIN_HEIGHT - 40, 200))
    else:  # the main window fills the screen
        show_at(qtbot, window, screen.left(), screen.top(), screen.width(), screen.height())
    view = getattr(window.teaching, opener)()
    qtbot.waitExposed(view)
    outer = view.frameGeometry()
    canvas = canvas_on_screen(window)
    assert screen.contains(outer), (opener, outer, screen)
    if view.minimumWidth() < screen.right() - canvas.right() - 16:  # it fits beside the canvas
        assert not outer.intersects(canvas), (opener, outer, canvas)
    else:  # too wide for this screen: pushed against the right edge, leaving as much canvas as it can
        assert outer.right() >= screen.right() - 2
    if where == "roomy" and window.frameGeometry().bottom() + MIN_HEIGHT < screen.bottom():
        assert outer.top() > window.frameGeometry().bottom()
    # Close button
    close = view.findChild(QPushButton, "close_button")
    assert close is not None and close.isVisible()
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=2000)
    # Esc and Ctrl+W, with the view the active window
    for key, modifier in (
        (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
    ):
        getattr(window.teaching, opener)()
        view.activateWindow()
        qtbot.waitUntil(view.isActiveWindow, timeout=2000)
        qtbot.keyClick(view, key, modifier)
        qtbot.waitUntil(lambda: not view.isVisible(), timeout=2000)
    assert len(view.findChildren(QPushButton, "close_button")) == 1  # opened three times, one button
