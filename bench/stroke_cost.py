"""What one mouse move costs the GUI thread while a long stroke is drawn, by stroke length.

    uv run python bench/stroke_cost.py [--points 500 2000 8000] [--canvas FILE] [--json]

Drives a real ``DrawingCanvas`` (600x600, offscreen unless QT_QPA_PLATFORM says otherwise) with
one long left-button drag (a spiral, one mouse move per point) and times, for each move, the
event handling, the window's ``strokes()`` read on ``strokes_changed`` and the repaint that
follows. Reports the median cost of the 50 moves that end at each length in ``--points``.
``--canvas`` loads the canvas from another file (e.g. an older version, via
``git show REV:gui/canvas.py > /tmp/old_canvas.py``) to compare both at the same time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_canvas_class(path: str | None):
    if path is None:
        from gui.canvas import DrawingCanvas

        return DrawingCanvas
    spec = importlib.util.spec_from_file_location("canvas_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DrawingCanvas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--canvas", help="a canvas.py to measure instead of gui/canvas.py")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import math

    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    canvas = load_canvas_class(args.canvas)()
    canvas.resize(600, 600)
    canvas.show()
    canvas.strokes_changed.connect(lambda: canvas.strokes())  # what the window does on every move
    app.processEvents()

    last = max(args.points)
    marks = {n: [] for n in args.points}
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    for i in range(1, last + 1):
        # A tight spiral: every move is a new, distinct pixel, so every move adds a point.
        angle = i * 0.35
        radius = 20 + 250 * i / last
        p = QPoint(int(300 + radius * math.cos(angle)), int(300 + radius * math.sin(angle)))
        t0 = time.perf_counter()
        QTest.mouseMove(canvas, p)
        app.processEvents()  # the repaint the move scheduled
        cost = time.perf_counter() - t0
        for n, costs in marks.items():
            if n - 50 < i <= n:
                costs.append(cost)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
    points = sum(len(s) for s in canvas.strokes())
    result = {
        "canvas": args.canvas or "gui/canvas.py",
        "points_drawn": points,
        "ms_per_move": {n: round(statistics.median(c) * 1000, 3) for n, c in marks.items()},
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['canvas']}: {points} points drawn in one stroke")
        for n, ms in result["ms_per_move"].items():
            print(f"  at {n:>6,} points: {ms:7.3f} ms per mouse move (median of 50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
