"""Learn ▸ Build and train a network, driven offscreen: the test accuracy it reaches and how long the GUI thread stalls.

    uv run python bench/trainer_window.py [--layers SPEC] [--seconds 60] [--json]

Opens the trainer window beside the real main window, trains SPEC on MNIST (the folder ``train``
uses) for ``--seconds`` through the window's own thread, and reports the card's validation and test
accuracy (to compare with ``main.py train --layers SPEC --seconds S``) and the longest gap between
ticks of a 5 ms QTimer on the GUI thread while it trained (a long gap is a frozen window).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", default="conv 8 5 same, pool 2, conv 16 5 same, pool 3")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    os.environ.setdefault("DIGIT_RECOGNIZER_DATA", tempfile.mkdtemp(prefix="trainer-bench-"))

    from PySide6.QtCore import QTimer

    from gui.app import make_app
    from gui.learn import install_teaching
    from gui.main_window import MainWindow

    app = make_app()
    window = MainWindow()
    window.show()
    trainer = install_teaching(window).open_trainer()
    trainer.spec_edit.setText(args.layers)
    trainer.seconds.setValue(args.seconds)
    gaps: list[float] = []
    late: list[tuple] = []  # (seconds since Train, gap ms, still training) of every gap over 100 ms
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        if trainer.curves["t"]:  # only while batches run (not TensorFlow's import, not data loading)
            gaps.append(now - last[0])
            if now - last[0] > 0.1:
                late.append((round(now - started, 1), round((now - last[0]) * 1000), trainer.thread is not None))
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    trainer.start_training()
    started = time.perf_counter()
    while (trainer.thread is not None or trainer.saved is None) and time.perf_counter() - started < args.seconds + 600:
        app.processEvents()
        time.sleep(0.001)
        if trainer.thread is None and trainer.saved is None and "failed" in trainer.status.text():
            break
    timer.stop()
    card = json.loads(Path(trainer.saved).with_suffix(".json").read_text()) if trainer.saved else {}
    gaps.sort()
    result = {
        "layers": args.layers,
        "seconds": card.get("training", {}).get("seconds"),
        "epochs": card.get("training", {}).get("epochs"),
        "validation_accuracy": card.get("training", {}).get("validation_accuracy"),
        "test_accuracy": card.get("evaluation", {}).get("mnist_test", {}).get("accuracy"),
        "progress_updates": len(trainer.curves["t"]),
        "gui_max_block_ms": round(gaps[-1] * 1000, 1) if gaps else None,
        "gui_p99_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))] * 1000, 1) if gaps else None,
        "status": trainer.status.text(),
        "gaps_over_100ms": late[:20],
    }
    trainer.shutdown()
    window.close()
    print(json.dumps(result) if args.json else "\n".join(f"{k:>20}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
