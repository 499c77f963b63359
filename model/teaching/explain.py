"""The arithmetic behind one activation: the window, the kernel, the sum, the model's own number.

Everything here works on any functional (or built Sequential) Keras model with a single image
input in ``channels_last`` layout, not just the bundled one; layers are found by their real
names, also inside nested sub-models (``model.graph.flat_model``). Window geometry and
receptive fields are in ``model.geometry`` and follow Keras/TensorFlow exactly.

- ``conv_breakdown``: the input window, kernel, products, bias and activation that make one
  value of a ``Conv2D``, ``DepthwiseConv2D`` or ``SeparableConv2D`` map, or of a
  ``BatchNormalization`` (and its activation layer) right after a convolution; every step is in
  ``stages``.
- ``pool_breakdown``: the window a ``MaxPooling2D``/``AveragePooling2D`` value is taken from.
- ``breakdown``: whichever of the two fits the layer.
- ``receptive_field`` (from ``model.geometry``): the rectangle of the input one position sees.
- ``saliency``, ``occlusion``, ``integrated_gradients``, ``parameter_comparison``: see
  ``model.saliency`` (re-exported here).

``model_input`` is what the model receives: ``Predictor.prepare(image)`` (``(1, h, w[, 1])``), or
a ``(28, 28)`` drawing for a 28x28 model. Keras is imported inside the functions.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from model.nets.graph import activation_name, as_model_batch, flat_model, input_layer_name, source

from .answer import AnswerBreakdown, answer_breakdown  # noqa: F401 (re-exported: the last steps)
from .geometry import Window, check_index, layer_axes, receptive_field, window_at
from .saliency import (
    IntegratedGradients,
    LayerParameters,
    ParameterComparison,
    integrated_gradients,
    integrated_gradients_result,
    occlusion,
    parameter_comparison,
    saliency,
    signal_below_noise,
)

# fmt: off
__all__ = [
    "ConvBreakdown", "ConvStage", "IntegratedGradients", "LayerParameters", "ParameterComparison", "PoolBreakdown",
    "Window", "breakdown", "conv_breakdown", "integrated_gradients", "integrated_gradients_result", "occlusion",
    "parameter_comparison", "pool_breakdown", "receptive_field", "saliency", "signal_below_noise",
]
# fmt: on

CONV_KINDS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
POOL_KINDS = ("MaxPooling2D", "AveragePooling2D")
_AFTER_CONV = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU")


@dataclass(frozen=True)
class ConvStage:
    """One multiply-and-add step on the way to a value: ``values = products.sum((0, 1)) (+ bias)``.

    ``kind``: "convolution", "depthwise" (one kernel per input channel: ``values`` are the
    intermediate channels, ``(c * depth_multiplier,)``), "pointwise" (a 1x1 convolution of those)
    or "batch_norm" (``z x scale + shift``). ``patch``, ``kernel`` and ``products`` have one shape;
    ``bias`` is added to the sum (0 for depthwise); ``note`` says the step in words.
    """

    kind: str
    layer_name: str
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    bias: float
    values: np.ndarray
    note: str = ""


@dataclass(frozen=True)
class ConvBreakdown:
    """How one value of a convolution's map is computed.

    ``patch``, ``kernel`` and ``products`` are ``(kh, kw, c)`` float32, ``products = patch *
    kernel``; ``patch`` is zero where the window reaches into "same" padding (``padded``,
    ``(kh, kw)`` bool). ``pre_activation = products.sum() + bias`` and ``output`` is
    ``activation`` applied to it, equal to the model's own value at ``(row, col, channel)`` of
    ``layer_name``. For a single-step ``Conv2D`` these are the layer's own numbers; for
    ``DepthwiseConv2D`` the one input channel the output channel reads; for ``SeparableConv2D``
    (and a convolution followed by ``BatchNormalization``) the equivalent single kernel and bias
    with the steps folded in, while ``stages`` holds the real steps in order.
    ``input_rows``/``input_cols`` (``(kh,)``/``(kw,)`` int) are the layer-input row/column each
    kernel tap reads (they step by the dilation rate; negative or past the end means padding).
    ``input_window`` spans them in layer-input coordinates and may extend past the borders;
    ``receptive_field`` is the rectangle of the model input this value depends on, clipped to
    the input. ``input_map`` is the whole ``(h, w, c_in)`` map the window is taken from.
    Windows are ``(row0, row1, col0, col1)`` with exclusive ends.
    """

    layer_name: str
    input_layer_name: str  # the layer whose output feeds the convolution, or "input"
    row: int
    col: int
    channel: int
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    bias: float
    pre_activation: float
    activation: str  # e.g. "relu", "linear"
    output: float
    input_window: Window
    padded: np.ndarray
    input_rows: np.ndarray
    input_cols: np.ndarray
    input_size: tuple[int, int]  # (h, w) of the convolution's input
    receptive_field: Window
    strides: tuple[int, int]
    dilation_rate: tuple[int, int]
    padding: str  # "valid" or "same"
    kind: str = "Conv2D"  # the Keras class of layer_name
    stages: tuple[ConvStage, ...] = ()
    input_map: np.ndarray | None = None

    @property
    def channel_sums(self) -> np.ndarray:
        """``(c,)`` float32: how much each input channel contributes to ``pre_activation``."""
        return self.products.sum(axis=(0, 1))


@dataclass(frozen=True)
class PoolBreakdown:
    """How one value of a ``MaxPooling2D``/``AveragePooling2D`` map is computed.

    ``window`` is ``(ph, pw)`` float32 from the layer's input at ``channel``, zero where it
    reaches into "same" padding (``padded``, ``(ph, pw)`` bool). Padding never counts: the max is
    over the real values, and the average divides by ``count``, the number of real values (as
    TensorFlow does). ``argmax`` is the ``(i, j)`` of the maximum inside ``window`` for max
    pooling, ``None`` for average pooling. Windows are ``(row0, row1, col0, col1)``, end exclusive.
    """

    layer_name: str
    input_layer_name: str
    row: int
    col: int
    channel: int
    mode: str  # "max" or "average"
    window: np.ndarray
    padded: np.ndarray
    argmax: tuple[int, int] | None
    count: int
    output: float
    input_window: Window
    input_rows: np.ndarray
    input_cols: np.ndarray
    input_size: tuple[int, int]
    receptive_field: Window
    strides: tuple[int, int]
    padding: str
    input_map: np.ndarray | None = None


# --- finding layers and their inputs --------------------------------------------------------


def _kind(layer) -> str:
    return type(layer).__name__


def _layers_of(flat, kinds: tuple[str, ...]) -> list:
    return [layer for layer in flat.layers if _kind(layer) in kinds]


def _conv_chain(flat, layer) -> list | None:
    """``[conv, batch_norm?, activation?]`` ending at ``layer``, or ``None`` if ``layer`` is not such a step."""
    chain = [layer]
    while _kind(chain[0]) not in CONV_KINDS:
        if _kind(chain[0]) not in _AFTER_CONV or len(chain) > 2:
            return None
        operation, _ = source(chain[0].input)
        if _kind(chain[0]) != "BatchNormalization" and _kind(operation) not in ("BatchNormalization",):
            return None  # an activation explains only as the end of conv -> batch norm -> activation
        chain.insert(0, operation)
    return chain


def _get_layer(flat, layer_name: str, wanted: str):
    """The layer ``layer_name`` of the flat model, checked to be a convolution step or a pooling layer."""
    if wanted == "conv":
        candidates = [layer.name for layer in flat.layers if _conv_chain(flat, layer)]
        what = "convolution"
    else:
        candidates = [layer.name for layer in _layers_of(flat, POOL_KINDS)]
        what = "pooling"
    try:
        layer = flat.get_layer(layer_name)
    except ValueError:
        raise ValueError(f"Model {flat.name!r} has no layer named {layer_name!r}; its {what} layers are {candidates}.") from None
    if layer.name not in candidates:
        raise ValueError(f"Layer {layer_name!r} is a {_kind(layer)}, not a {what} layer; choose one of {candidates}.")
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"Layer {layer_name!r} uses data_format={layer.data_format!r}; only 'channels_last' is supported.")
    return layer


_INPUT_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _layer_input(flat, layer, x: np.ndarray) -> np.ndarray:
    """The activations that ``layer`` receives for the batch ``x``: ``(h, w, c)`` float32."""
    import keras

    if layer.input is flat.inputs[0]:
        return x[0]
    per_model = _INPUT_MODELS.setdefault(flat, {})
    sub = per_model.get(layer.name)
    if sub is None:
        sub = per_model[layer.name] = keras.Model(flat.inputs[0], layer.input)
    return keras.ops.convert_to_numpy(sub(x, training=False))[0]


def _numpy(tensor) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(tensor), np.float64)


# --- convolutions ---------------------------------------------------------------------------


def _conv_stages(conv, window: np.ndarray, channel: int) -> tuple[np.ndarray, list[ConvStage], np.ndarray, float, np.ndarray]:
    """At this position: every output channel's pre-activation (float64), ``channel``'s stages, and the
    single kernel, bias and window that give ``channel``'s pre-activation in one sum."""
    kind = _kind(conv)
    bias = _numpy(conv.bias) if getattr(conv, "use_bias", False) else None
    w64 = window.astype(np.float64)
    if kind == "Conv2D":
        kernel = _numpy(conv.kernel)  # (kh, kw, c_in / groups, filters)
        filters, group_in = kernel.shape[3], kernel.shape[2]
        per_group = filters // int(getattr(conv, "groups", 1))
        pre = np.concatenate(
            [
                np.einsum(
                    "ijc,ijcf->f", w64[..., g * group_in : (g + 1) * group_in], kernel[..., g * per_group : (g + 1) * per_group]
                )
                for g in range(filters // per_group)
            ]
        )
        group = channel // per_group  # grouped convolutions: output channel f sees only its group's inputs
        patch = window[..., group * group_in : (group + 1) * group_in]
        folded = kernel[..., channel]
        b = 0.0 if bias is None else float(bias[channel])
        stage = ConvStage(
            "convolution",
            conv.name,
            patch,
            folded.astype(np.float32),
            patch * folded.astype(np.float32),
            b,
            np.array([pre[channel] + b]),
            "window x kernel, summed, plus bias",
        )
        stages = [stage]
    else:
        # (kh, kw, c_in, multiplier); DepthwiseConv2D calls it ``kernel``
        depthwise = _numpy(conv.depthwise_kernel if hasattr(conv, "depthwise_kernel") else conv.kernel)
        kh, kw, c_in, mult = depthwise.shape
        intermediate = np.einsum("ijc,ijcm->cm", w64, depthwise).reshape(-1)  # channel c * mult + m, as TensorFlow orders it
        if kind == "DepthwiseConv2D":
            pre = intermediate
            c, m = divmod(channel, mult)
            patch, folded = window[..., c : c + 1], depthwise[:, :, c : c + 1, m]
            b = 0.0 if bias is None else float(bias[channel])
            stages = [
                ConvStage(
                    "depthwise",
                    conv.name,
                    patch,
                    folded.astype(np.float32),
                    patch * folded.astype(np.float32),
                    b,
                    np.array([pre[channel] + b]),
                    f"input channel {c} only: window x its own kernel, summed, plus bias",
                )
            ]
        else:  # SeparableConv2D: depthwise, then a 1x1 convolution over the intermediate channels
            pointwise = _numpy(conv.pointwise_kernel)[0, 0]  # (c_in * mult, filters)
            pre = intermediate @ pointwise
            spread = np.repeat(window, mult, axis=-1)
            dk = depthwise.reshape(kh, kw, c_in * mult).astype(np.float32)
            b = 0.0 if bias is None else float(bias[channel])
            pk = pointwise[:, channel]
            stages = [
                ConvStage(
                    "depthwise",
                    conv.name,
                    spread,
                    dk,
                    spread * dk,
                    0.0,
                    intermediate,
                    "step 1: each input channel times its own kernel, summed per channel (no bias)",
                ),
                ConvStage(
                    "pointwise",
                    conv.name,
                    intermediate.astype(np.float32).reshape(1, 1, -1),
                    pk.astype(np.float32).reshape(1, 1, -1),
                    (intermediate * pk).astype(np.float32).reshape(1, 1, -1),
                    b,
                    np.array([pre[channel] + b]),
                    "step 2: the step-1 channels times this filter's 1x1 weights, summed, plus bias",
                ),
            ]
            patch = window
            folded = np.einsum("ijcm,cm->ijc", depthwise, pk.reshape(c_in, mult))  # both steps as one kernel
    if bias is not None:
        pre = pre + bias
    return pre, stages, folded, (0.0 if bias is None else float(bias[channel])), patch


def _batch_norm(layer, channels: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``scale``, ``shift`` (``(channels,)``) so that the layer computes ``z * scale + shift``, and the formula per channel."""
    if int(layer.axis if isinstance(layer.axis, int) else layer.axis[0]) not in (-1, 3):
        raise ValueError(f"Layer {layer.name!r} normalises axis {layer.axis}; only the channel axis (-1) is supported.")
    gamma = _numpy(layer.gamma) if layer.scale else np.ones(channels)
    beta = _numpy(layer.beta) if layer.center else np.zeros(channels)
    mean, var = _numpy(layer.moving_mean), _numpy(layer.moving_variance)
    scale = gamma / np.sqrt(var + layer.epsilon)
    shift = beta - mean * scale
    notes = [
        f"batch normalisation: (z - mean {mean[i]:.6g}) / sqrt(variance {var[i]:.6g} + {layer.epsilon:g}) x gamma "
        f"{gamma[i]:.6g} + beta {beta[i]:.6g} = z x {scale[i]:.6g} + {shift[i]:.6g}"
        for i in range(channels)
    ]
    return scale, shift, notes


def conv_breakdown(keras_model, model_input: np.ndarray, layer_name: str, row: int, col: int, channel: int) -> ConvBreakdown:
    """Break down the value at ``(row, col, channel)`` of the convolution step ``layer_name``.

    ``layer_name``: a ``Conv2D``, ``DepthwiseConv2D`` or ``SeparableConv2D``, or a
    ``BatchNormalization`` right after one (optionally followed by an ``Activation``/``ReLU``
    layer, which may be named instead). ``model_input``: the batch the model receives
    (``Predictor.prepare(image)``) or one image of the input's size. Raises ``ValueError`` for an
    unknown layer, one of another kind, or an index outside the layer's ``(h, w, c)`` output.
    """
    import keras

    flat = flat_model(keras_model)
    target = _get_layer(flat, layer_name, "conv")
    chain = _conv_chain(flat, target)
    conv = chain[0]
    rows_axis, cols_axis = layer_axes(conv)
    channels = int(target.output.shape[-1])
    row = check_index("row", row, rows_axis.n_out, layer_name)
    col = check_index("col", col, cols_axis.n_out, layer_name)
    channel = check_index("channel", channel, channels, layer_name)

    inputs = _layer_input(flat, conv, as_model_batch(flat, model_input))
    window, padded, in_rows, in_cols = window_at(inputs, rows_axis, cols_axis, row, col)
    pre, stages, kernel, bias, patch = _conv_stages(conv, window, channel)
    activation = conv.activation
    act_name = activation_name(conv)
    for step in chain[1:]:
        if act_name != "linear":
            raise ValueError(
                f"{conv.name!r} applies {act_name!r} before {step.name!r}; only a linear convolution followed by "
                f"batch normalisation can be shown as one sum. Click {conv.name!r} itself."
            )
        if _kind(step) == "BatchNormalization":
            scale, shift, notes = _batch_norm(step, len(pre))
            z = pre[channel]
            pre = pre * scale + shift
            stages.append(
                ConvStage(
                    "batch_norm",
                    step.name,
                    np.full((1, 1, 1), z, np.float32),
                    np.full((1, 1, 1), scale[channel], np.float32),
                    np.full((1, 1, 1), z * scale[channel], np.float32),
                    float(shift[channel]),
                    np.array([pre[channel]]),
                    notes[channel],
                )
            )
            kernel, bias = kernel * scale[channel], bias * scale[channel] + float(shift[channel])
        else:
            activation, act_name = step, activation_name(step) or _kind(step).lower()
    # Every channel's pre-activation goes through the activation, so ones that mix channels
    # (softmax) come out exactly as the layer computes them.
    activated = _numpy(activation(keras.ops.convert_to_tensor(pre[None].astype(np.float32)))).reshape(-1)
    kernel = np.ascontiguousarray(kernel, np.float32)
    patch = np.ascontiguousarray(patch)
    return ConvBreakdown(
        layer_name=target.name,
        input_layer_name=input_layer_name(conv),
        row=row,
        col=col,
        channel=channel,
        patch=patch,
        kernel=kernel,
        products=patch * kernel,
        bias=float(bias),
        pre_activation=float(pre[channel]),
        activation=act_name,
        output=float(activated[channel]),
        input_window=(*rows_axis.span(row, row + 1), *cols_axis.span(col, col + 1)),
        padded=padded,
        input_rows=in_rows,
        input_cols=in_cols,
        input_size=(rows_axis.n_in, cols_axis.n_in),
        receptive_field=receptive_field(flat, target.name, row, col),
        strides=(rows_axis.stride, cols_axis.stride),
        dilation_rate=(rows_axis.dilation, cols_axis.dilation),
        padding=conv.padding.lower(),
        kind=_kind(target),
        stages=tuple(stages),
        input_map=inputs,
    )


def pool_breakdown(keras_model, model_input: np.ndarray, layer_name: str, row: int, col: int, channel: int) -> PoolBreakdown:
    """Break down the value at ``(row, col, channel)`` of a max- or average-pooling layer.

    ``model_input`` as for :func:`conv_breakdown`. Raises ``ValueError`` for an unknown or
    non-pooling layer or an index outside the layer's output.
    """
    flat = flat_model(keras_model)
    layer = _get_layer(flat, layer_name, "pool")
    rows_axis, cols_axis = layer_axes(layer)
    channels = int(layer.output.shape[-1])
    row = check_index("row", row, rows_axis.n_out, layer_name)
    col = check_index("col", col, cols_axis.n_out, layer_name)
    channel = check_index("channel", channel, channels, layer_name)

    inputs = _layer_input(flat, layer, as_model_batch(flat, model_input))
    patch, padded, in_rows, in_cols = window_at(inputs[..., channel : channel + 1], rows_axis, cols_axis, row, col)
    window = patch[..., 0]
    valid = ~padded
    is_max = _kind(layer) == "MaxPooling2D"
    if is_max:
        flat_index = int(np.argmax(np.where(valid, window, -np.inf)))
        argmax: tuple[int, int] | None = (flat_index // window.shape[1], flat_index % window.shape[1])
        output = float(window[argmax])
    else:
        argmax = None
        output = float(window[valid].astype(np.float64).mean())
    return PoolBreakdown(
        layer_name=layer.name,
        input_layer_name=input_layer_name(layer),
        row=row,
        col=col,
        channel=channel,
        mode="max" if is_max else "average",
        window=window,
        padded=padded,
        argmax=argmax,
        count=int(valid.sum()),
        output=output,
        input_window=(*rows_axis.span(row, row + 1), *cols_axis.span(col, col + 1)),
        input_rows=in_rows,
        input_cols=in_cols,
        input_size=(rows_axis.n_in, cols_axis.n_in),
        receptive_field=receptive_field(flat, layer.name, row, col),
        strides=(rows_axis.stride, cols_axis.stride),
        padding=layer.padding.lower(),
        input_map=inputs,
    )


def breakdown(
    keras_model, model_input: np.ndarray, layer_name: str, row: int, col: int, channel: int
) -> ConvBreakdown | PoolBreakdown:
    """:func:`conv_breakdown` or :func:`pool_breakdown`, whichever explains ``layer_name``.

    Raises ``ValueError`` saying which layers can be explained when ``layer_name`` is neither.
    """
    flat = flat_model(keras_model)
    try:
        layer = flat.get_layer(layer_name)
    except ValueError:
        raise ValueError(f"The model has no layer named {layer_name!r}; click a map of the current model.") from None
    if _kind(layer) in POOL_KINDS:
        return pool_breakdown(flat, model_input, layer_name, row, col, channel)
    if _conv_chain(flat, layer):
        return conv_breakdown(flat, model_input, layer_name, row, col, channel)
    raise ValueError(
        f"{layer_name} is a {_kind(layer)} layer: the step-by-step arithmetic is shown for convolutions "
        f"({', '.join(CONV_KINDS)}, batch normalisation after one) and pooling layers. Click a map of one of those."
    )
