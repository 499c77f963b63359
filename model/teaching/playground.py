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

from .numbers import fmt, fmt_term, rounded

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


def pad_image(
    image: np.ndarray, kernel_shape: tuple[int, int], padding: Padding, stride: int
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
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


# --- the playground's state: what the window shows, without Qt ---------------------------------

LESSON = "lesson example"
EDGE_DEMO = "vertical edge demo"
CUSTOM = "custom filter"
MAX_GRID = 12  # inputs up to this size are editable grids; larger ones (the drawing) are images
MAX_KERNEL = 7
PRESET_NOTES = {
    "identity": "Identity: a single 1 in the middle copies the image (without its border).",
    "vertical edge": "Vertical edge (line) filter: large where a bright vertical line runs through the window, 0 on flat areas.",
    "horizontal edge": "Horizontal edge (line) filter: large where a bright horizontal line runs through the window.",
    "blur": "Blur: every output is the average of the 3×3 window.",
    "sharpen": "Sharpen: 5 × the centre minus its four neighbours, so differences stand out.",
    "sobel x": "Sobel x: right column minus left column, answers to steps from dark to light going right.",
    "sobel y": "Sobel y: bottom row minus top row, answers to steps from dark to light going down.",
}


class Playground:
    """An image, a filter, padding and stride, and the sliding window's position: the whole lesson.

    The window (``gui/learn/playground.py``) draws what this says and forwards the student's
    edits; every number and sentence it shows comes from here. ``step_index`` is ``-1`` while the
    whole output is shown, else the output cell being computed (row by row).
    """

    def __init__(self) -> None:
        self.learned: dict[str, np.ndarray] = {}
        self.image = np.zeros((0, 0))
        self.kernel = np.zeros((0, 0))
        self.padding: Padding = "valid"
        self.stride = 1
        self.output: np.ndarray | None = None
        self.error: str | None = None
        self.step_index = -1
        self.filter_name = CUSTOM
        self.example: str | None = None  # the example loaded last, by name
        self._steps: list[Step] | None = None
        self.load(LESSON)

    # --- changing it --------------------------------------------------------------------------

    def preset_names(self) -> list[str]:
        """Every name ``load`` accepts: the examples, the classic filters, then the model's own."""
        return [*EXAMPLES, *PRESETS, *self.learned]

    def load(self, name: str) -> None:
        """A whole example (image, filter and settings) or just a filter, by name."""
        if name in EXAMPLES:
            ex = EXAMPLES[name]
            self.example = name
            self.image, self.kernel = np.array(ex.image), np.array(ex.kernel)
            self.padding, self.stride, self.filter_name = ex.padding, ex.stride, name
        elif name in PRESETS or name in self.learned:
            self.set_kernel(PRESETS[name] if name in PRESETS else self.learned[name], name)
            return
        else:
            raise ValueError(f"Unknown preset {name!r}; choose one of {self.preset_names()}.")
        self._recompute()

    def set_learned(self, kernels: dict[str, np.ndarray]) -> None:
        """The model's filters as presets, e.g. ``{"conv1 filter 0": (3, 3) array}``; ``{}`` removes them."""
        self.learned = {name: np.array(k, dtype=np.float64) for name, k in kernels.items()}

    def set_input(self, image: np.ndarray) -> None:
        """``(n, m)`` (or ``(n, m, 1)``) finite numbers; up to ``MAX_GRID`` it is an editable grid."""
        image = np.asarray(image, dtype=np.float64)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim != 2 or image.size == 0 or not np.isfinite(image).all():
            raise ValueError(f"Expected a 2-D array of finite numbers; got shape {image.shape}.")
        self.image = image.copy()
        self._recompute()

    def resize_grid(self, n: int) -> None:
        """An ``n x n`` grid keeping the numbers that still fit (all zeros after the drawing)."""
        grid = np.zeros((n, n))
        if not self.is_large():
            k0, k1 = min(n, self.image.shape[0]), min(n, self.image.shape[1])
            grid[:k0, :k1] = self.image[:k0, :k1]
        self.set_input(grid)

    def set_kernel(self, kernel: np.ndarray, name: str = CUSTOM) -> None:
        """``(f, f2)`` finite numbers, up to ``MAX_KERNEL`` on a side; ``name`` says where it came from."""
        kernel = np.asarray(kernel, dtype=np.float64)
        if kernel.ndim != 2 or kernel.size == 0 or max(kernel.shape) > MAX_KERNEL or not np.isfinite(kernel).all():
            raise ValueError(
                f"Expected a small 2-D filter (up to {MAX_KERNEL}x{MAX_KERNEL}) of finite numbers; got shape {kernel.shape}."
            )
        self.kernel, self.filter_name = kernel.copy(), name
        self._recompute()

    def edit_input(self, row: int, col: int, value: float) -> None:
        """Change one input pixel (image coordinates, not padded ones)."""
        self.image[row, col] = value
        self._recompute()

    def edit_kernel(self, row: int, col: int, value: float) -> None:
        self.kernel[row, col] = value
        self.filter_name = CUSTOM
        self._recompute()

    def set_padding(self, padding: Padding) -> None:
        """``"valid"``, ``"same"`` or a whole number ``p >= 0``; ``ValueError`` (with the value) otherwise."""
        pad_amounts(1, 1, padding, 1)  # validates
        self.padding = int(padding) if not isinstance(padding, str) else padding
        self._recompute()

    def set_stride(self, stride: int) -> None:
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ValueError(f"stride must be a whole number >= 1; got {stride!r}.")
        self.stride = int(stride)
        self._recompute()

    def _recompute(self) -> None:
        self._steps = None
        self.step_index = -1
        try:
            self.output, self.error = conv2d_single(self.image, self.kernel, self.padding, self.stride), None
        except ValueError as exc:
            self.output, self.error = None, str(exc)

    # --- stepping -----------------------------------------------------------------------------

    def steps(self) -> list[Step]:
        """One ``Step`` per output cell, row by row (``[]`` when the filter does not fit)."""
        if self._steps is None:
            self._steps = [] if self.output is None else list(steps(self.image, self.kernel, self.padding, self.stride))
        return self._steps

    def step(self) -> Step | None:
        """Move the window to the next output cell; after the last one, start again."""
        cells = self.steps()
        if not cells:
            return None
        self.step_index = (self.step_index + 1) % len(cells)
        return cells[self.step_index]

    def go_to_step(self, index: int) -> Step | None:
        cells = self.steps()
        if not cells:
            return None
        self.step_index = int(np.clip(index, 0, len(cells) - 1))
        return cells[self.step_index]

    def current_step(self) -> Step | None:
        return self.steps()[self.step_index] if self.step_index >= 0 and self.steps() else None

    def reset(self) -> None:
        self.step_index = -1

    def at_last_step(self) -> bool:
        return self.step_index >= len(self.steps()) - 1

    # --- what the window shows ----------------------------------------------------------------

    def is_large(self) -> bool:
        """True for inputs shown as an image (the 28x28 drawing) rather than an editable grid."""
        return max(self.image.shape) > MAX_GRID

    def pads(self) -> tuple[int, int, int, int]:
        """Zero rows/columns ``(top, bottom, left, right)`` for the current settings."""
        top, bottom = pad_amounts(self.image.shape[0], self.kernel.shape[0], self.padding, self.stride)
        left, right = pad_amounts(self.image.shape[1], self.kernel.shape[1], self.padding, self.stride)
        return top, bottom, left, right

    def padded(self) -> tuple[np.ndarray, np.ndarray]:
        """The zero-padded input and a same-shape mask, True on padding cells."""
        top, bottom, left, right = self.pads()
        image = np.pad(self.image, ((top, bottom), (left, right)))
        mask = np.ones(image.shape, bool)
        mask[top : top + self.image.shape[0], left : left + self.image.shape[1]] = False
        return image, mask

    def example_intact(self) -> bool:
        """Whether the loaded example still has its own image, filter and settings."""
        ex = EXAMPLES.get(self.example or "")
        return (
            ex is not None
            and (self.padding, self.stride) == (ex.padding, ex.stride)
            and np.array_equal(self.image, ex.image)
            and np.array_equal(self.kernel, ex.kernel)
        )

    def preset_label(self) -> str:
        """The name the preset list shows: the example while it is intact, else the filter's name."""
        if self.example_intact():
            return self.example
        return CUSTOM if self.filter_name in EXAMPLES else self.filter_name

    def note(self) -> str:
        """What the chosen example or filter does; an example's worked numbers only while they still apply."""
        if self.example_intact():
            return EXAMPLES[self.example].note
        name = self.filter_name
        if name in PRESET_NOTES:
            return PRESET_NOTES[name]
        if name in EXAMPLES:
            return "The example's filter, with your own input or settings."
        if name != CUSTOM:  # one of the model's own kernels
            return (
                f"{name}: a {self.kernel.shape[0]}×{self.kernel.shape[1]} kernel the network learned from MNIST digits. "
                f"Try it on your drawing to see what it responds to."
            )
        return "Your own filter."

    def padding_text(self) -> str:
        """The zero padding actually added, e.g. ``"p = 1"`` or ``"0 on top, 1 at the bottom"``."""
        top, bottom, left, right = self.pads()
        if top == bottom == left == right:
            return f"p = {top}"
        rows = f"{top} on top, {bottom} at the bottom"
        cols = f"{left} left, {right} right"
        return f"{rows}; {cols}" if (top, bottom) != (left, right) else rows + " (same for columns)"

    def padding_help(self) -> str:
        """What each padding choice does with the current stride (a tooltip)."""
        same = "same: adds zeros so the output keeps the input's size (Keras' rule)"
        if self.stride > 1:
            same = (
                f"same: adds zeros so the output has ⌈n / {self.stride}⌉ rows and columns: the size divided by the "
                f"stride, rounded up (Keras' rule; an odd extra row or column goes at the bottom or right)"
            )
        return f"valid: no padding, the output shrinks · {same} · custom: p rows/columns of zeros on every side"

    def formula(self) -> str:
        """The output size formula filled in with this input, e.g. ``"Output size = (n + 2p − f) / s + 1 ..."``."""
        if self.output is None:
            return f"The filter does not fit: {self.error}"
        (n, m), (f, f2), s = self.image.shape, self.kernel.shape, self.stride
        top, bottom, left, right = self.pads()

        def one(n_: int, f_: int, before: int, after: int) -> str:
            if before == after:
                return output_size_formula(n_, f_, before, s)
            out = (n_ + before + after - f_) // s + 1
            fraction = f"({n_} + {before} + {after} − {f_}) / {s}"
            return f"{fraction if (n_ + before + after - f_) % s == 0 else '⌊' + fraction + '⌋'} + 1 = {out}"

        rows = one(n, f, top, bottom)
        if (n, f, top, bottom) == (m, f2, left, right):
            text = f"Output size = (n + 2p − f) / s + 1\n= {rows}"
        else:
            text = f"Output rows = {rows}\ncolumns = {one(m, f2, left, right)}"
        out_h, out_w = self.output.shape
        note = ""
        if self.padding == "same":
            keeps = (out_h, out_w) == (n, m)
            note = f" ('same' adds {self.padding_text()}" + (
                ": the size is kept)" if keeps else f": ⌈{n} / {s}⌉ = {out_h}, the size divided by the stride)"
            )
        return f"{text}  →  a {out_h}×{out_w} output{note}"

    def pooled(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The output max- and average-pooled with 2x2 windows, stride 2; ``None`` if it is too small."""
        if self.output is None or min(self.output.shape) < 2:
            return None
        return pool2d(self.output, 2, 2, "max"), pool2d(self.output, 2, 2, "average")

    def pool_note(self) -> str:
        out = self.output
        if out is None:
            return ""
        if min(out.shape) < 2:
            return f"The {out.shape[0]}×{out.shape[1]} output is too small for 2×2 pooling."
        odd = out.shape[0] % 2 or out.shape[1] % 2
        dropped = " (an odd last row/column has no 2×2 window and is dropped)" if odd else ""
        return (
            "Pooling the output with 2×2 windows, stride 2: max keeps the strongest answer "
            f"of each window, average their mean{dropped}."
        )

    def step_text(self) -> str:
        """The current output cell's multiply-sum, written so it can be redone by hand."""
        step = self.current_step()
        if step is None:
            return (
                "Press Step to put the filter on the first window: each output cell is the sum of "
                "the window's numbers multiplied by the filter's, position by position."
            )
        (r0, r1), (c0, c1), (top, _, left, _) = step.rows, step.cols, self.pads()
        head = (
            f"Output cell (row {step.out_row}, col {step.out_col}) — step {self.step_index + 1} of {len(self.steps())}, "
            f"window over image rows {r0 - top}…{r1 - top - 1}, columns {c0 - left}…{c1 - left - 1}:\n"
        )
        if np.all(step.window == np.round(step.window)) and np.all(self.kernel == np.round(self.kernel)):
            pairs = " + ".join(
                f"{fmt_term(a)}·{fmt_term(w)}" for a, w in zip(step.window.ravel(), self.kernel.ravel(), strict=True)
            )
            return f"{head}{pairs} = {fmt(step.total)}"
        # Fractions: every number rounded to 4 decimals, each product worked from the factors shown
        # and the total the sum of the products shown, so the whole line can be redone by hand.
        window, kernel = rounded(step.window.ravel(), 4), rounded(self.kernel.ravel(), 4)
        products = rounded(window * kernel, 4)
        pairs = " + ".join(
            f"{fmt_term(a, 4, trim=True)}·{fmt_term(w, 4, trim=True)}" for a, w in zip(window, kernel, strict=True)
        )
        written = " + ".join(fmt_term(p, 4) for p in products)
        return f"{head}{pairs}\n= {written}\n= {fmt(products.sum(), 4)}"


EXAMPLES: dict[str, Example] = {LESSON: LESSON_EXAMPLE, EDGE_DEMO: vertical_edge_demo()}
