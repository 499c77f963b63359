"""The Learn views' written arithmetic on the cases the other tests leave out: numbers that round away,
the model's number for a pooling, activations other than ReLU, layers with more than four channels,
window cells in the padding, and model cards at the edges of what they may hold.

Written to kill mutants that survived ``mutmut run`` over model/teaching.py (docs/MUTATION.md); each
test states what a student reads, not how the text is built. No Keras: breakdowns are built by hand.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from model.nets.card import card_accuracies, read_card_document
from model.teaching.explain import ConvBreakdown, PoolBreakdown
from model.teaching.jobs import DECIMALS, conv_arithmetic, pool_arithmetic, tied_cells

MINUS = "\u2212"
DECIMAL_NUMBER = re.compile(r"[−-]?\d+\.\d+")


def numbers_in(text: str) -> list[float]:
    return [float(t.replace(MINUS, "-")) for t in DECIMAL_NUMBER.findall(text)]


def decimals_in(text: str) -> set[int]:
    return {len(t.split(".")[1]) for t in DECIMAL_NUMBER.findall(text)}


def conv(products: np.ndarray, bias: float, activation: str = "relu", output: float | None = None) -> ConvBreakdown:
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


def pool(window: np.ndarray, mode: str = "max", padded: np.ndarray | None = None) -> PoolBreakdown:
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
    return conv(rng.normal(0, 0.2, (3, 3, channels)), 0.0123, activation)


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
        b = pool(window)
        a = pool_arithmetic(b, model_value=b.output)
        for text in [*a.lines, a.result, a.check]:
            assert decimals_in(text) <= {DECIMALS}, text
        assert decimals_in(a.lines[0]) == decimals_in(a.result) == decimals_in(a.check) == {DECIMALS}


def test_a_max_pooling_lists_the_window_and_its_largest_value():
    b = pool([[0.1, 0.7], [0.3, 0.2]])
    a = pool_arithmetic(b)
    assert numbers_in(a.lines[0]) == [0.1, 0.7, 0.3, 0.2, 0.7]
    assert numbers_in(a.result) == [0.7]


def test_a_tie_lists_every_tied_cell_by_row_and_column():
    b = pool([[0.5, 0.1], [0.5, 0.5]])
    text = " ".join(pool_arithmetic(b).lines)
    assert "3 cells hold it, at (row, col) (0, 0), (1, 0), (1, 1) of the window" in text


def test_an_average_pooling_writes_its_mean_and_result():
    b = pool([[0.1, 0.2], [0.3, 0.1]], mode="average")
    a = pool_arithmetic(b, model_value=b.output)
    *values, total, mean = numbers_in(a.lines[0])
    assert values == [0.1, 0.2, 0.3, 0.1] and total == 0.7 and a.lines[0].endswith("= 0.7000 / 4 = 0.175")
    assert numbers_in(a.result) == [0.175] and decimals_in(a.result) == {DECIMALS}


# --- the model's own number --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["max", "average"])
def test_a_pooling_states_the_models_number_and_catches_a_different_one(mode):
    b = pool([[0.1, 0.7], [0.3, 0.2]], mode=mode)
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
    b = conv(np.full((3, 3, 1), 0.00004), bias, activation)
    a = conv_arithmetic(b, 0, model_value=b.output)
    assert numbers_in(a.result)[-1] == 0.5
    assert numbers_in(a.lines[-1])[-1] == 0.5
    assert a.agrees is True
    assert "(the sum of the rounded terms above gives 0.5000: each term is rounded to 4 decimals)" in a.check
    assert "computed 0.5004" in a.check


def test_no_rounding_remark_when_the_written_result_is_the_models():
    b = conv(np.full((3, 3, 1), 0.25), 0.5)
    a = conv_arithmetic(b, 0, model_value=b.output)
    assert a.check == "✓ The model computed 2.7500 for this cell: the same number."


# --- activations ---------------------------------------------------------------------------------


def test_relu_is_explained_as_relu_and_other_activations_are_not():
    relu = conv_arithmetic(conv(np.full((3, 3, 1), -0.1), 0.0, "relu"), 0)
    assert relu.lines[-1] == "ReLU keeps positive numbers and turns negative ones into 0: relu(−0.9000) = 0.0000"
    assert relu.result.endswith("→ relu → 0.0000")
    tanh = conv(np.full((3, 3, 1), 0.1), 0.0, "tanh", output=float(np.tanh(0.9)))
    a = conv_arithmetic(tanh, 0)
    assert "ReLU" not in a.lines[-1]
    assert a.lines[-1] == f"Activation tanh: tanh(0.9000) = {np.tanh(0.9):.4f}"
    linear = conv_arithmetic(conv(np.full((3, 3, 1), -0.1), 0.0, "linear"), 0)
    assert linear.lines[-1] == "Activation: none (linear), so the output is −0.9000"


# --- many channels -------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [4, 5, 6])
def test_the_all_channels_line_names_the_four_largest_and_sums_the_rest(channels):
    rng = np.random.default_rng(channels)
    scale = np.array([0.01, -0.5, 0.02, 0.4, -0.03, 0.3])[:channels]  # channels 1, 3, 5, 0/2/4: by size
    products = rng.uniform(0.9, 1.1, (3, 3, channels)) * scale / 9
    b = conv(products, 0.0)
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
    b = pool([[-0.3, 0.0], [-0.2, 0.0]], padded=[[False, True], [False, True]])
    assert tied_cells(b) == {(1, 0)}
    a = pool_arithmetic(b, model_value=b.output)
    assert numbers_in(a.lines[0]) == [-0.3, -0.2, -0.2]
    assert "Grey cells lie in the zero padding and do not count." in a.lines
    assert "Grey" not in " ".join(pool_arithmetic(pool([[0.1, 0.2], [0.3, 0.4]])).lines)
    assert tied_cells(pool([[0.1, 0.2], [0.3, 0.4]], mode="average")) == set()


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
