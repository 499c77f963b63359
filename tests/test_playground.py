"""The playground's convolution, sizes, steps and pooling agree with the textbook definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.playground import (
    LESSON_EXAMPLE,
    PRESETS,
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
    return all(size + 2 * p >= k for size, k in zip(image.shape, kernel.shape))


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
