"""The arithmetic behind one activation, and where in the drawing a prediction comes from.

Everything here works on any functional (or built Sequential) Keras model with a single image
input in ``channels_last`` layout, not just the bundled one; layers are found by their real
names. Geometry follows Keras/TensorFlow exactly: with ``padding="same"`` the output has
``ceil(n / stride)`` rows and the zero padding is ``pad_total = max((out - 1) * stride +
(k - 1) * dilation + 1 - n, 0)`` rows, ``pad_total // 2`` on top and the rest at the bottom
(likewise for columns).

- ``conv_breakdown``: the input window, kernel, products, bias and activation that make one
  value of a ``Conv2D`` feature map.
- ``pool_breakdown``: the window a ``MaxPooling2D``/``AveragePooling2D`` value is taken from.
- ``receptive_field``: the rectangle of the input image one feature-map position can see.
- ``saliency`` and ``occlusion``: which pixels the predicted probability of a class depends on.
- ``parameter_comparison``: the CNN's parameter count against a fully connected network.

Keras and TensorFlow are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

Window = tuple[int, int, int, int]  # (row0, row1, col0, col1), end exclusive


@dataclass(frozen=True)
class ConvBreakdown:
    """How one value of a ``Conv2D`` feature map is computed.

    ``patch``, ``kernel`` and ``products`` are ``(kh, kw, c_in)`` float32, ``products = patch *
    kernel``; ``patch`` is zero where the window reaches into "same" padding (``padded``,
    ``(kh, kw)`` bool). ``pre_activation = products.sum() + bias`` and ``output`` is the layer's
    activation applied to it, equal to the model's own value at ``(row, col, channel)``.
    ``input_rows``/``input_cols`` (``(kh,)``/``(kw,)`` int) are the layer-input row/column each
    kernel tap reads (they step by the dilation rate; negative or past the end means padding).
    ``input_window`` spans them in layer-input coordinates and may extend past the borders;
    ``receptive_field`` is the rectangle of the model input image this value depends on, clipped
    to the image. Windows are ``(row0, row1, col0, col1)`` with exclusive ends.
    """

    layer_name: str
    input_layer_name: str  # the layer whose output feeds this one, or "input"
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
    input_size: tuple[int, int]  # (h, w) of the layer's input
    receptive_field: Window
    strides: tuple[int, int]
    dilation_rate: tuple[int, int]
    padding: str  # "valid" or "same"

    @property
    def channel_sums(self) -> np.ndarray:
        """``(c_in,)`` float32: how much each input channel contributes to ``pre_activation``."""
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


@dataclass(frozen=True)
class LayerParameters:
    """One layer in ``parameter_comparison``: its own parameters and those of its dense stand-in."""

    name: str
    kind: str  # Keras class name, e.g. "Conv2D"
    output_shape: tuple[int, ...]  # without the batch axis
    params: int
    dense_params: int


@dataclass(frozen=True)
class ParameterComparison:
    rows: list[LayerParameters]
    total_params: int
    total_dense_params: int

    @property
    def ratio(self) -> float:
        """How many times more parameters the fully connected network needs."""
        return self.total_dense_params / self.total_params if self.total_params else math.inf


# --- geometry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """Sliding-window geometry of a conv/pool layer along one spatial axis."""

    size: int  # kernel or pool size
    stride: int
    dilation: int
    pad_before: int
    n_in: int
    n_out: int

    def taps(self, i: int) -> np.ndarray:
        """Input indices read for output index ``i`` (may be < 0 or >= n_in: padding)."""
        return i * self.stride - self.pad_before + np.arange(self.size) * self.dilation

    def span(self, i0: int, i1: int) -> tuple[int, int]:
        """Input span ``[a, b)`` read by outputs ``[i0, i1)``, unclipped (padding included)."""
        return i0 * self.stride - self.pad_before, (i1 - 1) * self.stride - self.pad_before + (self.size - 1) * self.dilation + 1

    def real_span(self, i0: int, i1: int) -> tuple[int, int] | None:
        """Span ``[a, b)`` of the real (non-padding) inputs read by outputs ``[i0, i1)``; ``None`` if none."""
        taps = (np.arange(i0, i1)[:, None] * self.stride - self.pad_before + np.arange(self.size)[None, :] * self.dilation).ravel()
        taps = taps[(taps >= 0) & (taps < self.n_in)]
        return (int(taps.min()), int(taps.max()) + 1) if taps.size else None


def _pad_before(n_in: int, size: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "valid":
        return 0
    n_out = -(-n_in // stride)
    pad_total = max((n_out - 1) * stride + (size - 1) * dilation + 1 - n_in, 0)
    return pad_total // 2


def _axes(layer) -> tuple[_Axis, _Axis]:
    """Row and column geometry of a 2-D conv or pooling layer."""
    size = getattr(layer, "kernel_size", None) or layer.pool_size
    strides = tuple(layer.strides)
    dilation = tuple(getattr(layer, "dilation_rate", (1, 1)))
    padding = layer.padding.lower()
    if padding not in {"valid", "same"}:
        raise ValueError(f"Layer {layer.name!r} uses padding={layer.padding!r}; only 'valid' and 'same' are supported.")
    in_shape = tuple(layer.input.shape[1:3])
    out_shape = tuple(layer.output.shape[1:3])
    return tuple(
        _Axis(size[a], strides[a], dilation[a], _pad_before(in_shape[a], size[a], strides[a], dilation[a], padding), in_shape[a], out_shape[a])
        for a in range(2)
    )  # type: ignore[return-value]


# --- finding layers and their inputs --------------------------------------------------------


def _conv_layers(model) -> list:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _pool_layers(model) -> list:
    import keras

    kinds = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    return [layer for layer in model.layers if isinstance(layer, kinds)]


def _get_layer(model, layer_name: str, candidates: list, what: str):
    names = [layer.name for layer in candidates]
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(f"Model {model.name!r} has no layer named {layer_name!r}; its {what} layers are {names}.") from None
    if layer not in candidates:
        raise ValueError(f"Layer {layer_name!r} is a {type(layer).__name__}, not a {what} layer; choose one of {names}.")
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"Layer {layer_name!r} uses data_format={layer.data_format!r}; only 'channels_last' is supported.")
    try:
        layer.input, layer.output
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"Layer {layer_name!r} is used more than once in the model, so it has no single input: {exc}") from exc
    return layer


def _check_index(name: str, value: int, size: int, layer_name: str) -> int:
    if not 0 <= int(value) < size:
        raise ValueError(f"{name}={value} is out of range for layer {layer_name!r}: expected 0 <= {name} < {size}.")
    return int(value)


def _source(tensor):
    """The operation that produced a symbolic tensor and the tensors it was called on."""
    history = tensor._keras_history
    node = history.operation._inbound_nodes[history.node_index]
    return history.operation, list(node.input_tensors)


def _input_layer_name(layer) -> str:
    import keras

    operation, _ = _source(layer.input)
    return "input" if isinstance(operation, keras.layers.InputLayer) else operation.name


def _as_batch(model, image: np.ndarray) -> np.ndarray:
    """A ``(h, w)`` image (or anything with the input's size) -> ``(1, *input_shape)`` float32."""
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    x = np.asarray(image, dtype=np.float32)
    if x.size != math.prod(shape) or x.shape[:2] != shape[:2]:
        raise ValueError(f"Expected a {shape[:2]} image for model {model.name!r} (input {('None',) + shape}); got shape {x.shape}.")
    return np.ascontiguousarray(x.reshape((1, *shape)))


# A sub-model from the model input to each layer's input, per model; keyed weakly so a model
# that the app has replaced can be freed together with its sub-models.
_INPUT_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _layer_input(model, layer, x: np.ndarray) -> np.ndarray:
    """The activations that ``layer`` receives for the batch ``x``: ``(h, w, c)`` float32."""
    import keras

    if layer.input is model.inputs[0]:
        return x[0]
    per_model = _INPUT_MODELS.setdefault(model, {})
    sub = per_model.get(layer.name)
    if sub is None:
        sub = per_model[layer.name] = keras.Model(model.inputs[0], layer.input)
    return keras.ops.convert_to_numpy(sub(x, training=False))[0]


# --- public API -----------------------------------------------------------------------------


def conv_breakdown(keras_model, image: np.ndarray, layer_name: str, row: int, col: int, channel: int) -> ConvBreakdown:
    """Break down the value at ``(row, col, channel)`` of the ``Conv2D`` layer ``layer_name``.

    ``image``: ``(28, 28)`` float32 in [0, 1], the model input. Raises ``ValueError`` for an
    unknown or non-``Conv2D`` layer or an index outside the layer's ``(h, w, filters)`` output.
    """
    import keras

    layer = _get_layer(keras_model, layer_name, _conv_layers(keras_model), "Conv2D")
    rows_axis, cols_axis = _axes(layer)
    filters = int(layer.filters)
    row = _check_index("row", row, rows_axis.n_out, layer_name)
    col = _check_index("col", col, cols_axis.n_out, layer_name)
    channel = _check_index("channel", channel, filters, layer_name)

    inputs = _layer_input(keras_model, layer, _as_batch(keras_model, image))
    in_rows, in_cols = rows_axis.taps(row), cols_axis.taps(col)
    inside_r = (in_rows >= 0) & (in_rows < rows_axis.n_in)
    inside_c = (in_cols >= 0) & (in_cols < cols_axis.n_in)
    padded = ~(inside_r[:, None] & inside_c[None, :])

    # Grouped convolutions: output channel f sees only the input channels of its group.
    kernel_all = keras.ops.convert_to_numpy(layer.kernel).astype(np.float32)  # (kh, kw, c_in/groups, filters)
    group_in = kernel_all.shape[2]
    per_group_out = filters // int(getattr(layer, "groups", 1))
    full_patch = np.zeros((len(in_rows), len(in_cols), inputs.shape[-1]), np.float32)
    full_patch[np.ix_(inside_r, inside_c)] = inputs[np.ix_(in_rows[inside_r], in_cols[inside_c])]

    bias_all = keras.ops.convert_to_numpy(layer.bias).astype(np.float64) if layer.use_bias else np.zeros(filters)
    # Every filter's pre-activation at this position, so activations that mix channels
    # (softmax) come out exactly as the layer computes them.
    pre_all = np.empty(filters, np.float64)
    for g in range(filters // per_group_out):
        sl = slice(g * per_group_out, (g + 1) * per_group_out)
        group_patch = full_patch[..., g * group_in : (g + 1) * group_in].astype(np.float64)
        pre_all[sl] = np.einsum("ijc,ijcf->f", group_patch, kernel_all[..., sl].astype(np.float64)) + bias_all[sl]
    activated = keras.ops.convert_to_numpy(layer.activation(keras.ops.convert_to_tensor(pre_all[None].astype(np.float32))))

    group = channel // per_group_out
    patch = np.ascontiguousarray(full_patch[..., group * group_in : (group + 1) * group_in])
    kernel = np.ascontiguousarray(kernel_all[..., channel])
    return ConvBreakdown(
        layer_name=layer.name,
        input_layer_name=_input_layer_name(layer),
        row=row,
        col=col,
        channel=channel,
        patch=patch,
        kernel=kernel,
        products=patch * kernel,
        bias=float(bias_all[channel]),
        pre_activation=float(pre_all[channel]),
        activation=getattr(layer.activation, "__name__", type(layer.activation).__name__),
        output=float(np.asarray(activated).reshape(-1)[channel]),
        input_window=(*rows_axis.span(row, row + 1), *cols_axis.span(col, col + 1)),
        padded=padded,
        input_rows=in_rows,
        input_cols=in_cols,
        input_size=(rows_axis.n_in, cols_axis.n_in),
        receptive_field=receptive_field(keras_model, layer_name, row, col),
        strides=(rows_axis.stride, cols_axis.stride),
        dilation_rate=(rows_axis.dilation, cols_axis.dilation),
        padding=layer.padding.lower(),
    )


def pool_breakdown(keras_model, image: np.ndarray, layer_name: str, row: int, col: int, channel: int) -> PoolBreakdown:
    """Break down the value at ``(row, col, channel)`` of a max- or average-pooling layer.

    ``image``: ``(28, 28)`` float32 in [0, 1], the model input. Raises ``ValueError`` for an
    unknown or non-pooling layer or an index outside the layer's output.
    """
    import keras

    layer = _get_layer(keras_model, layer_name, _pool_layers(keras_model), "MaxPooling2D/AveragePooling2D")
    rows_axis, cols_axis = _axes(layer)
    channels = int(layer.output.shape[-1])
    row = _check_index("row", row, rows_axis.n_out, layer_name)
    col = _check_index("col", col, cols_axis.n_out, layer_name)
    channel = _check_index("channel", channel, channels, layer_name)

    inputs = _layer_input(keras_model, layer, _as_batch(keras_model, image))[..., channel]
    in_rows, in_cols = rows_axis.taps(row), cols_axis.taps(col)
    inside_r = (in_rows >= 0) & (in_rows < rows_axis.n_in)
    inside_c = (in_cols >= 0) & (in_cols < cols_axis.n_in)
    valid = inside_r[:, None] & inside_c[None, :]
    window = np.zeros(valid.shape, np.float32)
    window[np.ix_(inside_r, inside_c)] = inputs[np.ix_(in_rows[inside_r], in_cols[inside_c])]

    is_max = isinstance(layer, keras.layers.MaxPooling2D)
    if is_max:
        flat = int(np.argmax(np.where(valid, window, -np.inf)))
        argmax: tuple[int, int] | None = (flat // window.shape[1], flat % window.shape[1])
        output = float(window[argmax])
    else:
        argmax = None
        output = float(window[valid].astype(np.float64).mean())
    return PoolBreakdown(
        layer_name=layer.name,
        input_layer_name=_input_layer_name(layer),
        row=row,
        col=col,
        channel=channel,
        mode="max" if is_max else "average",
        window=window,
        padded=~valid,
        argmax=argmax,
        count=int(valid.sum()),
        output=output,
        input_window=(*rows_axis.span(row, row + 1), *cols_axis.span(col, col + 1)),
        input_rows=in_rows,
        input_cols=in_cols,
        input_size=(rows_axis.n_in, cols_axis.n_in),
        receptive_field=receptive_field(keras_model, layer_name, row, col),
        strides=(rows_axis.stride, cols_axis.stride),
        padding=layer.padding.lower(),
    )


def _trace_back(tensor, window: Window) -> Window | None:
    """Map a window of ``tensor`` back to the model input; ``None`` if it reads only padding.

    Padding is dropped at every layer, so the result is exact even where dilation or explicit
    padding meet the border. Branches that merge (``Add``, ``Concatenate``) give the union.
    """
    import keras

    operation, inputs = _source(tensor)
    if isinstance(operation, keras.layers.InputLayer):
        return window
    r0, r1, c0, c1 = window
    in_h, in_w = (int(d) for d in inputs[0].shape[1:3]) if inputs and len(inputs[0].shape) == 4 else (0, 0)
    if hasattr(operation, "kernel_size") or hasattr(operation, "pool_size"):
        if len(getattr(operation, "kernel_size", None) or operation.pool_size) != 2 or type(operation).__name__.endswith("Transpose"):
            raise ValueError(f"Cannot trace a receptive field through {operation.name!r} ({type(operation).__name__}).")
        rows_axis, cols_axis = _axes(operation)
        rows, cols = rows_axis.real_span(r0, r1), cols_axis.real_span(c0, c1)
        if rows is None or cols is None:
            return None
        (r0, r1), (c0, c1) = rows, cols
    elif isinstance(operation, (keras.layers.ZeroPadding2D, keras.layers.Cropping2D)):
        (top, _), (left, _) = getattr(operation, "padding", None) or operation.cropping
        sign = 1 if isinstance(operation, keras.layers.ZeroPadding2D) else -1
        r0, r1 = max(r0 - sign * top, 0), min(r1 - sign * top, in_h)
        c0, c1 = max(c0 - sign * left, 0), min(c1 - sign * left, in_w)
        if r0 >= r1 or c0 >= c1:
            return None
    else:
        # Element-wise layers (activations, normalisation, dropout, Add, Concatenate, ...) keep
        # the spatial grid; anything that changes it without a known rule is refused.
        spatial = tuple(tensor.shape[1:3])
        if not inputs or any(len(t.shape) != 4 or tuple(t.shape[1:3]) != spatial for t in inputs):
            raise ValueError(f"Cannot trace a receptive field through {operation.name!r} ({type(operation).__name__}).")
    spans = [s for s in (_trace_back(t, (r0, r1, c0, c1)) for t in inputs) if s is not None]
    if not spans:
        return None
    return (min(s[0] for s in spans), max(s[1] for s in spans), min(s[2] for s in spans), max(s[3] for s in spans))


def receptive_field(keras_model, layer_name: str, row: int, col: int) -> Window:
    """The rectangle of the input image that position ``(row, col)`` of ``layer_name`` sees.

    Returns ``(row0, row1, col0, col1)`` on the model input (``28 x 28``), end exclusive,
    inside the image; found by walking back through every conv and pooling layer (kernel size,
    stride, dilation and "same" padding offset), dropping padding on the way. With dilation the
    field has holes; this is its bounding box. ``(0, 0, 0, 0)`` if the position sees only
    padding (possible only with explicit ``ZeroPadding2D`` layers).
    """
    try:
        layer = keras_model.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in keras_model.layers if len(getattr(layer.output, "shape", ())) == 4]
        raise ValueError(f"Model {keras_model.name!r} has no layer named {layer_name!r}; its feature-map layers are {names}.") from None
    shape = tuple(layer.output.shape)
    if len(shape) != 4:
        raise ValueError(f"Layer {layer_name!r} has output shape {shape}, not a feature map (batch, h, w, c).")
    row = _check_index("row", row, int(shape[1]), layer_name)
    col = _check_index("col", col, int(shape[2]), layer_name)
    field = _trace_back(layer.output, (row, row + 1, col, col + 1))
    return (0, 0, 0, 0) if field is None else field


def _check_class(keras_model, target_class: int) -> int:
    classes = int(keras_model.outputs[0].shape[-1])
    if not 0 <= int(target_class) < classes:
        raise ValueError(f"target_class={target_class} is out of range: the model has {classes} classes (0..{classes - 1}).")
    return int(target_class)


def saliency(keras_model, image: np.ndarray, target_class: int) -> np.ndarray:
    """Gradient x input of the probability of ``target_class``: ``(28, 28)`` float32.

    Positive where more ink would raise the probability (and there is ink), negative where it
    would lower it; zero on blank pixels. Values are small and unnormalised: scale them for display.
    """
    import tensorflow as tf

    target_class = _check_class(keras_model, target_class)
    x = tf.convert_to_tensor(_as_batch(keras_model, image))
    with tf.GradientTape() as tape:
        tape.watch(x)
        probability = keras_model(x, training=False)[:, target_class]
    gradient = tape.gradient(probability, x)
    result = (gradient * x).numpy()[0]
    if result.ndim == 3:
        result = result.sum(axis=-1)
    return result.astype(np.float32)


def occlusion(keras_model, image: np.ndarray, target_class: int, patch: int = 4, stride: int = 2) -> np.ndarray:
    """How much the probability of ``target_class`` drops when the pixels are blanked.

    A ``patch x patch`` square of zeros (no ink) slides over the image in steps of ``stride``
    (the last step is moved in to reach the far edge); each pixel gets the mean drop
    ``p(original) - p(occluded)`` over the squares that cover it. ``(28, 28)`` float32,
    positive where the ink matters for the class. All occluded images run in one batch.
    """
    import keras

    target_class = _check_class(keras_model, target_class)
    x = _as_batch(keras_model, image)
    height, width = x.shape[1:3]
    if not 1 <= patch <= min(height, width) or stride < 1:
        raise ValueError(f"Expected 1 <= patch <= {min(height, width)} and stride >= 1; got patch={patch}, stride={stride}.")

    def starts(n: int) -> list[int]:
        s = list(range(0, n - patch + 1, stride))
        return s if s[-1] == n - patch else s + [n - patch]

    corners = [(r, c) for r in starts(height) for c in starts(width)]
    batch = np.repeat(x, len(corners) + 1, axis=0)
    for i, (r, c) in enumerate(corners, start=1):
        batch[i, r : r + patch, c : c + patch] = 0.0
    probabilities = keras.ops.convert_to_numpy(keras_model(batch, training=False))[:, target_class].astype(np.float64)
    drop_sum = np.zeros((height, width))
    count = np.zeros((height, width))
    for (r, c), p in zip(corners, probabilities[1:]):
        drop_sum[r : r + patch, c : c + patch] += probabilities[0] - p
        count[r : r + patch, c : c + patch] += 1
    return (drop_sum / np.maximum(count, 1)).astype(np.float32)


def parameter_comparison(keras_model) -> ParameterComparison:
    """Parameters per layer of the CNN and of a fully connected network of the same width.

    The comparison network is the same network with every convolution replaced by a ``Dense``
    layer that produces as many numbers (``h * w * c`` of the conv's output) from all of the
    previous layer's flattened output: ``dense_params = (in_units + 1) * out_units``, the ``+ 1``
    being the biases. Every other layer is kept as it is (pooling: 0 parameters in both), so the
    layers after the convolutions see inputs of the same size and keep their parameter counts.
    """
    import keras

    rows = []
    for layer in keras_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        output_shape = tuple(int(d) for d in layer.output.shape[1:])
        params = int(layer.count_params())
        name = type(layer).__name__
        if "Conv" in name:
            in_units = math.prod(int(d) for d in layer.input.shape[1:])
            dense_params = (in_units + 1) * math.prod(output_shape)
        elif "Pooling" in name:
            dense_params = 0
        else:
            dense_params = params
        rows.append(LayerParameters(layer.name, name, output_shape, params, dense_params))
    return ParameterComparison(rows, sum(r.params for r in rows), sum(r.dense_params for r in rows))
