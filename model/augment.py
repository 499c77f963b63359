"""Training augmentation, shared by ``train`` and ``tune``.

Two kinds, because people draw slanted, small, off-centre and with pens of every width:

* :func:`pen_variants` warps the *strokes* of a pen digit (rotation, shear, aspect) and renders
  them with another pen width through the canvas's own :func:`~model.preprocess.strokes_to_input`,
  so the variants are exactly what the canvas would make of such a drawing;
* :func:`augment_batch` warps every training *image* on the fly (one random affine per image,
  ``keras.ops.image.affine_transform``) and thickens or thins its ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .preprocess import INPUT_SIZE, PEN_WIDTH, strokes_to_input


@dataclass(frozen=True)
class Augmentation:
    max_rotation_deg: float = 12.0
    max_shear: float = 0.25
    scale_range: tuple[float, float] = (0.85, 1.1)
    max_shift_px: float = 2.0
    thickness_range: tuple[float, float] = (-0.5, 0.8)  # <0 erodes, >0 dilates (blend weight)
    pen_rotation_deg: float = 10.0
    pen_shear: float = 0.2
    pen_aspect_range: tuple[float, float] = (0.8, 1.2)
    pen_width_range: tuple[float, float] = (0.75, 1.4)  # times PEN_WIDTH

    def scaled(self, factor: float) -> Augmentation:
        """The same kinds of warp, each ``factor`` times as strong (0: none, 1: this one)."""

        def around(r: tuple[float, float], centre: float) -> tuple[float, float]:
            return (centre + (r[0] - centre) * factor, centre + (r[1] - centre) * factor)

        return Augmentation(
            max_rotation_deg=self.max_rotation_deg * factor,
            max_shear=self.max_shear * factor,
            scale_range=around(self.scale_range, 1.0),
            max_shift_px=self.max_shift_px * factor,
            thickness_range=around(self.thickness_range, 0.0),
            pen_rotation_deg=self.pen_rotation_deg * factor,
            pen_shear=self.pen_shear * factor,
            pen_aspect_range=around(self.pen_aspect_range, 1.0),
            pen_width_range=around(self.pen_width_range, 1.0),
        )


def pen_variants(strokes, count: int, rng: np.random.Generator, aug: Augmentation = Augmentation()) -> list[np.ndarray]:
    """``count`` renders of ``strokes``, each warped at random: ``(28, 28)`` float32 images."""
    points = [np.asarray(s, np.float64)[:, :2] for s in strokes if len(s)]
    if not points:
        return []
    centre = np.concatenate(points).mean(0)
    out = []
    for _ in range(count):
        angle = math.radians(rng.uniform(-aug.pen_rotation_deg, aug.pen_rotation_deg))
        shear = rng.uniform(-aug.pen_shear, aug.pen_shear)
        aspect = rng.uniform(*aug.pen_aspect_range)
        c, s = math.cos(angle), math.sin(angle)
        m = np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([aspect, 1.0 / aspect])
        warped = [(p - centre) @ m.T for p in points]
        image = strokes_to_input(warped, pen_width=PEN_WIDTH * rng.uniform(*aug.pen_width_range))
        if image is not None:
            out.append(image)
    return out


def augment_batch(x, aug: Augmentation = Augmentation(), seed_generator=None):
    """Randomly warp a batch ``(n, 28, 28, 1)`` float32 in [0, 1]; backend-agnostic (``keras.ops``)."""
    import keras
    from keras import ops

    n = ops.shape(x)[0]

    def uniform(lo, hi, shape=None):
        return keras.random.uniform(shape or (n,), lo, hi, seed=seed_generator)

    rot = uniform(-1.0, 1.0) * math.radians(aug.max_rotation_deg)
    shear = uniform(-aug.max_shear, aug.max_shear)
    scale = uniform(*aug.scale_range)
    aspect = uniform(0.9, 1.1)
    tx = uniform(-aug.max_shift_px, aug.max_shift_px)
    ty = uniform(-aug.max_shift_px, aug.max_shift_px)
    sx, sy = scale * aspect, scale / aspect
    cos, sin = ops.cos(rot), ops.sin(rot)
    # Forward map M = R @ Shear @ Scale about the centre; affine_transform wants the inverse
    # (output pixel -> input pixel).
    m00, m01 = cos * sx, cos * shear * sy - sin * sy
    m10, m11 = sin * sx, sin * shear * sy + cos * sy
    det = m00 * m11 - m01 * m10
    i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
    c = (INPUT_SIZE - 1) / 2.0
    ox, oy = c + tx, c + ty
    a2 = c - (i00 * ox + i01 * oy)
    b2 = c - (i10 * ox + i11 * oy)
    zeros = ops.zeros_like(rot)
    transform = ops.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], axis=1)
    x = ops.image.affine_transform(x, transform, interpolation="bilinear", fill_mode="constant")
    # Ink thickness: blend towards a 3x3 grey dilation (thicker) or erosion (thinner).
    t = ops.reshape(uniform(*aug.thickness_range), (-1, 1, 1, 1))
    dilated = ops.max_pool(x, 3, 1, "same")
    eroded = -ops.max_pool(-x, 3, 1, "same")
    x = ops.where(t > 0, x + t * (dilated - x), x + (-t) * (eroded - x))
    return ops.clip(x, 0.0, 1.0)


def random_warp_layer(aug: Augmentation = Augmentation(), seed: int | None = None):
    """A Keras layer that applies :func:`augment_batch` while training and passes inputs through otherwise.

    Put in front of a model for training only (``keras.Sequential([warp, model])``); the model that
    is saved is the inner one, so the shipped file never contains it.
    """
    import keras

    class RandomWarp(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, x, training=None):
            return augment_batch(x, aug, self.seed_generator) if training else x

        def compute_output_shape(self, input_shape):
            return input_shape

    return RandomWarp(name="random_warp")
