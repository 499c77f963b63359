"""The one inference worker: loads models, turns strokes/images into inputs, runs the network.

The pattern is Qt for Python's Mandelbrot example: one long-lived ``QThread``, the newest request
kept under a mutex (an older pending one is simply replaced: latest request wins), a wait
condition to sleep on, and results sent back to the GUI thread as signals. Keras runs only here;
the GUI thread only paints. Every result carries the id of its request so the window can drop
stale ones.

TensorFlow is imported on this thread, so the window is up and accepting strokes while it loads.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMutex, QMutexLocker, QThread, QWaitCondition, Signal


@dataclass
class Request:
    id: int
    strokes: list[np.ndarray] | None = None  # vector strokes (any units, y down) ...
    image: np.ndarray | None = None  # ... or a picture (any size, grey/RGB/RGBA)


@dataclass
class Result:
    """What the window shows for one request. ``input`` is the 28x28 model input (``None``: no digit)."""

    id: int
    input: np.ndarray | None
    probabilities: np.ndarray | None
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0  # preprocessing + inference time on the worker
    error: str | None = None

    @property
    def digit(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))


@dataclass
class Job:
    """A function to run on the worker with the current predictor (explanations, saliency, ...)."""

    id: int
    fn: object  # callable(predictor) -> object
    tag: str = ""


@dataclass
class ModelInfo:
    path: Path
    layers: list  # model.inference.LayerInfo, in model order
    card: dict | None
    predictor: object  # model.inference.Predictor; use only from worker jobs
    load_seconds: float = 0.0
    import_seconds: float = 0.0


class InferenceWorker(QThread):
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str, str)  # path, message (the previous model, if any, stays)
    prediction_ready = Signal(object)  # Result
    job_done = Signal(object, object, str)  # job id, result or exception, tag

    def __init__(self, model_path: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("inference-worker")
        self._mutex = QMutex()
        self._condition = QWaitCondition()
        self._pending: Request | None = None
        self._pending_model: Path | None | bool = model_path if model_path is not None else True
        self._jobs: list[Job] = []
        self._abort = False
        self._predictor = None

    # --- called from the GUI thread ----------------------------------------------------------

    def submit(self, request: Request) -> None:
        """Queue ``request``, replacing any request not yet started (latest wins)."""
        with QMutexLocker(self._mutex):
            self._pending = request
            self._condition.wakeOne()

    def load_model(self, path: str | Path) -> None:
        with QMutexLocker(self._mutex):
            self._pending_model = Path(path)
            self._condition.wakeOne()

    def run_job(self, job: Job) -> None:
        """Run ``job.fn(predictor)`` on the worker; jobs with the same tag replace each other."""
        with QMutexLocker(self._mutex):
            self._jobs = [j for j in self._jobs if not (job.tag and j.tag == job.tag)] + [job]
            self._condition.wakeOne()

    def stop(self) -> None:
        with QMutexLocker(self._mutex):
            self._abort = True
            self._condition.wakeOne()
        self.wait()

    # --- the worker thread ---------------------------------------------------------------------

    def run(self) -> None:
        while True:
            with QMutexLocker(self._mutex):
                while not (
                    self._abort
                    or self._pending_model is not None
                    or (self._predictor is not None and (self._pending is not None or self._jobs))
                ):
                    self._condition.wait(self._mutex)
                if self._abort:
                    return
                model, self._pending_model = self._pending_model, None
                request = job = None
                if model is None:
                    if self._jobs:
                        job = self._jobs.pop(0)
                    else:
                        request, self._pending = self._pending, None
            if model is not None:
                self._load(None if model is True else model)
            elif job is not None:
                self._run_job(job)
            elif request is not None:
                self.prediction_ready.emit(self._predict(request))

    def _load(self, path: Path | None) -> None:
        t0 = time.perf_counter()
        try:
            import tensorflow  # noqa: F401  (the slow part, timed separately)

            t1 = time.perf_counter()
            from model.inference import Predictor

            predictor = Predictor(path)
        except Exception as exc:  # ModelError, or anything a broken file makes Keras raise
            from model.inference import DEFAULT_MODEL

            self.model_failed.emit(str(path or DEFAULT_MODEL), str(exc) or traceback.format_exc(limit=1))
            return
        self._predictor = predictor
        self.model_loaded.emit(
            ModelInfo(predictor.path, list(predictor.layers), predictor.card, predictor,
                      load_seconds=time.perf_counter() - t1, import_seconds=t1 - t0)
        )

    def _predict(self, request: Request) -> Result:
        from model.preprocess import image_to_input, strokes_to_input

        t0 = time.perf_counter()
        try:
            x = strokes_to_input(request.strokes) if request.strokes is not None else image_to_input(request.image)
            prediction = self._predictor.predict(x)
        except Exception as exc:
            return Result(request.id, None, None, error=str(exc))
        return Result(request.id, x, prediction.probabilities, prediction.activations, time.perf_counter() - t0)

    def _run_job(self, job: Job) -> None:
        try:
            out = job.fn(self._predictor)
        except Exception as exc:
            out = exc
        self.job_done.emit(job.id, out, job.tag)
