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


# --- cases found by mutation testing (docs/MUTATION.md): behaviour the tests above left unchecked ---


DECIMAL_NUMBER = re.compile(r"[−-]?\d+\.\d+")


def decimals_in(text: str) -> set[int]:
    return {len(t.split(".")[1]) for t in DECIMAL_NUMBER.findall(text)}


def conv_of_products(products: np.ndarray, bias: float, activation: str = "relu", output: float | None = None) -> ConvBreakdown:
    """A 3x3 convolution breakdown whose window x kernel products are ``products`` ``(3, 3, c)``."""
    products = np.asarray(products, np.float32)
    c = products.shape[2]
    pre = float(products.astype(np.float64).sum() + bias)
    if output is None:
        output = max(pre, 0.0) if activation == "relu" else pre
    return ConvBreakdown(
        layer_name="conv2",
        input_layer_name="conv1",
        row=4,
        col=5,
        channel=0,
        patch=np.ones((3, 3, c), np.float32),
        kernel=products,
        products=products,
        bias=bias,
        pre_activation=pre,
        activation=activation,
        output=output,
        input_window=(3, 6, 4, 7),
        padded=np.zeros((3, 3), bool),
        input_rows=np.arange(3, 6),
        input_cols=np.arange(4, 7),
        input_size=(28, 28),
        receptive_field=(2, 7, 3, 8),
        strides=(1, 1),
        dilation_rate=(1, 1),
        padding="same",
    )


def padded_pool(window: np.ndarray, mode: str = "max", padded: np.ndarray | None = None) -> PoolBreakdown:
    window = np.asarray(window, np.float32)
    padded = np.zeros(window.shape, bool) if padded is None else np.asarray(padded, bool)
    real = window[~padded].astype(np.float64)
    return PoolBreakdown(
        layer_name="pool1",
        input_layer_name="conv2",
        row=0,
        col=0,
        channel=1,
        mode=mode,
        window=window,
        padded=padded,
        argmax=None,
        count=int(real.size),
        output=float(real.max() if mode == "max" else real.mean()),
        input_window=(0, 2, 0, 2),
        input_rows=np.arange(2),
        input_cols=np.arange(2),
        input_size=(28, 28),
        receptive_field=(0, 6, 0, 6),
        strides=(2, 2),
        padding="same",
    )


def random_conv(channels: int, seed: int = 1, activation: str = "relu") -> ConvBreakdown:
    rng = np.random.default_rng(seed)
    return conv_of_products(rng.normal(0, 0.2, (3, 3, channels)), 0.0123, activation)


# --- every number is written with DECIMALS decimals -------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "linear", "tanh"])
def test_every_number_of_a_convolution_is_written_with_the_same_decimals(activation):
    b = random_conv(6, activation=activation)
    for model_value in (b.output, b.output + 0.25):
        a = conv_arithmetic(b, 0, model_value=model_value)
        for text in [*a.lines, a.result, a.check]:
            assert decimals_in(text) <= {DECIMALS}, text


def test_every_number_of_a_max_pooling_is_written_with_the_same_decimals():
    for window in ([[0.1234567, 0.7], [0.3, 0.2]], [[0.5, 0.5], [0.1, 0.0]]):
        b = padded_pool(window)
        a = pool_arithmetic(b, model_value=b.output)
        for text in [*a.lines, a.result, a.check]:
            assert decimals_in(text) <= {DECIMALS}, text
        assert decimals_in(a.lines[0]) == decimals_in(a.result) == decimals_in(a.check) == {DECIMALS}


def test_a_max_pooling_lists_the_window_and_its_largest_value():
    b = padded_pool([[0.1, 0.7], [0.3, 0.2]])
    a = pool_arithmetic(b)
    assert numbers_in(a.lines[0]) == [0.1, 0.7, 0.3, 0.2, 0.7]
    assert numbers_in(a.result) == [0.7]


def test_a_tie_lists_every_tied_cell_by_row_and_column():
    b = padded_pool([[0.5, 0.1], [0.5, 0.5]])
    text = " ".join(pool_arithmetic(b).lines)
    assert "3 cells hold it, at (row, col) (0, 0), (1, 0), (1, 1) of the window" in text


def test_an_average_pooling_writes_its_mean_and_result():
    b = padded_pool([[0.1, 0.2], [0.3, 0.1]], mode="average")
    a = pool_arithmetic(b, model_value=b.output)
    *values, total, mean = numbers_in(a.lines[0])
    assert values == [0.1, 0.2, 0.3, 0.1] and total == 0.7 and a.lines[0].endswith("= 0.7000 / 4 = 0.175")
    assert numbers_in(a.result) == [0.175] and decimals_in(a.result) == {DECIMALS}


# --- the model's own number --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["max", "average"])
def test_a_pooling_states_the_models_number_and_catches_a_different_one(mode):
    b = padded_pool([[0.1, 0.7], [0.3, 0.2]], mode=mode)
    same = pool_arithmetic(b, model_value=b.output)
    assert same.agrees is True and same.check.startswith("✓ The model computed")
    assert numbers_in(same.check)[0] == pytest.approx(b.output, abs=1e-4)
    stale = pool_arithmetic(b, model_value=b.output + 0.25)
    assert stale.agrees is False and stale.check.startswith("⚠")
    assert pool_arithmetic(b).agrees is None and pool_arithmetic(b).check == ""


def test_a_stale_value_is_reported_with_its_distance():
    b = random_conv(2)
    a = conv_arithmetic(b, 0, model_value=b.output + 0.25)
    assert numbers_in(a.check) == pytest.approx([b.output + 0.25, 0.25], abs=1e-4)
    assert "0.2500 away" in a.check


@pytest.mark.parametrize(("activation", "bias"), [("linear", 0.5), ("relu", 0.5)])
def test_terms_that_round_to_zero_give_the_written_result_and_say_so(activation, bias):
    """Nine products of 0.00004 are written as 0.0000: the worked result is the sum as written (0.5000),
    and the check says why the model's 0.5004 differs from it instead of silently using the model's."""
    b = conv_of_products(np.full((3, 3, 1), 0.00004), bias, activation)
    a = conv_arithmetic(b, 0, model_value=b.output)
    assert numbers_in(a.result)[-1] == 0.5
    assert numbers_in(a.lines[-1])[-1] == 0.5
    assert a.agrees is True
    assert "(the sum of the rounded terms above gives 0.5000: each term is rounded to 4 decimals)" in a.check
    assert "computed 0.5004" in a.check


def test_no_rounding_remark_when_the_written_result_is_the_models():
    b = conv_of_products(np.full((3, 3, 1), 0.25), 0.5)
    a = conv_arithmetic(b, 0, model_value=b.output)
    assert a.check == "✓ The model computed 2.7500 for this cell: the same number."


# --- activations ---------------------------------------------------------------------------------


def test_relu_is_explained_as_relu_and_other_activations_are_not():
    relu = conv_arithmetic(conv_of_products(np.full((3, 3, 1), -0.1), 0.0, "relu"), 0)
    assert relu.lines[-1] == "ReLU keeps positive numbers and turns negative ones into 0: relu(−0.9000) = 0.0000"
    assert relu.result.endswith("→ relu → 0.0000")
    tanh = conv_of_products(np.full((3, 3, 1), 0.1), 0.0, "tanh", output=float(np.tanh(0.9)))
    a = conv_arithmetic(tanh, 0)
    assert "ReLU" not in a.lines[-1]
    assert a.lines[-1] == f"Activation tanh: tanh(0.9000) = {np.tanh(0.9):.4f}"
    linear = conv_arithmetic(conv_of_products(np.full((3, 3, 1), -0.1), 0.0, "linear"), 0)
    assert linear.lines[-1] == "Activation: none (linear), so the output is −0.9000"


# --- many channels -------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [4, 5, 6])
def test_the_all_channels_line_names_the_four_largest_and_sums_the_rest(channels):
    rng = np.random.default_rng(channels)
    scale = np.array([0.01, -0.5, 0.02, 0.4, -0.03, 0.3])[:channels]  # channels 1, 3, 5, 0/2/4: by size
    products = rng.uniform(0.9, 1.1, (3, 3, channels)) * scale / 9
    b = conv_of_products(products, 0.0)
    line = conv_arithmetic(b, 0).lines[1]
    named = [int(c) for c in re.findall(r"\(ch (\d+)\)", line)]
    order = np.argsort(-np.abs(np.round(products.astype(np.float32), 4).sum(axis=(0, 1))), kind="stable")
    assert named == list(order[:4])
    if channels > 4:
        assert f"(the other {channels - 4})" in line
    else:
        assert "the other" not in line
    *terms, total = numbers_in(line)
    assert sum(terms) == pytest.approx(total, abs=1e-9)


# --- padding in a pooling window -----------------------------------------------------------------


def test_cells_in_the_padding_do_not_count_and_are_said_to_be_grey():
    # A max pooling at the border of a map of negative numbers: the zero padding must not win.
    b = padded_pool([[-0.3, 0.0], [-0.2, 0.0]], padded=[[False, True], [False, True]])
    assert tied_cells(b) == {(1, 0)}
    a = pool_arithmetic(b, model_value=b.output)
    assert numbers_in(a.lines[0]) == [-0.3, -0.2, -0.2]
    assert "Grey cells lie in the zero padding and do not count." in a.lines
    assert "Grey" not in " ".join(pool_arithmetic(padded_pool([[0.1, 0.2], [0.3, 0.4]])).lines)
    assert tied_cells(padded_pool([[0.1, 0.2], [0.3, 0.4]], mode="average")) == set()


# --- model cards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("accuracy", "shown"), [(1, 1.0), (0, 0.0), (1.0, 1.0), (1.5, None), (-0.1, None)])
def test_an_accuracy_is_shown_exactly_when_it_is_a_fraction(accuracy, shown):
    card = {"evaluation": {"mnist_test": {"accuracy": accuracy}}}
    assert card_accuracies(card)["MNIST test set"] == shown


def test_a_card_that_is_json_but_not_an_object_is_no_card(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"evaluation": {}}]))
    assert read_card_document(path) is None
    path.write_text(json.dumps({"évaluation": "ü"}), encoding="utf-8")
    assert read_card_document(path) == {"évaluation": "ü"}
