"""Training augmentation: the warps do what they say, and nothing else."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.data.preprocess import strokes_to_input
from model.training.augment import Augmentation, _bend, _sample_bilinear, augment_batch, pen_variants

TRAINING = Augmentation().with_elastic(1.0)


def _digits(n: int = 16) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28, 1), np.float32)
    for k in range(n):
        r, c = rng.integers(6, 14, 2)
        x[k, r : r + 10, c : c + 3, 0] = 1.0  # a bar somewhere
        x[k, r : r + 3, c : c + 8, 0] = 0.7
    return x


def test_bilinear_sampling_matches_keras_affine_transform():
    from keras import ops

    x = _digits()
    rng = np.random.default_rng(1)
    n = len(x)
    a = rng.uniform(0.8, 1.2, (n, 4)) * np.array([1, 0.2, 0.2, 1]) * rng.choice([-1, 1], (n, 4)) ** np.array([0, 1, 1, 0])
    shift = rng.uniform(-3, 3, (n, 2))
    transform = np.column_stack([a[:, 0], a[:, 1], shift[:, 0], a[:, 2], a[:, 3], shift[:, 1], np.zeros((n, 2))]).astype(
        np.float32
    )
    expected = np.asarray(ops.image.affine_transform(x, transform, interpolation="bilinear", fill_mode="constant"))
    grid = np.arange(28, dtype=np.float32)
    col, row = grid[None, None, :], grid[None, :, None]
    sx = transform[:, 0, None, None] * col + transform[:, 1, None, None] * row + transform[:, 2, None, None]
    sy = transform[:, 3, None, None] * col + transform[:, 4, None, None] * row + transform[:, 5, None, None]
    got = np.asarray(_sample_bilinear(x, sy.astype(np.float32), sx.astype(np.float32)))
    assert got.shape == x.shape
    assert np.abs(got - expected).max() < 1e-5


def test_no_warp_at_all_returns_the_images():
    import keras

    still = Augmentation().scaled(0.0)
    x = _digits()
    out = np.asarray(augment_batch(x, still, keras.random.SeedGenerator(0)))
    assert np.abs(out - x).max() < 1e-5


def test_elastic_field_moves_ink_a_little_and_keeps_it():
    import keras

    x = _digits()
    only_elastic = Augmentation(elastic_px=1.5).scaled(1.0)
    only_elastic = Augmentation(
        **{
            **only_elastic.__dict__,
            **dict(max_rotation_deg=0.0, max_shear=0.0, scale_range=(1.0, 1.0), max_shift_px=0.0, thickness_range=(0.0, 0.0)),
        }
    )
    a = np.asarray(augment_batch(x, only_elastic, keras.random.SeedGenerator(3)))
    assert a.min() >= 0.0 and a.max() <= 1.0
    moved = np.abs(a - x).reshape(len(x), -1).max(axis=1)
    assert (moved > 0.05).all()  # every image bent
    mass = a.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
    assert np.all((mass > 0.7) & (mass < 1.3))  # a bend, not a rescale: the ink stays about the same


def test_bend_zero_is_identity_and_shift_moves_strokes_apart():
    rng = np.random.default_rng(0)
    strokes = [np.array([[0.0, 0.0], [0.0, 100.0]]), np.array([[-30.0, 10.0], [30.0, 10.0]])]
    same = _bend(strokes, 0.0, 0.0, 4, rng)
    assert all(np.allclose(a, b) for a, b in zip(same, strokes))
    bent = _bend(strokes, 0.0, 0.05, 4, np.random.default_rng(1))
    offsets = [b[0] - s[0] for b, s in zip(bent, strokes)]
    assert all(np.abs(o).max() <= 5.0 + 1e-9 for o in offsets)  # at most 5% of the 100-unit drawing
    assert not np.allclose(offsets[0], offsets[1])  # each stroke moved on its own
    curved = _bend([np.column_stack([np.zeros(50), np.linspace(0, 100, 50)])], 0.1, 0.0, 4, np.random.default_rng(2))[0]
    assert np.abs(curved - np.column_stack([np.zeros(50), np.linspace(0, 100, 50)])).max() <= 10.0 + 1e-9


def test_training_pen_variants_differ_from_the_clean_render_and_are_reproducible():
    t = np.linspace(0, 2 * math.pi, 60)
    zero = [np.column_stack([30 * np.cos(t), 50 * np.sin(t)])]
    clean = strokes_to_input(zero)
    a = pen_variants(zero, 4, np.random.default_rng(5), TRAINING)
    b = pen_variants(zero, 4, np.random.default_rng(5), TRAINING)
    assert len(a) == 4 and all(v.shape == (28, 28) for v in a)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert all(np.abs(v - clean).max() > 0.1 for v in a)


@pytest.mark.parametrize("factor", [0.0, 0.5])
def test_scaled_scales_the_elastic_parts_too(factor):
    s = TRAINING.scaled(factor)
    assert s.elastic_px == pytest.approx(TRAINING.elastic_px * factor)
    assert s.pen_elastic == pytest.approx(TRAINING.pen_elastic * factor)
    assert s.pen_stroke_shift == pytest.approx(TRAINING.pen_stroke_shift * factor)
