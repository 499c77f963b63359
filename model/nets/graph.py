"""Reading a Keras model's graph: nested sub-models inlined, what comes first and what comes last.

Users bring models built in many ways; the rest of the core wants one flat functional graph in which
every layer, however deeply nested in sub-models, is a direct layer with its own name. ``flat_model``
builds that graph once per model (a copy with the same weights, so the loaded model is never
touched), and the helpers here answer the two questions the app asks about a graph: how does it
start (does it rescale raw 0-255 pixels itself?) and how does it end (probabilities or logits?).

Keras is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

# Flat copies, keyed weakly so a model the app has replaced is freed together with its copy.
_FLAT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# Layers that do not change pixel values at inference (or only their layout): looking through them
# finds the first layer that really computes on the pixels.
_PASS_THROUGH = {
    "InputLayer",
    "Reshape",
    "Permute",
    "Resizing",
    "Dropout",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomCrop",
    "RandomContrast",
    "RandomBrightness",
    "RandomHeight",
    "RandomWidth",
    "ZeroPadding2D",
    "Cropping2D",
}


def has_nested_models(model) -> bool:
    import keras

    return any(isinstance(layer, keras.Model) for layer in model.layers)


def flat_model(model):
    """``model`` itself if it has no nested sub-models, else a functional copy with them inlined.

    The copy's layers are fresh layers built from each layer's config with the same weights, keyed
    by the inner layer's own name (prefixed by its sub-model's name only if that name is already
    taken); a layer or sub-model used twice stays shared. Its outputs equal the model's.
    """
    import keras

    if not has_nested_models(model):
        return model
    cached = _FLAT.get(model)
    if cached is not None:
        return cached

    clones: dict[int, tuple] = {}  # id(original layer) -> (clone, original)
    taken: set[str] = set()

    def clone(layer, owner: str):
        entry = clones.get(id(layer))
        if entry is None:
            config = layer.get_config()
            if config.get("name") in taken:
                config["name"] = f"{owner}_{config['name']}"
            taken.add(config["name"])
            entry = clones[id(layer)] = (type(layer).from_config(config), layer)
        return entry[0]

    def operation(op, owner: str):
        if isinstance(op, keras.Model):
            return lambda *args, **_: run(op, args)
        return clone(op, owner)

    def run(sub, args):
        tensors = keras.tree.flatten(args)
        if isinstance(sub, keras.Sequential):
            x = tensors[0]
            for layer in sub.layers:
                x = operation(layer, sub.name)(x)
            return x
        return sub._run_through_graph(tensors, operation_fn=lambda op: operation(op, sub.name))

    inputs = [keras.Input(shape=t.shape[1:], dtype=t.dtype, name=getattr(t, "name", None)) for t in model.inputs]
    outputs = run(model, inputs)
    flat = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=model.name)
    for copy, original in clones.values():
        copy.set_weights(original.get_weights())
        if hasattr(copy, "finalize_state"):  # e.g. an adapted Normalization turns its weights into its mean
            copy.finalize_state()
    _FLAT[model] = flat
    return flat


def source(tensor):
    """The operation that produced a symbolic tensor and the tensors it was called on."""
    history = tensor._keras_history
    node = history.operation._inbound_nodes[history.node_index]
    return history.operation, list(node.input_tensors)


def input_layer_name(layer) -> str:
    """The name of the layer whose output feeds ``layer``, or ``"input"`` for the model input."""
    import keras

    operation, _ = source(layer.input)
    return "input" if isinstance(operation, keras.layers.InputLayer) else operation.name


def activation_name(layer) -> str:
    """``"relu"``, ``"softmax"``, ``"linear"``, ... for a layer with an activation; ``""`` otherwise."""
    fn = getattr(layer, "activation", None)
    if fn is None:
        return "softmax" if type(layer).__name__ == "Softmax" else ""
    return getattr(fn, "__name__", type(fn).__name__)


def first_computing_layer(flat):
    """The first layer after the input that changes pixel values (skipping reshapes, augmentation, dropout)."""
    for layer in flat.layers:
        if type(layer).__name__ not in _PASS_THROUGH:
            return layer
    return None


def expects_raw_pixels(layer) -> tuple[bool, str]:
    """Whether a model starting with ``layer`` wants 0-255 pixels, and why, in words.

    ``Rescaling`` with a small scale (``1/255``, ``1/127.5``) turns raw pixels into small numbers;
    a large one (``2``, offset ``-1``) expects [0, 1]. ``Normalization`` adapted on raw pixels has
    a mean or standard deviation above 1; adapted on [0, 1] images, not.
    """
    kind = type(layer).__name__ if layer is not None else ""
    if kind == "Rescaling":
        scale = float(np.max(np.abs(np.asarray(layer.scale, np.float64))))
        raw = scale <= 0.1
        return raw, f"it starts with Rescaling(scale={scale:.4g})" + (", made for raw 0-255 pixels" if raw else "")
    if kind == "Normalization":
        mean = float(np.max(np.abs(np.asarray(layer.mean, np.float64)))) if layer.mean is not None else 0.0
        std = float(np.sqrt(np.max(np.asarray(layer.variance, np.float64)))) if layer.variance is not None else 1.0
        raw = mean > 1.5 or std > 1.5
        return raw, f"it starts with Normalization(mean={mean:.4g}, std={std:.4g})" + (
            ", adapted on raw 0-255 pixels" if raw else ", adapted on [0, 1] pixels"
        )
    return False, ""


@dataclass(frozen=True)
class OutputHead:
    """How a model's output ends. ``kind``: "softmax", "sigmoid", "logits" or "unknown".

    ``score_layer`` is the final ``Dense`` whose pre-activation is the class score (``None`` when
    the output itself is the score, or it is found from ``score_tensor``, the input of a final
    softmax layer).
    """

    kind: str
    layer_name: str
    score_layer: object = None
    score_tensor: object = None


def output_head(flat) -> OutputHead:
    """What the last operation of ``flat`` (a flat model) does to the class scores."""
    operation, inputs = source(flat.outputs[0])
    name = activation_name(operation)
    kind = type(operation).__name__
    if kind in {"Activation", "Softmax"} and name in {"softmax", "sigmoid"} and inputs:
        return OutputHead(name, operation.name, score_tensor=inputs[0])
    if kind == "Dense":
        if name in {"softmax", "sigmoid"}:
            return OutputHead(name, operation.name, score_layer=operation)
        if name == "linear":
            return OutputHead("logits", operation.name)
    return OutputHead("unknown", operation.name)


def score_function(keras_model):
    """``x -> (batch, classes)`` pre-softmax class scores of ``keras_model``, differentiable.

    For a final ``Dense(activation="softmax")`` (or sigmoid) the scores are its logits,
    ``penultimate @ kernel + bias``; for a final softmax layer, its input; otherwise the output.
    """
    import keras

    flat = flat_model(keras_model)
    head = output_head(flat)
    if head.score_layer is not None:
        dense = head.score_layer
        before = keras.Model(flat.inputs[0], dense.input)

        def scores(x):
            z = keras.ops.matmul(before(x, training=False), dense.kernel)
            return z + dense.bias if dense.use_bias else z

        return scores
    if head.score_tensor is not None:
        before = keras.Model(flat.inputs[0], head.score_tensor)
        return lambda x: before(x, training=False)
    return lambda x: flat(x, training=False)


def as_model_batch(keras_model, model_input) -> np.ndarray:
    """A prepared batch ``(1, *input_shape)`` or one image of the input's size -> ``(1, *input_shape)`` float32.

    A ``(28, 28)`` drawing works as is for a ``(28, 28[, 1])`` model. For other models pass
    ``Predictor.prepare(image)``: it renders the drawing at the model's size and value range.
    Unknown (``None``) input sizes take the image's own size.
    """
    shape = tuple(keras_model.inputs[0].shape[1:])
    x = np.asarray(model_input, dtype=np.float32)
    if x.ndim == len(shape) + 1 and x.shape[0] == 1:
        x = x[0]
    want = tuple(int(x.shape[a]) if d is None and a < x.ndim else d for a, d in enumerate(shape))
    if None in want or x.shape[:2] != want[:2] or x.size != math.prod(want):
        raise ValueError(
            f"Expected a {tuple(want[:2])} image or a (1, {', '.join(map(str, want))}) batch for model {keras_model.name!r} "
            f"(input {('None',) + shape}); got shape {x.shape}. Use Predictor.prepare(image) to make one from a drawing."
        )
    return np.ascontiguousarray(x.reshape((1, *want)))
