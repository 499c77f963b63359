"""The convolution playground on inputs the other tests leave out: non-square images and filters,
fractional edits of whole-number examples, boundary sizes, and refusals that name the bad value.

Written to kill mutants that survived ``mutmut run`` over model/playground.py (docs/MUTATION.md);
each test states behaviour a student or caller sees, not how the code is written.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.teaching.playground import (
    CUSTOM,
    EDGE_DEMO,
    EXAMPLES,
    LESSON,
    MAX_GRID,
    MAX_KERNEL,
    PRESETS,
    Playground,
    conv2d_single,
    output_size,
    output_size_formula,
    pad_amounts,
    pool2d,
    steps,
)


def keras_same_pads(n: int, f: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' rule, written out independently: extra row/column at the end."""
    total = max((math.ceil(n / stride) - 1) * stride + f - n, 0)
    return total // 2, total - total // 2


# --- non-square images and filters ------------------------------------------------------------


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_a_wide_image_and_a_tall_filter_are_padded_per_axis(stride):
    """Rows are padded for the image's height and the filter's height, columns for the widths."""
    rng = np.random.default_rng(stride)
    image, kernel = rng.normal(size=(4, 9)), rng.normal(size=(3, 2))
    p = Playground()
    p.set_input(image)
    p.set_kernel(kernel)
    p.set_padding("same")
    p.set_stride(stride)
    top, bottom = keras_same_pads(4, 3, stride)
    left, right = keras_same_pads(9, 2, stride)
    assert p.pads() == (top, bottom, left, right)
    assert p.output.shape == (math.ceil(4 / stride), math.ceil(9 / stride))
    padded, mask = p.padded()
    assert padded.shape == (4 + top + bottom, 9 + left + right)
    # The mask marks exactly the zero border: the cells it leaves out are the image itself.
    assert mask.dtype == bool
    np.testing.assert_array_equal(padded[~mask].reshape(image.shape), image)
    assert not padded[mask].any()
    # The first window starts at the padded image's corner and covers the filter's shape.
    first = p.step()
    assert first.rows == (0, 3) and first.cols == (0, 2)


def test_a_single_column_image_is_accepted_and_the_filter_not_fitting_is_said():
    p = Playground()
    p.set_input(np.arange(5.0).reshape(5, 1))
    assert p.image.shape == (5, 1)
    assert p.output is None and "does not fit" in p.error
    assert p.formula().startswith("The filter does not fit")


def test_a_drawing_with_a_channel_axis_is_the_same_as_without():
    """The model's (28, 28, 1) input can go straight into the playground."""
    rng = np.random.default_rng(0)
    image = rng.random((28, 28))
    a, b = Playground(), Playground()
    a.set_input(image)
    b.set_input(image[..., None])
    assert b.image.shape == (28, 28)
    np.testing.assert_array_equal(a.output, b.output)


@pytest.mark.parametrize(
    "bad",
    [np.zeros(5), np.zeros((0, 3)), np.zeros((3, 3, 2)), np.zeros((2, 2, 2, 1)), [[1.0, np.nan]], [[np.inf]]],
    ids=["1-D", "empty", "two channels", "4-D", "nan", "inf"],
)
def test_inputs_that_are_not_a_grid_of_numbers_are_refused_with_their_shape(bad):
    p = Playground()
    before = p.image.copy()
    with pytest.raises(ValueError, match=re.escape(str(np.asarray(bad).shape))):
        p.set_input(bad)
    np.testing.assert_array_equal(p.image, before)  # nothing half-changed


def test_a_one_by_one_input_is_a_grid():
    p = Playground()
    p.set_input([[7.0]])
    p.set_kernel([[2.0]])
    np.testing.assert_array_equal(p.output, [[14.0]])


@pytest.mark.parametrize(
    "bad",
    [np.zeros(3), np.zeros((0, 0)), np.zeros((MAX_KERNEL + 1, MAX_KERNEL + 1)), np.zeros((1, MAX_KERNEL + 1)), [[np.nan]]],
    ids=["1-D", "empty", "too big", "too wide", "nan"],
)
def test_filters_that_are_not_small_grids_of_numbers_are_refused_with_their_shape(bad):
    p = Playground()
    with pytest.raises(ValueError, match=re.escape(str(np.asarray(bad).shape))):
        p.set_kernel(bad)


def test_the_largest_and_smallest_filters_are_accepted():
    p = Playground()
    p.set_input(np.ones((9, 9)))
    p.set_kernel(np.ones((MAX_KERNEL, MAX_KERNEL)))
    np.testing.assert_array_equal(p.output, np.full((9 - MAX_KERNEL + 1,) * 2, MAX_KERNEL**2))
    p.set_kernel([[3.0]])  # a 1x1 convolution scales the image
    np.testing.assert_array_equal(p.output, np.full((9, 9), 3.0))


def test_a_model_kernel_that_is_not_square_is_loaded_and_described_with_its_shape():
    kernel = np.arange(6.0).reshape(3, 2)
    p = Playground()
    p.set_learned({"conv1 filter 4": kernel})
    assert "conv1 filter 4" in p.preset_names()
    p.load("conv1 filter 4")
    np.testing.assert_array_equal(p.kernel, kernel)
    assert p.preset_label() == "conv1 filter 4"
    assert p.note().startswith("conv1 filter 4: a 3×2 kernel the network learned")
    p.set_learned({})
    assert "conv1 filter 4" not in p.preset_names()


def test_an_unknown_preset_is_refused_with_its_name_and_the_choices():
    p = Playground()
    with pytest.raises(ValueError, match=r"'nope'.*lesson example.*sobel x"):
        p.load("nope")


# --- edits keep fractions ---------------------------------------------------------------------


def test_a_fraction_typed_into_a_whole_number_example_is_kept():
    """The lesson's numbers are whole, but a student may type 0.5 into the image or the filter."""
    p = Playground()
    p.load(LESSON)
    p.edit_input(0, 0, 0.5)
    assert p.image[0, 0] == 0.5
    assert p.output[0, 0] == 3.5  # the filter's top-left 1 now picks up 0.5 instead of 1
    p.edit_kernel(0, 0, 0.25)
    assert p.kernel[0, 0] == 0.25 and p.filter_name == CUSTOM
    assert p.output[0, 0] == 3.125


def test_whole_number_grids_given_as_integers_still_take_fractions():
    p = Playground()
    p.set_input(np.zeros((4, 4), dtype=int))
    p.set_kernel(np.ones((2, 2), dtype=int))
    p.edit_input(1, 1, 0.5)
    p.edit_kernel(0, 0, 0.5)
    assert p.image[1, 1] == 0.5 and p.kernel[0, 0] == 0.5
    assert p.output[0, 0] == 0.5 and p.output[1, 1] == 0.25


def test_the_shared_presets_and_examples_cannot_be_changed_in_place():
    """No view can corrupt a preset for the next student by writing into the array it was shown."""
    p = Playground()
    p.load("sobel x")
    p.edit_kernel(0, 0, 9.0)
    assert PRESETS["sobel x"][0, 0] == -1
    with pytest.raises(ValueError):
        PRESETS["blur"][0, 0] = 5
    for example in EXAMPLES.values():
        with pytest.raises(ValueError):
            example.image[0, 0] = 5
        with pytest.raises(ValueError):
            example.kernel[0, 0] = 5


# --- stepping and sizes -----------------------------------------------------------------------


def test_the_step_slider_clamps_to_the_first_and_last_cell():
    p = Playground()
    p.load(LESSON)  # 3x3 output, 9 steps
    assert p.go_to_step(-4).out_row == 0 and p.step_index == 0
    assert p.go_to_step(0) == p.steps()[0]
    assert p.go_to_step(99) == p.steps()[-1] and p.at_last_step()
    p.go_to_step(7)
    assert not p.at_last_step()


def test_a_grid_of_max_grid_cells_is_still_editable_and_one_more_is_an_image():
    p = Playground()
    p.set_input(np.zeros((MAX_GRID, MAX_GRID)))
    assert not p.is_large()
    p.set_input(np.zeros((MAX_GRID + 1, 3)))
    assert p.is_large()


def test_resizing_the_grid_keeps_the_numbers_that_fit_and_clears_a_drawing():
    p = Playground()
    p.load(LESSON)
    p.resize_grid(3)
    np.testing.assert_array_equal(p.image, [[1, 1, 1], [0, 1, 1], [0, 0, 1]])
    p.resize_grid(6)
    assert p.image.shape == (6, 6) and p.image[:3, :3].sum() == 6 and p.image[3:, :].sum() == 0
    p.set_input(np.ones((28, 28)))
    p.resize_grid(5)
    np.testing.assert_array_equal(p.image, np.zeros((5, 5)))


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_a_stride_that_is_not_a_whole_number_from_one_is_refused_with_the_value(bad):
    p = Playground()
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        p.set_stride(bad)
    assert p.stride == 1


def test_the_error_of_a_filter_that_does_not_fit_names_both_shapes():
    p = Playground()
    p.set_input(np.ones((2, 1)))
    p.set_kernel(np.ones((3, 2)))
    assert "3x2 filter" in p.error and "2x1 image" in p.error
    assert p.pooled() is None and p.pool_note() == ""


# --- the module's functions -------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(1, 7), st.integers(0, 3), st.integers(1, 4))
def test_the_written_size_formula_is_floored_exactly_when_the_division_is_not_whole(n, f, p, s):
    if n + 2 * p < f:
        with pytest.raises(ValueError, match=f"= {n + 2 * p}"):
            output_size(n, f, p, s)
        return
    text = output_size_formula(n, f, p, s)
    assert text.startswith(f"⌊({n} + 2·{p} − {f}) / {s}⌋" if (n + 2 * p - f) % s else f"({n} + 2·{p} − {f}) / {s} + 1")
    assert text.endswith(f"= {(n + 2 * p - f) // s + 1}")


@pytest.mark.parametrize(("f", "p", "s"), [(0, 0, 1), (3, -1, 1), (3, 0, 0)])
def test_impossible_sizes_are_refused_with_the_values(f, p, s):
    with pytest.raises(ValueError, match=f"f={f}, p={p}, s={s}"):
        output_size(9, f, p, s)


def test_a_filter_exactly_as_big_as_the_padded_input_gives_one_output():
    assert output_size(1, 3, 1, 1) == 1
    with pytest.raises(ValueError):
        output_size(1, 4, 1, 1)


def test_a_zero_stride_is_refused_with_the_value():
    with pytest.raises(ValueError, match="got 0"):
        pad_amounts(5, 3, "same", 0)


def test_a_one_dimensional_image_is_refused_not_crashed():
    with pytest.raises(ValueError, match=r"\(5,\)"):
        conv2d_single(np.ones(5), np.ones((3, 3)))


def test_steps_and_pool2d_default_to_the_lesson_settings():
    """steps: no padding, stride 1, like conv2d_single; pool2d: 2x2 windows, stride 2, max."""
    image, kernel = np.arange(25.0).reshape(5, 5), np.ones((3, 3))
    assert [s.total for s in steps(image, kernel)] == list(conv2d_single(image, kernel).ravel())
    np.testing.assert_array_equal(pool2d(np.arange(16.0).reshape(4, 4)), [[5, 7], [13, 15]])


def test_pooling_windows_as_big_as_the_image_or_of_one_cell_work():
    np.testing.assert_array_equal(pool2d(np.array([[1.0, 4.0], [3.0, 2.0]])), [[4.0]])
    image = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(pool2d(image, size=1, stride=1), image)


@pytest.mark.parametrize(
    ("shape", "size", "stride"), [((5,), 2, 2), ((1, 4), 2, 2), ((4, 4), 0, 1), ((4, 4), 2, 0), ((4, 4), 2, -1)]
)
def test_impossible_pooling_is_refused_with_the_values(shape, size, stride):
    with pytest.raises(ValueError, match=f"size={size}, stride={stride}"):
        pool2d(np.ones(shape), size, stride)


def test_the_edge_demo_note_quotes_the_numbers_its_output_has():
    p = Playground()
    p.load(EDGE_DEMO)
    assert p.output.max() == 30 and "30" in p.note() and "0" in p.note()


# --- the words for 'same' padding that is uneven, the step's window, pooling (after the second run) ---


def test_uneven_same_padding_is_written_per_axis_with_both_amounts():
    p = Playground()
    p.set_input(np.zeros((5, 7)))
    p.set_kernel(np.ones((2, 2)))
    p.set_padding("same")
    p.set_stride(2)
    assert p.pads() == (0, 1, 0, 1)
    assert p.formula().startswith("Output rows = (5 + 0 + 1 − 2) / 2 + 1 = 3\ncolumns = (7 + 0 + 1 − 2) / 2 + 1 = 4  →  a 3×4")


def test_the_step_text_names_the_window_in_image_coordinates_and_counts_steps():
    p = Playground()
    p.load(LESSON)
    p.set_padding(1)  # 5x5 output, 25 steps
    first = p.step()
    text = p.step_text()
    assert first.rows == (0, 3)
    assert "step 1 of 25, window over image rows -1…1, columns -1…1:" in text
    p.go_to_step(6)
    assert "step 7 of 25, window over image rows 0…2, columns 0…2:" in p.step_text()


def test_pooling_the_output_uses_2x2_windows_with_stride_2():
    p = Playground()
    p.set_input(np.arange(36.0).reshape(6, 6))
    p.load("identity")  # the 4x4 inside of the image
    biggest, mean = p.pooled()
    np.testing.assert_array_equal(biggest, [[14, 16], [26, 28]])
    np.testing.assert_array_equal(mean, [[10.5, 12.5], [22.5, 24.5]])
    p.set_input(np.arange(16.0).reshape(4, 4))  # 2x2 output: still one pooling window
    assert p.pooled()[0].shape == (1, 1)
