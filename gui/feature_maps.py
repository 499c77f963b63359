"""Every feature map of the model, live: one mosaic image per layer, reflowed to the width.

Following pyqtgraph's own advice: row-major C-contiguous float32 arrays, explicit ``levels=`` on
``setImage`` (auto-levels would sample every frame), a named colormap with a ``ColorBarItem``.
Each layer's channels are tiled into ONE mosaic image (NaN gaps render transparent), so a live
update is one ``setImage`` per layer rather than one per channel.

The mosaics reflow to the panel's width: as many maps per row as fit with every cell at least
``cell_px`` screen pixels (6 by default, so an aimed click lands on the cell aimed at), and the
panel grows downwards inside a scroll area instead of clipping or shrinking the maps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsRectItem, QSizePolicy

from .panels import colormap

MIN_CELL_PX = 6  # smallest on-screen size of one map cell: smaller and aimed clicks hit a neighbour
MAX_CELL_PX = 24  # a layer with few small maps is not blown up beyond this
HIGHLIGHT = (80, 220, 255)
EMPTY_LEVEL = 0.12  # before the first drawing each map shows as a faint tile, so the grid is visible


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


class LayerMosaic(pg.ImageItem):
    """One layer's channels as a mosaic; reports which channel and cell is clicked or hovered."""

    def __init__(self, name: str, shape: tuple[int, int, int], cols: int, on_click, on_hover, units: int = 0):
        super().__init__()
        # Not "shape"/"name": QGraphicsItem.shape() is a method pyqtgraph calls for hit tests.
        self.layer_name, self.map_shape, self.cols = name, shape, cols
        self.units = units  # > 0: a dense layer of this many units drawn as one map
        self._on_click, self._on_hover = on_click, on_hover
        self.setAcceptHoverEvents(True)

    def locate(self, pos: QPointF) -> MapCell | None:
        """Mosaic position -> the cell there, or None on a gap."""
        h, w, c = self.map_shape
        x, y = int(math.floor(pos.x())), int(math.floor(pos.y()))
        tr, rr = divmod(y, h + 1)
        tc, cc = divmod(x, w + 1)
        channel = tr * self.cols + tc
        if x < 0 or y < 0 or rr >= h or cc >= w or tc >= self.cols or channel >= c:
            return None
        if self.units and rr * w + cc >= self.units:
            return None
        return MapCell(self.layer_name, channel, rr, cc)

    def cell_rect(self, cell: MapCell) -> QRectF:
        h, w, _ = self.map_shape
        tr, tc = divmod(cell.channel, self.cols)
        return QRectF(tc * (w + 1) + cell.col, tr * (h + 1) + cell.row, 1, 1)

    def mouseClickEvent(self, event):  # noqa: N802 (pyqtgraph override)
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.locate(event.pos())
            if hit is not None and not self.units:
                event.accept()
                self._on_click(hit)

    def hoverEvent(self, event):  # noqa: N802 (pyqtgraph override)
        if event.isExit():
            self._on_hover(None)
            return
        self._on_hover(self.locate(event.pos()))


class FeatureMapPanel(pg.GraphicsLayoutWidget):
    """Every feature layer of the loaded model, in order, with its real name and shape.

    Built from the model's layer list (``LayerInfo``), so another model rebuilds it. Values are
    shown relative to each layer's largest activation (0 to 1) with one colormap and colour bar;
    the layer's title gives that maximum. Clicking a cell emits ``map_clicked(layer, channel, row,
    col)`` and outlines it; hovering emits ``map_hovered(MapCell | None)`` and ``hover_text``
    (row, col, value). :meth:`set_cell_size` zooms: bigger cells, fewer maps per row.
    """

    map_clicked = Signal(str, int, int, int)
    map_hovered = Signal(object)  # MapCell, or None when the mouse left the maps
    hover_text = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("feature_maps")
        self.setBackground("#16161a")
        self.setMinimumWidth(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._cmap = colormap()
        self._items: dict[str, LayerMosaic] = {}
        self._titles: dict[str, pg.LabelItem] = {}
        self._views: dict[str, pg.ViewBox] = {}
        self.layers: list = []
        self.last_activations: dict[str, np.ndarray] = {}
        self.cell_px = MIN_CELL_PX
        self.selected: MapCell | None = None
        self._laid_out_for = -1
        self._message: str | None = None
        self._available: int | None = None  # set by a scroll area holding the panel
        self._highlight = QGraphicsRectItem()
        pen = QPen(pg.mkColor(*HIGHLIGHT))
        pen.setCosmetic(True)
        pen.setWidth(2)
        self._highlight.setPen(pen)
        self._highlight.setZValue(10)
        self.show_message("Loading the model…")

    def show_message(self, text: str) -> None:
        self._detach_highlight()
        self.clear()
        self.setMinimumHeight(100)
        self._items.clear()
        self.addLabel(text, color="#bbbbbb", size="12pt")

    def set_layers(self, layers: list, message: str | None = None) -> None:
        """Rebuild for ``layers`` (``LayerInfo`` with ``name``, ``kind``, ``shape``); ``message`` heads it."""
        self.layers = list(layers)
        self.last_activations = {}
        self.selected = None
        self._message = message
        self._build()
        self.set_activations({})  # the faint grid of empty maps until the first drawing

    def set_cell_size(self, px: int) -> None:
        """Zoom: every cell at least ``px`` screen pixels (not below ``MIN_CELL_PX``)."""
        self.cell_px = max(MIN_CELL_PX, int(px))
        self._build()
        self.set_activations(self.last_activations)

    def set_available_width(self, px: int) -> None:
        """The width the maps may use (a scroll area's viewport); they reflow to it."""
        if self._available is None or abs(px - self._available) > 2:
            self._available = px
            if self.layers:
                self._build()
                self.set_activations(self.last_activations)

    def _usable_width(self) -> float:
        width = self._available if self._available is not None else self.width()
        return max(float(width) - 24.0, 60.0)  # layout margins and spacing

    def _detach_highlight(self) -> None:
        if self._highlight.scene() is not None:
            self._highlight.scene().removeItem(self._highlight)
        self._highlight.setParentItem(None)

    def _build(self) -> None:
        self._detach_highlight()
        self.clear()
        self._items.clear()
        self._titles.clear()
        self._views.clear()
        self._laid_out_for = self.width()
        widest = 160.0
        layout = self.ci.layout
        for r in range(layout.rowCount()):
            layout.setRowFixedHeight(r, -1)
            layout.setRowMinimumHeight(r, 0)
        row, total_height = 0, 16
        if self._message or not self.layers:
            text = self._message or "This model has no convolution or pooling layers to show."
            self.addLabel(text, row=row, col=0, color="#bbbbbb")
            row, total_height = row + 1, total_height + 30
        if self.layers:
            bar = pg.ColorBarItem(
                values=(0, 1),
                colorMap=self._cmap,
                orientation="horizontal",
                interactive=False,
                label="activation ÷ layer maximum",
                width=10,
            )
            self.addLayout(row=row, col=0).addItem(bar)
            row, total_height = row + 1, total_height + 60
        width = self._usable_width()
        for info in self.layers:
            shape = map_shape(info.shape)
            h, w, c = shape
            rows, cols, cell = reflow(shape, width, self.cell_px)
            units = int(np.prod(info.shape)) if len(info.shape) != 3 else 0
            title = self.addLabel(self._title(info, None), row=row, col=0, justify="left", color="#dddddd")
            view = self.addViewBox(row=row + 1, col=0, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            item = LayerMosaic(info.name, shape, cols, self._on_click, self._on_hover, units)
            item.setColorMap(self._cmap)
            mosaic_w, mosaic_h = (w + 1) * cols - 1, (h + 1) * rows - 1
            item.setImage(np.zeros((mosaic_h, mosaic_w), np.float32), levels=(0.0, 1.0))
            view.addItem(item)
            view.setRange(xRange=(0, mosaic_w), yRange=(0, mosaic_h), padding=0)
            height = math.ceil(mosaic_h * cell) + 2
            widest = max(widest, mosaic_w * cell + 24)
            layout.setRowFixedHeight(row + 1, height)
            total_height += height + 28
            self._items[info.name], self._titles[info.name], self._views[info.name] = item, title, view
            row += 2
        self.setMinimumHeight(total_height)
        self.setMinimumWidth(int(widest))  # zoomed past the width: the scroll area scrolls sideways
        if self.selected is not None:
            self._show_highlight(self.selected)

    def resizeEvent(self, event):  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        # pyqtgraph calls this from its own __init__, before ours has run.
        if getattr(self, "layers", None) and self._available is None and abs(self.width() - self._laid_out_for) > 2:
            self._build()
            self.set_activations(self.last_activations)

    @staticmethod
    def _title(info, peak: float | None) -> str:
        text = f"<b>{info.name}</b> · {info.kind} · {'×'.join(str(d) for d in info.shape)}"
        if peak is not None:
            text += f" · max {peak:.2f}"
        return text

    def set_activations(self, activations: dict[str, np.ndarray]) -> None:
        self.last_activations = activations
        for info in self.layers:
            item = self._items.get(info.name)
            if item is None:
                continue
            a = activations.get(info.name)
            maps = as_maps(np.full(info.shape, EMPTY_LEVEL, np.float32) if a is None else a)
            finite = maps[np.isfinite(maps)]
            peak = float(np.abs(finite).max()) if finite.size and a is not None else 0.0
            normalised = maps / peak if peak > 0 else maps  # no drawing yet: a faint grid of empty maps
            item.setImage(tile(normalised.astype(np.float32, copy=False), item.cols), levels=(0.0, 1.0), autoLevels=False)
            self._titles[info.name].setText(self._title(info, peak if activations else None))

    def value_at(self, cell: MapCell) -> float | None:
        """The activation shown at ``cell`` for the current input (``None`` if there is none)."""
        a = self.last_activations.get(cell.layer)
        if a is None:
            return None
        maps = as_maps(a)
        if cell.row < maps.shape[0] and cell.col < maps.shape[1] and cell.channel < maps.shape[2]:
            return float(maps[cell.row, cell.col, cell.channel])
        return None

    def describe(self, cell: MapCell) -> str:
        value = self.value_at(cell)
        item = self._items.get(cell.layer)
        if item is not None and item.units:
            where = f"{cell.layer} · unit {cell.row * item.map_shape[1] + cell.col}"
        else:
            where = f"{cell.layer} · channel {cell.channel} · row {cell.row}, col {cell.col}"
        return where + (f" · value {value:.4f}" if value is not None else "")

    def _on_hover(self, cell: MapCell | None) -> None:
        self.map_hovered.emit(cell)
        self.hover_text.emit("" if cell is None else self.describe(cell))

    def _on_click(self, cell: MapCell) -> None:
        self.select(cell)
        self.map_clicked.emit(*cell)

    def select(self, cell: MapCell | None) -> None:
        """Outline ``cell`` (the one being explained), or nothing."""
        self.selected = cell
        self._detach_highlight()
        if cell is not None:
            self._show_highlight(cell)

    def _show_highlight(self, cell: MapCell) -> None:
        item = self._items.get(cell.layer)
        if item is None:
            return
        self._highlight.setRect(item.cell_rect(cell))
        self._highlight.setParentItem(item)

    def map_centre(self, name: str, channel: int, row: int = 0, col: int = 0) -> QPointF:
        """Widget coordinates of cell (row, col) of a channel's map (used by tests to click it)."""
        item = self._items[name]
        rect = item.cell_rect(MapCell(name, channel, row, col))
        return QPointF(self.mapFromScene(item.mapToScene(rect.center())))

    def cell_size_on_screen(self, name: str) -> float:
        """How many screen pixels one cell of layer ``name`` spans now."""
        item = self._items[name]
        a, b = item.mapToScene(QPointF(0, 0)), item.mapToScene(QPointF(1, 0))
        return abs(b.x() - a.x())
