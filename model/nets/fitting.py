"""Fitting a drawing to a model's input, and the model's input back to the drawing.

``InputFitting`` is the part of ``Predictor`` (``model/nets/inference.py``) that knows the 28x28
drawing and the model's input apart: its size (as is, padded to LeNet's 32x32, or resampled), its
value range and whether ink is inverted. It reads ``input_size``, ``input_range``, ``invert``,
``model_card`` and ``_channel_axis`` from the ``Predictor`` it is part of.
"""

from __future__ import annotations

import numpy as np

from model.data.preprocess import INPUT_SIZE

from .card import ModelCard

LENET_SIZE = 32  # LeNet-5 read MNIST's 28x28 digits padded to 32x32


class InputFitting:
    """How a ``(28, 28)`` drawing becomes the model's input (:meth:`prepare`) and back (:meth:`to_drawing`)."""

    input_size: tuple[int, int]
    input_range: tuple[float, float]
    invert: bool
    model_card: ModelCard
    _channel_axis: bool

    def _describe_input(self, detected: tuple[float, float], why: str) -> str:
        h, w = self.input_size
        if (h, w) == (INPUT_SIZE, INPUT_SIZE):
            size = f"{h}x{w} pixels: the drawing as is"
        elif (h, w) == (LENET_SIZE, LENET_SIZE):
            size = f"{h}x{w} pixels: the 28x28 drawing padded by 2 black pixels on each side (as LeNet was fed MNIST)"
        else:
            size = f"{h}x{w} pixels: the 28x28 drawing resampled (bilinear)"
        low, high = self.input_range
        values = f"values {low:g} (black) to {high:g} (white)"
        if self.model_card.input_range is not None:
            values += " (from the model's card)"
        elif why:
            values += f" ({why})"
        ink = "; dark ink on white (the card says invert)" if self.invert else ""
        return f"Input {size}; {values}{ink}."

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """``(28, 28)`` drawing (or ``(n, 28, 28)``) -> the exact float32 batch the model receives.

        ``(1, h, w[, 1])`` (or ``(n, ...)``): rendered at the model's size, inverted if the card
        says so, scaled to the model's value range.
        """
        x = np.asarray(image, np.float32)
        if x.ndim == 2:
            x = x[None]
        elif x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(
                f"Expected a ({INPUT_SIZE}, {INPUT_SIZE}) drawing image or (n, {INPUT_SIZE}, {INPUT_SIZE}) images; "
                f"got shape {np.shape(image)}."
            )
        h, w = self.input_size
        if (h, w) == (LENET_SIZE, LENET_SIZE):
            pad = (LENET_SIZE - INPUT_SIZE) // 2
            x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
        elif (h, w) != (INPUT_SIZE, INPUT_SIZE):
            import tensorflow as tf

            x = tf.image.resize(x[..., None], (h, w), method="bilinear").numpy()[..., 0]
        if self.invert:
            x = 1.0 - x
        low, high = self.input_range
        if (low, high) != (0.0, 1.0):
            x = low + (high - low) * x
        if self._channel_axis:
            x = x[..., None]
        return np.ascontiguousarray(x, dtype=np.float32)

    def to_drawing(self, values: np.ndarray) -> np.ndarray:
        """A map over the model input ``(h, w)`` (saliency, attributions) -> ``(28, 28)`` over the drawing.

        Cropped for a padded 32x32 input (the padding holds no ink), resampled bilinearly for other
        sizes (for display: sums are not kept), unchanged for 28x28.
        """
        values = np.asarray(values, np.float32)
        h, w = self.input_size
        if (h, w) == (INPUT_SIZE, INPUT_SIZE):
            return values
        if (h, w) == (LENET_SIZE, LENET_SIZE):
            pad = (LENET_SIZE - INPUT_SIZE) // 2
            return np.ascontiguousarray(values[pad : pad + INPUT_SIZE, pad : pad + INPUT_SIZE])
        import tensorflow as tf

        return tf.image.resize(values[None, ..., None], (INPUT_SIZE, INPUT_SIZE), method="bilinear").numpy()[0, ..., 0]

    def drawing_window(self, window: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A rectangle ``(row0, row1, col0, col1)`` on the model input -> the one it covers on the 28x28 drawing."""
        r0, r1, c0, c1 = window
        h, w = self.input_size
        if (h, w) == (LENET_SIZE, LENET_SIZE):
            pad = (LENET_SIZE - INPUT_SIZE) // 2
            r0, r1, c0, c1 = r0 - pad, r1 - pad, c0 - pad, c1 - pad
        elif (h, w) != (INPUT_SIZE, INPUT_SIZE):
            sr, sc = INPUT_SIZE / h, INPUT_SIZE / w
            r0, r1, c0, c1 = int(r0 * sr), int(np.ceil(r1 * sr)), int(c0 * sc), int(np.ceil(c1 * sc))
        clip = lambda v: min(max(v, 0), INPUT_SIZE)
        r0, r1, c0, c1 = clip(r0), clip(r1), clip(c0), clip(c1)
        return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else (0, 0, 0, 0)
