"""Inference: any grey-image Keras classifier, fed the way it was trained, in one fast call.

``Predictor`` loads a ``.keras`` file (or a legacy ``.h5``) after checking its config for code
(Lambda layers, custom classes), reads what the model needs from the model itself and its card
(``model.card``), and builds one multi-output model (the keras-io feature-extraction recipe)::

    keras.Model(model.input, [layer.output for layer in feature_layers] + dense_layers + [model.output])

wrapped in a ``tf.function`` with a fixed input signature, so a call costs a millisecond or two
instead of the ~80 ms of ``model.predict``. Nested sub-models are inlined first
(``model.graph.flat_model``), so their layers count as the model's own, under their own names.

How a ``(28, 28)`` drawing (float32 in [0, 1], white ink on black, from ``model.preprocess``)
becomes the model's input (:meth:`Predictor.prepare`):

* **size**: ``(h, w)`` or ``(h, w, 1)`` inputs with ``h, w >= 8``. 28x28 as is; 32x32 the drawing
  padded by 2 black pixels on each side (how LeNet was fed MNIST); any other size the 28x28 field
  resampled bilinearly (``tf.image.resize``'s default, as ``keras.layers.Resizing`` does).
  Unknown (``None``) sizes get 28.
* **values**: raw 0-255 pixels if the graph starts with a ``Rescaling`` that divides them down
  or a ``Normalization`` adapted on raw pixels (nested ones too), else [0, 1]. The card's
  ``input_range`` and ``invert`` (dark ink on light) override this.

Outputs: one per class, at least 2. A final softmax gives probabilities; logits (a linear last
layer, or outputs that are negative or do not sum to 1) get a softmax, sigmoids are divided by
their sum; ``output_note`` says which. Class names come from the card, else ``"0"``..``"N-1"``.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.data.paths import BUNDLED_MODEL
from model.data.preprocess import INPUT_SIZE

from .card import ModelCard, read_card
from .confidence import Verdict, judge, judge_batch, logits_from_probabilities, pooled, read_calibration, softmax
from .graph import expects_raw_pixels, first_computing_layer, flat_model, output_head
from .tf_runtime import import_tensorflow

DEFAULT_MODEL = BUNDLED_MODEL
MIN_SIDE = 8  # smaller inputs cannot hold a recognisable digit
LENET_SIZE = 32  # LeNet-5 read MNIST's 28x28 digits padded to 32x32
UNSAFE_CLASSES = {"Lambda", "TFOpLambda"}  # they carry Python code in the file
KERAS_PACKAGES = {"keras", "keras_hub", "keras_cv", "keras_nlp"}
# What a model file may hold, checked before any of it is unpacked or parsed (README, "Limits"):
# a digit model is a few megabytes; these bounds are hundreds of times that.
MAX_CONFIG_BYTES = 8 * 1024 * 1024  # config.json (or an .h5's model_config): the bundled one is ~10 KB
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # a .keras file's members, uncompressed, summed (an .h5 file's size)
MAX_ARCHIVE_MEMBERS = 1000
MAX_COMPRESSION_RATIO = 100  # weights barely compress; a member inflating more than this is a zip bomb
RATIO_CHECKED_FROM = 1024 * 1024  # ...when it inflates past a megabyte (small JSON compresses well and is harmless)
MAX_INPUT_SIDE = 1024  # a model's input at most 1024x1024 pixels: a 28x28 drawing holds no more
MAX_BATCH_BYTES = 64 * 1024 * 1024  # one model call's inputs and 4-D activations, for batch classification
# 4-D outputs that only repeat the input (reshaped, rescaled, or augmented only while training): not maps
_PASS_THROUGH_MAPS = {"InputLayer", "Reshape", "Rescaling", "Normalization", "Resizing"}


class ModelError(ValueError):
    """A model the app cannot use; the message says what was found and what to do."""


@dataclass
class Prediction:
    """The network's answer for one input.

    ``probabilities``: ``(classes,)`` float32 summing to 1. ``activations``: layer name ->
    ``(h, w, c)`` float32 for every layer with a 4-D output (convolutions, pooling, ...), in model
    order, nested layers included. ``dense_activations``: layer name -> ``(units,)`` float32 for
    every ``Dense`` layer. ``digit``/``class_index`` is ``None`` when the input held no digit.
    """

    probabilities: np.ndarray | None
    activations: dict[str, np.ndarray] = field(default_factory=dict)
    dense_activations: dict[str, np.ndarray] = field(default_factory=dict)
    # How sure the answer is (``model.nets.confidence.Verdict``); ``probabilities`` are calibrated where
    # the model's card has a calibration, ``raw_probabilities`` are the model's own.
    verdict: Verdict | None = None
    raw_probabilities: np.ndarray | None = None

    @property
    def class_index(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))

    @property
    def digit(self) -> int | None:
        return self.class_index

    @property
    def confidence(self) -> float:
        return 0.0 if self.probabilities is None else float(np.max(self.probabilities))


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the Keras class name, e.g. "Conv2D"
    shape: tuple[int, ...]  # output without the batch axis: (h, w, channels), or (units,) for Dense
    params: int


# --- checking and loading ---------------------------------------------------------------------


def _unsafe_entry(config) -> str | None:
    """The first Lambda layer or non-Keras class in a model config (decoded JSON), described; else ``None``."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = item.get("class_name")
            if name in UNSAFE_CLASSES:
                inner = item.get("config")
                layer = inner.get("name") if isinstance(inner, dict) else None
                return f"a {name} layer ({layer!r}), which runs Python code stored in the file"
            module, registered = item.get("module"), item.get("registered_name")
            if isinstance(module, str) and module and module.split(".")[0] not in KERAS_PACKAGES | {"builtins"}:
                return f"a custom class {name!r} from module {module!r}, whose code is not part of Keras"
            if isinstance(registered, str) and ">" in registered and not registered.startswith("keras"):
                return f"a custom class {registered!r}, whose code is not part of Keras"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _reject_unsafe(config, path: Path) -> None:
    """Refuse code in the model before Keras deserialises anything (the legacy .h5 loader would run it)."""
    found = _unsafe_entry(config)
    if found:
        raise ModelError(
            f"{path} contains {found}; refused, as such a file can run arbitrary code. "
            f"Rebuild the model from built-in Keras layers and save it with model.save('name.keras')."
        )


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MiB"


def _check_members(path: Path, infos: list) -> None:
    """Refuse an archive whose declared sizes exceed the bounds, before any member is unpacked."""
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise ModelError(f"{path} holds {len(infos):,} files; a Keras model holds a few (at most {MAX_ARCHIVE_MEMBERS:,}).")
    total = sum(info.file_size for info in infos)
    if total > MAX_ARCHIVE_BYTES:
        raise ModelError(
            f"{path} unpacks to {_mib(total)}; models larger than {_mib(MAX_ARCHIVE_BYTES)} are refused "
            f"(a digit model is a few MiB)."
        )
    for info in infos:
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise ModelError(
                f"{path}: member {info.filename!r} inflates {info.compress_size:,} bytes to {info.file_size:,} "
                f"(more than {MAX_COMPRESSION_RATIO}x); refused as a zip bomb."
            )
    config = next((info for info in infos if info.filename == "config.json"), None)
    if config is not None and config.file_size > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: config.json is {_mib(config.file_size)}; configs over {_mib(MAX_CONFIG_BYTES)} are refused.")


def _keras_config(path: Path) -> dict:
    """The decoded ``config.json`` of a ``.keras`` archive, every member bounded before any is unpacked."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is corrupt or not a Keras model: a .keras file is a zip archive, this is not.")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {info.filename for info in infos}
            if "config.json" not in names:
                raise ModelError(f"{path} is not a Keras model: it has no config.json (found {sorted(names)[:5]}).")
            _check_members(path, infos)
            # A member can lie about its size: read at most one byte past the limit.
            with zf.open("config.json") as f:
                data = f.read(MAX_CONFIG_BYTES + 1)
            if len(data) > MAX_CONFIG_BYTES:
                raise ModelError(f"{path}: config.json inflates past {_mib(MAX_CONFIG_BYTES)}; refused.")
            bad = zf.testzip()  # after the bounds: it inflates every member (in chunks)
            if bad is not None:
                raise ModelError(f"{path} is corrupt: member {bad!r} fails its checksum.")
            return json.loads(data)
    except (zipfile.BadZipFile, OSError, ValueError, RecursionError, EOFError, NotImplementedError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path} is corrupt: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc


def _h5_config(path: Path) -> dict:
    """The decoded ``model_config`` of a legacy ``.h5`` file, its size bounded before it is read."""
    import h5py

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from exc
    if size > MAX_ARCHIVE_BYTES:  # an attribute's text lies inside the file: bounded by it
        raise ModelError(f"{path} is {_mib(size)}; models larger than {_mib(MAX_ARCHIVE_BYTES)} are refused.")
    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                text = None
            else:
                attr = f.attrs.get_id("model_config")
                declared = attr.get_storage_size()
                if declared > MAX_CONFIG_BYTES:
                    raise ModelError(
                        f"{path}: its model_config is {_mib(declared)}; configs over {_mib(MAX_CONFIG_BYTES)} are refused."
                    )
                text = f.attrs["model_config"]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path} is corrupt or not an HDF5 file: {exc}") from exc
    if text is None:
        raise ModelError(f"{path} holds only weights, no model. Save the whole model with model.save('name.keras').")
    if isinstance(text, np.ndarray) and text.size == 1:
        text = text.reshape(()).item()
    if not isinstance(text, (str, bytes)):
        raise ModelError(f"{path} has a model_config that is not text ({type(text).__name__}).")
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: its model_config is {_mib(len(text))}; configs over {_mib(MAX_CONFIG_BYTES)} are refused.")
    try:
        return json.loads(text.decode() if isinstance(text, bytes) else text)
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"{path} has an unreadable model config: {exc}") from exc


def _check_path(path: Path) -> str:
    """``"keras"`` or ``"h5"``; raises ``ModelError`` for anything else, saying what to do."""
    if not path.exists():
        raise ModelError(f"Model file not found: {path}")
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            raise ModelError(
                f"{path} is a TensorFlow SavedModel folder; Keras 3 loads it only as an inference layer "
                f"(keras.layers.TFSMLayer), which the app cannot look inside. Convert it: load it with the Keras/TensorFlow "
                f"version that made it and run model.save('{path.name}.keras'), then open that file."
            )
        raise ModelError(f"{path} is a folder; expected a .keras (or legacy .h5) model file.")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return "keras"
    if suffix in {".h5", ".hdf5"}:
        return "h5"
    raise ModelError(f"{path} is not a .keras (Keras 3) or .h5 (legacy Keras) model file; got suffix {path.suffix!r}.")


def load_checked_model(path: str | os.PathLike):
    """Load a ``.keras`` or legacy ``.h5`` model safely and check it can be fed grey images.

    The config is checked for code before Keras deserialises it; then one input of shape
    ``(h, w)`` or ``(h, w, 1)`` with ``h, w >= 8`` (or unknown), and one output of ``(classes,)``
    with at least 2 classes. Raises ``ModelError`` naming what was found and what to do.
    """
    path = Path(path)
    fmt = _check_path(path)
    _reject_unsafe(_keras_config(path) if fmt == "keras" else _h5_config(path), path)
    import_tensorflow()  # quietly, before Keras imports it (model/tf_runtime.py)
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # corrupt weights, unknown layer classes, ...
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{path} cannot be loaded as a Keras model: {text}") from exc
    if not isinstance(model, keras.Model) or not model.inputs:
        raise ModelError(f"{path} holds a {type(model).__name__}, not a built Keras model with a defined input.")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"{path} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; expected one of each.")
    shape = tuple(model.inputs[0].shape[1:])
    grey = len(shape) == 2 or (len(shape) == 3 and shape[2] == 1)
    if not grey or any(d is not None and d < MIN_SIDE for d in shape[:2]):
        raise ModelError(
            f"{path} expects input {('None',) + shape}; this app feeds one grey image: (None, h, w) or "
            f"(None, h, w, 1) with h, w >= {MIN_SIDE}, e.g. (None, 28, 28, 1)."
        )
    if any(d is not None and d > MAX_INPUT_SIDE for d in shape[:2]):
        raise ModelError(
            f"{path} expects input {('None',) + shape}; inputs larger than {MAX_INPUT_SIDE}x{MAX_INPUT_SIDE} pixels "
            f"are refused (a 28x28 drawing holds no more detail); save a model with a smaller input, e.g. (None, 28, 28, 1)."
        )
    out_shape = tuple(model.outputs[0].shape[1:])
    if len(out_shape) != 1 or out_shape[0] is None or out_shape[0] < 2:
        raise ModelError(
            f"{path} outputs {('None',) + out_shape}; expected one score per class, (None, classes) with at "
            f"least 2 classes, e.g. (None, 10) for the digits."
        )
    return model


def feature_layers(flat) -> list:
    """The layers of a flat model with a 4-D output ``(batch, h, w, c)``, in order (convolutions, pooling, ...)."""
    out = []
    for layer in flat.layers:
        kind = type(layer).__name__
        if kind in _PASS_THROUGH_MAPS or kind.startswith("Random"):
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue  # layers used more than once have no single output; skip them
        if len(shape) == 4:
            out.append(layer)
    return out


def _dense_layers(flat) -> list:
    return [layer for layer in flat.layers if type(layer).__name__ == "Dense" and len(layer.output.shape) == 2]


def _info(layer, shape) -> LayerInfo:
    return LayerInfo(layer.name, type(layer).__name__, tuple(int(d) for d in shape[1:]), int(layer.count_params()))


# --- the predictor ----------------------------------------------------------------------------


class Predictor:
    """Probabilities, every feature map and every Dense layer's output of a model in one fast call.

    ``Predictor()`` loads the bundled model; ``Predictor(path)`` any grey-image classifier (see the
    module docstring for what is accepted and how it is fed). Raises ``ModelError`` naming what is
    wrong; building one changes nothing outside it. Thread-safe: calls are serialised.

    What a window shows about the model: ``name``, ``class_names``, ``input_note``,
    ``output_note``, ``card_problems``, ``has_conv_layers``, ``layers`` (4-D maps) and
    ``dense_layers``.
    """

    def __init__(self, path: str | os.PathLike | None = None, feature_maps: bool = True):
        tf = import_tensorflow()  # quietly (model/tf_runtime.py)

        self.path = Path(path) if path is not None else DEFAULT_MODEL
        self.model = load_checked_model(self.path)
        self.model_card: ModelCard = read_card(self.path)
        self.card: dict | None = self.model_card.raw or None
        self.card_problems: list[str] = list(self.model_card.problems)
        flat = flat_model(self.model)
        self._flat = flat

        shape = tuple(flat.inputs[0].shape[1:])
        self.input_size: tuple[int, int] = tuple(INPUT_SIZE if d is None else int(d) for d in shape[:2])  # type: ignore[assignment]
        self._channel_axis = len(shape) == 3
        raw, why = expects_raw_pixels(first_computing_layer(flat))
        detected = (0.0, 255.0) if raw else (0.0, 1.0)
        self.input_range: tuple[float, float] = self.model_card.input_range or detected
        self.invert: bool = bool(self.model_card.invert)
        self.input_note = self._describe_input(detected, why)

        self._features = feature_layers(flat)
        self._dense = _dense_layers(flat)
        # The final Dense's input (the penultimate features) comes out of the same traced call:
        # its logits and "not a digit" distance cost no second pass (model/confidence.py).
        head = output_head(flat)
        self._score_weights = [np.asarray(w, np.float64) for w in head.score_layer.get_weights()] if head.score_layer else None
        self._penultimate = head.score_layer.input if head.score_layer is not None else head.score_tensor
        self.penultimate_size = int(self._penultimate.shape[-1]) if self._penultimate is not None else 0
        self._judge_fn = None  # pooled features + penultimate + output, for batches (built on first use)
        self.calibration, problems = read_calibration(self.path, self.card)
        self.card_problems.extend(problems)
        self._check_calibration()
        self.confidence_note = self.calibration.note
        self._signature = [tf.TensorSpec([None, *self.input_size, *([1] if self._channel_axis else [])], tf.float32)]
        self._fn = None  # the multi-output function (every map + the output), built on first use
        # autograph=False: a Keras model is already graph code; converting it again only slows tracing.
        self._probs_fn = tf.function(lambda x: flat(x, training=False), input_signature=self._signature, autograph=False)
        self._lock = threading.Lock()
        self.memory = None  # a tuned model's nearest-neighbour memory of its person's digits (issue 26)
        self._memory_fn = None
        self._load_memory(flat, tf)
        if feature_maps:
            # Traced now, so the first drawing does not pay for it. Shapes from a real call: a
            # model with an unknown (None) input size has them only then.
            shapes = [tuple(o.shape) for o in self._maps_fn()(self.prepare(np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)))]
        else:  # batch classification (the command line): no feature-map function to trace
            shapes = [tuple(layer.output.shape) for layer in self._features + self._dense]
        self.layers = [_info(layer, shape) for layer, shape in zip(self._features, shapes, strict=False)]
        self.dense_layers = [
            _info(layer, shape) for layer, shape in zip(self._dense, shapes[len(self._features) :], strict=False)
        ]
        self.has_conv_layers = any("Conv" in info.kind for info in self.layers)

        self.num_classes = int(flat.outputs[0].shape[-1])
        self.class_names = self._names()
        self.output_kind = output_head(flat).kind
        if self.output_kind == "unknown":
            self.output_kind = self._probe_output()
        self.output_note = {
            "softmax": "The model ends in softmax: its outputs are the probabilities shown.",
            "probabilities": "The model's outputs are non-negative and sum to 1, so they are shown as probabilities.",
            "logits": "The model outputs raw scores (logits, no softmax); the app applies softmax to show probabilities.",
            "sigmoid": "The model ends in independent sigmoids; the app divides them by their sum to show probabilities.",
        }[self.output_kind]
        # Trace now, so the first drawing does not pay for it (and a model that outputs NaN fails here);
        # for classification only, trace just that path.
        blank = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
        if feature_maps:
            self.predict(blank)
        else:
            self.predict_probabilities(blank[None])

    def _load_memory(self, flat, tf) -> None:
        """Read ``NAME.personal.npz`` beside the model, if tune wrote one (model/nets/memory.py)."""
        from .memory import read_memory

        memory = read_memory(self.path)
        if memory is None:
            return
        import keras

        feat = keras.Model(flat.inputs[0], [flat.layers[-1].input, flat.outputs[0]])
        if int(feat.outputs[0].shape[-1]) != memory.features.shape[1]:
            self.card_problems.append("its personal memory does not match the model's features; it is not used")
            return
        self.memory = memory
        self._memory_fn = tf.function(lambda x: feat(x, training=False), input_signature=self._signature, autograph=False)

    def _remember(self, x: np.ndarray, probs: np.ndarray, logits: np.ndarray | None = None):
        """``(probs, logits)`` with the personal memory's vote added, for the ``prepare``'d inputs ``x``.

        Applied before calibration and verdicts (``predict``, ``predict_many``, ``predict_probabilities``,
        ``predict_answers`` alike): the logits move by ``log(voted / probs)``, so their softmax is the voted
        probabilities, a temperature scales the vote with the rest, and a row no stored digit is near keeps
        its logits. Both unchanged without a memory; ``raw_probabilities`` stays the model's own. Call under the lock.
        """
        if self.memory is None:
            return probs, logits
        voted = self.memory.combine(np.asarray(self._memory_fn(x)[0]), probs)
        if logits is not None:
            shift = np.log(np.maximum(voted, 1e-30)) - np.log(np.maximum(np.asarray(probs, np.float64), 1e-30))
            logits = np.asarray(logits, np.float64) + shift
        return voted, logits

    # --- what was detected ---------------------------------------------------------------------

    def _maps_fn(self):
        """The traced multi-output call (keras-io's feature-extraction recipe), built once."""
        if self._fn is None:
            import keras
            import tensorflow as tf

            flat = self._flat
            extra = [self._penultimate] if self._penultimate is not None else []
            multi = keras.Model(
                flat.inputs[0], [layer.output for layer in self._features + self._dense] + extra + list(flat.outputs)
            )
            self._fn = tf.function(
                lambda x: multi(x, training=False), input_signature=self._signature, reduce_retracing=True, autograph=False
            )
        return self._fn

    def _describe_input(self, detected: tuple[float, float], why: str) -> str:
        h, w = self.input_size
        if (h, w) == (INPUT_SIZE, INPUT_SIZE):
            size = f"{h}x{w} pixels: the drawing as is"
        elif (h, w) == (LENET_SIZE, LENET_SIZE):
            size = f"{h}x{w} pixels: the 28x28 drawing padded by 2 black pixels on each side (as LeNet was fed MNIST)"
        else:
            size = f"{h}x{w} pixels: the 28x28 drawing resampled (bilinear)"
        low, high = self.input_range
        values = f"values {low:g} (black) to {high:g} (white)"
        if self.model_card.input_range is not None:
            values += " (from the model's card)"
        elif why:
            values += f" ({why})"
        ink = "; dark ink on white (the card says invert)" if self.invert else ""
        return f"Input {size}; {values}{ink}."

    def _names(self) -> list[str]:
        names = self.model_card.class_names
        if names is not None and len(names) != self.num_classes:
            self.card_problems.append(
                f"the card names {len(names)} classes but the model has {self.num_classes} outputs; "
                f"using 0..{self.num_classes - 1}"
            )
            names = None
        return list(names) if names is not None else [str(i) for i in range(self.num_classes)]

    def _probe_output(self) -> str:
        """Probabilities or logits, for a model whose last layer does not say: look at its outputs."""
        rng = np.random.default_rng(0)
        images = np.concatenate(
            [np.zeros((1, INPUT_SIZE, INPUT_SIZE), np.float32), rng.random((7, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)]
        )
        with self._lock:
            raw = self._probs_fn(self.prepare(images)).numpy().astype(np.float64)
        if np.isfinite(raw).all() and (raw >= -1e-6).all() and np.allclose(raw.sum(axis=1), 1.0, atol=1e-3):
            return "probabilities"
        return "logits"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def rows_per_batch(self) -> int:
        """How many inputs one batch call may hold: ``MAX_BATCH_BYTES`` over one input's bytes.

        One input's bytes: the model input plus every 4-D activation (float32), so a model with a big
        input or wide maps gets small batches, and a batch never takes more than about 64 MiB.
        """
        h, w = self.input_size
        per_input = h * w + sum(int(np.prod(info.shape)) for info in self.layers if len(info.shape) == 3)
        return max(1, MAX_BATCH_BYTES // (4 * max(per_input, 1)))

    # --- feeding and running -------------------------------------------------------------------

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """``(28, 28)`` drawing (or ``(n, 28, 28)``) -> the exact float32 batch the model receives.

        ``(1, h, w[, 1])`` (or ``(n, ...)``): rendered at the model's size, inverted if the card
        says so, scaled to the model's value range.
        """
        x = np.asarray(image, np.float32)
        if x.ndim == 2:
            x = x[None]
        elif x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(
                f"Expected a ({INPUT_SIZE}, {INPUT_SIZE}) drawing image or (n, {INPUT_SIZE}, {INPUT_SIZE}) images; "
                f"got shape {np.shape(image)}."
            )
        h, w = self.input_size
        if (h, w) == (LENET_SIZE, LENET_SIZE):
            pad = (LENET_SIZE - INPUT_SIZE) // 2
            x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
        elif (h, w) != (INPUT_SIZE, INPUT_SIZE):
            import tensorflow as tf

            x = tf.image.resize(x[..., None], (h, w), method="bilinear").numpy()[..., 0]
        if self.invert:
            x = 1.0 - x
        low, high = self.input_range
        if (low, high) != (0.0, 1.0):
            x = low + (high - low) * x
        if self._channel_axis:
            x = x[..., None]
        return np.ascontiguousarray(x, dtype=np.float32)

    def to_drawing(self, values: np.ndarray) -> np.ndarray:
        """A map over the model input ``(h, w)`` (saliency, attributions) -> ``(28, 28)`` over the drawing.

        Cropped for a padded 32x32 input (the padding holds no ink), resampled bilinearly for other
        sizes (for display: sums are not kept), unchanged for 28x28.
        """
        values = np.asarray(values, np.float32)
        h, w = self.input_size
        if (h, w) == (INPUT_SIZE, INPUT_SIZE):
            return values
        if (h, w) == (LENET_SIZE, LENET_SIZE):
            pad = (LENET_SIZE - INPUT_SIZE) // 2
            return np.ascontiguousarray(values[pad : pad + INPUT_SIZE, pad : pad + INPUT_SIZE])
        import tensorflow as tf

        return tf.image.resize(values[None, ..., None], (INPUT_SIZE, INPUT_SIZE), method="bilinear").numpy()[0, ..., 0]

    def drawing_window(self, window: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A rectangle ``(row0, row1, col0, col1)`` on the model input -> the one it covers on the 28x28 drawing."""
        r0, r1, c0, c1 = window
        h, w = self.input_size
        if (h, w) == (LENET_SIZE, LENET_SIZE):
            pad = (LENET_SIZE - INPUT_SIZE) // 2
            r0, r1, c0, c1 = r0 - pad, r1 - pad, c0 - pad, c1 - pad
        elif (h, w) != (INPUT_SIZE, INPUT_SIZE):
            sr, sc = INPUT_SIZE / h, INPUT_SIZE / w
            r0, r1, c0, c1 = int(r0 * sr), int(np.ceil(r1 * sr)), int(c0 * sc), int(np.ceil(c1 * sc))
        clip = lambda v: min(max(v, 0), INPUT_SIZE)
        r0, r1, c0, c1 = clip(r0), clip(r1), clip(c0), clip(c1)
        return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else (0, 0, 0, 0)

    def _to_probabilities(self, raw: np.ndarray) -> np.ndarray:
        """``(n, classes)`` model outputs -> probabilities, one row summing to 1 per input."""
        raw = np.asarray(raw, np.float64)
        if not np.isfinite(raw).all():
            bad = int((~np.isfinite(raw)).sum())
            raise ModelError(
                f"{self.name} produced {bad} NaN or infinite outputs out of {raw.size} for this input; the "
                f"model's weights or its input range are probably wrong ({self.input_note})"
            )
        if self.output_kind == "logits":
            p = np.exp(raw - raw.max(axis=1, keepdims=True))
        else:
            p = np.clip(raw, 0.0, None)
            empty = p.sum(axis=1) <= 0
            p[empty] = 1.0  # all sigmoids at 0: nothing preferred
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict(self, image: np.ndarray | None) -> Prediction:
        """One ``(28, 28)`` float32 drawing in [0, 1] -> probabilities, every feature map and Dense output.

        ``None`` (no digit) gives an empty ``Prediction`` without running the model. Raises
        ``ModelError`` if the model's outputs are NaN or infinite.
        """
        if image is None:
            return Prediction(None, {})
        x = self.prepare(image)
        with self._lock:
            outputs = [o.numpy() for o in self._maps_fn()(x)]
        n_maps, n_dense = len(self._features), len(self._dense)
        activations = {layer.name: out[0] for layer, out in zip(self._features, outputs[:n_maps], strict=True)}
        dense = {layer.name: out[0] for layer, out in zip(self._dense, outputs[n_maps : n_maps + n_dense], strict=True)}
        raw = self._to_probabilities(outputs[-1])
        penultimate = outputs[-2] if self._penultimate is not None else None
        logits = self._logits(raw, outputs[-1], penultimate)
        with self._lock:
            probs, logits = self._remember(x, raw, logits)
        features = None
        if self.calibration.has_distance:
            known = {**activations, **dense, "penultimate": None if penultimate is None else penultimate[0]}
            features = {name: pooled(known[name]) for name in self.calibration.layers}
        verdict = judge(self.calibration, logits[0], features, self.class_names)
        return Prediction(self._calibrated(probs, logits)[0], activations, dense, verdict, raw[0])

    def _check_calibration(self) -> None:
        """Drop a "not a digit" calibration made for another model (its layers or sizes do not fit this one)."""
        cal = self.calibration
        sizes = {layer.name: int(layer.output.shape[-1]) for layer in self._features + self._dense}
        sizes["penultimate"] = self.penultimate_size
        for name in cal.layers:
            stats = cal.means.get(name, cal.references.get(name))
            if sizes.get(name, 0) == 0 or stats is None or stats.shape[-1] != sizes[name]:
                self.card_problems.append(f"confidence: layer {name!r} does not fit this model; 'not a digit' is off")
                cal.components, cal.means, cal.precisions, cal.references = [], {}, {}, {}
                return

    def _logits(self, probabilities: np.ndarray, output: np.ndarray, penultimate: np.ndarray | None) -> np.ndarray:
        """``(n, classes)`` class scores: the final Dense's pre-activation, the output itself for a
        logits model, else the log-probabilities (logits up to a constant)."""
        if self._score_weights is not None and penultimate is not None:
            # einsum, not @: a BLAS call this small mostly waits for threads TensorFlow keeps busy
            z = np.einsum("nd,dk->nk", np.asarray(penultimate, np.float64), self._score_weights[0])
            return z + self._score_weights[1] if len(self._score_weights) > 1 else z
        if penultimate is not None or self.output_kind == "logits":
            return np.asarray(penultimate if penultimate is not None else output, np.float64)
        return logits_from_probabilities(probabilities)

    def _calibrated(self, probabilities: np.ndarray, logits: np.ndarray) -> np.ndarray:
        cal = self.calibration
        if not cal.calibrated:
            return probabilities  # a model without a calibration shows its own softmax, unchanged
        return softmax(logits, cal.temperature).astype(np.float32)

    def predict_answers(self, images: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, list[Verdict]]:
        """``(n, 28, 28)`` drawings -> ``(n, classes)`` (calibrated) probabilities and a verdict for each."""
        cal = self.calibration
        layers = list(cal.layers) if cal.has_distance else []
        probs = np.empty((len(images), self.num_classes), np.float32)
        verdicts: list[Verdict] = []
        for i in range(0, len(images), batch_size):
            raw, logits, features = self.pooled_features(images[i : i + batch_size], layers)
            if self.memory is not None:
                with self._lock:
                    raw, logits = self._remember(self.prepare(np.asarray(images[i : i + batch_size], np.float32)), raw, logits)
            probs[i : i + batch_size] = self._calibrated(raw, logits)
            verdicts.extend(judge_batch(cal, logits, features if layers else None, self.class_names))
        return probs, verdicts

    def pooled_features(self, images: np.ndarray, layers: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """``(n, 28, 28)`` drawings -> raw probabilities ``(n, classes)``, logits ``(n, classes)`` and, for
        each named layer (``"penultimate"``: the final Dense's input), its output averaged over space ``(n, channels)``."""
        fn = self._pooled_fn(tuple(layers))
        with self._lock:
            outputs = [o.numpy() for o in fn(self.prepare(np.asarray(images, np.float32)))]
        raw = self._to_probabilities(outputs[-1])
        penultimate = outputs[-2] if self._penultimate is not None else None
        features = dict(zip(layers, (np.asarray(o, np.float64) for o in outputs)))
        return raw, self._logits(raw, outputs[-1], penultimate), features

    def _pooled_fn(self, layers: tuple[str, ...]):
        """A traced call: the named layers' outputs pooled over space, the penultimate features, the output."""
        if self._judge_fn is None or self._judge_fn[0] != layers:
            import keras
            import tensorflow as tf

            flat = self._flat
            by_name = {layer.name: layer for layer in self._features + self._dense}
            outs = []
            for name in layers:
                if name == "penultimate":
                    outs.append(self._penultimate)
                else:
                    out = by_name[name].output
                    outs.append(keras.ops.mean(out, axis=(1, 2)) if len(out.shape) == 4 else out)
            outs += [self._penultimate] if self._penultimate is not None else []
            multi = keras.Model(flat.inputs[0], outs + list(flat.outputs))
            fn = tf.function(lambda x: multi(x, training=False), input_signature=self._signature, autograph=False)
            self._judge_fn = (layers, fn)
        return self._judge_fn[1]

    def predict_many(self, images: np.ndarray) -> list[Prediction]:
        """``(n, 28, 28)`` drawings -> one :class:`Prediction` each (maps, calibrated probabilities and
        verdict included, as :meth:`predict` gives them), in one call of the model.

        The digits of a written number: every digit's answer and feature maps from one batch.
        """
        x = self.prepare(np.asarray(images, np.float32))
        with self._lock:
            outputs = [o.numpy() for o in self._maps_fn()(x)]
        n_maps, n_dense = len(self._features), len(self._dense)
        raw = self._to_probabilities(outputs[-1])
        penultimate = outputs[-2] if self._penultimate is not None else None
        logits = self._logits(raw, outputs[-1], penultimate)
        with self._lock:
            probs, logits = self._remember(x, raw, logits)
        shown = self._calibrated(probs, logits)
        out = []
        for k in range(len(x)):
            activations = {layer.name: o[k] for layer, o in zip(self._features, outputs[:n_maps], strict=True)}
            dense = {layer.name: o[k] for layer, o in zip(self._dense, outputs[n_maps : n_maps + n_dense], strict=True)}
            features = None
            if self.calibration.has_distance:
                known = {**activations, **dense, "penultimate": None if penultimate is None else penultimate[k]}
                features = {name: pooled(known[name]) for name in self.calibration.layers}
            verdict = judge(self.calibration, logits[k], features, self.class_names)
            out.append(Prediction(shown[k], activations, dense, verdict, raw[k]))
        return out

    def predict_probabilities(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """``(n, 28, 28)`` drawings -> ``(n, classes)`` probabilities, in batches, without the feature maps."""
        images = np.asarray(images, np.float32)
        out = np.empty((len(images), self.num_classes), np.float32)
        batch_size = max(1, min(batch_size, self.rows_per_batch))  # memory bounded by bytes, not count
        for i in range(0, len(images), batch_size):
            x = self.prepare(images[i : i + batch_size])
            with self._lock:
                raw = self._probs_fn(x).numpy()
            p = self._to_probabilities(raw)
            if self.memory is not None:
                with self._lock:
                    p, _ = self._remember(x, p)
            out[i : i + batch_size] = self._calibrated(p, logits_from_probabilities(p))
        return out
