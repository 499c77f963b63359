"""Sliding-window geometry of conv and pooling layers, and receptive fields traced through a model.

Geometry follows Keras/TensorFlow exactly: with ``padding="same"`` the output has ``ceil(n /
stride)`` rows and the zero padding (``model.playground.pad_amounts``, for the dilated kernel's
extent) puts ``pad_total // 2`` rows on top and the rest at the bottom (likewise for columns).
Keras is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.nets.graph import flat_model, source

from .playground import pad_amounts

Window = tuple[int, int, int, int]  # (row0, row1, col0, col1), end exclusive


def check_index(name: str, value: int, size: int, layer_name: str) -> int:
    """``value`` as an int if ``0 <= value < size``; else ``ValueError`` naming the layer and the range."""
    if not 0 <= int(value) < size:
        raise ValueError(f"{name}={value} is out of range for layer {layer_name!r}: expected 0 <= {name} < {size}.")
    return int(value)


@dataclass(frozen=True)
class Axis:
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
        taps = (
            np.arange(i0, i1)[:, None] * self.stride - self.pad_before + np.arange(self.size)[None, :] * self.dilation
        ).ravel()
        taps = taps[(taps >= 0) & (taps < self.n_in)]
        return (int(taps.min()), int(taps.max()) + 1) if taps.size else None

    def inside(self, taps: np.ndarray) -> np.ndarray:
        return (taps >= 0) & (taps < self.n_in)


def layer_axes(layer) -> tuple[Axis, Axis]:
    """Row and column geometry of a 2-D conv or pooling layer."""
    size = getattr(layer, "kernel_size", None) or layer.pool_size
    strides = tuple(layer.strides)
    dilation = tuple(getattr(layer, "dilation_rate", (1, 1)))
    padding = layer.padding.lower()
    if padding not in {"valid", "same"}:
        raise ValueError(f"Layer {layer.name!r} uses padding={layer.padding!r}; only 'valid' and 'same' are supported.")
    in_shape = tuple(layer.input.shape[1:3])
    out_shape = tuple(layer.output.shape[1:3])
    axes = []
    for a in range(2):
        extent = (size[a] - 1) * dilation[a] + 1  # a dilated kernel pads like a dense one this wide
        before, _ = pad_amounts(in_shape[a], extent, padding, strides[a])
        axes.append(Axis(size[a], strides[a], dilation[a], before, in_shape[a], out_shape[a]))
    return axes[0], axes[1]


def window_at(inputs: np.ndarray, rows_axis: Axis, cols_axis: Axis, row: int, col: int):
    """The ``(kh, kw, c)`` window of ``inputs`` read for ``(row, col)``, zeros in padding, and the padding mask."""
    in_rows, in_cols = rows_axis.taps(row), cols_axis.taps(col)
    inside_r, inside_c = rows_axis.inside(in_rows), cols_axis.inside(in_cols)
    patch = np.zeros((len(in_rows), len(in_cols), inputs.shape[-1]), np.float32)
    patch[np.ix_(inside_r, inside_c)] = inputs[np.ix_(in_rows[inside_r], in_cols[inside_c])]
    return patch, ~(inside_r[:, None] & inside_c[None, :]), in_rows, in_cols


def _trace_back(tensor, window: Window) -> Window | None:
    """Map a window of ``tensor`` back to the model input; ``None`` if it reads only padding.

    Padding is dropped at every layer, so the result is exact even where dilation or explicit
    padding meet the border. Branches that merge (``Add``, ``Concatenate``) give the union.
    """
    import keras

    operation, inputs = source(tensor)
    if isinstance(operation, keras.layers.InputLayer):
        return window
    r0, r1, c0, c1 = window
    in_h, in_w = (int(d) for d in inputs[0].shape[1:3]) if inputs and len(inputs[0].shape) == 4 else (0, 0)
    if hasattr(operation, "kernel_size") or hasattr(operation, "pool_size"):
        if len(getattr(operation, "kernel_size", None) or operation.pool_size) != 2 or type(operation).__name__.endswith(
            "Transpose"
        ):
            raise ValueError(f"Cannot trace a receptive field through {operation.name!r} ({type(operation).__name__}).")
        rows_axis, cols_axis = layer_axes(operation)
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
    elif isinstance(operation, keras.layers.Reshape) and inputs and len(inputs[0].shape) == 3:
        pass  # (h, w) -> (h, w, 1): the same pixels
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
    """The rectangle of the model input that position ``(row, col)`` of ``layer_name`` sees.

    Returns ``(row0, row1, col0, col1)`` on the model input (e.g. ``28 x 28``), end exclusive,
    inside the input; found by walking back through every conv and pooling layer (kernel size,
    stride, dilation and "same" padding offset), nested sub-models included, dropping padding on
    the way. With dilation the field has holes; this is its bounding box. ``(0, 0, 0, 0)`` if the
    position sees only padding (possible only with explicit ``ZeroPadding2D`` layers).
    """
    flat = flat_model(keras_model)
    try:
        layer = flat.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in flat.layers if len(getattr(layer.output, "shape", ())) == 4]
        raise ValueError(f"Model {flat.name!r} has no layer named {layer_name!r}; its feature-map layers are {names}.") from None
    shape = tuple(layer.output.shape)
    if len(shape) != 4:
        raise ValueError(f"Layer {layer_name!r} has output shape {shape}, not a feature map (batch, h, w, c).")
    row = check_index("row", row, int(shape[1]), layer_name)
    col = check_index("col", col, int(shape[2]), layer_name)
    field = _trace_back(layer.output, (row, row + 1, col, col + 1))
    return (0, 0, 0, 0) if field is None else field
