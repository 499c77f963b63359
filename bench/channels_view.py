"""Open Learn ▸ What each channel looks for in the real window and time it; save a screenshot of the screen.

    xvfb-run -s "-screen 0 1366x768x24" uv run python bench/channels_view.py [--out /tmp/shots/channels.png]

Starts the MainWindow as a user would (its saved size, fitted to the screen), waits for the model,
opens the view from the Learn menu and prints how long until its rows are laid out (the bundled
model's results come from ``resources/``), picks conv3 channel 4, clicks its strongest patch (the
digit goes onto the canvas, the unit is outlined) and grabs the whole screen.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("/tmp/shots/channels.png"))
    p.add_argument("--layer", default="conv3")
    p.add_argument("--channel", type=int, default=4)
    args = p.parse_args()

    from PySide6.QtGui import QGuiApplication

    from gui.app import make_app
    from gui.main_window import MainWindow

    app = make_app()
    window = MainWindow()
    window.fit_to_screen()
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
    t0 = time.perf_counter()
    window.teaching.channels_action.trigger()
    view = window.channels_window
    app.processEvents()
    opened = time.perf_counter() - t0
    canvas = window.canvas.rect().translated(window.canvas.mapToGlobal(window.canvas.rect().topLeft()))
    print(
        f"screen {view.screen().availableGeometry().getRect()}, window {window.frameGeometry().getRect()}, "
        f"view {view.frameGeometry().getRect()}, over the canvas: {view.frameGeometry().intersects(canvas)}"
    )
    print(f"view open with {len(view.tiles)} channel tiles in {opened:.2f} s (computing: {view.thread is not None})")
    view.select(args.layer, args.channel)
    pump(0.3)
    view.patch_buttons[0].click()
    pump(2.0)
    print(f"status: {window.statusBar().currentMessage()!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    QGuiApplication.primaryScreen().grabWindow(0).save(str(args.out))
    view.grab().save(str(args.out.with_name(args.out.stem + "_view.png")))
    print(f"saved {args.out}")
    view.close()
    window.close()


if __name__ == "__main__":
    main()
