"""Background threads of the handwriting feature: model comparisons and fine-tuning.

``WorkerJobs`` answers "what do the bundled and the personal model say about this drawing?" and
"how many of my stored digits does this model read right?" as background jobs of the window's one
inference worker (``gui/worker.py``): they run when no live drawing is waiting, on predictors the
worker loads for those files, and only the newest answer per kind is reported.
``TuneThread`` runs :func:`model.training.tune.tune` off the GUI thread with progress and a
cancel flag that the tuning checks while it reads and renders the drawings and after every batch.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from gui.worker import Job

_TAG_PREFIX = "handwriting:"
_JOB_IDS = itertools.count(1)


class WorkerJobs(QObject):
    """The handwriting feature's jobs, run as background jobs on the window's one inference worker.

    A newer job with the same tag replaces the answer to an older one (only the latest is reported).
    """

    done = Signal(str, object)  # tag, result (or the exception it raised)

    def __init__(self, worker, parent=None):
        super().__init__(parent)
        self._worker = worker
        self._latest: dict[str, int] = {}
        worker.job_done.connect(self._on_job_done)

    def submit(self, tag: str, fn: Callable) -> None:
        job_id = next(_JOB_IDS)
        self._latest[tag] = job_id
        self._worker.run_job(Job(job_id, fn, tag=_TAG_PREFIX + tag, background=True))

    def _on_job_done(self, job_id: int, result: object, tag: str) -> None:
        tag = tag.removeprefix(_TAG_PREFIX) if tag.startswith(_TAG_PREFIX) else None
        if tag is None or self._latest.get(tag) != job_id:
            return  # another module's job, or an answer to an older question
        del self._latest[tag]
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

    def __init__(self, base: Path, drawings: list | Callable[[], list], out: Path, mnist_dir: Path | None, parent=None):
        """``drawings``: the list, or a function that reads it (run on this thread: 10,000 files take a while)."""
        super().__init__(parent)
        self.setObjectName("handwriting-tuning")
        self.base, self.drawings, self.out, self.mnist_dir = base, drawings, out, mnist_dir
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from model.training.tune import TuneCancelled, tune

        try:
            self.progressed.emit(0.0, "reading your drawings")
            drawings = self.drawings() if callable(self.drawings) else self.drawings
            if self._stop.is_set():
                raise TuneCancelled()
            card = tune(
                self.base,
                drawings,
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
