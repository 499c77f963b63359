"""The one inference worker: loads models, turns strokes/images into inputs, runs the network.

The pattern is Qt for Python's Mandelbrot example: one long-lived ``QThread``, the newest request
kept under a mutex (an older pending one is simply replaced: latest request wins), a wait
condition to sleep on, and results sent back to the GUI thread as signals. Keras runs only here;
the GUI thread only paints. An answer already superseded by a waiting request is dropped when
the screen was refreshed less than ``MIN_FRAME_SECONDS`` ago. Every result carries the id of its request so the window can drop
stale ones (``model.requests.LatestRequest``).

TensorFlow is imported on this thread, so the window is up and accepting strokes while it loads.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMutex, QMutexLocker, QThread, QWaitCondition, Signal

# While a pen moves, answers are sent at most this often when a newer drawing is already waiting
# (about 30 a second: fluid, and the GUI thread keeps time to paint the last answer at once).
MIN_FRAME_SECONDS = 0.033
# A drawing sent or answered this recently counts as someone drawing (see answering()): long
# enough to cover the answer's paint after the pen stops.
LIVE_SECONDS = 0.05


@dataclass
class Request:
    id: int
    strokes: list[np.ndarray] | None = None  # vector strokes (any units, y down) ...
    image: np.ndarray | None = None  # ... or a picture (any size, grey/RGB/RGBA)
    ready: np.ndarray | None = None  # a (28, 28) model input used as is (a dataset digit), shown as ``image``
    focus_stroke: int | None = None  # a number: show the digit holding this stroke (None: the newest)


@dataclass
class DigitResult:
    """One digit of a written number: its box (x0, y0, x1, y1, in the strokes' units) and the network's answer."""

    box: tuple[float, float, float, float]
    strokes: list[int]
    input: np.ndarray
    probabilities: np.ndarray
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    dense_activations: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Result:
    """What the window shows for one request. ``input`` is the 28x28 model input (``None``: no digit)."""

    id: int
    input: np.ndarray | None
    probabilities: np.ndarray | None
    activations: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (h, w, c) feature maps
    dense_activations: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (units,)
    seconds: float = 0.0  # preprocessing + inference time on the worker
    error: str | None = None
    # A number of two or more digits: each digit, left to right; the fields above are the selected one's.
    digits: list[DigitResult] = field(default_factory=list)
    selected: int = -1

    @property
    def number_confidence(self) -> float:
        """The product of the digits' confidences (a number), else the answer's confidence."""
        if self.digits:
            return float(np.prod([float(d.probabilities.max()) for d in self.digits]))
        return 0.0 if self.probabilities is None else float(self.probabilities.max())

    def with_selected(self, index: int) -> Result:
        """The same number with digit ``index`` as the one shown (the panels, maps and explanations)."""
        d = self.digits[index]
        return Result(
            self.id, d.input, d.probabilities, d.activations, d.dense_activations, self.seconds, self.error, self.digits, index
        )

    verdict: Any = None  # model.nets.confidence.Verdict: "digit" | "unsure" | "not a digit", with the reason

    @property
    def digit(self) -> int | None:
        """Index of the most probable class (a digit for digit models), ``None`` without an answer."""
        return None if self.probabilities is None else int(np.argmax(self.probabilities))


@dataclass
class Job:
    """A function to run on the worker (explanations, saliency, comparisons, ...).

    ``fn(predictor)`` gets the window's current ``Predictor``. A ``background`` job waits while a
    live drawing is pending (the answer to the pen comes first) and gets ``predictor_for`` instead:
    a function from a model file to its ``Predictor``, loaded on the worker and kept until the file
    changes, so other models (the bundled one, a personal one) run on this one thread too.
    """

    id: int
    fn: Callable[[Any], object]  # runs on the worker; its return value (or exception) comes back in job_done
    tag: str = ""
    background: bool = False


@dataclass(frozen=True)
class ModelLoad:
    """A model to load: ``path=None`` is the bundled model."""

    path: Path | None = None


@dataclass(frozen=True)
class LayerRow:
    """One layer of the model as About lists it: ``shape`` is its output without the batch axis."""

    name: str
    kind: str
    shape: str
    params: int


def _model_layers(model) -> list[LayerRow]:
    """Every layer of a Keras model, nested models' layers flattened (worker thread only)."""
    rows: list[LayerRow] = []

    def walk(m, prefix: str) -> None:
        for layer in getattr(m, "layers", []):
            if getattr(layer, "layers", None):
                walk(layer, f"{prefix}{layer.name}/")
                continue
            try:
                shape = "×".join("?" if d is None else str(d) for d in tuple(layer.output.shape)[1:])
            except (AttributeError, ValueError):
                shape = "?"
            rows.append(LayerRow(prefix + layer.name, type(layer).__name__, shape, int(layer.count_params())))

    try:
        walk(model, "")
    except Exception:  # About is informative only: never let an odd model break loading
        return rows
    return rows


def _stamp(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


@dataclass
class ModelInfo:
    """What the GUI thread may know about the loaded model (plain data: no Keras objects).

    ``layers``: ``model.inference.LayerInfo`` of every feature layer, in model order;
    ``class_names``: one name per output, in output order; ``notes``: one-line remarks the
    predictor made about how it feeds or reads this model (input range, logits, ...).
    """

    path: Path
    layers: list
    card: dict | None
    class_names: list[str]
    notes: list[str] = field(default_factory=list)
    model_layers: list[LayerRow] = field(default_factory=list)  # every layer, for About
    dense_layers: list = field(default_factory=list)  # LayerInfo of the Dense layers, shape (units,)
    bundled: bool = False
    load_seconds: float = 0.0
    import_seconds: float = 0.0
    input_note: str = ""  # how the drawing is fed (size, value range), as the predictor put it
    output_note: str = ""  # how the outputs are read (softmax, logits, ...)
    input_size: tuple[int, int] = (28, 28)  # (h, w) the model receives; the drawing is 28x28
    operations: dict[str, str] = field(default_factory=dict)  # layer name -> the operation that made it, in words
    head: list[str] = field(default_factory=list)  # the steps after the last map layer to the output, in words
    input_shape: tuple[int, ...] = ()  # the model input without the batch axis
    calibrated: bool = False  # the card holds a confidence calibration (model/confidence.py)

    @property
    def name(self) -> str:
        return self.path.name


def _class_names(predictor, n_outputs: int | None) -> list[str]:
    names = getattr(predictor, "class_names", None)
    try:
        names = [str(n) for n in names] if names is not None else []
    except TypeError:
        names = []
    if len(names) < 2:
        names = [str(i) for i in range(n_outputs or 10)]
    return names


def model_info(predictor, bundled: bool, load_seconds: float = 0.0, import_seconds: float = 0.0) -> ModelInfo:
    """Copy what the window needs out of a ``Predictor`` (read on the worker thread)."""
    input_note, output_note = str(getattr(predictor, "input_note", "")), str(getattr(predictor, "output_note", ""))
    notes = [n for n in (input_note, output_note) if n]
    notes += [f"Card: {problem}" for problem in getattr(predictor, "card_problems", [])]
    notes += [str(predictor.confidence_note)] if getattr(predictor, "confidence_note", "") else []
    card = predictor.card if isinstance(getattr(predictor, "card", None), dict) else None
    layers = list(predictor.layers)
    model = getattr(predictor, "model", None)
    outputs = getattr(model, "outputs", None)
    n_outputs = int(outputs[0].shape[-1]) if outputs else None
    return ModelInfo(
        Path(predictor.path),
        layers,
        card,
        _class_names(predictor, n_outputs),
        [str(n) for n in notes],
        _model_layers(model),
        list(getattr(predictor, "dense_layers", [])),
        bundled,
        load_seconds,
        import_seconds,
        input_note,
        output_note,
        tuple(int(d) for d in getattr(predictor, "input_size", (28, 28))),
        *_operations(model, layers),
        bool(getattr(getattr(predictor, "calibration", None), "calibrated", False)),
    )


def _operations(model, layers) -> tuple[dict[str, str], list[str], tuple[int, ...]]:
    """Each layer's operation in words, the steps after the last map, the input shape (informative only)."""
    from model.teaching.answer import head_operations, layer_operations

    try:
        shape = tuple(int(d) for d in model.inputs[0].shape[1:] if d is not None)
        return layer_operations(model), head_operations(model, layers[-1].name if layers else None), shape
    except Exception:  # the titles are informative: never let an odd model break loading
        return {}, [], ()


class InferenceWorker(QThread):
    model_loaded = Signal(ModelInfo)
    model_failed = Signal(str, str)  # path, message (the previous model, if any, stays)
    prediction_ready = Signal(Result)
    job_done = Signal(int, object, str)  # job id, the job's return value or its exception, tag

    def __init__(self, model_path: str | Path | None = None, parent=None):
        """Start with the model at ``model_path`` (``None``: the bundled model) once ``start()``ed."""
        super().__init__(parent)
        self.setObjectName("inference-worker")
        self._mutex = QMutex()
        self._condition = QWaitCondition()
        self._pending: Request | None = None
        self._pending_model: ModelLoad | None = ModelLoad(Path(model_path) if model_path is not None else None)
        self._jobs: list[Job] = []
        self._last_answer_at = 0.0
        self._live_at = -1e9  # when a drawing was last sent or answered (answering())
        self._abort = False
        self._predictor = None
        self._other_models: dict[Path, tuple[tuple[float, int], object]] = {}  # worker thread only
        # Candidate digits of the number being written, kept between requests (model.data.segment's cache):
        # a pen move re-renders only the digits holding the stroke it changes.
        self._number_cache: dict = {}
        self._number_strokes: list[tuple] = []

    # --- called from the GUI thread ----------------------------------------------------------

    def submit(self, request: Request) -> None:
        """Queue ``request``, replacing any request not yet started (latest wins)."""
        with QMutexLocker(self._mutex):
            self._pending = request
            self._live_at = time.perf_counter()
            self._condition.wakeOne()

    def answering(self) -> bool:
        """True while someone draws: a request was sent or answered less than ``LIVE_SECONDS`` ago.

        Any thread may ask; a training run gives way to the drawing while it is true.
        """
        return time.perf_counter() - self._live_at < LIVE_SECONDS

    def load_model(self, path: str | Path) -> None:
        with QMutexLocker(self._mutex):
            self._pending_model = ModelLoad(Path(path))
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
                    # Jobs a person is waiting for, then the live drawing, then background jobs.
                    foreground = [j for j in self._jobs if not j.background]
                    if foreground:
                        job = foreground[0]
                        self._jobs.remove(job)
                    elif self._pending is not None:
                        request, self._pending = self._pending, None
                    elif self._jobs:
                        job = self._jobs.pop(0)
            if model is not None:
                self._load(model)
            elif job is not None:
                self._run_job(job)
            elif request is not None:
                result = self._predict(request)
                with QMutexLocker(self._mutex):
                    superseded = self._pending is not None
                now = time.perf_counter()
                if superseded and now - self._last_answer_at < MIN_FRAME_SECONDS:
                    # A newer drawing waits and the screen was refreshed moments ago: this answer
                    # would be painted only to be painted over. The newest is always sent.
                    continue
                self._last_answer_at = self._live_at = now
                self.prediction_ready.emit(result)

    def _load(self, load: ModelLoad) -> None:
        t0 = time.perf_counter()
        try:
            from model.nets.tf_runtime import import_tensorflow

            import_tensorflow()  # the slow part, timed separately; quiet (no oneDNN/absl lines)

            t1 = time.perf_counter()
            from model.nets.inference import Predictor

            predictor = Predictor(load.path)
            info = model_info(predictor, load.path is None, time.perf_counter() - t1, t1 - t0)
        except Exception as exc:  # ModelError, or anything a broken file makes Keras raise
            from model.nets.inference import DEFAULT_MODEL

            self.model_failed.emit(str(load.path or DEFAULT_MODEL), str(exc) or traceback.format_exc(limit=1))
            return
        self._predictor = predictor
        self._number_cache, self._number_strokes = {}, []
        self.model_loaded.emit(info)

    def _predict(self, request: Request) -> Result:
        from model.data.pictures import image_to_input
        from model.data.preprocess import strokes_to_input

        t0 = time.perf_counter()
        if request.strokes is not None:
            from model.data.segment import segment_strokes

            try:
                seg = segment_strokes(request.strokes)
                if len(seg.groups) > 1 or seg.uncertain:
                    number = self._predict_number(request, seg, t0)
                    if number is not None:
                        return number
            except Exception as exc:
                return Result(request.id, None, None, error=str(exc) or type(exc).__name__)
        try:
            if request.ready is not None:
                x = np.asarray(request.ready, np.float32)
            else:
                x = strokes_to_input(request.strokes) if request.strokes is not None else image_to_input(request.image)
            prediction = self._predictor.predict(x)
        except Exception as exc:
            return Result(request.id, None, None, error=str(exc) or type(exc).__name__)
        return Result(
            request.id,
            x,
            prediction.probabilities,
            prediction.activations,
            dict(getattr(prediction, "dense_activations", {})),
            time.perf_counter() - t0,
            verdict=getattr(prediction, "verdict", None),
        )

    def _cache_for(self, strokes: list[np.ndarray]) -> dict:
        """The candidate-digit cache, less the entries holding a stroke that changed since the last request."""
        signature = [(len(s), *np.asarray(s[0]).tolist(), *np.asarray(s[-1]).tolist()) if len(s) else (0,) for s in strokes]
        same = 0
        for old, new in zip(self._number_strokes, signature):
            if old != new:
                break
            same += 1
        if same < len(self._number_strokes) or same < len(signature):
            self._number_cache = {k: v for k, v in self._number_cache.items() if k and max(k) < same}
        self._number_strokes = signature
        return self._number_cache

    def _predict_number(self, request: Request, seg, t0: float) -> Result | None:
        """A number: every candidate digit's probabilities in one batch, then the chosen digits' maps in one."""
        from model.data.segment import read_number

        strokes = request.strokes
        reading = read_number(strokes, self._predictor.predict_probabilities, seg, cache=self._cache_for(strokes))
        if not reading.digits:
            return None  # no grouping holds a readable digit: read the drawing whole, as one digit
        predictions = self._predictor.predict_many(np.stack([d.input for d in reading.digits]))
        digits = [
            DigitResult(d.box, d.strokes, d.input, p.probabilities, p.activations, dict(p.dense_activations))
            for d, p in zip(reading.digits, predictions)
        ]
        focus = len(strokes) - 1 if request.focus_stroke is None else request.focus_stroke
        selected = next((k for k, d in enumerate(digits) if focus in d.strokes), len(digits) - 1)
        if len(digits) == 1:  # an uncertain split the network settled as one digit: shown as one
            d = digits[0]
            return Result(
                request.id,
                d.input,
                d.probabilities,
                d.activations,
                d.dense_activations,
                time.perf_counter() - t0,
                verdict=predictions[0].verdict,
            )
        result = Result(request.id, None, None, seconds=time.perf_counter() - t0, digits=digits)
        return result.with_selected(selected)

    def _run_job(self, job: Job) -> None:
        try:
            out = job.fn(self._predictor_for if job.background else self._predictor)
        except Exception as exc:
            out = exc
        self.job_done.emit(job.id, out, job.tag)

    def _predictor_for(self, path: str | Path):
        """The ``Predictor`` of the model file ``path``, cached until the file changes (worker thread only)."""
        from model.nets.card import card_path
        from model.nets.inference import Predictor

        path = Path(path)
        st = path.stat()
        # The inode and ctime change when a file is replaced even if its mtime and size are kept
        # (cp -p, a rename over it); the card's stamp, when it is rewritten alone.
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns, _stamp(card_path(path)))
        cached = self._other_models.get(path)
        if cached is None or cached[0] != stamp:
            self._other_models[path] = (stamp, Predictor(path))
        return self._other_models[path][1]
