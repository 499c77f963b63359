"""Inference: one traced call returns the probabilities and every feature map of the model.

``Predictor`` loads a ``.keras`` file in Keras' safe mode, checks that it honours the app's
contract, and builds one multi-output model (the keras-io feature-extraction recipe)::

    keras.Model(model.input, [layer.output for layer in feature_layers] + [model.output])

wrapped in a ``tf.function`` with a fixed input signature, so a call costs a millisecond or two
instead of the ~80 ms of ``model.predict``. Which layers are "feature layers" is read off the
model: every layer with a 4-D output (convolutions, pooling, ...), in order, under its own name.
"""

from __future__ import annotations

import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .architecture import INPUT_SHAPE, NUM_CLASSES

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DEFAULT_MODEL = RESOURCES / "mnist_cnn.keras"


class ModelError(ValueError):
    """A model the app cannot use; the message says what was expected and what was found."""


@dataclass
class Prediction:
    """The network's answer for one input.

    ``probabilities``: ``(10,)`` float32 summing to 1. ``activations``: layer name -> ``(h, w, c)``
    float32, in model order. ``digit`` is ``None`` when the input held no digit.
    """

    probabilities: np.ndarray | None
    activations: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def digit(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return 0.0 if self.probabilities is None else float(np.max(self.probabilities))


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the Keras class name, e.g. "Conv2D"
    shape: tuple[int, int, int]  # (h, w, channels)
    params: int


def _check_archive(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"Model file not found: {path}")
    if path.is_dir():
        raise ModelError(f"{path} is a folder; expected a .keras model file.")
    if path.suffix.lower() != ".keras":
        raise ModelError(f"{path} is not a .keras file (Keras 3 format); got suffix {path.suffix!r}.")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is corrupt or not a Keras model: a .keras file is a zip archive, this is not.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{path} is corrupt: {exc}") from exc
    if bad is not None:
        raise ModelError(f"{path} is corrupt: member {bad!r} fails its checksum.")
    if "config.json" not in names:
        raise ModelError(f"{path} is not a Keras model: it has no config.json (found {sorted(names)[:5]}).")


def _reject_unsafe(model, path: Path) -> None:
    """Lambda layers run arbitrary code; safe mode refuses to deserialise them and so do we."""
    for layer in _walk_layers(model):
        if type(layer).__name__ in {"Lambda", "TFOpLambda"}:
            raise ModelError(f"{path} contains a Lambda layer ({layer.name!r}), which can run arbitrary code; refused.")


def _walk_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk_layers(layer)


def load_checked_model(path: str | os.PathLike):
    """Load a ``.keras`` file safely and check the app's contract; raise ``ModelError`` otherwise."""
    path = Path(path)
    _check_archive(path)
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text or "unsafe" in text.lower():
            raise ModelError(f"{path} holds code that Keras' safe mode refuses to load (e.g. a Lambda layer); refused.") from exc
        raise ModelError(f"{path} cannot be loaded as a Keras model: {text.splitlines()[0] if text else exc!r}") from exc
    except Exception as exc:  # corrupt weights, unknown layer classes, ...
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{path} cannot be loaded as a Keras model: {text}") from exc
    _reject_unsafe(model, path)
    if not isinstance(model, keras.Model) or not model.inputs:
        raise ModelError(f"{path} holds a {type(model).__name__}, not a built Keras model with a defined input.")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"{path} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; expected one of each.")
    in_shape = tuple(model.inputs[0].shape[1:])
    if in_shape != INPUT_SHAPE:
        raise ModelError(f"{path} expects input {('None',) + in_shape}; this app feeds (None, 28, 28, 1) images.")
    out_shape = tuple(model.outputs[0].shape[1:])
    if out_shape != (NUM_CLASSES,):
        raise ModelError(f"{path} outputs {('None',) + out_shape}; expected (None, 10) probabilities for the digits 0-9.")
    return model


def feature_layers(model) -> list:
    """The model's layers with a 4-D output ``(batch, h, w, c)``, in order (convolutions, pooling, ...)."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue  # layers used more than once have no single output; skip them
        if len(shape) == 4:
            out.append(layer)
    return out


class Predictor:
    """Probabilities and all feature maps of a ``.keras`` model in one fast call.

    ``Predictor()`` loads the bundled model; ``Predictor(path)`` any model with input
    ``(None, 28, 28, 1)`` and output ``(None, 10)``. Raises ``ModelError`` naming what is wrong.
    Thread-safe: calls are serialised (the app uses one worker thread anyway).
    """

    def __init__(self, path: str | os.PathLike | None = None):
        import keras
        import tensorflow as tf

        self.path = Path(path) if path is not None else DEFAULT_MODEL
        self.model = load_checked_model(self.path)
        self._features = feature_layers(self.model)
        self.layers = [
            LayerInfo(layer.name, type(layer).__name__, tuple(int(d) for d in layer.output.shape[1:]), int(layer.count_params()))
            for layer in self._features
        ]
        multi = keras.Model(self.model.inputs, [layer.output for layer in self._features] + list(self.model.outputs))
        self._multi = multi
        self._fn = tf.function(
            lambda x: multi(x, training=False),
            input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)],
            reduce_retracing=True,
        )
        self._probs_fn = tf.function(
            lambda x: self.model(x, training=False),
            input_signature=[tf.TensorSpec([None, *INPUT_SHAPE], tf.float32)],
        )
        self._lock = threading.Lock()
        self.card = self._read_card()
        # Trace now, so the first drawing does not pay for it.
        self.predict(np.zeros((28, 28), np.float32))

    def _read_card(self) -> dict | None:
        card = self.path.with_suffix(".json")
        if card.exists():
            import json

            try:
                return json.loads(card.read_text())
            except (OSError, ValueError):
                return None
        return None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def class_names(self) -> list[str]:
        """What each output means, in output order (``"0"``..``"9"`` for digit models)."""
        return [str(i) for i in range(NUM_CLASSES)]

    @staticmethod
    def _as_batch(images: np.ndarray) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim == 3:
            x = x[..., None]
        if x.shape[1:] != INPUT_SHAPE:
            raise ValueError(f"Expected (28, 28) or (n, 28, 28[, 1]) images; got shape {np.shape(images)}.")
        return np.ascontiguousarray(x)

    def predict(self, image: np.ndarray | None) -> Prediction:
        """One ``(28, 28)`` float32 image in [0, 1] -> probabilities and every feature map.

        ``None`` (no digit) gives an empty ``Prediction`` without running the model.
        """
        if image is None:
            return Prediction(None, {})
        x = self._as_batch(image)
        with self._lock:
            outputs = self._fn(x)
        outputs = [o.numpy() for o in outputs]
        activations = {layer.name: out[0] for layer, out in zip(self._features, outputs[:-1])}
        return Prediction(outputs[-1][0], activations)

    def predict_probabilities(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """``(n, 28, 28)`` images -> ``(n, 10)`` probabilities, in batches, without the feature maps."""
        x = self._as_batch(images)
        out = np.empty((len(x), NUM_CLASSES), np.float32)
        with self._lock:
            for i in range(0, len(x), batch_size):
                out[i : i + batch_size] = self._probs_fn(x[i : i + batch_size]).numpy()
        return out
