"""Train a network written in the layer grammar (:mod:`model.training.spec`) on MNIST, against the clock.

One loop for ``main.py train --layers`` and for the window's Build-and-train view: Adam with a
learning rate warmed up then cosine-decayed over the *time* budget (``--seconds``) or the epochs,
whichever ends first; the best weights by validation accuracy are kept and restored at the end
(also when stopped early). ``on_progress`` receives a :class:`Progress` about every
``progress_every`` seconds, from the training thread; a :class:`Control` pauses, stops or cancels it.

Validation is a split of MNIST's training digits, never the test set; the test set is only
evaluated once, at the end, for the card.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.data.paths import RESOURCES, default_mnist_dir

SUBSET = RESOURCES / "mnist_subset.npz"  # shipped with the frozen app: used when no MNIST folder is found
VALIDATION = 5000


@dataclass
class SpecData:
    """Images ``(n, 28, 28, 1)`` float32 in [0, 1] and labels ``(n,)`` int64; ``source``: what was read."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: dict


def find_data(data_dir: str | Path | None = None) -> Path | None:
    """The MNIST folder ``train`` uses, else the subset shipped in ``resources/``; ``None`` if neither."""
    if data_dir is not None:
        return Path(data_dir)
    found = default_mnist_dir()
    if found is not None:
        return found
    return SUBSET if SUBSET.is_file() else None


def load_spec_data(data_dir: str | Path | None, limit: int | None = None, seed: int = 1) -> SpecData:
    """MNIST (an IDX folder or a ``.npz`` with x_train/y_train/x_test/y_test) split into train / validation / test.

    ``limit``: at most this many training digits (validation is a twelfth of them, at most 5,000).
    Raises ``model.data.DataError`` with what to do when nothing is found.
    """
    from model.data.readers import DataError, load_mnist

    path = find_data(data_dir)
    if path is None:
        raise DataError("no MNIST found: pass --data DIR (a folder with MNIST's four IDX files)")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                (x, y), (xt, yt) = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        except Exception as exc:  # noqa: BLE001 - zip, zlib or key errors all mean "not our archive"
            raise DataError(f"{path}: not a readable MNIST archive ({type(exc).__name__}: {exc})") from None
    else:
        (x, y), (xt, yt) = load_mnist(path)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    if limit is not None:
        order = order[:limit]
    n_val = min(VALIDATION, max(1, len(order) // 12))
    va, tr = order[:n_val], order[n_val:]

    def scaled(a):
        return (a.astype(np.float32) / 255.0)[..., None]

    return SpecData(
        scaled(x[tr]),
        y[tr].astype(np.int64),
        scaled(x[va]),
        y[va].astype(np.int64),
        scaled(xt),
        yt.astype(np.int64),
        {"mnist": str(path), "train": int(len(tr)), "validation": int(len(va)), "test": int(len(xt))},
    )


@dataclass
class Progress:
    """Where a training run is; sent about every 0.5 s and after every validation."""

    seconds: float  # of training so far, pauses and validation excluded
    budget: float | None  # seconds allowed, if a time budget was given
    fraction: float  # of the run done, 0..1 (time or epochs, whichever is nearer its end)
    epoch: float  # epochs done, fractional
    loss: float  # training loss, running mean over the current epoch
    accuracy: float
    val_loss: float | None = None  # set on the progress right after a validation
    val_accuracy: float | None = None
    filters: np.ndarray | None = None  # first convolution's kernel (kh, kw, in, out), when watched
    answers: np.ndarray | None = None  # predicted classes of the watched digits
    maps: np.ndarray | None = None  # first convolution's output (h, w, filters) on the probe image, when given


@dataclass
class Control:
    """Pause, stop (keep the best so far) or cancel (keep nothing) a run from another thread.

    ``give_way``: while it returns True (someone waits for an answer computed on the same cores, as
    the window's live drawing does), training waits between batches, up to ``MAX_GIVE_WAY_SECONDS``
    at a time; the wait is not training time.
    """

    paused: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    give_way: Callable[[], bool] | None = None


MAX_GIVE_WAY_SECONDS = 0.1  # then one batch runs: a moving pen slows training, never stops it


@dataclass
class Result:
    model: object  # the keras model with the best weights
    seconds: float  # of training: pauses, validation and the first batch's graph building excluded
    epochs: float
    val_accuracy: float
    history: dict
    cancelled: bool = False
    stopped_by: str = "epochs"  # epochs | seconds | user
    setup_seconds: float = 0.0  # building the graph during the first batch
    validation_seconds: float = 0.0  # spent validating, not counted in ``seconds``


@dataclass
class TrainSettings:
    seconds: float | None = None
    epochs: int | None = None
    # Chosen for the ConvNetJS-sized net trained 60 s on a loaded 2-core machine (under one epoch):
    # batch 32 at 6e-3 reached 98.6% on MNIST test; batches of 16, 64, 128 and rates 3e-3, 1e-2 did worse.
    batch_size: int = 32
    learning_rate: float = 6e-3
    seed: int = 1
    quick_val: int = 1000  # validation digits for the frequent in-epoch validation points
    quick_val_every: float | None = None  # seconds between them; None: validation at epoch ends only


def _lr_at(fraction: float, peak: float) -> float:
    warm = 0.03
    if fraction < warm:
        return peak * (0.1 + 0.9 * fraction / warm)
    f = min(1.0, (fraction - warm) / (1 - warm))
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * f)))


def train_spec(
    spec: str,
    data: SpecData,
    settings: TrainSettings,
    on_progress=None,
    control: Control | None = None,
    watch: np.ndarray | None = None,
    progress_every: float = 0.5,
    log=None,
    probe=None,
) -> Result:
    """Train ``spec`` on ``data``; stops at ``settings.seconds`` or ``settings.epochs`` (at least one is needed).

    ``watch``: images ``(k, 28, 28, 1)`` whose current answers each :class:`Progress` carries;
    ``probe()``: called on the training thread at each progress, returns an image ``(28, 28)`` in
    [0, 1] (the user's drawing) or ``None``; the first convolution's maps of it come in ``Progress.maps``.
    """
    import keras

    from .spec import build_model

    if settings.seconds is None and settings.epochs is None:
        raise ValueError("give seconds or epochs (or both)")
    control = control or Control()
    keras.utils.set_random_seed(settings.seed)
    model = build_model(spec, seed=settings.seed)
    steps = math.ceil(len(data.x_train) / settings.batch_size)
    epochs = settings.epochs or 10_000
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    conv1 = next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    conv1_maps = keras.Model(model.inputs, conv1.output) if conv1 is not None and probe is not None else None
    qx, qy = data.x_val[: settings.quick_val], data.y_val[: settings.quick_val]

    class Clocked(keras.callbacks.Callback):
        """Time budget, learning-rate schedule, pause, progress and best weights, checked every batch."""

        def __init__(self):
            super().__init__()
            self.t0 = time.perf_counter()
            self.setup: float | None = None
            self.paused_for = 0.0  # and validation: the clock counts training only
            self.validation_seconds = 0.0
            self.last_progress = -1e9
            self.last_quick = 0.0
            self.batches = 0
            self.best = (-1.0, None)
            self.history: dict[str, list] = {
                "seconds": [],
                "loss": [],
                "accuracy": [],
                "val_seconds": [],
                "val_loss": [],
                "val_accuracy": [],
            }
            self.stopped_by = "epochs"
            self.running = (0.0, 0.0)

        def elapsed(self) -> float:
            return 0.0 if self.setup is None else time.perf_counter() - self.t0 - self.paused_for

        def fraction(self) -> float:
            parts = []
            if settings.seconds:
                parts.append(self.elapsed() / settings.seconds)
            if settings.epochs:
                parts.append(self.batches / (settings.epochs * steps))
            return min(1.0, max(parts))

        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(_lr_at(self.fraction(), settings.learning_rate))

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            if self.setup is None:  # the first batch builds the graph (seconds on a busy machine): not training time
                self.setup = time.perf_counter() - self.t0
                self.t0 = time.perf_counter()
            if logs:
                self.running = (float(logs.get("loss", math.nan)), float(logs.get("accuracy", math.nan)))
            if control.paused.is_set():
                t = time.perf_counter()
                while control.paused.is_set() and not (control.stopped.is_set() or control.cancelled.is_set()):
                    time.sleep(0.05)
                self.paused_for += time.perf_counter() - t
            if control.give_way is not None and control.give_way():
                t = time.perf_counter()
                while control.give_way() and time.perf_counter() - t < MAX_GIVE_WAY_SECONDS:
                    if control.stopped.is_set() or control.cancelled.is_set():
                        break
                    time.sleep(0.002)
                self.paused_for += time.perf_counter() - t
            now = self.elapsed()
            if control.cancelled.is_set() or control.stopped.is_set():
                self.stopped_by = "user"
                self.model.stop_training = True
            elif settings.seconds and now >= settings.seconds:
                self.stopped_by = "seconds"
                self.model.stop_training = True
            val = None
            if settings.quick_val_every and now - self.last_quick >= settings.quick_val_every and len(qx):
                self.last_quick = now
                val = self._validate(qx, qy)
            if now - self.last_progress >= progress_every or val is not None:
                self.last_progress = now
                self._report(now, val)

        def _validate(self, x, y) -> tuple[float, float]:
            """Loss and accuracy on ``x``; its time is not training time (like a pause, it stops the clock)."""
            t = time.perf_counter()
            try:
                return self._evaluate(x, y)
            finally:
                spent = time.perf_counter() - t
                self.validation_seconds += spent
                if self.setup is not None:
                    self.paused_for += spent

        def _evaluate(self, x, y) -> tuple[float, float]:
            p = np.concatenate([np.asarray(self.model(x[i : i + 1000], training=False)) for i in range(0, len(x), 1000)])
            loss = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))
            return loss, float(np.mean(np.argmax(p, 1) == y))

        def _report(self, now: float, val: tuple[float, float] | None) -> None:
            loss, acc = self.running
            h = self.history
            h["seconds"].append(round(now, 2))
            h["loss"].append(round(loss, 5))
            h["accuracy"].append(round(acc, 5))
            if val is not None:
                h["val_seconds"].append(round(now, 2))
                h["val_loss"].append(round(val[0], 5))
                h["val_accuracy"].append(round(val[1], 5))
            if on_progress is None:
                return
            filters = np.asarray(conv1.kernel) if conv1 is not None else None
            answers = np.argmax(np.asarray(self.model(watch, training=False)), 1) if watch is not None and len(watch) else None
            maps = None
            image = probe() if conv1_maps is not None else None
            if image is not None:
                x = np.asarray(image, np.float32).reshape(1, *model.input_shape[1:])
                maps = np.asarray(conv1_maps([x], training=False))[0]
            on_progress(
                Progress(
                    now,
                    settings.seconds,
                    self.fraction(),
                    self.batches / steps,
                    loss,
                    acc,
                    *(val if val is not None else (None, None)),
                    filters=filters,
                    answers=answers,
                    maps=maps,
                )
            )

        def on_epoch_end(self, epoch, logs=None):
            if control.cancelled.is_set():
                return
            val = self._validate(data.x_val, data.y_val)
            if log:
                log(
                    f"epoch {self.batches / steps:.2f}: {self.elapsed():.0f}s, loss {self.running[0]:.4f}, "
                    f"validation accuracy {val[1]:.4f}"
                )
            if val[1] > self.best[0]:
                self.best = (val[1], self.model.get_weights())
            self._report(self.elapsed(), val)

    clock = Clocked()
    model.fit(
        data.x_train,
        data.y_train,
        batch_size=settings.batch_size,
        epochs=epochs,
        shuffle=True,
        callbacks=[clock],
        verbose=0,
    )
    seconds = clock.elapsed()
    if clock.best[1] is not None:
        model.set_weights(clock.best[1])
    return Result(
        model,
        seconds,
        clock.batches / steps,
        clock.best[0],
        clock.history,
        cancelled=control.cancelled.is_set(),
        stopped_by=clock.stopped_by,
        setup_seconds=clock.setup or 0.0,
        validation_seconds=clock.validation_seconds,
    )


def spec_card(spec: str, result: Result, data: SpecData, settings: TrainSettings, out: Path, command: str) -> dict:
    """The card of a network trained from a spec: the spec, data, epochs, seconds, validation accuracy.

    ``evaluation.mnist_test`` is added by :func:`evaluate_test`.
    """
    import platform

    import keras

    from .saving import layer_table
    from .spec import normalise
    from .train import _cpu_count

    model = result.model
    return {
        "name": model.name,
        "file": out.name,
        "architecture": "spec",
        "layer_spec": normalise(spec),
        "contract": {
            "input": "(None, 28, 28, 1) float32 in [0, 1], white ink on black (MNIST convention)",
            "output": "(None, 10) softmax probabilities for digits 0-9",
            "input_range": [0, 1],
            "class_names": [str(i) for i in range(10)],
        },
        "layers": layer_table(model),
        "total_params": int(model.count_params()),
        "training": {
            "data": data.source,
            "epochs": round(result.epochs, 2),
            "epochs_limit": settings.epochs,
            "seconds": round(result.seconds, 1),
            "seconds_limit": settings.seconds,
            "setup_seconds": round(result.setup_seconds, 1),
            "validation_seconds": round(result.validation_seconds, 1),
            "seconds_note": "seconds of training: graph building, validation passes and pauses not counted",
            "stopped_by": result.stopped_by,
            "batch_size": settings.batch_size,
            "optimizer": f"Adam, learning rate {settings.learning_rate} warmed up then cosine-decayed over the budget",
            "loss": "sparse categorical cross-entropy",
            "kept": "the weights with the best validation accuracy",
            "validation_accuracy": round(result.val_accuracy, 5),
            "history": result.history,
            "machine": f"{platform.machine()}, {_cpu_count()} cores",
            "command": command,
            "versions": {"keras": keras.__version__, "python": platform.python_version()},
            "date": time.strftime("%Y-%m-%d"),
        },
    }


def evaluate_test(model, data: SpecData) -> dict:
    """Accuracy on MNIST test (or the subset's test digits), for the card's ``evaluation.mnist_test``."""
    p = np.concatenate([np.asarray(model(data.x_test[i : i + 2000], training=False)) for i in range(0, len(data.x_test), 2000)])
    pred = np.argmax(p, 1)
    acc = float(np.mean(pred == data.y_test))
    return {
        "n": int(len(pred)),
        "accuracy": round(acc, 5),
        "errors": int(np.sum(pred != data.y_test)),
        "data": data.source["mnist"],
    }


def save_trained(spec: str, result: Result, data: SpecData, settings: TrainSettings, out: Path, command: str) -> dict:
    """Save the model (atomically) and its card with the test accuracy; returns the card."""
    from model.nets.card import write_card

    from .saving import save_model_atomically

    card = spec_card(spec, result, data, settings, out, command)
    card["evaluation"] = {"mnist_test": evaluate_test(result.model, data)}
    save_model_atomically(result.model, out)
    write_card(out, card)
    return card


@dataclass(frozen=True)
class ComparePoint:
    """One trained network for the Compare plot, read from its card."""

    name: str  # the spec, or the bundled model's name
    params: int
    accuracy: float  # on MNIST test
    seconds: float | None
    bundled: bool
    path: Path


def compare_points(folder: Path | None = None) -> list[ComparePoint]:
    """Every network trained into ``folder`` (default: the user's models folder) with a test accuracy on its card,
    and the two bundled networks (the CNN, the lesson's MLP). Unreadable cards are skipped."""
    import json

    from model.data.paths import BUNDLED_MLP, BUNDLED_MODEL, models_dir

    folder = models_dir() if folder is None else folder
    cards = [(p, False) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    cards += [(BUNDLED_MODEL.with_suffix(".json"), True), (BUNDLED_MLP.with_suffix(".json"), True)]
    points = []
    for path, bundled in cards:
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
            accuracy = float(card["evaluation"]["mnist_test"]["accuracy"])
            params = int(card["total_params"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        training = card.get("training") if isinstance(card.get("training"), dict) else {}
        seconds = training.get("seconds")
        name = card.get("layer_spec") or (
            "bundled CNN" if path.stem == BUNDLED_MODEL.stem else "lesson's MLP" if bundled else path.stem
        )
        points.append(
            ComparePoint(
                str(name), params, accuracy, float(seconds) if isinstance(seconds, (int, float)) else None, bundled, path
            )
        )
    return points
