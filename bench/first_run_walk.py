"""A newcomer's first ten minutes under a real X server, driven by real X input (xdotool): screenshots.

    XDG_CONFIG_HOME=$(mktemp -d) DIGIT_RECOGNIZER_DATA=$(mktemp -d) \
        xvfb-run -a -s "-screen 0 1366x768x24" uv run python bench/first_run_walk.py OUT_DIR

With empty settings (a first launch) it follows the tour: draws a pen digit with mouse drags, reads
the bubbles, clicks Next, types the digit to store it, then opens Help ▸ Getting started (F1),
Keyboard shortcuts (Ctrl+/), What am I looking at, About with its card, a Learn window (closed with
Ctrl+W). Saves OUT_DIR/{TAG}_NN_name.png (TAG from $SHOT_TAG, default the screen size) and prints
what it saw: where each bubble sat against its part, whether windows overlap the canvas.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/first_run")
    out.mkdir(parents=True, exist_ok=True)

    import numpy as np
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtWidgets import QApplication, QDialog

    from gui.app import make_app
    from gui.main_window import MainWindow
    from model.data.readers import read_strokes

    app = make_app()
    w = MainWindow()
    w.show()
    area = w.screen().availableGeometry()
    tag = os.environ.get("SHOT_TAG", f"{area.width()}x{area.height()}")
    count = iter(range(1, 100))

    def pump(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.01)

    def xdo(*args) -> None:
        subprocess.run(["xdotool", *map(str, args)], check=True)
        pump(0.03)

    def shot(name: str) -> None:
        pump(0.4)
        path = out / f"{tag}_{next(count):02d}_{name}.png"
        app.primaryScreen().grabWindow(0).save(str(path))
        print("saved", path.name, flush=True)

    def click(widget) -> None:
        g = widget.mapToGlobal(widget.rect().center())
        xdo("mousemove", g.x(), g.y())
        xdo("click", 1)
        pump(0.3)

    def bubble_report() -> None:
        b = w.hints
        if b.isHidden():
            print("  tour: hidden", flush=True)
            return
        target = b.outline.geometry().adjusted(3, 3, -3, -3)
        bubble = QRect(b.pos(), b.size())
        print(f"  tour step {b.index + 1}: side={b.side} overlaps its part={bubble.intersects(target)}", flush=True)

    t = time.time()
    while w.model_info is None and time.time() - t < 120:
        pump(0.1)
    pump(1)
    print("window", w.frameGeometry().getRect(), "title", repr(w.windowTitle()), "screen", area.getRect(), flush=True)
    print("canvas", w.canvas.size().toTuple(), "preview", w.input_view.size().toTuple(), flush=True)
    bubble_report()
    shot("first_launch")

    path = sorted((ROOT / "tests" / "fixtures" / "strokes").glob("5_*.json"))[0]
    strokes, label = read_strokes(path)
    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    extent, centre = (hi - lo).max(), (lo + hi) / 2
    paper = w.canvas.paper_rect()
    for stroke in strokes:
        q = (np.asarray(stroke) - centre) / extent * 0.7 + 0.5
        points = [
            w.canvas.mapToGlobal(QPoint(int(paper.x() + x * paper.width()), int(paper.y() + y * paper.height()))) for x, y in q
        ]
        xdo("mousemove", points[0].x(), points[0].y())
        xdo("mousedown", 1)
        for p in points[1:]:
            xdo("mousemove", p.x(), p.y())
        xdo("mouseup", 1)
    pump(1.5)
    print("predicted", w.prediction.digit_label.text(), "for", path.name, flush=True)
    bubble_report()
    shot("drawn_tour_preview")
    for name in ("tour_answer", "tour_maps"):
        click(w.findChild(type(w.hints.next_button), "hint_next"))
        bubble_report()
        shot(name)
    click(w.findChild(type(w.hints.next_button), "hint_next"))
    bubble_report()
    w.canvas.setFocus()
    pump(0.2)
    shot("tour_store")
    xdo("key", str(label))  # typing the digit stores the drawing
    pump(0.5)
    print("stored:", w.findChild(type(w.model_status), "handwriting_counts").text(), flush=True)
    bubble_report()
    shot("tour_learn")
    click(w.findChild(type(w.hints.next_button), "hint_next"))
    bubble_report()

    # Draw again for the help screenshots.
    for stroke in strokes:
        q = (np.asarray(stroke) - centre) / extent * 0.7 + 0.5
        points = [
            w.canvas.mapToGlobal(QPoint(int(paper.x() + x * paper.width()), int(paper.y() + y * paper.height()))) for x, y in q
        ]
        xdo("mousemove", points[0].x(), points[0].y())
        xdo("mousedown", 1)
        for p in points[1:]:
            xdo("mousemove", p.x(), p.y())
        xdo("mouseup", 1)
    pump(1.5)
    shot("drawn_focus_ring")

    def dialog(name: str):
        pump(0.5)
        shown = [d for d in QApplication.topLevelWidgets() if isinstance(d, QDialog) and d.isVisible()]
        return next((d for d in shown if d.objectName() == name), None)

    xdo("key", "F1")
    d = dialog("getting_started_dialog")
    print("F1 opened Getting started:", d is not None, flush=True)
    shot("help_getting_started")
    xdo("key", "Escape")
    w.activateWindow()  # no window manager: the focus does not come back by itself
    pump(0.3)
    xdo("key", "ctrl+slash")
    d = dialog("shortcuts_dialog")
    print("Ctrl+/ opened Keyboard shortcuts:", d is not None, flush=True)
    shot("help_shortcuts")
    xdo("key", "Escape")
    from gui import help as help_views

    picture, _ = help_views.annotated_screenshot(w, width=w.width())
    picture.save(str(out / f"{tag}_window_callouts.png"))  # the README's "what you see"
    help_views.show_what_am_i_looking_at(w)
    shot("help_what_am_i_looking_at")
    xdo("key", "Escape")
    w.show_about()
    d = dialog("about_dialog")
    shot("help_about")
    if d is not None:
        click(d.card_button)
        shot("help_about_card")
        xdo("key", "Escape")

    canvas = QRect(w.canvas.mapToGlobal(QPoint(0, 0)), w.canvas.size())
    for opener in ("open_playground", "open_saliency"):
        view = getattr(w.teaching, opener)()
        pump(1.5)
        at = view.frameGeometry()
        print(f"{opener}: at {at.getRect()}, over the canvas: {at.intersects(canvas)}", flush=True)
        shot(opener.removeprefix("open_"))
        view.activateWindow()  # no window manager here to give it the focus on a click
        xdo("key", "ctrl+w")
        pump(0.5)
        print(f"  closed by Ctrl+W: {not view.isVisible()}", flush=True)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
