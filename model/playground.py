"""The maths of the convolution playground: one small image, one small filter, every step shown.

Pure NumPy. A convolution here is what CNNs compute, a cross-correlation: the filter slides over
the image without being flipped, and each output is the sum of the element-wise products of the
filter and the window under it. Output sizes follow ``floor((n + 2p - f) / s) + 1``; "same"
padding follows Keras/TensorFlow (``ceil(n / s)`` outputs, any odd padding row or column goes
to the bottom or right), so the playground agrees with the network in the app.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

Padding = str | int  # "valid", "same" or a symmetric number of zero rows/columns


def _readonly(array) -> np.ndarray:
    a = np.array(array, dtype=np.float64)
    a.flags.writeable = False
    return a


def pad_amounts(n: int, f: int, padding: Padding, stride: int) -> tuple[int, int]:
    """Zero rows (or columns) added ``(before, after)`` an axis of length ``n`` for a filter of size ``f``."""
    if stride < 1:
        raise ValueError(f"stride must be at least 1; got {stride}.")
    if padding == "valid":
        return 0, 0
    if padding == "same":
        n_out = math.ceil(n / stride)
        total = max((n_out - 1) * stride + f - n, 0)
        return total // 2, total - total // 2
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        return int(padding), int(padding)
    raise ValueError(f"padding must be 'valid', 'same' or a whole number >= 0; got {padding!r}.")


def pad_image(image: np.ndarray, kernel_shape: tuple[int, int], padding: Padding, stride: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``(n, m)`` image -> (zero-padded float64 image, ``(top, bottom, left, right)`` padding)."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or len(kernel_shape) != 2:
        raise ValueError(f"Expected a 2-D image and a 2-D filter; got shapes {image.shape} and {tuple(kernel_shape)}.")
    top, bottom = pad_amounts(image.shape[0], kernel_shape[0], padding, stride)
    left, right = pad_amounts(image.shape[1], kernel_shape[1], padding, stride)
    padded = np.pad(image, ((top, bottom), (left, right)))
    if padded.shape[0] < kernel_shape[0] or padded.shape[1] < kernel_shape[1]:
        raise ValueError(
            f"The {kernel_shape[0]}x{kernel_shape[1]} filter does not fit in the {image.shape[0]}x{image.shape[1]} image "
            f"with padding={padding!r}; use a smaller filter or more padding."
        )
    return padded, (top, bottom, left, right)


def output_size(n: int, f: int, p: int, s: int) -> int:
    """Output length ``floor((n + 2p - f) / s) + 1`` for input ``n``, filter ``f``, padding ``p``, stride ``s``."""
    if s < 1 or p < 0 or f < 1:
        raise ValueError(f"Expected f >= 1, p >= 0 and s >= 1; got f={f}, p={p}, s={s}.")
    if n + 2 * p < f:
        raise ValueError(f"A filter of size {f} does not fit in n + 2p = {n} + 2*{p} = {n + 2 * p}.")
    return (n + 2 * p - f) // s + 1


def output_size_formula(n: int, f: int, p: int, s: int) -> str:
    """The worked formula, e.g. ``"(5 + 2·0 − 3) / 1 + 1 = 3"``; floor brackets when the division is not exact."""
    result = output_size(n, f, p, s)
    fraction = f"({n} + 2·{p} − {f}) / {s}"
    if (n + 2 * p - f) % s:
        fraction = f"⌊{fraction}⌋"
    return f"{fraction} + 1 = {result}"


def conv2d_single(image: np.ndarray, kernel: np.ndarray, padding: Padding = "valid", stride: int = 1) -> np.ndarray:
    """Cross-correlate an ``(n, m)`` image with an ``(f, f2)`` filter: ``(out_n, out_m)`` float64.

    ``padding``: "valid" (none), "same" (``ceil(n / stride)`` outputs, Keras convention) or an
    int ``p`` of zero rows/columns on every side. Same stride along both axes.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    padded, _ = pad_image(image, kernel.shape, padding, stride)
    f, f2 = kernel.shape
    # All windows at once: (out_n, out_m, f, f2) view, then one contraction with the filter.
    windows = np.lib.stride_tricks.sliding_window_view(padded, (f, f2))[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows, kernel)


class Step(NamedTuple):
    """One output cell of a convolution, for step-by-step animation.

    ``rows``/``cols`` are ``(start, stop)`` of the window in padded-image coordinates (subtract
    the top/left padding from ``pad_image`` for image coordinates); ``window`` and ``products``
    are ``(f, f2)`` float64 and ``total`` is their sum, the output value.
    """

    out_row: int
    out_col: int
    rows: tuple[int, int]
    cols: tuple[int, int]
    window: np.ndarray
    products: np.ndarray
    total: float


def steps(image: np.ndarray, kernel: np.ndarray, padding: Padding = "valid", stride: int = 1) -> Iterator[Step]:
    """Yield one ``Step`` per output cell, row by row, in the order the filter slides."""
    kernel = np.asarray(kernel, dtype=np.float64)
    padded, _ = pad_image(image, kernel.shape, padding, stride)
    f, f2 = kernel.shape
    for i, r in enumerate(range(0, padded.shape[0] - f + 1, stride)):
        for j, c in enumerate(range(0, padded.shape[1] - f2 + 1, stride)):
            window = padded[r : r + f, c : c + f2].copy()
            products = window * kernel
            yield Step(i, j, (r, r + f), (c, c + f2), window, products, float(products.sum()))


def pool2d(image: np.ndarray, size: int = 2, stride: int = 2, mode: str = "max") -> np.ndarray:
    """Max or average pooling of an ``(n, m)`` image, no padding: ``(floor((n - size) / stride) + 1, ...)`` float64."""
    if mode not in {"max", "average"}:
        raise ValueError(f"mode must be 'max' or 'average'; got {mode!r}.")
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < size or size < 1 or stride < 1:
        raise ValueError(f"Cannot pool a {image.shape} image with size={size}, stride={stride}.")
    windows = np.lib.stride_tricks.sliding_window_view(image, (size, size))[::stride, ::stride]
    return windows.max(axis=(2, 3)) if mode == "max" else windows.mean(axis=(2, 3))


# Filters to start from. "vertical edge" is the lesson's: negative outer columns and a positive
# middle column, so it answers most strongly to a bright vertical line one pixel wide (a pen
# stroke) and gives zero on flat areas; at a step from bright to dark it gives a +/- pair.
# The Sobel filters answer to steps (edges between light and dark) instead.
PRESETS: dict[str, np.ndarray] = {
    "identity": _readonly([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "vertical edge": _readonly([[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]]),
    "horizontal edge": _readonly([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]),
    "blur": _readonly(np.full((3, 3), 1 / 9)),
    "sharpen": _readonly([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "sobel x": _readonly([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel y": _readonly([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
}


class Example(NamedTuple):
    """A worked example: an image, a filter, the settings, and the output it must give."""

    name: str
    image: np.ndarray
    kernel: np.ndarray
    padding: Padding
    stride: int
    expected: np.ndarray
    note: str


LESSON_EXAMPLE = Example(
    name="lesson example",
    image=_readonly([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]),
    kernel=_readonly([[1, 0, 1], [0, 1, 0], [1, 0, 1]]),
    padding="valid",
    stride=1,
    expected=_readonly([[4, 3, 4], [2, 4, 3], [2, 3, 4]]),
    note=(
        "A 5x5 binary image and a 3x3 filter, no padding, stride 1: (5 + 2·0 − 3) / 1 + 1 = 3, so the "
        "output is 3x3. Its first cell is 4: the filter's five 1s over the top-left window pick up four 1s."
    ),
)


def vertical_edge_demo() -> Example:
    """A 6x6 image, bright (10) on the left half and dark (0) on the right, and a vertical edge filter.

    The filter is ``[[1, 0, -1]] * 3`` (bright-left minus dark-right). Every output row is
    ``[0, 30, 30, 0]``: zero over the flat areas, large where the window straddles the edge, so
    the 4x4 output shows a bright vertical band where the image has its vertical edge. (The
    "vertical edge" preset, a line detector, gives ``[0, 30, -30, 0]`` on the same image.)
    """
    image = np.zeros((6, 6))
    image[:, :3] = 10
    return Example(
        name="vertical edge",
        image=_readonly(image),
        kernel=_readonly([[1, 0, -1]] * 3),
        padding="valid",
        stride=1,
        expected=_readonly([[0, 30, 30, 0]] * 4),
        note=(
            "Left half bright (10), right half dark (0). The filter subtracts the right column from the left "
            "one: flat areas give 0, windows across the edge give 30, so the output is a bright vertical band."
        ),
    )
