"""Background threads of the handwriting feature: model comparisons and fine-tuning.

``ModelRunner`` answers "what do the bundled and the personal model say about this drawing?" and
"how many of my stored digits does this model read right?". It has its own predictors (loaded on
first use, reloaded when the file changes) so it never waits behind, or delays, the window's live
inference worker; the pattern is the same (one ``QThread``, newest request per kind wins, results
as signals). ``TuneThread`` runs :func:`model.tune.tune` off the GUI thread with progress and a
cancel flag that the tuning checks after every batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMutex, QMutexLocker, QThread, QWaitCondition, Signal


class ModelRunner(QThread):
    """Runs ``fn(get_predictor)`` jobs on one thread; a newer job with the same tag replaces a pending one."""

    done = Signal(str, object)  # tag, result (or the exception it raised)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("handwriting-runner")
        self._mutex = QMutex()
        self._condition = QWaitCondition()
        self._jobs: dict[str, Callable] = {}
        self._abort = False
        self._predictors: dict[Path, tuple[float, object]] = {}

    def submit(self, tag: str, fn: Callable) -> None:
        with QMutexLocker(self._mutex):
            self._jobs.pop(tag, None)
            self._jobs[tag] = fn
            self._condition.wakeOne()
        if not self.isRunning():
            self.start(QThread.Priority.LowPriority)

    def stop(self) -> None:
        with QMutexLocker(self._mutex):
            self._abort = True
            self._condition.wakeOne()
        self.wait()

    def predictor(self, path: Path):
        """A ``Predictor`` for ``path``, cached until the file changes (worker thread only)."""
        from model.nets.inference import Predictor

        path = Path(path)
        mtime = path.stat().st_mtime
        cached = self._predictors.get(path)
        if cached is None or cached[0] != mtime:
            self._predictors[path] = (mtime, Predictor(path))
        return self._predictors[path][1]

    def run(self) -> None:
        while True:
            with QMutexLocker(self._mutex):
                while not (self._abort or self._jobs):
                    self._condition.wait(self._mutex)
                if self._abort:
                    return
                tag = next(iter(self._jobs))
                fn = self._jobs.pop(tag)
            try:
                result = fn(self.predictor)
            except Exception as exc:  # shown to the user by whoever asked
                result = exc
            self.done.emit(tag, result)


def probabilities_for(strokes, paths: list[Path]) -> Callable:
    """A job: ``{path: (10,) probabilities or None}`` for the drawing ``strokes`` under each model."""

    def job(predictor) -> dict:
        from model.data.preprocess import strokes_to_input

        x = strokes_to_input(strokes)
        out = {}
        for path in paths:
            out[path] = None if x is None else predictor(path).predict_probabilities(x[None])[0]
        return out

    return job


def readings_for(drawings, path: Path) -> Callable:
    """A job: ``(paths, labels, predicted)`` of the stored drawings under the model at ``path``."""

    def job(predictor):
        from model.data.preprocess import strokes_to_input

        images = [strokes_to_input(d.strokes) for d in drawings]
        keep = [i for i, x in enumerate(images) if x is not None]
        predicted = np.full(len(drawings), -1, np.int64)
        if keep:
            probs = predictor(path).predict_probabilities(np.stack([images[i] for i in keep]))
            predicted[keep] = probs.argmax(1)
        return [d.path for d in drawings], np.array([d.label for d in drawings], np.int64), predicted

    return job


class TuneThread(QThread):
    """Fine-tunes off the GUI thread. Emits ``progressed``, then one of ``finished_ok``/``failed``/``cancelled``."""

    progressed = Signal(float, str)  # fraction done, what is happening
    finished_ok = Signal(object)  # the card
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, base: Path, drawings: list, out: Path, mnist_dir: Path | None, parent=None):
        super().__init__(parent)
        self.setObjectName("handwriting-tuning")
        self.base, self.drawings, self.out, self.mnist_dir = base, drawings, out, mnist_dir
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from model.training.tune import TuneCancelled, tune

        try:
            card = tune(
                self.base,
                self.drawings,
                self.out,
                mnist_dir=self.mnist_dir,
                progress=lambda f, text: self.progressed.emit(f, text),
                should_stop=self._stop.is_set,
                command="the app's Fine-tune button",
            )
        except TuneCancelled:
            self.cancelled.emit()
        except Exception as exc:  # TuneError, ModelError, anything Keras raises: say it, lose nothing
            self.failed.emit(str(exc) or type(exc).__name__)
        else:
            self.finished_ok.emit(card)
