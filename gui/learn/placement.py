"""Learn windows open beside the canvas, never over it, and close the way windows close.

The point of a Learn view is to watch it change while you draw, so the first time one opens it
goes where the canvas stays in view: to the right of the main window, else below it, else to its
left, within the screen's free area; on a screen the main window fills, it goes over the maps'
side of the main window, right of the canvas column. Each gets a Close button, Ctrl+W (and the
platform's Close key) and Esc.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QBoxLayout, QDialog, QHBoxLayout, QPushButton, QWidget

MIN_WIDTH = 420  # narrower than this beside the window and the view is not worth reading
MIN_HEIGHT = 300
PLACED = "placed_beside_canvas"  # a dynamic property: placed once, then wherever the user moves it


def free_area_beside(window: QWidget, desired: tuple[int, int], area: QRect) -> QRect:
    """Where a window of ``desired`` (width, height) goes so that ``window``'s canvas stays visible.

    All in global coordinates, frames included; ``area`` is the screen's available geometry.
    """
    frame = window.frameGeometry()
    want_w, want_h = desired
    right, below, left = area.right() - frame.right(), area.bottom() - frame.bottom(), frame.left() - area.left()
    if right >= MIN_WIDTH:
        return QRect(frame.right() + 1, max(frame.top(), area.top()), min(want_w, right), min(want_h, area.height()))
    if below >= MIN_HEIGHT:
        return QRect(max(frame.left(), area.left()), frame.bottom() + 1, min(want_w, area.width()), min(want_h, below))
    if left >= MIN_WIDTH:
        w = min(want_w, left)
        return QRect(frame.left() - w, max(frame.top(), area.top()), w, min(want_h, area.height()))
    # The window fills the screen: cover its maps' side, right of the canvas column (a view that
    # cannot be that narrow is pushed left by place_beside_canvas, over the canvas' edge).
    x = max(canvas_column_right(window) + 8, area.left())
    w = max(min(want_w, area.right() - x + 1), 1)
    y = max(frame.top(), area.top())
    return QRect(x, y, w, min(want_h, area.bottom() - y + 1))


def canvas_column_right(window: QWidget) -> int:
    """The global x of the right edge of the canvas and everything under it (answer, preview)."""
    splitter = getattr(window, "splitter", None)
    column = splitter.widget(0) if splitter is not None and splitter.count() else getattr(window, "canvas", None)
    if column is None:
        return window.frameGeometry().left()
    return column.mapToGlobal(QPoint(column.width(), 0)).x()


def place_beside_canvas(widget: QWidget, window: QWidget) -> None:
    """Move and size the top-level ``widget`` into :func:`free_area_beside` ``window``."""
    screen = window.screen()
    if screen is None:
        return
    area = screen.availableGeometry()
    # The frame the window manager adds, guessed from the main window's (none before it is shown).
    left = window.geometry().left() - window.frameGeometry().left()
    top = window.geometry().top() - window.frameGeometry().top()
    spot = free_area_beside(window, (widget.width() + 2 * left, widget.height() + top + left), area)
    smallest = widget.minimumSizeHint().expandedTo(widget.minimumSize())  # its layout's minimum, before it is shown
    inner_w = max(spot.width() - 2 * left, smallest.width())
    inner_h = max(spot.height() - top - left, smallest.height())
    widget.resize(inner_w, inner_h)
    # A view wider than the room left of it stays on screen (its Close button too), over the canvas' edge.
    x = max(min(spot.left(), area.right() + 1 - inner_w - 2 * left), area.left())
    y = max(min(spot.top(), area.bottom() + 1 - inner_h - top - left), area.top())
    widget.move(x, y)  # move() places the frame's corner


class _EscapeCloses(QObject):
    """Esc that no control inside used (an open cell editor takes it first) closes the window."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape and watched.isWindow():
            watched.close()
            return True
        return False


def add_close_controls(widget: QWidget) -> None:
    """A Close button at the bottom right, Ctrl+W / the platform's Close key, and Esc (dialogs have it)."""
    if widget.findChild(QPushButton, "close_button") is not None:
        return
    ctrl_w = QKeySequence("Ctrl+W")
    keys = [ctrl_w] + [k for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Close) if k != ctrl_w]
    for key in keys:
        QShortcut(key, widget, widget.close)
    if not isinstance(widget, QDialog):  # a QDialog closes on Esc by itself
        widget.installEventFilter(_EscapeCloses(widget))
    button = QPushButton("Close", widget, objectName="close_button")
    button.setToolTip("Close this window (Esc, Ctrl+W)")
    button.setAutoDefault(False)
    button.clicked.connect(widget.close)
    layout = widget.layout()
    if isinstance(layout, QBoxLayout):
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        layout.addLayout(row)


def present_beside(widget: QWidget, window: QWidget | None) -> None:
    """Show ``widget`` (a Learn window); the first time, with close controls and beside ``window``'s canvas."""
    if not widget.property(PLACED):
        widget.setProperty(PLACED, True)
        add_close_controls(widget)
        if window is not None:
            place_beside_canvas(widget, window)
    widget.show()
    widget.raise_()  # not activated: the canvas keeps the keyboard focus, typed digits still store
