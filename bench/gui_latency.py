"""Live-recognition latency of the real window, driven offscreen with mouse events.

    uv run python bench/gui_latency.py [--drawings 30] [--rate 120] [--json] [--train SPEC]

Replays pen-drawn fixture digits as mouse drags (``tests/automation.py``) at ``--rate`` events per
second, as a real mouse would deliver them, through the real MainWindow: canvas -> worker
(strokes_to_input + Predictor) -> prediction panel and feature maps. It measures
* latency: from the last mouse event of a drawing (the release) to its prediction and maps
  painted (the clock stops when the maps panel and the probability plot have painted the result);
* refresh rate: results painted per second while a stroke is being drawn;
* GUI-thread blocking: the longest gap between ticks of a 5 ms QTimer over the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/automation.py: the input helpers the tests use


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--drawings", type=int, default=30)
    p.add_argument("--rate", type=float, default=120.0, help="mouse events per second (default: %(default)s)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--number", type=int, default=1, help="digits per drawing: >1 writes numbers (bench/number_screenshot.py)")
    p.add_argument(
        "--train",
        metavar="SPEC",
        help="draw while Learn ▸ Build and train a network trains SPEC on MNIST in the background",
    )
    args = p.parse_args()

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest

    from gui.app import make_app
    from gui.main_window import MainWindow
    from model.data.readers import read_strokes
    from tests.automation import to_canvas_points

    app = make_app()
    # "Shown" is when the answer and the maps are painted: the first paint of the maps panel and of the
    # probability plot after the window put a result in them (Qt paints a window's dirty widgets in one
    # pass). Measured inside their paintEvent (patched before the window exists: PySide looks an
    # override up once), so the bench adds no paint of its own.
    import pyqtgraph as pg

    from gui.feature_maps import FeatureMapPanel

    shown_at: dict[int, float] = {}
    waiting: dict = {"id": None, "views": set()}

    def timed_paint(cls):
        original = cls.paintEvent

        def paint(self, event):
            original(self, event)
            if self in waiting["views"]:
                waiting["views"].discard(self)
                if not waiting["views"]:
                    shown_at[waiting["id"]] = time.perf_counter()

        cls.paintEvent = paint

    timed_paint(FeatureMapPanel)
    timed_paint(pg.PlotWidget)

    window = MainWindow()
    watched = {window.feature_maps, window.prediction.plot}
    window.resize(1280, 800)
    window.show()
    deadline = time.perf_counter() + 120
    while window.model_info is None and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)
    if window.model_info is None:
        raise SystemExit("model did not load")

    trainer = None
    if args.train:
        from gui.learn import install_teaching

        trainer = install_teaching(window).open_trainer()
        trainer.spec_edit.setText(args.train)
        trainer.seconds.setValue(3600)
        trainer.start_training()
        window.activateWindow()  # the keys (Esc clears the canvas) go to the main window, as a user's would
        deadline = time.perf_counter() + 300
        while not trainer.curves["t"] and time.perf_counter() < deadline:  # until batches are running
            app.processEvents()
            time.sleep(0.005)

    def on_shown(request_id: int) -> None:
        waiting["id"], waiting["views"] = request_id, set(watched)

    window.result_shown.connect(on_shown)
    gaps: list[float] = []
    last_tick = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last_tick[0])
        last_tick[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.0005)

    files = sorted((ROOT / "tests" / "fixtures" / "strokes").glob("*.json"))
    latencies, rates, correct = [], [], 0
    interval = 1.0 / args.rate
    for i in range(args.drawings):
        strokes, label = read_strokes(files[i % len(files)])
        if args.number > 1:
            from number_screenshot import number_strokes  # bench/, beside this script

            label = "".join(str((i * 7 + 3 * k) % 10) for k in range(args.number))
            strokes = number_strokes(label)
        QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
        pump(0.05)
        for points in to_canvas_points(window.canvas, strokes):
            QTest.mousePress(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
            first_id = window.requests.latest
            t_start = time.perf_counter()
            shown_before = len(shown_at)
            for pt in points[1:]:
                QTest.mouseMove(window.canvas, pt)
                pump(interval)
            duration = time.perf_counter() - t_start
            updates = sum(1 for rid in list(shown_at) if rid >= first_id) if len(shown_at) > shown_before else 0
            if duration > 0.25:
                rates.append(updates / duration)
            t_last = time.perf_counter()
            QTest.mouseRelease(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])
        target = window.requests.latest
        end = time.perf_counter() + 5
        while target not in shown_at and time.perf_counter() < end:
            app.processEvents()
        # A release that adds no new point shows the result of the last move: take the newest shown.
        shown = max((rid for rid in shown_at if rid <= target), default=None)
        latencies.append(shown_at[shown] - t_last if shown_at.get(shown, 0) >= t_last else 0.0)
        correct += window.prediction.digit_label.text() == str(label)
    timer.stop()
    training = None
    if trainer is not None:
        training = f"{args.train}: {trainer.curves['t'][-1]:.0f} s trained, {len(trainer.curves['t'])} progress updates"
        trainer.shutdown()
    window.close()
    lat = sorted(latencies)
    result = {
        "drawings": args.drawings,
        "mouse_rate_hz": args.rate,
        "latency_median_ms": round(statistics.median(lat) * 1000, 1),
        "latency_p95_ms": round(lat[int(0.95 * (len(lat) - 1))] * 1000, 1),
        "updates_per_s_while_drawing_median": round(statistics.median(rates), 1) if rates else None,
        "gui_max_block_ms": round(max(gaps) * 1000, 1),
        "gui_p99_gap_ms": round(sorted(gaps)[int(0.99 * (len(gaps) - 1))] * 1000, 1),
        "recognised": f"{correct}/{args.drawings}",
    }
    if training:
        result["training_in_background"] = training
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>36}: {v}")


if __name__ == "__main__":
    main()
