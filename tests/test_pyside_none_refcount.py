"""Regression guard: PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call.

With that bug ``sys.getrefcount(None)`` falls by one per ``QPainter.drawLine``/``setPen``/
``QImage.fill`` call and the interpreter aborts with "none_dealloc" after a few thousand of them:
a drawing app would crash within minutes. pyproject.toml pins PySide6 below 6.12; this test fails
if an upgrade brings the bug back.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PAINT_MANY_STROKES = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPen

    app = QGuiApplication([])
    image = QImage(280, 280, QImage.Format.Format_ARGB32_Premultiplied)
    before = sys.getrefcount(None)
    for stroke in range(300):
        image.fill(QColor("black"))
        painter = QPainter(image)
        pen = QPen(QColor("white"), 18, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        for i in range(40):
            painter.setPen(pen)
            painter.drawLine(QPointF(i, stroke % 280), QPointF(i + 5, (stroke + i) % 280))
        painter.end()
    after = sys.getrefcount(None)
    print(before, after)
    # 300 * (1 fill + 40 setPen + 40 drawLine + ...) = 24,000+ void calls.
    assert after >= before - 100, f"None lost {before - after} references over ~24,000 void calls"
    """
)


def test_thousands_of_void_qt_calls_do_not_leak_none_references():
    # A subprocess, so a "none_dealloc" abort fails this test instead of killing the test run.
    proc = subprocess.run(
        [sys.executable, "-c", PAINT_MANY_STROKES],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"


def test_installed_pyside6_is_below_the_broken_release():
    import PySide6

    major, minor = (int(v) for v in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__}: 6.12 leaks None references (see module docstring)"
