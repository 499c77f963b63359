"""Regenerate the README's screenshot: the real window with a pen-drawn digit on the canvas.

    xvfb-run -s "-screen 0 1366x768x24" uv run python bench/screenshot.py [--out docs/screenshot.png] [--digit 3]

Draws a held-out pendigits fixture with mouse drags through the real MainWindow (offscreen by
default; under ``xvfb-run`` it uses the X server), waits for the live prediction, and saves
``window.grab()``.
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    p.add_argument("--digit", type=int, default=3)
    # A 1366x768 screen less what MainWindow.fit_to_screen leaves to the desktop: the size a first launch gets there.
    p.add_argument("--size", default="1342x720")
    args = p.parse_args()

    from gui.app import make_app
    from gui.main_window import MainWindow
    from model.data.readers import read_strokes
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
    path = sorted((ROOT / "tests" / "fixtures" / "strokes").glob(f"{args.digit}_*.json"))[0]
    strokes, _ = read_strokes(path)
    window.hints.hide()  # the first-run tour is not part of the picture (and stays unseen)
    draw_with_mouse(window.canvas, strokes, after_move=app.processEvents)
    pump(1.0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    print(f"saved {args.out} (predicted {window.prediction.digit_label.text()!r}, drawn {args.digit})")
    window.close()


if __name__ == "__main__":
    main()
