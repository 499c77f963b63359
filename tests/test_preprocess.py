"""The strokes/image -> 28x28 path every input goes through (canvas, command line, tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model.data.pictures import image_to_input
from model.data.preprocess import COM_TARGET, centre_of_mass, strokes_to_input

coord = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)
stroke = arrays(np.float64, st.tuples(st.integers(1, 12), st.just(2)), elements=coord)
strokes_st = st.lists(stroke, min_size=1, max_size=4)


def has_extent(strokes, rel: float = 1e-3) -> bool:
    pts = np.concatenate(strokes)
    return float(np.ptp(pts, axis=0).max()) > rel * max(1.0, float(np.abs(pts).max()))


@settings(max_examples=60, deadline=None)
@given(strokes_st)
def test_strokes_give_a_valid_centred_28x28_image(strokes):
    assume(has_extent(strokes))
    x = strokes_to_input(strokes)
    assert x is not None
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= 0.0 and x.max() <= 1.0
    assert x.max() > 0.3  # some real ink
    cx, cy = centre_of_mass(x)
    # Centred like MNIST, unless a lopsided shape pushes ink off the field.
    if x[0].sum() + x[-1].sum() + x[:, 0].sum() + x[:, -1].sum() < 1e-6:
        assert abs(cx - COM_TARGET) < 0.1 and abs(cy - COM_TARGET) < 0.1  # sub-sampling error only


@settings(max_examples=40, deadline=None)
@given(strokes_st, st.floats(-5000, 5000), st.floats(-5000, 5000), st.floats(0.01, 100))
def test_strokes_are_invariant_to_translation_and_uniform_scale(strokes, dx, dy, k):
    assume(has_extent(strokes, 1e-2))
    base = strokes_to_input(strokes)
    moved = strokes_to_input([(s + [dx, dy]) * k for s in strokes])
    assert base is not None and moved is not None
    np.testing.assert_allclose(moved, base, atol=2e-3)


def test_ink_fits_a_20x20_box_along_the_longer_side():
    x = strokes_to_input([np.array([[0.0, 0.0], [0.0, 100.0]])])  # a vertical bar: a "1"
    rows = np.flatnonzero(x.max(1) > 0.05)
    cols = np.flatnonzero(x.max(0) > 0.05)
    assert 19 <= np.ptp(rows) + 1 <= 21
    assert np.ptp(cols) + 1 <= 4


def test_mnist_like_ink_amount(stroke_fixtures):
    # Mean intensity of MNIST digits is 0.13; drawn digits must look like that to the model.
    means = [strokes_to_input(s).mean() for _, s, _ in stroke_fixtures]
    assert 0.09 < float(np.mean(means)) < 0.17


@pytest.mark.parametrize("strokes", [[], [np.zeros((0, 2))], [np.array([[5.0, 5.0]])], [np.array([[3.0, 4.0]] * 10)]])
def test_nothing_drawn_or_a_dot_is_no_digit(strokes):
    assert strokes_to_input(strokes) is None


def test_bad_strokes_are_refused_with_a_message():
    with pytest.raises(ValueError, match="Stroke 0"):
        strokes_to_input([np.array([1.0, 2.0, 3.0])])
    with pytest.raises(ValueError, match="NaN"):
        strokes_to_input([np.array([[0.0, 0.0], [np.nan, 1.0]])])


def test_a_huge_drawing_stays_fast():
    import time

    rng = np.random.default_rng(0)
    strokes = [np.cumsum(rng.normal(size=(2000, 2)), axis=0) for _ in range(50)]  # 100k points
    t0 = time.perf_counter()
    x = strokes_to_input(strokes)
    assert x is not None and np.isfinite(x).all()
    # ~1 s on 2 idle cores; the bound only catches a pass that grows with points squared (minutes),
    # far above what a busy machine adds
    assert time.perf_counter() - t0 < 30.0


# --- images ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_digits(fixtures):
    from model.data.readers import load_mnist_test

    x, y = load_mnist_test(fixtures / "mnist")
    return x[:50], y[:50]


def test_mnist_digits_pass_through_nearly_unchanged(mnist_digits):
    x, _ = mnist_digits
    for img in x[:20]:
        out = image_to_input(img)
        ref = img.astype(np.float32) / 255
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert np.abs(out - ref).mean() < 0.06


def test_polarity_size_and_channels_do_not_matter(mnist_digits):
    x, _ = mnist_digits
    img = x[0]
    base = image_to_input(img)
    inverted_rgb = np.repeat(255 - img[..., None], 3, axis=2)
    big = np.kron(inverted_rgb, np.ones((7, 7, 1), np.uint8))
    rgba = np.concatenate([np.zeros((28, 28, 3), np.uint8), img[..., None]], axis=2)  # ink as alpha
    for variant in (inverted_rgb, big, rgba, img.astype(np.float64) / 255):
        np.testing.assert_allclose(image_to_input(variant), base, atol=0.08)


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(8, 80), st.integers(8, 80))))
def test_any_picture_gives_a_valid_image_or_no_digit(img):
    out = image_to_input(img)
    if out is not None:
        assert out.shape == (28, 28) and np.isfinite(out).all()
        assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("value", [0, 255, 128])
def test_blank_pictures_are_no_digit(value):
    assert image_to_input(np.full((40, 60), value, np.uint8)) is None
    assert image_to_input(np.full((40, 60, 3), value, np.uint8)) is None


def test_weird_arrays_are_refused():
    with pytest.raises(ValueError, match="shape"):
        image_to_input(np.zeros((4, 4, 5)))


def test_batched_pictures_are_faster_than_one_by_one(mnist_digits):
    """Batch `predict` preprocesses same-sized pictures together (it was the bottleneck)."""
    import time

    from model.data.pictures import images_to_inputs

    x, _ = mnist_digits
    pictures = [x[i % len(x)] for i in range(1000)]
    t0 = time.process_time()
    for p in pictures[:200]:
        image_to_input(p)
    one_by_one = (time.process_time() - t0) * 5
    t0 = time.process_time()
    images_to_inputs(pictures)
    batched = time.process_time() - t0
    assert batched < one_by_one / 1.5, (batched, one_by_one)


# --- stray marks -------------------------------------------------------------------------------


def _seven() -> list[np.ndarray]:
    return [np.array([[0.0, 0.0], [60.0, 0.0], [25.0, 100.0]]), np.array([[20.0, 50.0], [50.0, 50.0]])]


def test_a_tap_far_from_the_digit_is_left_out():
    from model.data.preprocess import drop_stray_marks

    tap = np.array([[-80.0, 160.0], [-78.0, 161.0]])
    assert len(drop_stray_marks([*_seven(), tap])) == 2
    assert np.array_equal(strokes_to_input([*_seven(), tap]), strokes_to_input(_seven()))


def test_marks_that_belong_to_the_digit_stay():
    from model.data.preprocess import drop_stray_marks

    t = np.linspace(0, 2 * np.pi, 40)
    zero = np.column_stack([30 * np.cos(t), 50 * np.sin(t)])
    dot_inside = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert len(drop_stray_marks([zero, dot_inside])) == 2
    flag = np.array([[62.0, -4.0], [66.0, -6.0]])  # a small stroke touching the seven's corner
    assert len(drop_stray_marks([*_seven(), flag])) == 3
    far_bar = np.array([[-80.0, 160.0], [-20.0, 160.0]])  # far, but not small: part of the drawing
    assert len(drop_stray_marks([*_seven(), far_bar])) == 3
    dots = [np.array([[x, y], [x + 1.0, y]]) for x in range(0, 100, 10) for y in (0.0, 100.0)]
    assert len(drop_stray_marks(dots)) == len(dots)  # a drawing made only of dots keeps them all
    # A "4": one long upright and a diagonal and crossbar drawn in short dashes, each dash tiny but
    # touching the next; far from the upright's box, yet all part of the digit.
    upright = np.array([[60.0, 0.0], [60.0, 100.0]])
    diagonal = [np.array([[60.0 - 6 * k, 6.0 * k], [60.0 - 6 * (k + 1), 6.0 * (k + 1)]]) for k in range(10)]
    crossbar = [np.array([[6.0 * k, 60.0], [6.0 * (k + 1), 60.0]]) for k in range(12)]
    four = [upright, *diagonal, *crossbar]
    assert len(drop_stray_marks(four)) == len(four)
    double_tap = [np.array([[-80.0, 160.0], [-79.0, 161.0]]), np.array([[-76.0, 160.0], [-75.0, 161.0]])]
    assert len(drop_stray_marks([*_seven(), *double_tap])) == 2  # two taps side by side: still stray


def test_stray_marks_cost_little_on_a_drawing_of_thousands_of_strokes():
    import time

    from model.data.preprocess import drop_stray_marks

    rng = np.random.default_rng(0)
    strokes = [rng.uniform(0, 100, (2, 2)) for _ in range(5000)]
    t0 = time.perf_counter()
    drop_stray_marks(strokes)
    assert time.perf_counter() - t0 < 5.0  # ~0.05 s; a pairwise pass over 5,000 strokes in Python takes minutes


# --- cases found by mutation testing (docs/MUTATION.md): behaviour the tests above left unchecked ---


def test_one_bright_pixel_has_its_centre_in_the_middle_of_that_pixel():
    image = np.zeros((7, 9))
    image[3, 5] = 2.0
    assert centre_of_mass(image) == (5.5, 3.5)  # (x, y): column first, pixel centres at +0.5


def test_the_centre_is_the_intensity_weighted_mean_on_a_wide_image():
    image = np.zeros((4, 10))
    image[0, 0], image[3, 9] = 1.0, 3.0
    x, y = centre_of_mass(image)
    assert x == pytest.approx((0.5 * 1 + 9.5 * 3) / 4) and y == pytest.approx((0.5 * 1 + 3.5 * 3) / 4)
