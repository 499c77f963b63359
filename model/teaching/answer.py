"""The last steps of a classifier, with numbers that add up: pooling, the dense sum, softmax.

``answer_breakdown(keras_model, model_input)`` finds the last ``Dense`` layer of any Keras
classifier (nested sub-models inlined by ``model.graph.flat_model``) and writes its class scores
as sums::

    logits[c] = contributions[c].sum() + bias[c],   contributions[c, i] = inputs[i] * kernel[i, c]

where ``inputs`` is what the Dense layer receives: the channel means of a global average pooling,
the channel maxima of a global max pooling, the flattened maps of a ``Flatten``, or the units of
an earlier Dense layer. ``probabilities`` are the model's own outputs (a softmax of them for a
model that outputs logits), so the view shows the very numbers the window shows.

``layer_operations(flat)`` names, for each layer, the operation that produced its output
(``"conv 3×3, same, 32 filters, relu"``, ``"max pool 2×2"``); the feature-map overview titles its
layers with them.

Keras is imported inside the functions.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from model.nets.graph import activation_name, as_model_batch, flat_model, source

__all__ = ["AnswerBreakdown", "answer_breakdown", "answer_job", "head_operations", "layer_operations"]

POOLING_KINDS = {
    "GlobalAveragePooling2D": "global average",
    "GlobalMaxPooling2D": "global max",
    "Flatten": "flatten",
}
# Between the pooling (or the previous Dense) and the last Dense, these change no value at inference.
_TRANSPARENT = {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"}
_SOFTMAX_LAYERS = {"Softmax", "Activation"}

_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class AnswerBreakdown:
    """The class scores of one input as sums, and how they become the probabilities.

    ``logits``, ``bias``, ``probabilities``: ``(classes,)`` float64; ``inputs``: ``(n,)`` the last
    Dense layer's input values; ``contributions``: ``(classes, n)`` = ``inputs * kernel.T``, so
    ``contributions[c].sum() + bias[c] == logits[c]``. ``model_logits`` is the score the model
    itself computed (float32, ``None`` when only the probabilities are reachable).

    ``pooling``: "global average", "global max", "flatten" or "none" (the inputs are an earlier
    Dense layer's units). ``maps``: ``(h, w, c)`` the maps pooled (``None`` for "none"); ``channel``:
    ``(n,)`` the channel each input comes from (-1 for "none"). ``output``: "softmax" (the model's
    outputs are the probabilities), "logits" (the app applies softmax) or "sigmoid".
    """

    logits: np.ndarray
    probabilities: np.ndarray
    inputs: np.ndarray
    contributions: np.ndarray
    bias: np.ndarray
    pooling: str
    maps: np.ndarray | None
    channel: np.ndarray
    output: str
    dense_name: str
    pooling_name: str = ""
    maps_name: str = ""
    model_logits: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.logits)

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def channel_means(self) -> np.ndarray | None:
        """``(c,)`` each pooled map's mean (what global average pooling outputs), ``None`` without maps."""
        return None if self.maps is None else self.maps.mean(axis=(0, 1))

    def channel_contributions(self, cls: int) -> np.ndarray:
        """``(c,)`` class ``cls``'s terms summed per channel (for Flatten: over each map's cells); ``(n,)`` without maps."""
        if self.maps is None:
            return self.contributions[cls]
        return np.bincount(self.channel, weights=self.contributions[cls], minlength=self.maps.shape[-1])

    def softmax(self) -> np.ndarray:
        """``softmax(logits)`` in float64: equals ``probabilities`` for softmax and logits models."""
        z = np.exp(self.logits - self.logits.max())
        return z / z.sum()

    def name(self, cls: int) -> str:
        return self.class_names[cls] if cls < len(self.class_names) else str(cls)


def _kind(layer) -> str:
    return type(layer).__name__


def _find_head(flat):
    """``(dense, output kind)``: the last Dense layer and what follows it to the model output."""
    op, inputs = source(flat.outputs[0])
    after = []
    while _kind(op) != "Dense":
        if not inputs or not (_kind(op) in _TRANSPARENT or _kind(op) in _SOFTMAX_LAYERS or _kind(op) == "InputLayer"):
            raise ValueError(
                f"Model {flat.name!r} ends in {_kind(op)} layer {op.name!r}; answer_breakdown needs a Dense layer "
                f"(optionally followed by softmax) that computes the class scores."
            )
        after.append(op)
        op, inputs = source(inputs[0])
    dense = op
    activations = [activation_name(layer) for layer in after] + [activation_name(dense)]
    if "softmax" in activations:
        output = "softmax"
    elif "sigmoid" in activations:
        output = "sigmoid"
    elif all(a in ("", "linear") for a in activations):
        output = "logits"
    else:
        raise ValueError(
            f"Layer {dense.name!r} of model {flat.name!r} ends in {activations}; answer_breakdown explains a "
            f"linear, softmax or sigmoid output."
        )
    return dense, output


def _find_pooling(dense):
    """``(pooling kind, pooling layer or None)``: what feeds ``dense`` (looking through dropout)."""
    op, inputs = source(dense.input)
    while _kind(op) in _TRANSPARENT and inputs:
        op, inputs = source(inputs[0])
    kind = POOLING_KINDS.get(_kind(op), "none")
    if kind != "none" and len(inputs[0].shape) != 4:
        kind = "none"  # a Flatten of a 1-D or 2-D tensor: no maps to show
    if kind != "none" and getattr(op, "data_format", "channels_last") != "channels_last":
        kind = "none"
    if kind == "global average" and getattr(op, "keepdims", False):
        kind = "none"
    return kind, op if kind != "none" else None, inputs[0] if kind != "none" else None


def _head_model(flat):
    """A cached multi-output model: ``[dense input, pooled maps?, model output]`` and its description."""
    import keras

    cached = _MODELS.get(flat)
    if cached is not None:
        return cached
    dense, output = _find_head(flat)
    pooling, pool_layer, maps_tensor = _find_pooling(dense)
    outputs = [dense.input, flat.outputs[0]] + ([maps_tensor] if maps_tensor is not None else [])
    multi = keras.Model(flat.inputs[0], outputs)
    maps_name = ""
    if maps_tensor is not None:
        op, _ = source(maps_tensor)
        maps_name = "input" if _kind(op) == "InputLayer" else op.name
    entry = (multi, dense, output, pooling, pool_layer.name if pool_layer is not None else "", maps_name)
    _MODELS[flat] = entry
    return entry


def answer_breakdown(keras_model, model_input: np.ndarray, class_names: list[str] | None = None) -> AnswerBreakdown:
    """The last Dense layer's class scores for ``model_input`` as sums, and the probabilities.

    Args:
        keras_model: any Keras classifier whose output is a Dense layer (linear, softmax or
            sigmoid), optionally followed by a Softmax/Activation layer or dropout.
        model_input: ``Predictor.prepare(image)``, ``(1, h, w[, 1])``, or a ``(28, 28)`` drawing
            for a 28x28 model.
        class_names: one name per class, for the view (``"0"``..``"N-1"`` when ``None``).

    Returns:
        An :class:`AnswerBreakdown`; its ``probabilities`` are the model's outputs (for a logits
        model their softmax; for sigmoids, divided by their sum, as ``Predictor`` shows them).

    Raises:
        ValueError: the model does not end in a Dense layer, or the input has the wrong shape.
    """
    import keras

    flat = flat_model(keras_model)
    x = as_model_batch(flat, model_input)
    multi, dense, output, pooling, pooling_name, maps_name = _head_model(flat)
    results = [np.asarray(keras.ops.convert_to_numpy(t)) for t in multi(x, training=False)]
    inputs = results[0][0]
    if inputs.ndim != 1:
        raise ValueError(
            f"Dense layer {dense.name!r} of model {flat.name!r} receives shape {inputs.shape}; answer_breakdown "
            f"needs a flat (units,) input (put a Flatten or a global pooling before it)."
        )
    out = results[1][0].astype(np.float64)
    kernel = np.asarray(keras.ops.convert_to_numpy(dense.kernel), np.float64)
    classes = kernel.shape[1]
    bias = np.asarray(keras.ops.convert_to_numpy(dense.bias), np.float64) if dense.use_bias else np.zeros(classes)
    inputs64 = inputs.astype(np.float64)
    contributions = inputs64[None, :] * kernel.T
    logits = contributions.sum(axis=1) + bias
    if output == "softmax":
        probabilities = out
        model_logits = None
    elif output == "logits":
        z = np.exp(out - out.max())
        probabilities = z / z.sum()
        model_logits = out
    else:
        p = np.clip(out, 0.0, None)
        probabilities = p / p.sum() if p.sum() > 0 else np.full_like(p, 1.0 / len(p))
        model_logits = None
    maps = results[2][0].astype(np.float64) if len(results) > 2 else None
    if maps is not None:
        channel = np.arange(inputs.size) % maps.shape[-1]  # GAP/GMP: i; Flatten of (h, w, c): i mod c
    else:
        channel = np.full(inputs.size, -1)
    names = list(class_names) if class_names is not None else [str(i) for i in range(classes)]
    return AnswerBreakdown(
        logits=logits,
        probabilities=probabilities,
        inputs=inputs64,
        contributions=contributions,
        bias=bias,
        pooling=pooling,
        maps=maps,
        channel=channel,
        output=output,
        dense_name=dense.name,
        pooling_name=pooling_name,
        maps_name=maps_name,
        model_logits=model_logits,
        class_names=names,
    )


def answer_job(image: np.ndarray):
    """A worker job: the answer breakdown of the ``(28, 28)`` drawing ``image`` for the loaded predictor."""

    def fn(predictor) -> AnswerBreakdown:
        return answer_breakdown(predictor.model, predictor.prepare(image), list(predictor.class_names))

    return fn


# --- operations, in words --------------------------------------------------------------------


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


def _size(value) -> str:
    a, b = _pair(value)
    return f"{a}×{b}"


def describe_layer(layer) -> str:
    """The operation ``layer`` performs, in a few words: ``"conv 3×3, same, 32 filters, relu"``."""
    kind = _kind(layer)
    act = activation_name(layer)
    act = "" if act in ("", "linear") else act
    if kind in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D"):
        name = {"Conv2D": "conv", "SeparableConv2D": "separable conv", "DepthwiseConv2D": "depthwise conv"}[kind]
        parts = [f"{name} {_size(layer.kernel_size)}", str(layer.padding)]
        if _pair(layer.strides) != (1, 1):
            parts.append(f"stride {_pair(layer.strides)[0]}")
        if kind != "DepthwiseConv2D":
            parts.append(f"{layer.filters} filters")
        if act:
            parts.append(act)
        return ", ".join(parts)
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        what = "max pool" if kind.startswith("Max") else "average pool"
        text = f"{what} {_size(layer.pool_size)}"
        if _pair(layer.strides) != _pair(layer.pool_size):
            text += f", stride {_pair(layer.strides)[0]}"
        return text + (", same" if layer.padding == "same" else "")
    if kind == "GlobalAveragePooling2D":
        return "global average pool (mean of each map)"
    if kind == "GlobalMaxPooling2D":
        return "global max pool (max of each map)"
    if kind == "Dense":
        return f"dense, {layer.units} units" + (f", {act}" if act else "")
    if kind == "BatchNormalization":
        return "batch norm"
    if kind in ("Activation", "ReLU", "LeakyReLU", "Softmax"):
        return act or kind.lower()
    if kind == "Flatten":
        return "flatten"
    return kind


def layer_operations(keras_model) -> dict[str, str]:
    """Layer name -> the operation that produced its output (``describe_layer``), for every layer of the flat model."""
    flat = flat_model(keras_model)
    return {layer.name: describe_layer(layer) for layer in flat.layers if _kind(layer) != "InputLayer"}


def head_operations(keras_model, after: str | None) -> list[str]:
    """The steps from layer ``after`` (the last map layer; ``None``: the input) to the output, in words.

    E.g. ``["global average pool (mean of each map) → 64", "dense, 10 units, softmax → 10"]``.
    """
    flat = flat_model(keras_model)
    names = [layer.name for layer in flat.layers]
    start = names.index(after) + 1 if after in names else 1
    steps = []
    for layer in flat.layers[start:]:
        if _kind(layer) in _TRANSPARENT or _kind(layer) == "InputLayer":
            continue
        try:
            shape = "×".join(str(d) for d in layer.output.shape[1:])
        except (AttributeError, ValueError):
            shape = "?"
        steps.append(f"{describe_layer(layer)} → {shape}")
    return steps
