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

Beside it: ``loading.py`` (``load_checked_model``, ``ModelError``: the file checked and bounded
before Keras reads it), ``fitting.py`` (``InputFitting``: the drawing fitted to the model's input
and back) and ``results.py`` (``Prediction``, ``LayerInfo``); their names still import from here.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from model.data.paths import BUNDLED_MODEL
from model.data.preprocess import INPUT_SIZE

from .card import ModelCard, read_card
from .confidence import Verdict, judge, judge_batch, logits_from_probabilities, pooled, read_calibration, softmax
from .fitting import LENET_SIZE, InputFitting  # noqa: F401 (re-exported)
from .graph import expects_raw_pixels, first_computing_layer, flat_model, output_head
from .loading import (  # noqa: F401 (re-exported: checking and loading live in loading.py)
    KERAS_PACKAGES,
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_MEMBERS,
    MAX_COMPRESSION_RATIO,
    MAX_CONFIG_BYTES,
    MAX_INPUT_SIDE,
    MIN_SIDE,
    RATIO_CHECKED_FROM,
    UNSAFE_CLASSES,
    ModelError,
    _h5_config,
    _keras_config,
    load_checked_model,
)
from .results import LayerInfo, Prediction, _dense_layers, _info, feature_layers  # noqa: F401 (LayerInfo re-exported)
from .tf_runtime import import_tensorflow

DEFAULT_MODEL = BUNDLED_MODEL
MAX_BATCH_BYTES = 64 * 1024 * 1024  # one model call's inputs and 4-D activations, for batch classification


# --- the predictor ----------------------------------------------------------------------------


class Predictor(InputFitting):
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
