"""Learn ▸ What each channel looks for: a model's features computed off the GUI thread.

``FeatureThread`` runs ``model.teaching.feature_sets.features_for`` (progress, Cancel);
``_retire`` lets go of one still running without destroying it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from model.teaching.feature_sets import features_for
from model.teaching.features import Cancelled

_RETIRING: set[QThread] = set()  # threads let go of but still running: kept alive until they end


def _retire(thread: QThread | None) -> None:
    """Drop a thread without destroying it while it runs (Qt aborts on that); it ends on its own."""
    if thread is None:
        return
    for signal in (thread.progressed, thread.computed, thread.failed):
        try:
            signal.disconnect()
        except (RuntimeError, TypeError):
            pass
    if thread.isRunning():
        _RETIRING.add(thread)
        thread.finished.connect(lambda: _RETIRING.discard(thread))


class FeatureThread(QThread):
    """Computes a model's features off the GUI thread; ``cancel()`` stops it at the next batch."""

    progressed = Signal(str, int, int)
    computed = Signal(object)  # FeatureSet
    failed = Signal(str)  # the reason; "" when cancelled

    def __init__(self, model_path: Path, source: str, parent=None):
        super().__init__(parent)
        self.model_path, self.source = model_path, source
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result = features_for(self.model_path, self.source, self.progressed.emit, self._cancel.is_set)
        except Cancelled:
            self.failed.emit("")
        except Exception as exc:  # a model or data problem is the view's message, never a crash
            self.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.computed.emit(result)
