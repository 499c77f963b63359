"""Training augmentation, shared by ``train`` and ``tune``.

Two kinds, because people draw slanted, small, off-centre and with pens of every width:

* :func:`pen_variants` warps the *strokes* of a pen digit (rotation, shear, aspect; optionally a
  smooth elastic bend and each stroke moved a little against the others, as writers join strokes
  differently) and renders them with another pen width through the canvas's own
  :func:`~model.preprocess.strokes_to_input`, so the variants are exactly what the canvas would
  make of such a drawing;
* :func:`augment_batch` warps every training *image* on the fly (one random affine per image, plus
  optionally a smooth elastic displacement field, Simard et al. 2003, sampled in one bilinear
  pass) and thickens or thins its ink.

``Augmentation()`` has no elastic parts (fine-tuning and ``main.py train``'s first stage use it);
:meth:`Augmentation.with_elastic` adds them (``main.py train --elastic``, the bundled model's
second stage). Measured: elastic warps in the first stage of the 56k-parameter CNN cost accuracy
(MNIST 99.54% -> 99.40%); in the gentler second stage they helped (README).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from model.data.preprocess import INPUT_SIZE, PEN_WIDTH, strokes_to_input


@dataclass(frozen=True)
class Augmentation:
    max_rotation_deg: float = 12.0
    max_shear: float = 0.25
    scale_range: tuple[float, float] = (0.85, 1.1)
    aspect_range: tuple[float, float] = (0.9, 1.1)
    max_shift_px: float = 2.0
    thickness_range: tuple[float, float] = (-0.5, 0.8)  # <0 erodes, >0 dilates (blend weight)
    pen_rotation_deg: float = 10.0
    pen_shear: float = 0.2
    pen_aspect_range: tuple[float, float] = (0.8, 1.2)
    pen_width_range: tuple[float, float] = (0.75, 1.4)  # times PEN_WIDTH
    elastic_px: float = 0.0  # largest elastic displacement of an image, in pixels (0: none)
    elastic_grid: int = 4  # the displacement field is smooth: random on a grid this coarse, then interpolated
    pen_elastic: float = 0.0  # largest elastic bend of strokes, as a fraction of the drawing's size
    pen_stroke_shift: float = 0.0  # each stroke moved by up to this fraction of the drawing's size

    def with_elastic(self, strength: float = 1.0) -> Augmentation:
        """This augmentation plus the elastic parts at ``strength`` times their full size (1.5 px on
        images; strokes bent by up to 8% of the drawing and moved by up to 3% of it)."""
        return replace(self, elastic_px=1.5 * strength, pen_elastic=0.08 * strength, pen_stroke_shift=0.03 * strength)

    def scaled(self, factor: float) -> Augmentation:
        """The same kinds of warp, each ``factor`` times as strong (0: none, 1: this one)."""

        def around(r: tuple[float, float], centre: float) -> tuple[float, float]:
            return (centre + (r[0] - centre) * factor, centre + (r[1] - centre) * factor)

        return Augmentation(
            max_rotation_deg=self.max_rotation_deg * factor,
            max_shear=self.max_shear * factor,
            scale_range=around(self.scale_range, 1.0),
            aspect_range=around(self.aspect_range, 1.0),
            max_shift_px=self.max_shift_px * factor,
            thickness_range=around(self.thickness_range, 0.0),
            pen_rotation_deg=self.pen_rotation_deg * factor,
            pen_shear=self.pen_shear * factor,
            pen_aspect_range=around(self.pen_aspect_range, 1.0),
            pen_width_range=around(self.pen_width_range, 1.0),
            elastic_px=self.elastic_px * factor,
            elastic_grid=self.elastic_grid,
            pen_elastic=self.pen_elastic * factor,
            pen_stroke_shift=self.pen_stroke_shift * factor,
        )


def _bend(points: list[np.ndarray], amount: float, shift: float, grid: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Strokes displaced by a smooth random field (bilinear over a ``grid`` x ``grid`` lattice on their
    bounding box, up to ``amount`` of its size) and each stroke moved by up to ``shift`` of it."""
    allp = np.concatenate(points)
    lo, hi = allp.min(0), allp.max(0)
    size = float((hi - lo).max()) or 1.0
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    field = rng.uniform(-1.0, 1.0, (grid, grid, 2)) * amount * size
    out = []
    for p in points:
        u = (p - lo) / span * (grid - 1)  # lattice coordinates in [0, grid-1]
        i = np.clip(np.floor(u).astype(int), 0, grid - 2)
        f = u - i
        fx, fy = f[:, :1], f[:, 1:]
        d = (
            field[i[:, 1], i[:, 0]] * (1 - fx) * (1 - fy)
            + field[i[:, 1], i[:, 0] + 1] * fx * (1 - fy)
            + field[i[:, 1] + 1, i[:, 0]] * (1 - fx) * fy
            + field[i[:, 1] + 1, i[:, 0] + 1] * fx * fy
        )
        out.append(p + d + rng.uniform(-shift, shift, 2) * size)
    return out


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
        if aug.pen_elastic > 0 or aug.pen_stroke_shift > 0:
            warped = _bend(warped, aug.pen_elastic, aug.pen_stroke_shift, aug.elastic_grid, rng)
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
    aspect = uniform(*aug.aspect_range)
    tx = uniform(-aug.max_shift_px, aug.max_shift_px)
    ty = uniform(-aug.max_shift_px, aug.max_shift_px)
    sx, sy = scale * aspect, scale / aspect
    cos, sin = ops.cos(rot), ops.sin(rot)
    # Forward map M = R @ Shear @ Scale about the centre; sampling wants the inverse
    # (output pixel -> input pixel).
    m00, m01 = cos * sx, cos * shear * sy - sin * sy
    m10, m11 = sin * sx, sin * shear * sy + cos * sy
    det = m00 * m11 - m01 * m10
    i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
    c = (INPUT_SIZE - 1) / 2.0
    ox, oy = c + tx, c + ty
    a2 = c - (i00 * ox + i01 * oy)
    b2 = c - (i10 * ox + i11 * oy)
    # Source coordinates of every output pixel (x: column, y: row), plus a smooth elastic field.
    grid = ops.arange(INPUT_SIZE, dtype="float32")
    col, row = ops.reshape(grid, (1, 1, -1)), ops.reshape(grid, (1, -1, 1))

    def per_image(v):
        return ops.reshape(v, (-1, 1, 1))

    sx = per_image(i00) * col + per_image(i01) * row + per_image(a2)
    sy = per_image(i10) * col + per_image(i11) * row + per_image(b2)
    if aug.elastic_px > 0:
        g = aug.elastic_grid
        coarse = keras.random.uniform((n, g, g, 2), -aug.elastic_px, aug.elastic_px, seed=seed_generator)
        field = ops.image.resize(coarse, (INPUT_SIZE, INPUT_SIZE), interpolation="bilinear")
        sx = sx + field[..., 0]
        sy = sy + field[..., 1]
    x = _sample_bilinear(x, sy, sx)
    # Ink thickness: blend towards a 3x3 grey dilation (thicker) or erosion (thinner).
    t = ops.reshape(uniform(*aug.thickness_range), (-1, 1, 1, 1))
    dilated = ops.max_pool(x, 3, 1, "same")
    eroded = -ops.max_pool(-x, 3, 1, "same")
    x = ops.where(t > 0, x + t * (dilated - x), x + (-t) * (eroded - x))
    return ops.clip(x, 0.0, 1.0)


def _sample_bilinear(x, sy, sx):
    """``x`` ``(n, H, W, 1)`` read at source rows ``sy`` and columns ``sx`` (each ``(n, H, W)``),
    bilinearly, zero outside: what ``affine_transform(..., "bilinear", "constant")`` does for an
    affine map, for any map. Four gathers on the flattened batch; backend-agnostic."""
    from keras import ops

    n, h, w = ops.shape(x)[0], ops.shape(x)[1], ops.shape(x)[2]
    flat = ops.reshape(x, (-1,))
    y0, x0 = ops.floor(sy), ops.floor(sx)
    wy, wx = sy - y0, sx - x0
    y0, x0 = ops.cast(y0, "int32"), ops.cast(x0, "int32")
    base = ops.reshape(ops.arange(n, dtype="int32") * (h * w), (-1, 1, 1))
    out = ops.zeros_like(sy)
    for dy, dx, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = y0 + dy, x0 + dx
        inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        index = base + ops.clip(yi, 0, h - 1) * w + ops.clip(xi, 0, w - 1)
        out = out + ops.where(inside, ops.take(flat, index), 0.0) * weight
    return ops.expand_dims(out, -1)


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


def render_drawings(
    drawings, indices, variants: int, rng: np.random.Generator, aug: Augmentation = Augmentation()
) -> tuple[np.ndarray, np.ndarray]:
    """Training images for the drawings at ``indices``: each through ``strokes_to_input`` plus ``variants`` warped renders.

    ``drawings``: objects with ``strokes`` and ``label`` (pen digits, the user's stored drawings).
    Returns images ``(n, 28, 28)`` float32 in [0, 1] and labels ``(n,)``; a drawing with nothing to
    read contributes only its variants (none, as they are warps of nothing).
    """
    images, labels = [], []
    for i in indices:
        d = drawings[i]
        clean = strokes_to_input(d.strokes)
        for image in ([clean] if clean is not None else []) + pen_variants(d.strokes, variants, rng, aug):
            images.append(image)
            labels.append(d.label)
    return np.asarray(images, np.float32).reshape(-1, INPUT_SIZE, INPUT_SIZE), np.asarray(labels, np.int64)
