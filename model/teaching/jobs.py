"""What the Learn views ask the model, and the worked arithmetic they write out, without Qt.

- Jobs for the inference worker (``explain_job``, ``kernels_job``, ``architecture_job``,
  ``saliency_job``): plain callables taking the ``Predictor`` (``model.inference``) and returning
  a small dataclass of NumPy arrays. The worker runs them on its thread, so Keras and TensorFlow
  are imported inside them and never on the GUI thread.
- ``conv_arithmetic`` / ``pool_arithmetic``: a breakdown (``model.explain``) written out line by
  line. Every written sum is the sum of the terms as shown (``model.numbers.rounded``), so a
  student can redo it by hand; the model's own number is stated next to it.
- ``same_number``: whether the explanation's result is the number the model computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.data.paths import BUNDLED_MLP
from model.nets.architecture import MLP_PARAMS
from model.nets.card import card_accuracies, read_card_document

from .explain import ConvBreakdown, ConvStage, IntegratedGradients, PoolBreakdown
from .numbers import fmt, fmt_term, rounded

JobFn = Callable[[object], object]  # predictor -> result, run on the worker thread
DECIMALS = 4  # every number in a worked explanation; sums are of the numbers as shown
TOLERANCE = 1e-4  # the model computes in float32, the breakdown in float64: far closer than this for any sane value
MLP_FIRST_LAYER = 784 * 128 + 128  # the lesson's MLP spends most of its MLP_PARAMS here


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """A breakdown, the ``(h, w)`` model input and the value the model itself computed for that cell.

    ``source_channels``: for a convolution, the channel of ``breakdown.input_map`` that each of its
    kernel's channels reads (one for a depthwise filter, its group for a grouped convolution).
    """

    breakdown: ConvBreakdown | PoolBreakdown
    image: np.ndarray
    model_value: float | None
    source_channels: tuple[int, ...] = ()


@dataclass(frozen=True)
class ConvKernels:
    """One convolution's spatial filters: ``kernel`` ``(kh, kw, c_in, filters)``, ``bias`` ``(filters,)``.

    For a depthwise (or a separable layer's depthwise) step each filter reads one input channel,
    so ``c_in`` is 1 and ``note`` says which channel filter ``f`` reads; ``bias`` is then that of
    the layer's outputs where it has one per filter, else zeros.
    """

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str
    note: str = ""


@dataclass(frozen=True)
class SaliencyMaps:
    """Which pixels matter for class ``target``; maps are ``(h, w)`` float32 like ``image``.

    ``integrated``: integrated gradients of the pre-softmax score (the main map, with its
    completeness). ``occlusion``: ``p(image) - p(image with a 4x4 patch blanked)``, positive where
    blanking lowers the probability. ``occlusion_below_noise``: that map is float32 rounding only.
    """

    target: int
    integrated: IntegratedGradients
    occlusion: np.ndarray
    occlusion_below_noise: bool
    probabilities: np.ndarray  # (classes,)
    image: np.ndarray


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str  # Keras class name
    output_shape: tuple[int | None, ...]  # without the batch axis; None: a size the model leaves open
    params: int
    group: str  # "convolution", "dense", "normalisation" or "none"


@dataclass(frozen=True)
class Architecture:
    """The loaded model's layers and where its parameters sit, next to the lesson's 784-128-10 MLP.

    Accuracies are fractions from the models' cards, ``None`` where a card does not have them.
    """

    input_shape: tuple[int, ...]
    rows: list[LayerRow]
    accuracies: dict[str, float | None]
    mlp_accuracies: dict[str, float | None]

    @property
    def total(self) -> int:
        return sum(r.params for r in self.rows)

    def params_in(self, group: str) -> int:
        return sum(r.params for r in self.rows if r.group == group)

    @property
    def mlp_total(self) -> int:
        return MLP_PARAMS


# --- jobs ---------------------------------------------------------------------------------------


def explain_job(layer: str, channel: int, row: int, col: int, image: np.ndarray, model_value: float | None) -> JobFn:
    """A job: the breakdown of ``(row, col, channel)`` of ``layer`` for the ``(28, 28)`` drawing ``image``,
    computed on what the model receives (``Predictor.prepare``), which is ``Explanation.image``."""

    def fn(predictor) -> Explanation:
        from model.nets.graph import flat_model

        from .explain import breakdown

        model_input = predictor.prepare(image)
        b = breakdown(predictor.model, model_input, layer, row, col, channel)
        sources: tuple[int, ...] = ()
        if isinstance(b, ConvBreakdown):
            sources = source_channels(flat_model(predictor.model).get_layer(_first_stage(b).layer_name), b.channel)
        return Explanation(b, _shown(model_input), model_value, sources)

    return fn


def source_channels(conv, channel: int) -> tuple[int, ...]:
    """The input channels that output ``channel`` of the Keras convolution ``conv`` reads, in kernel order."""
    kind = type(conv).__name__
    c_in = int(conv.input.shape[-1])
    if kind == "DepthwiseConv2D":
        return (channel // int(conv.depth_multiplier),)
    if kind == "Conv2D":
        groups = int(getattr(conv, "groups", 1))
        per_group_in, per_group_out = c_in // groups, int(conv.filters) // groups
        first = (channel // per_group_out) * per_group_in
        return tuple(range(first, first + per_group_in))
    return tuple(range(c_in))


def kernels_job(predictor) -> list[ConvKernels]:
    """Every convolution's spatial filters in model order, nested layers included: ``Conv2D`` kernels, and
    the depthwise kernels (one per input channel and multiplier) of depthwise and separable layers."""
    from model.nets.graph import activation_name, flat_model

    out = []
    for layer in flat_model(predictor.model).layers:
        kind = type(layer).__name__
        if kind not in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            continue
        weights = [np.asarray(w, np.float32) for w in layer.get_weights()]
        if kind == "Conv2D":
            bias = weights[1] if len(weights) > 1 else np.zeros(weights[0].shape[-1], np.float32)
            out.append(ConvKernels(layer.name, weights[0], bias, activation_name(layer)))
            continue
        depthwise = weights[0]  # (kh, kw, c_in, multiplier)
        kh, kw, c_in, mult = depthwise.shape
        kernel = depthwise.reshape(kh, kw, 1, c_in * mult)  # filter c * mult + m, as TensorFlow orders them
        if kind == "DepthwiseConv2D":
            bias = weights[1] if len(weights) > 1 else np.zeros(c_in * mult, np.float32)
            note = f"depthwise: filter f reads only input channel f{f' // {mult}' if mult > 1 else ''}"
            out.append(ConvKernels(layer.name, kernel, bias, activation_name(layer), note))
        else:
            note = (
                f"the depthwise step of a separable convolution (filter f reads only input channel f // {mult}); "
                f"a 1×1 convolution then mixes these {c_in * mult} results into {layer.filters} outputs"
            )
            out.append(ConvKernels(layer.name, kernel, np.zeros(c_in * mult, np.float32), "none until the 1×1 step", note))
    return out


def _group(kind: str) -> str:
    if "Conv" in kind:
        return "convolution"
    if kind == "Dense":
        return "dense"
    return "normalisation" if "Normalization" in kind else "none"


def _shape_of(layer) -> tuple[int | None, ...]:
    """A layer's output shape without the batch axis; ``None`` where the model leaves a size open."""
    try:
        return tuple(None if d is None else int(d) for d in layer.output.shape[1:])
    except (AttributeError, ValueError):  # a layer used twice has no single output
        return ()


def architecture_job(predictor) -> Architecture:
    """The model's layers (nested ones under their own names), parameter groups, card accuracies, the MLP's."""
    from model.nets.graph import flat_model

    flat = flat_model(predictor.model)
    known = {info.name: info.shape for info in [*predictor.layers, *getattr(predictor, "dense_layers", [])]}
    rows = [
        LayerRow(
            layer.name,
            type(layer).__name__,
            tuple(known.get(layer.name, _shape_of(layer))),
            int(layer.count_params()),
            _group(type(layer).__name__),
        )
        for layer in flat.layers
        if type(layer).__name__ != "InputLayer"
    ]
    shape = (*predictor.input_size, *flat.inputs[0].shape[3:])
    return Architecture(
        tuple(int(d) for d in shape),
        rows,
        card_accuracies(predictor.card),
        card_accuracies(read_card_document(BUNDLED_MLP)),
    )


def _shown(model_input: np.ndarray) -> np.ndarray:
    """A ``(1, h, w[, c])`` model batch as one ``(h, w)`` image to draw (channels averaged)."""
    x = np.asarray(model_input, np.float32)[0]
    return x.mean(axis=-1) if x.ndim == 3 else x


def saliency_job(image: np.ndarray, target: int) -> JobFn:
    """A job: integrated gradients and occlusion of the ``(28, 28)`` drawing ``image`` for class ``target``, on
    what the model receives; baseline and occluding patches are a blank drawing as the model receives it."""

    def fn(predictor) -> SaliencyMaps:
        from .explain import integrated_gradients_result, occlusion, signal_below_noise

        probabilities = predictor.predict_probabilities(np.asarray(image, np.float32)[None])[0]
        model_input = predictor.prepare(image)
        blank = predictor.prepare(np.zeros_like(image, np.float32))
        # 2% completeness is what the view promises; stopping there keeps the worker free for drawing.
        integrated = integrated_gradients_result(
            predictor.model, model_input, target, steps=32, baseline=blank, tolerance=0.02, max_steps=512
        )
        blanked = occlusion(predictor.model, model_input, target, fill=blank)
        below = signal_below_noise(blanked, float(probabilities[target]))
        return SaliencyMaps(target, integrated, blanked, below, probabilities, _shown(model_input))

    return fn


# --- the worked arithmetic ------------------------------------------------------------------------


@dataclass(frozen=True)
class Arithmetic:
    """An explanation written out: ``lines`` of worked sums, a one-line ``result``, the ``check``."""

    lines: list[str]
    result: str
    check: str
    agrees: bool | None  # None: the model's value is not known


def same_number(model_value: float, computed: float) -> bool:
    """Whether ``computed`` is the model's own ``model_value``: within ``TOLERANCE`` (relative above 1)."""
    return abs(model_value - computed) <= TOLERANCE * max(1.0, abs(computed))


def _check(model_value: float | None, computed: float, written: float) -> tuple[str, bool | None]:
    if model_value is None:
        return "", None
    if not same_number(model_value, computed):
        return (
            f"⚠ The model's value is {fmt(model_value, DECIMALS)}, {fmt(abs(model_value - computed), DECIMALS)} away: "
            f"the drawing or the model changed since this was computed.",
            False,
        )
    rounding = ""
    if fmt(written, DECIMALS) != fmt(model_value, DECIMALS):
        rounding = (
            f" (the sum of the rounded terms above gives {fmt(written, DECIMALS)}: each term is rounded to {DECIMALS} decimals)"
        )
    return f"✓ The model computed {fmt(model_value, DECIMALS)} for this cell: the same number{rounding}.", True


def _activation_line(activation: str, pre: float, out: float) -> str:
    if activation == "linear":
        return f"Activation: none (linear), so the output is {fmt(out, DECIMALS)}"
    if activation == "relu":
        return f"ReLU keeps positive numbers and turns negative ones into 0: relu({fmt(pre, DECIMALS)}) = {fmt(out, DECIMALS)}"
    return f"Activation {activation}: {activation}({fmt(pre, DECIMALS)}) = {fmt(out, DECIMALS)}"


def _relu_like(activation: str, value: float) -> float | None:
    """The activation applied to a written number, for the ones a student can do by hand."""
    if activation == "linear":
        return value
    if activation == "relu":
        return max(value, 0.0)
    return None


@dataclass(frozen=True)
class ChannelView:
    """A convolution's first step, one ``(kh, kw)`` slice per channel a student can pick.

    ``patch``/``kernel``/``products`` ``(kh, kw, n)``: the layer's own window and kernel, or a
    separable layer's depthwise step (``n`` = input channels x multiplier). ``contributions``
    ``(n,)``: what each slice adds (for separable: its step-1 value x its 1x1 weight); ``source``:
    the ``breakdown.input_map`` channel each slice reads; ``separable``: a pointwise step follows.
    """

    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    padded: np.ndarray
    contributions: np.ndarray
    source: tuple[int, ...]
    labels: list[str]
    separable: bool


def _first_stage(b: ConvBreakdown) -> ConvStage:
    """The convolution step of ``b`` as the layer computes it (unfolded); ``b`` itself for a plain one."""
    if b.stages:
        return b.stages[0]
    return ConvStage("convolution", b.layer_name, b.patch, b.kernel, b.products, b.bias, np.array([b.pre_activation]))


def channel_view(b: ConvBreakdown, source_channels: tuple[int, ...] = ()) -> ChannelView:
    """The slices the explanation lets a student pick for ``b`` (see ``ChannelView``).

    ``source_channels``: the ``input_map`` channel of each of ``b``'s own kernel channels, from
    ``explain_job`` (a depthwise layer reads one channel, a grouped one a range); default ``0..n-1``.
    """
    first = _first_stage(b)
    pointwise = next((s for s in b.stages if s.kind == "pointwise"), None)
    n = first.kernel.shape[2]
    if pointwise is not None:
        mult = max(n // max(b.patch.shape[2], 1), 1)
        source = tuple(k // mult for k in range(n))
        labels = [
            f"step-1 ch {k} (input ch {k // mult}{f', kernel {k % mult}' if mult > 1 else ''}): × weight = {fmt(v, DECIMALS)}"
            for k, v in enumerate(pointwise.products.reshape(-1))
        ]
        contributions = pointwise.products.reshape(-1).astype(np.float64)
    else:
        source = tuple(int(c) for c in source_channels) if len(source_channels) == n else tuple(range(n))
        contributions = first.products.astype(np.float64).sum(axis=(0, 1))
        labels = [f"channel {c}: Σ = {fmt(v, DECIMALS)}" for c, v in zip(source, contributions, strict=True)]
    return ChannelView(first.patch, first.kernel, first.products, b.padded, contributions, source, labels, pointwise is not None)


def _slice_line(view: ChannelView, shown: np.ndarray, channel: int, what: str) -> str:
    """``Σ(window × kernel)`` of slice ``channel`` with every written term."""
    terms = " + ".join(fmt_term(p, DECIMALS) for p in shown[..., channel].ravel())
    total = fmt(shown[..., channel].sum(), DECIMALS)
    if shown.shape[2] == 1:
        return f"Σ(window × {what}) = {terms} = {total}"
    label = f"Step-1 channel {channel}" if view.separable else f"Channel {view.source[channel]}"
    return f"{label}: Σ(window × {what}) = {terms} = {total}"


def _top_terms(values: np.ndarray, names: list[str]) -> str:
    """``a (x) + b (y) + ... + rest (the other k)``: the four largest written terms, the rest summed."""
    order = np.argsort(-np.abs(values), kind="stable")
    parts = " + ".join(f"{fmt_term(values[i], DECIMALS)} ({names[i]})" for i in order[:4])
    if len(values) > 4:
        parts += f" + {fmt_term(values[order[4:]].sum(), DECIMALS)} (the other {len(values) - 4})"
    return parts


def conv_arithmetic(
    b: ConvBreakdown, channel: int, model_value: float | None = None, source_channels: tuple[int, ...] = ()
) -> Arithmetic:
    """The convolution ``b`` written out as the layer computes it, slice ``channel`` of its ``channel_view`` in full.

    Steps: the convolution (or depthwise, then pointwise), bias, a batch normalisation after it, the
    activation. Numbers have ``DECIMALS`` decimals; each sum is of the numbers as written and each
    step starts from the previous written result, so every line adds up by hand."""
    view = channel_view(b, source_channels)
    first = _first_stage(b)
    shown = rounded(view.products, DECIMALS)  # (kh, kw, n), the numbers as written
    sums = shown.sum(axis=(0, 1))
    lines: list[str] = []
    steps: list[str] = []
    if view.separable:
        pointwise = next(s for s in b.stages if s.kind == "pointwise")
        n = len(sums)
        size = f"{first.kernel.shape[0]}×{first.kernel.shape[1]}"
        kernels = f"{n // max(b.patch.shape[2], 1)} {size} kernels" if n > b.patch.shape[2] else f"its own {size} kernel"
        lines.append(f"Step 1 · depthwise: each input channel gets {kernels}: {n} step-1 channels, no mixing.")
        lines.append(_slice_line(view, shown, channel, "depthwise kernel"))
        if n > 1:
            listed = ", ".join(fmt(v, DECIMALS) for v in sums[:16]) + (", …" if n > 16 else "")
            lines.append(f"All {n} step-1 channels, the same way: {listed}")
        weights = rounded(pointwise.kernel.reshape(-1), DECIMALS)
        terms = rounded(sums * weights, DECIMALS)  # the step-1 values as written times the weights as written
        total = float(terms.sum())
        lines.append(
            f"Step 2 · pointwise: a 1×1 convolution mixes the {n} step-1 channels with filter {b.channel}'s {n} weights: "
            f"Σ(step-1 value × weight) = {_top_terms(terms, [f'ch {k}' for k in range(n)])} = {fmt(total, DECIMALS)}"
        )
        bias = float(rounded(pointwise.bias, DECIMALS))
        steps.append(f"step 1 (depthwise) → step 2: Σ(value × weight) = {fmt(total, DECIMALS)}")
    else:
        lines.append(_slice_line(view, shown, channel, "kernel"))
        if len(sums) > 1:
            lines.append(
                f"All {len(sums)} channels: Σ(window × kernel) = "
                f"{_top_terms(sums, [f'ch {c}' for c in view.source])} = {fmt(sums.sum(), DECIMALS)}"
            )
        if first.kind == "depthwise":
            lines.append(f"Depthwise: this filter reads only input channel {view.source[0]}, with its own kernel.")
        total = float(rounded(sums.sum(), DECIMALS))
        bias = float(rounded(first.bias, DECIMALS))
        steps.append(f"Σ(window × kernel) = {fmt(total, DECIMALS)}")
    pre = total + bias
    lines.append(f"+ bias: {fmt(total, DECIMALS)} + {fmt_term(bias, DECIMALS)} = {fmt(pre, DECIMALS)}")
    steps.append(f"+ bias {fmt_term(bias, DECIMALS)} = {fmt(pre, DECIMALS)}")
    for stage in (s for s in b.stages if s.kind == "batch_norm"):
        scale, shift = float(rounded(stage.kernel.reshape(-1)[0], DECIMALS)), float(rounded(stage.bias, DECIMALS))
        z, pre = pre, float(rounded(pre * scale, DECIMALS)) + shift
        lines.append(
            f"Batch normalisation ({stage.layer_name}), with its learned numbers folded into one scale and shift: "
            f"{fmt(z, DECIMALS)} × {fmt_term(scale, DECIMALS)} + {fmt_term(shift, DECIMALS)} = {fmt(pre, DECIMALS)}"
        )
        lines.append(f"  where {stage.note}")
        steps.append(f"batch norm → {fmt(pre, DECIMALS)}")
    after = _relu_like(b.activation, pre)
    written = b.output if after is None else after
    lines.append(_activation_line(b.activation, pre, written))
    result = " ".join(steps) + f" → {b.activation} → {fmt(written, DECIMALS)}"
    check, agrees = _check(model_value, b.output, written)
    return Arithmetic(lines, result, check, agrees)


def pool_arithmetic(b: PoolBreakdown, model_value: float | None = None) -> Arithmetic:
    """The pooling ``b`` written out: the window's values, their max (with ties named) or mean."""
    real = ~b.padded
    values = rounded(b.window[real], DECIMALS)
    listed = ", ".join(fmt(v, DECIMALS) for v in values)
    if b.mode == "max":
        top = float(values.max())
        ties = sorted(tied_cells(b))
        lines = [f"max({listed}) = {fmt(top, DECIMALS)}"]
        if len(ties) == 1:
            lines.append(f"The largest value sits at row {ties[0][0]}, col {ties[0][1]} of the window (framed in gold).")
        else:
            cells = ", ".join(f"({r}, {c})" for r, c in ties)
            lines.append(
                f"The largest value, {fmt(top, DECIMALS)}, is a tie: {len(ties)} cells hold it, at (row, col) {cells} "
                f"of the window (framed in gold); any of them gives the same result."
            )
        written, result = top, f"max(window) = {fmt(top, DECIMALS)}"
    else:
        total = float(values.sum())
        written = total / b.count
        lines = [
            f"({' + '.join(fmt_term(v, DECIMALS) for v in values)}) / {b.count} = {fmt(total, DECIMALS)} / {b.count} "
            f"= {fmt(written, DECIMALS + 2, trim=True)}"
        ]
        result = f"mean(window) = {fmt(written, DECIMALS)}"
    if b.padded.any():
        lines.append("Grey cells lie in the zero padding and do not count.")
    check, agrees = _check(model_value, b.output, written)
    return Arithmetic(lines, result, check, agrees)


def tied_cells(b: PoolBreakdown) -> set[tuple[int, int]]:
    """The window cells holding the maximum of a max pooling (several when they tie), else none."""
    if b.mode != "max":
        return set()
    real = ~b.padded
    top = b.window[real].max()
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(real & (b.window == top)), strict=True)}
