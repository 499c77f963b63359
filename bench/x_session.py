"""The real window under a real X server, driven by real X input (xdotool): screenshots of a session.

    xvfb-run -a -s "-screen 0 1366x768x24" uv run python bench/x_session.py OUT_DIR
    QT_SCALE_FACTOR=2 xvfb-run -a -s "-screen 0 2560x1600x24" uv run python bench/x_session.py OUT_DIR

Starts the window with the settings in $XDG_CONFIG_HOME (point it at an empty folder for a true
first launch), draws a held-out pen digit with xdotool mouse drags, taps once far from it (a stray mark the
network should ignore), hovers and clicks a
feature-map cell, zooms the maps twice, and saves OUT_DIR/{TAG}_start|drawn|explained|zoomed.png
(and _tapped; TAG from $SHOT_TAG, default "x"), printing what it saw. Needs xdotool and an X display.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/xshots")
    out.mkdir(parents=True, exist_ok=True)
    tag = os.environ.get("SHOT_TAG", "x")

    import numpy as np
    from PySide6.QtCore import QPoint

    from gui.app import make_app
    from gui.main_window import MainWindow
    from model.data.readers import read_strokes

    app = make_app()
    w = MainWindow()
    w.show()

    def pump(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.01)

    def xdo(*args) -> None:
        if args[0] == "mousemove":  # xdotool speaks device pixels, Qt logical ones
            k = app.primaryScreen().devicePixelRatio()
            args = ("mousemove", int(args[1] * k), int(args[2] * k))
        subprocess.run(["xdotool", *map(str, args)], check=True)
        pump(0.02)

    def shot(name: str) -> None:
        pump(0.3)
        app.primaryScreen().grabWindow(0).save(str(out / f"{tag}_{name}.png"))
        print("saved", out / f"{tag}_{name}.png", flush=True)

    t = time.time()
    while w.model_info is None and time.time() - t < 120:
        pump(0.1)
    pump(1)
    frame, screen = w.frameGeometry(), w.screen().availableGeometry()
    shot("start")

    path = sorted((ROOT / "tests" / "fixtures" / "strokes").glob("5_*.json"))[0]
    strokes, _ = read_strokes(path)
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
    shot("drawn")
    # A tap far from the digit (a pen bounce): the network's 28x28 view should not change.
    seen_before = w.input_view.grab().toImage()
    tap = w.canvas.mapToGlobal(QPoint(int(paper.x() + 0.06 * paper.width()), int(paper.y() + 0.94 * paper.height())))
    xdo("mousemove", tap.x(), tap.y())
    xdo("click", 1)
    pump(1.5)
    same = w.input_view.grab().toImage() == seen_before
    print("after a tap in the corner: network's view unchanged", same, "- predicted", w.prediction.digit_label.text(), flush=True)
    shot("tapped")

    layer = w.model_info.layers[1].name
    maps = w.feature_maps
    cell = maps.map_centre(layer, 3, 10, 12).toPoint()
    w.maps_area.scroll.ensureVisible(cell.x(), cell.y())
    pump(0.3)
    target = maps.viewport().mapToGlobal(maps.map_centre(layer, 3, 10, 12).toPoint())
    xdo("mousemove", target.x(), target.y())
    pump(0.5)
    print("hover read-out:", w.maps_area.hover_label.text(), flush=True)
    xdo("click", 1)
    pump(3)
    print("selected:", maps.selected, flush=True)
    shot("explained")

    for _ in range(2):
        button = w.maps_area.zoom_in_button
        g = button.mapToGlobal(button.rect().center())
        xdo("mousemove", g.x(), g.y())
        xdo("click", 1)
    pump(1)
    shot("zoomed")
    geometry = {"frame": frame.getRect(), "available": screen.getRect(), "dpr": w.screen().devicePixelRatio()}
    print(json.dumps(geometry), flush=True)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
