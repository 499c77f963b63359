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

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .architecture import MLP_PARAMS
from .explain import ConvBreakdown, IntegratedGradients, PoolBreakdown
from .numbers import fmt, fmt_term, rounded
from .paths import BUNDLED_MLP

JobFn = Callable[[object], object]  # predictor -> result, run on the worker thread
DECIMALS = 4  # every number in a worked explanation; sums are of the numbers as shown
TOLERANCE = 1e-3  # relative: float32 arithmetic in another order agrees far better than this
ACCURACIES = (("MNIST test set", "mnist_test"), ("pen digits of unseen writers", "pendigits_heldout_writers"))
MLP_FIRST_LAYER = 784 * 128 + 128  # the lesson's MLP spends most of its MLP_PARAMS here


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    """A breakdown, the ``(h, w)`` model input and the value the model itself computed for that cell."""

    breakdown: ConvBreakdown | PoolBreakdown
    image: np.ndarray
    model_value: float | None


@dataclass(frozen=True)
class ConvKernels:
    """One convolution's weights: ``kernel`` ``(kh, kw, c_in, filters)``, ``bias`` ``(filters,)``."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str


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
    output_shape: tuple[int, ...]  # without the batch axis
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
    """A job: the breakdown of ``(row, col, channel)`` of ``layer`` for ``image`` (the model input)."""

    def fn(predictor) -> Explanation:
        from .explain import breakdown

        model_input = predictor.prepare(image)
        return Explanation(breakdown(predictor.model, model_input, layer, row, col, channel), _shown(model_input), model_value)

    return fn


def kernels_job(predictor) -> list[ConvKernels]:
    """Every plain ``Conv2D`` layer's kernel and bias, in model order."""
    import keras

    out = []
    for layer in predictor.model.layers:
        if type(layer) is keras.layers.Conv2D:
            weights = layer.get_weights()
            kernel = np.asarray(weights[0], np.float32)
            bias = np.asarray(weights[1], np.float32) if len(weights) > 1 else np.zeros(kernel.shape[-1], np.float32)
            activation = getattr(layer.activation, "__name__", type(layer.activation).__name__)
            out.append(ConvKernels(layer.name, kernel, bias, activation))
    return out


def _group(kind: str) -> str:
    if "Conv" in kind:
        return "convolution"
    if kind == "Dense":
        return "dense"
    return "normalisation" if "Normalization" in kind else "none"


def architecture_job(predictor) -> Architecture:
    """The loaded model's layers, parameter groups and card accuracies, and the MLP's card accuracies."""
    import keras

    model = predictor.model
    rows = [
        LayerRow(
            layer.name,
            type(layer).__name__,
            tuple(int(d) for d in layer.output.shape[1:]),
            int(layer.count_params()),
            _group(type(layer).__name__),
        )
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    return Architecture(
        shape, rows, card_accuracies(predictor.card), card_accuracies(read_card(BUNDLED_MLP.with_suffix(".json")))
    )


def read_card(path: Path) -> dict | None:
    """A model card (JSON) or ``None`` if it is missing or unreadable: cards are optional."""
    try:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def card_accuracies(card: dict | None) -> dict[str, float | None]:
    """``{label: accuracy}`` for each test set in ``ACCURACIES``; ``None`` where the card lacks it."""
    evaluation = card.get("evaluation") if isinstance(card, dict) else None
    out: dict[str, float | None] = {}
    for label, key in ACCURACIES:
        entry = evaluation.get(key) if isinstance(evaluation, dict) else None
        value = entry.get("accuracy") if isinstance(entry, dict) else None
        out[label] = float(value) if isinstance(value, (int, float)) and 0 <= value <= 1 else None
    return out


def _shown(model_input: np.ndarray) -> np.ndarray:
    """A ``(1, h, w[, c])`` model batch as one ``(h, w)`` image to draw (channels averaged)."""
    x = np.asarray(model_input, np.float32)[0]
    return x.mean(axis=-1) if x.ndim == 3 else x


def saliency_job(image: np.ndarray, target: int) -> JobFn:
    """A job: integrated gradients and occlusion of ``image`` for class ``target``."""

    def fn(predictor) -> SaliencyMaps:
        from .explain import integrated_gradients_result, occlusion, signal_below_noise

        probabilities = predictor.predict_probabilities(np.asarray(image, np.float32)[None])[0]
        model_input = predictor.prepare(image)
        # 2% completeness is what the view promises; stopping there keeps the worker free for drawing.
        integrated = integrated_gradients_result(predictor.model, model_input, target, steps=32, tolerance=0.02, max_steps=512)
        blanked = occlusion(predictor.model, model_input, target)
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
    """Whether ``computed`` is the model's own ``model_value`` (float32 in another order: 1e-3 relative)."""
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


def conv_arithmetic(b: ConvBreakdown, channel: int, model_value: float | None = None) -> Arithmetic:
    """The convolution ``b`` written out, showing input channel ``channel``'s window in full.

    Products are written with ``DECIMALS`` decimals; each sum is the sum of the products as
    written, and the result follows from those sums, so every line adds up by hand.
    """
    c_in = b.kernel.shape[2]
    shown = rounded(b.products, DECIMALS)  # (kh, kw, c_in), the numbers as written
    sums = shown.sum(axis=(0, 1))  # exact sums of written numbers (at most DECIMALS decimals)
    terms = " + ".join(fmt_term(p, DECIMALS) for p in shown[..., channel].ravel())
    lines = []
    if c_in == 1:
        lines.append(f"Σ(window × kernel) = {terms} = {fmt(sums[0], DECIMALS)}")
    else:
        lines.append(f"Channel {channel}: Σ(window × kernel) = {terms} = {fmt(sums[channel], DECIMALS)}")
        order = np.argsort(-np.abs(b.channel_sums), kind="stable")
        top = order[:4]
        parts = " + ".join(f"{fmt_term(sums[i], DECIMALS)} (ch {i})" for i in top)
        if c_in > 4:
            parts += f" + {fmt_term(sums[order[4:]].sum(), DECIMALS)} (the other {c_in - 4} channels)"
        lines.append(f"All {c_in} channels: Σ(window × kernel) = {parts} = {fmt(sums.sum(), DECIMALS)}")
    total = float(rounded(sums.sum(), DECIMALS))
    bias = float(rounded(b.bias, DECIMALS))
    pre = total + bias
    lines.append(f"+ bias: {fmt(total, DECIMALS)} + {fmt_term(bias, DECIMALS)} = {fmt(pre, DECIMALS)} (before the activation)")
    after = _relu_like(b.activation, pre)
    written = b.output if after is None else after
    lines.append(_activation_line(b.activation, pre, written))
    real_steps = [s for s in b.stages if s.kind != "convolution"] if b.stages else []
    if real_steps:
        lines.append(f"The {b.kind} layer does this in {len(b.stages)} steps; the window × kernel above is all of them in one:")
        lines += [f"  step {i}: {s.note}" for i, s in enumerate(b.stages, start=1)]
    result = (
        f"Σ(window × kernel) + bias = {fmt(total, DECIMALS)} + {fmt_term(bias, DECIMALS)} = {fmt(pre, DECIMALS)} "
        f"→ {b.activation} → {fmt(written, DECIMALS)}"
    )
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
