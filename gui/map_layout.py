"""How the feature maps are laid out: each layer's channels tiled into one mosaic, every layer fitted to the panel.

Pure arithmetic and NumPy, no Qt: ``reflow`` tiles one layer into a width (zoomed in),
``overview_layout`` finds the one cell size at which the whole network fits (the overview),
``tile`` builds a layer's mosaic with NaN gaps, ``as_maps``/``map_shape`` draw a dense layer as one
near-square map. ``gui/feature_maps.py`` (``FeatureMapPanel``) draws what these plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

MIN_CELL_PX = 6  # smallest on-screen size of one map cell: smaller and aimed clicks hit a neighbour
MAX_CELL_PX = 24  # a layer with few small maps is not blown up beyond this
OVERVIEW_MIN_DEVICE_PX = 1.5  # an overview cell smaller than this on the screen is no longer a visible value
TITLE_PX = 16  # one line of layer title in the overview (8 pt)
SPACING_PX = 1  # between a title and its maps in the overview


class MapCell(NamedTuple):
    """One cell of one feature map: ``layer`` name, ``channel``, ``row``, ``col``."""

    layer: str
    channel: int
    row: int
    col: int


def reflow(shape: tuple[int, int, int], width_px: float, min_cell_px: float = MIN_CELL_PX) -> tuple[int, int, float]:
    """How to tile a ``(h, w, c)`` layer into ``width_px``: ``(rows, cols, cell_px)``.

    As many maps per row as fit with every cell at least ``min_cell_px`` wide (one map per row at
    least, whatever the width: the scroll area then scrolls sideways); ``cell_px`` is the size the
    cells actually get when the mosaic fills the width, capped at ``MAX_CELL_PX``.
    """
    h, w, c = shape
    per_map = (w + 1) * min_cell_px
    cols = int(max(1, min(c, (width_px + min_cell_px) // per_map)))
    rows = math.ceil(c / cols)
    fill = width_px / max(cols * (w + 1) - 1, 1)
    cell = min(max(min_cell_px, fill), max(MAX_CELL_PX, min_cell_px))
    return rows, cols, cell


class LayerPlan(NamedTuple):
    """How one layer is drawn in the overview: ``cols`` maps per row, ``rows`` rows, ``shown`` maps (of ``c``)."""

    cols: int
    rows: int
    shown: int


def _mosaic_height(h: int, rows: int, cell: float) -> float:
    return (rows * (h + 1) - 1) * cell


def _plans_at(shapes, width: float, cell: float, fraction: float = 1.0) -> list[LayerPlan]:
    plans = []
    for _h, w, c in shapes:
        cols = int(max(1, min(c, (width + cell) // ((w + 1) * cell))))
        want = c if fraction >= 1.0 else max(cols, math.ceil(fraction * c))
        rows = math.ceil(min(c, want) / cols)
        plans.append(LayerPlan(cols, rows, min(c, rows * cols)))
    return plans


def _height_of(shapes, plans, cell: float, extra_px: float, per_layer_px: float) -> float:
    return extra_px + sum(per_layer_px + _mosaic_height(h, p.rows, cell) for (h, _, _), p in zip(shapes, plans, strict=True))


def overview_layout(
    shapes: Sequence[tuple[int, int, int]],
    width: float,
    height: float,
    min_cell: float,
    per_layer_px: float = TITLE_PX + 3,
    extra_px: float = 0.0,
) -> tuple[float, list[LayerPlan]]:
    """Every layer's maps in ``width`` x ``height`` screen pixels at one cell size: ``(cell, plans)``.

    The largest cell size (``min_cell`` to ``MAX_CELL_PX``) at which every channel of every
    ``(h, w, c)`` layer fits, each layer below the previous one (``per_layer_px`` for its title,
    ``extra_px`` for the rest). If even ``min_cell`` is too big for everything, each layer shows
    the largest equal share of its maps that fits (at least one row each, in channel order); the
    caller says how many are left out. Pure arithmetic, no Qt.
    """
    shapes = [tuple(int(d) for d in s) for s in shapes]
    if not shapes:
        return float(min_cell), []

    def fits(cell: float, fraction: float = 1.0) -> bool:
        return _height_of(shapes, _plans_at(shapes, width, cell, fraction), cell, extra_px, per_layer_px) <= height

    top = max(MAX_CELL_PX, min_cell)
    if fits(min_cell):
        lo, hi = float(min_cell), float(top)
        if fits(hi):
            lo = hi
        for _ in range(40):  # bisection on the cell size; the height only grows with it
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return lo, _plans_at(shapes, width, lo)
    lo, hi = 0.0, 1.0  # a share of every layer's maps
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(min_cell, mid) else (lo, mid)
    return float(min_cell), _plans_at(shapes, width, min_cell, lo)


def tile(maps: np.ndarray, cols: int) -> np.ndarray:
    """``(h, w, c)`` -> one ``(rows*(h+1)-1, cols*(w+1)-1)`` mosaic, channels row by row, NaN gaps."""
    h, w, c = maps.shape
    rows = math.ceil(c / cols)
    out = np.full((rows, h + 1, cols, w + 1), np.nan, np.float32)
    padded = np.full((rows * cols, h, w), np.nan, np.float32)
    padded[:c] = np.moveaxis(maps, -1, 0)
    out[:, :h, :, :w] = padded.reshape(rows, cols, h, w).transpose(0, 2, 1, 3)
    return out.reshape(rows * (h + 1), cols * (w + 1))[:-1, :-1]


def as_maps(a: np.ndarray) -> np.ndarray:
    """Any layer output as ``(h, w, c)`` maps: a ``(n,)`` dense layer becomes one near-square map."""
    a = np.asarray(a, np.float32)
    if a.ndim == 3:
        return a
    flat = a.ravel()
    w = max(1, math.ceil(math.sqrt(len(flat))))
    grid = np.full(w * math.ceil(len(flat) / w), np.nan, np.float32)
    grid[: len(flat)] = flat
    return grid.reshape(-1, w, 1)


def map_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """The ``(h, w, c)`` a layer of output ``shape`` is drawn with (see :func:`as_maps`)."""
    if len(shape) == 3:
        return int(shape[0]), int(shape[1]), int(shape[2])
    n = int(np.prod(shape))
    w = max(1, math.ceil(math.sqrt(n)))
    return math.ceil(n / w), w, 1
