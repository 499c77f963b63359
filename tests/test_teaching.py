"""The Learn views' worked arithmetic adds up by hand, states the model's own number honestly, and names
pooling ties; the architecture view reads model cards defensively (all without Qt or Keras)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from model.nets.card import card_accuracies, read_card_document
from model.teaching.explain import ConvBreakdown, PoolBreakdown
from model.teaching.jobs import (
    DECIMALS,
    channel_view,
    conv_arithmetic,
    pool_arithmetic,
    same_number,
    tied_cells,
)

MINUS = "\u2212"


def numbers_in(text: str) -> list[float]:
    return [float(t.replace(MINUS, "-")) for t in re.findall(r"[−-]?\d+\.\d+", text)]


def conv(patch: np.ndarray, kernel: np.ndarray, bias: float, activation: str = "relu") -> ConvBreakdown:
    """A breakdown as ``model.explain.conv_breakdown`` returns it, for a 3x3 window."""
    products = (patch * kernel).astype(np.float32)
    pre = float(products.astype(np.float64).sum() + bias)
    out = max(pre, 0.0) if activation == "relu" else pre
    kh, kw, _ = kernel.shape
    return ConvBreakdown(
        layer_name="conv2",
        input_layer_name="conv1",
        row=4,
        col=5,
        channel=2,
        patch=patch,
        kernel=kernel,
        products=products,
        bias=bias,
        pre_activation=pre,
        activation=activation,
        output=out,
        input_window=(3, 6, 4, 7),
        padded=np.zeros((kh, kw), bool),
        input_rows=np.arange(3, 6),
        input_cols=np.arange(4, 7),
        input_size=(28, 28),
        receptive_field=(2, 7, 3, 8),
        strides=(1, 1),
        dilation_rate=(1, 1),
        padding="same",
    )


def pool(window: np.ndarray, mode: str = "max") -> PoolBreakdown:
    flat = int(np.argmax(window))
    argmax = (flat // window.shape[1], flat % window.shape[1]) if mode == "max" else None
    output = float(window.max()) if mode == "max" else float(window.astype(np.float64).mean())
    return PoolBreakdown(
        layer_name="pool1",
        input_layer_name="conv2",
        row=0,
        col=0,
        channel=1,
        mode=mode,
        window=window,
        padded=np.zeros(window.shape, bool),
        argmax=argmax,
        count=window.size,
        output=output,
        input_window=(0, 2, 0, 2),
        input_rows=np.arange(2),
        input_cols=np.arange(2),
        input_size=(28, 28),
        receptive_field=(0, 6, 0, 6),
        strides=(2, 2),
        padding="valid",
    )


@pytest.fixture
def breakdown() -> ConvBreakdown:
    rng = np.random.default_rng(7)
    return conv(rng.random((3, 3, 6)).astype(np.float32), rng.normal(0, 0.3, (3, 3, 6)).astype(np.float32), 0.0123)


def test_every_written_sum_is_the_sum_of_its_written_terms(breakdown):
    b = breakdown
    for channel in range(6):
        lines = conv_arithmetic(b, channel).lines
        channel_line, all_line, bias_line = lines[0], lines[1], lines[2]
        *terms, total = numbers_in(channel_line)
        assert len(terms) == 9 and sum(terms) == pytest.approx(total, abs=1e-9)
        # The written terms are the real products to the last written digit.
        np.testing.assert_allclose(terms, b.products[..., channel].ravel(), atol=0.5 * 10**-DECIMALS + 1e-9)
        *sums, everything = numbers_in(all_line)
        assert len(sums) == 5 and sum(sums) == pytest.approx(everything, abs=1e-9)
        before, bias, pre = numbers_in(bias_line)
        assert before == everything and before + bias == pytest.approx(pre, abs=1e-9)
    assert numbers_in(conv_arithmetic(b, 0).result)[-1] == pytest.approx(b.output, abs=1e-3)


def test_the_check_states_the_models_number_and_catches_a_different_one(breakdown):
    b = breakdown
    agreeing = conv_arithmetic(b, 0, model_value=b.output)
    assert agreeing.agrees is True and agreeing.check.startswith("✓ The model computed")
    stale = conv_arithmetic(b, 0, model_value=b.output + 0.25)
    assert stale.agrees is False and "⚠" in stale.check and "✓" not in stale.check
    unknown = conv_arithmetic(b, 0)
    assert unknown.agrees is None and unknown.check == ""
    # Exact to 1e-4 (relative above 1): float32 against float64 agree far better; a changed drawing does not.
    assert same_number(1.0, 1.00005) and not same_number(1.0, 1.0005) and not same_number(0.0, 0.0002)
    assert same_number(1000.0, 1000.05) and not same_number(1000.0, 1000.5)


def test_a_single_channel_layer_and_a_linear_activation():
    b = conv(np.ones((3, 3, 1), np.float32) * 0.5, np.full((3, 3, 1), -0.2, np.float32), -0.1, activation="linear")
    a = conv_arithmetic(b, 0)
    assert a.lines[0].startswith("Σ(window × kernel) =") and "none (linear)" in a.lines[2]
    assert numbers_in(a.result)[-1] == pytest.approx(-1.0, abs=1e-4)


def test_a_pooling_tie_is_named_as_a_tie_not_as_the_first_cell():
    zeros = pool(np.zeros((2, 2), np.float32))
    text = " ".join(pool_arithmetic(zeros).lines)
    assert "tie" in text and "4 cells" in text and tied_cells(zeros) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    single = pool(np.array([[0.1, 0.7], [0.3, 0.2]], np.float32))
    text = " ".join(pool_arithmetic(single).lines)
    assert "row 0, col 1" in text and "tie" not in text and tied_cells(single) == {(0, 1)}


def test_an_average_pooling_line_adds_up():
    b = pool(np.array([[0.12345, 0.5], [0.25, 0.0]], np.float32), mode="average")
    line = pool_arithmetic(b, model_value=b.output).lines[0]
    *values, total, mean = numbers_in(line)
    assert sum(values) == pytest.approx(total, abs=1e-9) and total / 4 == pytest.approx(mean, abs=1e-9)


def test_cards_are_read_defensively(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"evaluation": {"mnist_test": {"accuracy": 0.9812}}}))
    assert card_accuracies(read_card_document(good)) == {"MNIST test set": 0.9812, "pen digits of unseen writers": None}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    for card in (
        read_card_document(broken),
        read_card_document(tmp_path / "missing.json"),
        {"evaluation": []},
        {"evaluation": {"mnist_test": {"accuracy": "high"}}},
        {"evaluation": {"mnist_test": {"accuracy": 7}}},
    ):
        assert set(card_accuracies(card).values()) == {None}


def separable(seed: int = 3) -> ConvBreakdown:
    """A SeparableConv2D breakdown as ``model.explain`` makes it: 2 input channels, depth multiplier 2."""
    from dataclasses import replace

    from model.teaching.explain import ConvStage

    rng = np.random.default_rng(seed)
    window = rng.random((3, 3, 2)).astype(np.float32)
    dk = rng.normal(0, 0.5, (3, 3, 4)).astype(np.float32)  # step-1 channel k reads input channel k // 2
    spread = np.repeat(window, 2, axis=-1)
    inter = (spread * dk).astype(np.float64).sum(axis=(0, 1))
    pk = rng.normal(0, 0.5, 4).astype(np.float32)
    folded = (dk.reshape(3, 3, 2, 2) * pk.reshape(2, 2)).sum(axis=-1)
    stages = (
        ConvStage("depthwise", "sep", spread, dk, spread * dk, 0.0, inter, "step 1"),
        ConvStage(
            "pointwise",
            "sep",
            inter.reshape(1, 1, -1).astype(np.float32),
            pk.reshape(1, 1, -1),
            (inter * pk).reshape(1, 1, -1).astype(np.float32),
            0.05,
            np.array([inter @ pk + 0.05]),
            "step 2",
        ),
    )
    return replace(conv(window, folded, 0.05, activation="linear"), kind="SeparableConv2D", stages=stages)


def test_a_separable_layer_is_written_as_its_two_steps_and_each_adds_up():
    b = separable()
    view = channel_view(b)
    assert view.separable and view.source == (0, 0, 1, 1) and view.kernel.shape == (3, 3, 4)
    np.testing.assert_allclose(view.contributions, b.stages[1].products.ravel(), rtol=1e-6)
    a = conv_arithmetic(b, 3, model_value=b.output)
    step1, slice_line, all_line, step2, bias_line, *_ = a.lines
    assert step1.startswith("Step 1 · depthwise") and step2.startswith("Step 2 · pointwise")
    *terms, total = numbers_in(slice_line)
    assert slice_line.startswith("Step-1 channel 3:") and len(terms) == 9 and sum(terms) == pytest.approx(total, abs=1e-9)
    step1_values = numbers_in(all_line)
    assert len(step1_values) == 4 and step1_values[3] == total
    *products, summed = numbers_in(step2)
    weights = np.round(b.stages[1].kernel.ravel(), DECIMALS)
    # Each written term is a written step-1 value times a written weight; the sum is of the terms as written.
    for value in products[:4]:
        assert any(abs(value - v * w) <= 0.5 * 10**-DECIMALS + 1e-9 for v, w in zip(step1_values, weights, strict=True))
    assert sum(products) == pytest.approx(summed, abs=1e-9)
    before, bias, pre = numbers_in(bias_line)
    assert before == summed and before + bias == pytest.approx(pre, abs=1e-9)
    assert a.agrees is True and numbers_in(a.result)[-1] == pytest.approx(b.output, abs=1e-3)


def test_batch_norm_after_a_conv_is_written_as_its_own_step(breakdown):
    from dataclasses import replace

    from model.teaching.explain import ConvStage

    b = breakdown
    z = float(b.products.astype(np.float64).sum() + b.bias)
    scale, shift = 1.7, -0.3
    stages = (
        ConvStage("convolution", "conv2", b.patch, b.kernel, b.products, b.bias, np.array([z])),
        ConvStage(
            "batch_norm",
            "bn",
            np.full((1, 1, 1), z),
            np.full((1, 1, 1), scale),
            np.full((1, 1, 1), z * scale),
            shift,
            np.array([z * scale + shift]),
            "batch normalisation: ...",
        ),
    )
    out = max(z * scale + shift, 0.0)
    bn = replace(b, layer_name="bn", stages=stages, pre_activation=z * scale + shift, output=out)
    a = conv_arithmetic(bn, 0, model_value=out)
    line = next(line for line in a.lines if line.startswith("Batch normalisation (bn)"))
    before, s, t, after = numbers_in(line)
    assert before == numbers_in(a.lines[2])[-1] and (s, t) == (1.7, -0.3)
    assert round(before * s, DECIMALS) + t == pytest.approx(after, abs=1e-9)
    assert "batch norm →" in a.result and a.agrees is True
