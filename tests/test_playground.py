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
    LESSON,
    LESSON_EXAMPLE,
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
