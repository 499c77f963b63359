"""The playground's convolution, sizes, steps and pooling agree with the textbook definitions, and its words
stay true when the student changes the settings (all without Qt)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.teaching.numbers import fmt, fmt_term, parse_number
from model.teaching.playground import (
    CUSTOM,
    EDGE_DEMO,
    EXAMPLES,
    LESSON,
    LESSON_EXAMPLE,
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
    vertical_edge_demo,
)


def reference_conv(image, kernel, padding, stride):
    """The obvious way: zero-pad explicitly, then a double loop of window sums."""
    n, m = image.shape
    f, f2 = kernel.shape
    if padding == "valid":
        top = bottom = left = right = 0
    elif padding == "same":
        out_n, out_m = -(-n // stride), -(-m // stride)
        pad_rows = max((out_n - 1) * stride + f - n, 0)
        pad_cols = max((out_m - 1) * stride + f2 - m, 0)
        top, left = pad_rows // 2, pad_cols // 2
        bottom, right = pad_rows - top, pad_cols - left
    else:
        top = bottom = left = right = padding
    padded = np.zeros((n + top + bottom, m + left + right))
    padded[top : top + n, left : left + m] = image
    out_n = (padded.shape[0] - f) // stride + 1
    out_m = (padded.shape[1] - f2) // stride + 1
    out = np.zeros((out_n, out_m))
    for i in range(out_n):
        for j in range(out_m):
            total = 0.0
            for a in range(f):
                for b in range(f2):
                    total += padded[i * stride + a, j * stride + b] * kernel[a, b]
            out[i, j] = total
    return out


@st.composite
def conv_cases(draw):
    n, m = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    f, f2 = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    padding = draw(st.sampled_from(["valid", "same", 0, 1, 2]))
    stride = draw(st.sampled_from([1, 2, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return rng.normal(size=(n, m)), rng.normal(size=(f, f2)), padding, stride


def fits(image, kernel, padding):
    """Whether the filter fits in the padded image ("same" always pads enough)."""
    p = {"valid": 0, "same": max(kernel.shape)}.get(padding, padding)
    return all(size + 2 * p >= k for size, k in zip(image.shape, kernel.shape, strict=True))


@settings(max_examples=300, deadline=None)
@given(conv_cases())
def test_conv2d_single_matches_the_explicit_loop(case):
    image, kernel, padding, stride = case
    if not fits(image, kernel, padding):
        with pytest.raises(ValueError, match="does not fit"):
            conv2d_single(image, kernel, padding, stride)
        return
    got = conv2d_single(image, kernel, padding, stride)
    want = reference_conv(image, kernel, padding, stride)
    assert got.dtype == np.float64
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(conv_cases())
def test_steps_walk_every_output_cell_in_order_and_sum_to_it(case):
    image, kernel, padding, stride = case
    if not fits(image, kernel, padding):
        return
    out = conv2d_single(image, kernel, padding, stride)
    cells = list(steps(image, kernel, padding, stride))
    assert [(s.out_row, s.out_col) for s in cells] == [(i, j) for i in range(out.shape[0]) for j in range(out.shape[1])]
    for s in cells:
        assert s.rows[1] - s.rows[0] == kernel.shape[0] and s.cols[1] - s.cols[0] == kernel.shape[1]
        np.testing.assert_allclose(s.products, s.window * kernel)
        assert s.total == pytest.approx(out[s.out_row, s.out_col], abs=1e-12)


@pytest.mark.parametrize("n", range(1, 12))
@pytest.mark.parametrize("f", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_gives_ceil_n_over_stride_outputs_with_extra_padding_at_the_end(n, f, stride):
    before, after = pad_amounts(n, f, "same", stride)
    assert after - before in (0, 1)
    assert output_size(n + before + after, f, 0, stride) == math.ceil(n / stride)


def test_lesson_example_gives_the_lessons_numbers():
    ex = LESSON_EXAMPLE
    out = conv2d_single(ex.image, ex.kernel, ex.padding, ex.stride)
    np.testing.assert_array_equal(out, [[4, 3, 4], [2, 4, 3], [2, 3, 4]])
    np.testing.assert_array_equal(out, ex.expected)
    assert out[0, 0] == 4
    first = next(steps(ex.image, ex.kernel, ex.padding, ex.stride))
    assert (first.out_row, first.out_col, first.rows, first.cols, first.total) == (0, 0, (0, 3), (0, 3), 4.0)


def test_output_size_formula_reads_like_the_lesson():
    assert output_size(5, 3, 0, 1) == 3
    assert output_size_formula(5, 3, 0, 1) == "(5 + 2·0 − 3) / 1 + 1 = 3"
    assert output_size_formula(28, 3, 1, 1) == "(28 + 2·1 − 3) / 1 + 1 = 28"
    assert output_size(6, 3, 0, 2) == 2
    assert output_size_formula(6, 3, 0, 2) == "⌊(6 + 2·0 − 3) / 2⌋ + 1 = 2"


def test_output_size_rejects_a_filter_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        output_size(2, 3, 0, 1)


@pytest.mark.parametrize("bad", ["full", -1, 1.5, True])
def test_unknown_padding_is_refused_with_the_value(bad):
    with pytest.raises(ValueError, match="padding"):
        conv2d_single(np.ones((4, 4)), np.ones((3, 3)), bad, 1)


def test_pool2d_on_a_known_4x4():
    image = np.array([[1, 3, 2, 1], [4, 2, 0, 1], [5, 6, 7, 8], [0, 1, 2, 9]], dtype=float)
    np.testing.assert_array_equal(pool2d(image, 2, 2, "max"), [[4, 2], [6, 9]])
    np.testing.assert_array_equal(pool2d(image, 2, 2, "average"), [[2.5, 1.0], [3.0, 6.5]])
    np.testing.assert_array_equal(pool2d(image, 3, 1, "max"), [[7, 8], [7, 9]])
    # Valid pooling floors: a 5x5 input with size 2, stride 2 drops the last row and column.
    assert pool2d(np.ones((5, 5)), 2, 2).shape == (2, 2)
    with pytest.raises(ValueError, match="mode"):
        pool2d(image, mode="min")


def test_presets_are_3x3_and_do_what_their_names_say():
    assert set(PRESETS) >= {"identity", "vertical edge", "horizontal edge", "blur", "sharpen", "sobel x", "sobel y"}
    assert all(k.shape == (3, 3) for k in PRESETS.values())
    rng = np.random.default_rng(0)
    image = rng.random((7, 7))
    np.testing.assert_allclose(conv2d_single(image, PRESETS["identity"], "same"), image)
    np.testing.assert_allclose(PRESETS["horizontal edge"], PRESETS["vertical edge"].T)
    assert PRESETS["blur"].sum() == pytest.approx(1.0)
    # Flat areas give zero for every edge filter; a vertical line excites the vertical one only.
    flat = np.full((5, 5), 3.0)
    line = np.zeros((5, 5))
    line[:, 2] = 1.0
    for name in ("vertical edge", "horizontal edge", "sobel x", "sobel y"):
        np.testing.assert_allclose(conv2d_single(flat, PRESETS[name]), 0.0, atol=1e-12)
    assert conv2d_single(line, PRESETS["vertical edge"])[1, 1] == 6
    assert conv2d_single(line, PRESETS["horizontal edge"])[1, 1] == 0
    with pytest.raises(ValueError):
        PRESETS["identity"][0, 0] = 5  # shared constants are read-only


def test_vertical_edge_demo_shows_a_band_where_the_edge_is():
    ex = vertical_edge_demo()
    assert ex.image.shape == (6, 6)
    out = conv2d_single(ex.image, ex.kernel, ex.padding, ex.stride)
    np.testing.assert_array_equal(out, ex.expected)
    np.testing.assert_array_equal(out, [[0, 30, 30, 0]] * 4)
    np.testing.assert_array_equal(conv2d_single(ex.image, PRESETS["vertical edge"]), [[0, 30, -30, 0]] * 4)


# --- the playground's state (what the window shows), without Qt -----------------------------------


def numbers_in(text: str) -> list[float]:
    return [float(t.replace("\u2212", "-")) for t in re.findall(r"[−-]?\d+(?:\.\d+)?", text)]


def test_the_lesson_steps_cell_by_cell_with_the_lessons_numbers():
    p = Playground()
    assert p.preset_label() == LESSON and p.note() == LESSON_EXAMPLE.note
    np.testing.assert_array_equal(p.output, [[4, 3, 4], [2, 4, 3], [2, 3, 4]])
    assert "(5 + 2·0 − 3) / 1 + 1 = 3" in p.formula() and p.formula().endswith("a 3×3 output")
    assert p.step_text().startswith("Press Step")
    p.step()
    assert p.step_index == 0 and "1·1 + 1·0 + 1·1" in p.step_text() and p.step_text().endswith("= 4")
    for _ in range(3):
        p.step()
    assert (p.current_step().out_row, p.current_step().out_col) == (1, 0) and p.step_text().endswith("= 2")
    p.go_to_step(99)
    assert p.at_last_step() and p.step().out_row == 0  # after the last cell it starts again
    p.reset()
    assert p.step_index == -1 and p.current_step() is None
    max_pooled, avg_pooled = p.pooled()
    assert max_pooled.tolist() == [[4]] and avg_pooled.tolist() == [[3.25]]
    assert "dropped" in p.pool_note()  # a 3x3 output loses its last row and column


@pytest.mark.parametrize("padding", ["valid", "same", 0, 1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_the_playground_state_agrees_with_the_loop_for_every_setting(padding, stride):
    p = Playground()
    rng = np.random.default_rng(stride)
    for n in (5, 6, 7):
        image, kernel = rng.integers(-3, 4, (n, n)).astype(float), rng.normal(size=(3, 3)).round(2)
        p.set_input(image)
        p.set_kernel(kernel)
        p.set_padding(padding)
        p.set_stride(stride)
        expected = reference_conv(image, kernel, padding, stride)
        np.testing.assert_allclose(p.output, expected, atol=1e-9)
        assert f"a {expected.shape[0]}×{expected.shape[1]} output" in p.formula()
        assert len(p.steps()) == expected.size
        padded, mask = p.padded()
        top, bottom, left, right = p.pads()
        assert padded.shape == (n + top + bottom, n + left + right) and mask.sum() == padded.size - n * n


def test_the_example_note_is_dropped_once_the_settings_change():
    p = Playground()
    p.set_padding(1)
    assert p.note() != LESSON_EXAMPLE.note and "no padding" not in p.note()
    assert p.preset_label() != LESSON
    p.load(LESSON)
    assert p.note() == LESSON_EXAMPLE.note
    p.edit_input(0, 0, 3.0)
    assert p.note() != LESSON_EXAMPLE.note and p.output[0, 0] == 6
    p.load("sobel x")
    assert p.preset_label() == "sobel x" and "Sobel" in p.note()
    p.edit_kernel(0, 0, 5.0)
    assert p.preset_label() == CUSTOM and p.note() == "Your own filter."


def test_padding_words_say_what_same_does_with_each_stride():
    p = Playground()
    p.set_padding("same")
    assert p.padding_text() == "p = 1"  # not "p = 0": same pads a 3x3 filter by one on every side
    assert "keeps the input's size" in p.padding_help() and "the size is kept" in p.formula()
    p.set_stride(2)
    # 5 -> ceil(5 / 2) = 3 outputs: same no longer keeps the size, and nothing says it does.
    assert p.output.shape == (3, 3)
    assert "keeps" not in p.padding_help() and "kept" not in p.formula()
    assert "⌈5 / 2⌉ = 3" in p.formula()
    p.set_input(np.zeros((6, 6)))  # 6 -> 3 outputs needs 1 zero row in all: it goes to the bottom
    assert p.pads() == (0, 1, 0, 1) and p.padding_text() == "0 on top, 1 at the bottom (same for columns)"
    p.set_padding("valid")
    assert p.padding_text() == "p = 0"


def test_a_fractional_step_is_written_so_it_adds_up_by_hand():
    p = Playground()
    rng = np.random.default_rng(3)
    p.set_input(rng.random((28, 28)))
    p.load("blur")
    assert p.is_large()
    p.go_to_step(100)
    lines = p.step_text().splitlines()
    products, total = numbers_in(lines[-2]), numbers_in(lines[-1])[0]
    assert len(products) == 9 and sum(products) == pytest.approx(total, abs=1e-9)
    assert total == pytest.approx(p.output.ravel()[100], abs=1e-3)


def test_a_filter_that_does_not_fit_is_explained_not_raised():
    p = Playground()
    p.set_input(np.ones((3, 3)))
    p.set_kernel(np.ones((5, 5)))
    assert p.output is None and "does not fit" in p.formula() and p.step() is None and p.pooled() is None
    with pytest.raises(ValueError, match="padding"):
        p.set_padding("full")
    with pytest.raises(ValueError, match="stride"):
        p.set_stride(0)
    with pytest.raises(ValueError, match="finite"):
        p.set_input(np.full((3, 3), np.nan))


@pytest.mark.parametrize(("text", "value"), [("1", 1.0), ("−0.5", -0.5), ("0,25", 0.25), ("1/9", 1 / 9), (" 2 ", 2.0)])
def test_typed_numbers_are_read_like_a_student_writes_them(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "1/0", "inf", "nan", ""])
def test_anything_else_is_refused_with_the_text(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_numbers_read_the_same_everywhere():
    assert fmt(4.0) == "4" and fmt(-0.5) == "\u22120.50" and fmt(-0.0001, 2) == "0.00"
    assert fmt(0.5, 4, trim=True) == "0.5" and fmt(1.0, 4, trim=True) == "1"
    assert fmt_term(-2.0) == "(\u22122)" and fmt_term(2.0) == "2"


@pytest.mark.parametrize("padding", ["valid", "same", 0, 1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("n", [4, 5, 6, 7])
def test_no_setting_is_described_as_keeping_a_size_it_does_not_keep(padding, stride, n):
    p = Playground()
    p.set_input(np.ones((n, n)))
    p.set_padding(padding)
    p.set_stride(stride)
    words = p.formula() + p.padding_text()
    kept = p.output.shape == (n, n)
    assert ("kept" in words) == (kept and padding == "same")
    if "keeps the input's size" in p.padding_help():
        assert stride == 1
    top, bottom, left, right = p.pads()
    # What the padding is said to be is what is added.
    said = f"p = {top}" if top == bottom == left == right else f"{top} on top, {bottom} at the bottom"
    assert p.padding_text().startswith(said)


# --- cases found by mutation testing (docs/MUTATION.md): behaviour the tests above left unchecked ---


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
