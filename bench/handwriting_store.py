"""My handwriting at 10,000 stored drawings: how long the store and the view keep the GUI thread.

Stores N pen-like drawings in a temporary folder, then times (on this thread, which in the app is
the GUI thread): the first ``counts()`` (every file parsed), a second one (what a label keystroke
costs: a stat per file), and opening ``HandwritingView`` (listing; thumbnails follow from a
background thread, timed separately until the last one is set).

    QT_QPA_PLATFORM=offscreen uv run python bench/handwriting_store.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np


def main(n: int = 10_000) -> None:
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication

    from gui.handwriting.view import HandwritingView
    from model.data.handwriting import HandwritingStore

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        store = HandwritingStore(folder)
        for i in range(n):
            store.add([np.cumsum(rng.normal(0, 1, (40, 2)), axis=0)], i % 10)
        fresh = HandwritingStore(folder)
        t = time.perf_counter()
        fresh.counts()
        first = time.perf_counter() - t
        t = time.perf_counter()
        fresh.counts()
        again = time.perf_counter() - t

        class Controller(QObject):
            readings_ready = Signal(str, list, object, object)

            def __init__(self):
                super().__init__()
                self.store = fresh

            def request_readings(self, drawings):
                pass

        t = time.perf_counter()
        view = HandwritingView(Controller())
        view.show()
        app.processEvents()
        opened = time.perf_counter() - t

        def wait_for(item) -> float:
            while item.icon().cacheKey() == view._blank.cacheKey():
                app.processEvents()
                time.sleep(0.01)
            return time.perf_counter() - t

        on_screen = max(wait_for(view.lists[d].item(min(11, view.lists[d].count() - 1))) for d in range(10))
        thumbs = wait_for(view.lists[9].item(view.lists[9].count() - 1))
        print(
            f"{n:,} drawings: first counts {first:.2f} s, next counts {again:.2f} s (a label keystroke), "
            f"view open {opened:.2f} s on the GUI thread; the first 12 thumbnails of every row set after "
            f"{on_screen:.1f} s, all after {thumbs:.1f} s (background thread)"
        )
        view.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
