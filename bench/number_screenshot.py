"""A screenshot of the real window reading a written number (pen-drawn fixture digits, left to right).

    xvfb-run -s "-screen 0 1366x768x24" uv run python bench/number_screenshot.py [--number 2026] [--out docs/number.png]

Draws held-out pendigits fixture digits with mouse drags through the real MainWindow, clicks one
digit's box (``--click``), waits for the live answer and saves ``window.grab()``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/automation.py: the input helpers the tests use


def number_strokes(digits: str, gap: float = 0.25) -> list:
    """Fixture pen digits written left to right, each one unit tall, ``gap`` units apart."""
    import numpy as np

    from model.data import read_strokes

    out, x = [], 0.0
    for d in digits:
        path = sorted((ROOT / "tests" / "fixtures" / "strokes").glob(f"{d}_*.json"))[0]
        strokes, _ = read_strokes(path)
        pts = np.concatenate(strokes)
        lo, hi = pts.min(0), pts.max(0)
        scale = 1.0 / (hi[1] - lo[1])
        out += [(s - lo) * scale + [x, 0.0] for s in strokes]
        x += (hi[0] - lo[0]) * scale + gap
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "number.png")
    p.add_argument("--number", default="2026")
    p.add_argument("--click", type=int, default=-1, help="click this digit's box (0 = leftmost) before the screenshot")
    p.add_argument("--size", default="1366x768")
    args = p.parse_args()

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from gui.app import make_app
    from gui.main_window import MainWindow
    from tests.automation import draw_with_mouse

    app = make_app()
    window = MainWindow()
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.show()

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)

    deadline = time.perf_counter() + 120
    while window.model_info is None and time.perf_counter() < deadline:
        pump(0.05)
    window.hints.hide()
    draw_with_mouse(window.canvas, number_strokes(args.number), after_move=app.processEvents)
    while not window.requests.settled and time.perf_counter() < deadline + 60:
        pump(0.05)
    if args.click >= 0:
        centre = window.canvas.digit_rect(args.click).center().toPoint()
        QTest.mouseClick(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
        pump(0.5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    print(f"saved {args.out} (read {window.prediction.digit_label.text()!r}, written {args.number})")
    window.close()


if __name__ == "__main__":
    main()
