"""Drive the real canvas with synthetic mouse and touch input (tests, benchmarks, screenshots).

Strokes in any units are scaled into the canvas's paper the way a person would draw them (the
digit filling ~70% of the paper) and replayed as press / move / release events through Qt, so
everything downstream (event handling, strokes-to-input, the worker, the panels) runs for real.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest


def to_canvas_points(canvas, strokes: Sequence[np.ndarray], fill: float = 0.7) -> list[list[QPoint]]:
    """Map strokes (any units, y down) onto the canvas's paper, centred, longer side = ``fill``."""
    pts = np.concatenate([np.asarray(s, float)[:, :2] for s in strokes])
    lo, hi = pts.min(0), pts.max(0)
    extent = max(float((hi - lo).max()), 1e-9)
    centre = (lo + hi) / 2
    rect = canvas.paper_rect()
    out = []
    for s in strokes:
        q = (np.asarray(s, float)[:, :2] - centre) / extent * fill + 0.5
        out.append([QPointF(rect.x() + x * rect.width(), rect.y() + y * rect.height()).toPoint() for x, y in q])
    return out


def draw_with_mouse(
    canvas, strokes: Sequence[np.ndarray], after_move: Callable[[], None] | None = None, release: bool = True
) -> None:
    """Replay strokes as left-button drags; ``after_move`` runs after each move (e.g. processEvents)."""
    for points in to_canvas_points(canvas, strokes):
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
        for p in points[1:]:
            QTest.mouseMove(canvas, p)
            if after_move is not None:
                after_move()
        if release:
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


_touch_device = None


def touch_device():
    global _touch_device
    if _touch_device is None:
        _touch_device = QTest.createTouchDevice()
    return _touch_device


def draw_with_touch(canvas, strokes: Sequence[np.ndarray], after_move: Callable[[], None] | None = None) -> None:
    """Replay strokes as one-finger touch sequences (press, moves, release)."""
    device = touch_device()
    for points in to_canvas_points(canvas, strokes):
        QTest.touchEvent(canvas, device).press(0, points[0]).commit()
        for p in points[1:]:
            QTest.touchEvent(canvas, device).move(0, p).commit()
            if after_move is not None:
                after_move()
        QTest.touchEvent(canvas, device).release(0, points[-1]).commit()
