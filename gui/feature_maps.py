"""Every feature map of the model, live: one mosaic image per layer, reflowed to the width.

Following pyqtgraph's own advice: row-major C-contiguous float32 arrays, explicit ``levels=`` on
``setImage`` (auto-levels would sample every frame), a named colormap with a ``ColorBarItem``.
Each layer's channels are tiled into ONE mosaic image (NaN gaps render transparent), so a live
update is one ``setImage`` per layer rather than one per channel.

By default the panel is an overview (``cell_px`` is ``None``): every channel of every layer at
once, in the order data flows, with one cell size chosen so that the whole network fits the space
it is given (``overview_layout``), down to ``OVERVIEW_MIN_DEVICE_PX`` device pixels per cell; a
model too big for that shows as many maps of each layer as fit, in order, and says "+N more" (a
click on it emits ``more_requested``). Zoomed in (``set_cell_size``), the mosaics reflow to the
panel's width with every cell at least ``cell_px`` screen pixels and the panel grows downwards
inside a scroll area instead of clipping or shrinking the maps.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem, QSizePolicy

from .panels import colormap

MIN_CELL_PX = 6  # smallest on-screen size of one map cell: smaller and aimed clicks hit a neighbour
MAX_CELL_PX = 24  # a layer with few small maps is not blown up beyond this
OVERVIEW_MIN_DEVICE_PX = 1.5  # an overview cell smaller than this on the screen is no longer a visible value
TITLE_PX = 16  # one line of layer title in the overview (8 pt)
SPACING_PX = 1  # between a title and its maps in the overview
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


GAP_INDEX = 255  # the colour table's transparent entry, between maps


def colour_table(cmap: pg.ColorMap) -> np.ndarray:
    """``(256,)`` uint32 premultiplied ARGB words: 0..254 the colormap from 0 to 1, 255 transparent (a gap)."""
    rgba = cmap.getLookupTable(0.0, 1.0, GAP_INDEX, alpha=True).astype(np.uint32)
    alpha = rgba[:, 3]
    r, g, b = (rgba[:, k] * alpha // 255 for k in range(3))
    table = np.zeros(256, np.uint32)
    table[:GAP_INDEX] = (alpha << 24) | (r << 16) | (g << 8) | b
    return table


def colour(mosaic: np.ndarray, table: np.ndarray) -> np.ndarray:
    """A mosaic of values in [0, 1] with NaN gaps -> ``(h, w)`` uint32 ARGB words through ``table`` (gaps transparent)."""
    index = mosaic * (GAP_INDEX - 1) + 0.5
    np.clip(index, 0.0, GAP_INDEX - 1, out=index)
    index[np.isnan(index)] = GAP_INDEX
    return table[index.astype(np.uint8)]


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
    """One layer's channels as a mosaic; reports which channel and cell is clicked or hovered.

    The image is the mosaic's values (0 to 1, NaN between maps). It is coloured here, in one table
    lookup straight into the premultiplied ARGB that QPainter draws without converting:
    pyqtgraph's own path for a float image with NaNs rescales it, searches the NaNs and hands Qt
    an RGBA image that is converted again on every paint, which made this the panel's slowest step.
    """

    colours = colour_table(colormap())

    def __init__(self, name: str, shape: tuple[int, int, int], cols: int, on_click, on_hover, units: int = 0):
        super().__init__()
        # Not "shape"/"name": QGraphicsItem.shape() is a method pyqtgraph calls for hit tests.
        self.layer_name, self.map_shape, self.cols = name, shape, cols
        self.units = units  # > 0: a dense layer of this many units drawn as one map
        self._argb: np.ndarray | None = None  # the pixels the QImage shows (kept alive with it)
        self._on_click, self._on_hover = on_click, on_hover
        self.setAcceptHoverEvents(True)

    def render(self):  # pyqtgraph override: called by paint() once after each setImage
        values = self.image
        if values is None or values.ndim != 2 or values.size == 0:
            return super().render()
        self._argb = np.ascontiguousarray(colour(np.asarray(values, np.float32), self.colours))
        h, w = self._argb.shape
        self.qimage = QImage(self._argb.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        self._renderRequired = False
        self._unrenderable = False

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


class OverviewLabel(pg.LabelItem):
    """One line of text in the overview that never widens or heightens the layout (a long line is cut at the edge)."""

    def __init__(self, text: str, **kwargs):
        super().__init__(text, **kwargs)
        self.setFlag(self.GraphicsItemFlag.ItemClipsChildrenToShape, True)

    def updateMin(self):  # noqa: N802 (pyqtgraph override)
        super().updateMin()
        self.setMinimumWidth(0)
        self.setMinimumHeight(0)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, 0)
        self._sizeHint[Qt.SizeHint.PreferredSize] = (0, TITLE_PX)
        self.updateGeometry()


class MoreLabel(OverviewLabel):
    """A layer's title in the overview; a click on it (where it says "+N more") asks for the rest."""

    def __init__(self, text: str, layer: str, on_click, **kwargs):
        super().__init__(text, **kwargs)
        self.layer_name, self._on_click, self.hidden_maps = layer, on_click, 0

    def mouseClickEvent(self, event):  # noqa: N802 (pyqtgraph override)
        if event.button() == Qt.MouseButton.LeftButton and self.hidden_maps:
            event.accept()
            self._on_click(self.layer_name)


class FeatureMapPanel(pg.GraphicsLayoutWidget):
    """Every feature layer of the loaded model, in order, with its real name, shape and operation.

    Built from the model's layer list (``LayerInfo``), so another model rebuilds it. Values are
    shown relative to each layer's largest activation (0 to 1) with one colormap; the layer's
    title gives that maximum. Clicking a cell emits ``map_clicked(layer, channel, row, col)`` and
    outlines it; hovering emits ``map_hovered(MapCell | None)`` and ``hover_text`` (row, col,
    value); a click on a layer's "+N more" emits ``more_requested(layer)``. By default every map
    fits the space given (:meth:`set_available_size`); :meth:`set_cell_size` zooms (bigger cells,
    fewer maps per row, the panel scrolls), ``set_cell_size(None)`` returns to the overview.
    """

    map_clicked = Signal(str, int, int, int)
    map_hovered = Signal(object)  # MapCell, or None when the mouse left the maps
    hover_text = Signal(str)
    more_requested = Signal(str)  # layer name, whose maps the overview could not all show

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("feature_maps")
        self.setBackground("#16161a")
        self.setMinimumWidth(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._cmap = colormap()
        self._items: dict[str, LayerMosaic] = {}
        self._titles: dict[str, pg.LabelItem] = {}
        # Each layer's largest value, after its title: plain text, so a live update does not lay out HTML.
        self._peaks: dict[str, QGraphicsSimpleTextItem] = {}
        self._views: dict[str, pg.ViewBox] = {}
        self.layers: list = []
        self.operations: dict[str, str] = {}  # layer name -> the operation that made it ("conv 3×3, same, ...")
        self.head: list[str] = []  # the steps after the last map, in words
        self.input_shape: tuple[int, ...] = ()
        self.plans: dict[str, LayerPlan] = {}  # the overview: how many maps of each layer are shown
        self.last_activations: dict[str, np.ndarray] = {}
        self.cell_px: int | None = None  # None: the overview (everything fits); else the zoomed cell size
        self.selected: MapCell | None = None
        self._laid_out_for = -1
        self._message: str | None = None
        self._available: int | None = None  # set by a scroll area holding the panel
        self._available_height: int | None = None
        self._highlight = QGraphicsRectItem()
        pen = QPen(pg.mkColor(*HIGHLIGHT))
        pen.setCosmetic(True)
        pen.setWidth(2)
        self._highlight.setPen(pen)
        self._highlight.setZValue(10)
        self.show_message("Loading the model…")

    @property
    def overview(self) -> bool:
        return self.cell_px is None

    def show_message(self, text: str) -> None:
        self._detach_highlight()
        self.clear()
        self.setMinimumHeight(100)
        self._items.clear()
        self.addLabel(text, color="#bbbbbb", size="12pt")

    def set_layers(
        self,
        layers: list,
        message: str | None = None,
        operations: dict[str, str] | None = None,
        head: Sequence[str] = (),
        input_shape: Sequence[int] = (),
    ) -> None:
        """Rebuild for ``layers`` (``LayerInfo`` with ``name``, ``kind``, ``shape``); ``message`` heads it.

        ``operations``: layer name -> the operation that produced it, in words; ``head``: the steps
        after the last map (pooling, dense, softmax); ``input_shape``: what the model receives.
        """
        self.layers = list(layers)
        self.operations = dict(operations or {})
        self.head = list(head)
        self.input_shape = tuple(input_shape)
        self.last_activations = {}
        self.selected = None
        self._message = message
        self._build()
        self.set_activations({})  # the faint grid of empty maps until the first drawing

    def set_cell_size(self, px: int | None) -> None:
        """Zoom: every cell at least ``px`` screen pixels (not below ``MIN_CELL_PX``); ``None``: the overview."""
        self.cell_px = None if px is None else max(MIN_CELL_PX, int(px))
        self._build()
        self.set_activations(self.last_activations)

    def set_available_width(self, px: int) -> None:
        """The width the maps may use (a scroll area's viewport); they reflow to it."""
        self.set_available_size(px, self._available_height)

    def set_available_size(self, width: int, height: int | None) -> None:
        """The space the maps may use (a scroll area's viewport): the overview fits it, zoomed maps reflow to its width."""
        changed = self._available is None or abs(width - self._available) > 2
        if height is not None and self.overview:
            changed = changed or self._available_height is None or abs(height - self._available_height) > 2
        self._available = width
        if height is not None:
            self._available_height = height
        if changed and self.layers:
            self._build()
            self.set_activations(self.last_activations)

    def _usable_width(self) -> float:
        width = self._available if self._available is not None else self.width()
        return max(float(width) - 24.0, 60.0)  # layout margins and spacing

    def _detach_highlight(self) -> None:
        if self._highlight.scene() is not None:
            self._highlight.scene().removeItem(self._highlight)
        self._highlight.setParentItem(None)

    def _overview_plan(self, width: float) -> tuple[float, dict[str, LayerPlan], int]:
        """The cell size, each layer's plan and the height the overview fills."""
        height = self._available_height if self._available_height is not None else self.height()
        height = max(int(height), 120)
        extra = 2 * (TITLE_PX + 2 * SPACING_PX) + (34 if self._message or not self.layers else 0) + 8  # input, head, margins
        min_cell = OVERVIEW_MIN_DEVICE_PX / max(self.devicePixelRatioF(), 1e-3)
        shapes = [map_shape(info.shape) for info in self.layers]
        cell, plans = overview_layout(shapes, width, height - 4, min_cell, TITLE_PX + 2 * SPACING_PX + 1, extra)
        return cell, {info.name: plan for info, plan in zip(self.layers, plans, strict=True)}, height

    def _build(self) -> None:
        self._detach_highlight()
        self.clear()
        self._items.clear()
        self._titles.clear()
        self._peaks.clear()
        self._views.clear()
        self.plans = {}
        self._laid_out_for = self.width()
        widest = 160.0
        layout = self.ci.layout
        for r in range(layout.rowCount()):
            layout.setRowFixedHeight(r, -1)
            layout.setRowMinimumHeight(r, 0)
        overview = self.overview and bool(self.layers)
        margin = 2 if overview else 1
        self.ci.setContentsMargins(margin, margin, margin, margin)
        layout.setVerticalSpacing(SPACING_PX if overview else 6)
        row, total_height = 0, 16
        width = self._usable_width() if not overview else max(float(self._available or self.width()) - 10.0, 60.0)
        if self._message or not self.layers:
            text = self._message or "This model has no convolution or pooling layers to show."
            if overview:  # wrapped to the panel's width, two lines at most: it must not widen the layout
                label = OverviewLabel(text, justify="left", color="#bbbbbb", size="8pt")
                label.item.setTextWidth(width)
                self.addItem(label, row=row, col=0)
                layout.setRowFixedHeight(row, 30)
            else:
                self.addLabel(text, row=row, col=0, color="#bbbbbb")
            row, total_height = row + 1, total_height + 30
        if overview:
            cell, self.plans, fill_height = self._overview_plan(width)
            shape = "×".join(str(d) for d in self.input_shape) or "the drawing"
            self.addItem(
                OverviewLabel(
                    f"<b>input</b> {shape} (what the network sees, left) · colour: 0 black → the layer's max yellow",
                    justify="left",
                    color="#bbbbbb",
                    size="8pt",
                ),
                row=row,
                col=0,
            )
            layout.setRowFixedHeight(row, TITLE_PX)
            row += 1
        elif self.layers:
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
        for info in self.layers:
            shape = map_shape(info.shape)
            h, w, c = shape
            if overview:
                plan = self.plans[info.name]
                rows, cols, shown = plan.rows, plan.cols, plan.shown
            else:
                rows, cols, cell = reflow(shape, width, self.cell_px)
                shown = c
            units = int(np.prod(info.shape)) if len(info.shape) != 3 else 0
            if overview:
                title = MoreLabel(
                    self._title(info), info.name, self.more_requested.emit, justify="left", color="#dddddd", size="8pt"
                )
                title.hidden_maps = c - shown
                self.addItem(title, row=row, col=0)
                layout.setRowFixedHeight(row, TITLE_PX)
            else:
                title = self.addLabel(self._title(info), row=row, col=0, justify="left", color="#dddddd")
            view = self.addViewBox(row=row + 1, col=0, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            item = LayerMosaic(info.name, (h, w, shown), cols, self._on_click, self._on_hover, units)
            mosaic_w, mosaic_h = (w + 1) * cols - 1, (h + 1) * rows - 1
            item.setImage(np.zeros((mosaic_h, mosaic_w), np.float32), levels=(0.0, 1.0), autoLevels=False)
            view.addItem(item)
            view.setRange(xRange=(0, mosaic_w), yRange=(0, mosaic_h), padding=0)
            height = mosaic_h * cell if overview else math.ceil(mosaic_h * cell) + 2
            widest = max(widest, mosaic_w * cell + 24)
            layout.setRowFixedHeight(row + 1, height)
            total_height += height + (TITLE_PX + 2 * SPACING_PX + 1 if overview else 28)
            self._items[info.name], self._titles[info.name], self._views[info.name] = item, title, view
            self._peaks[info.name] = self._peak_text(title)
            row += 2
        if overview:
            steps = " → ".join(html.escape(step) for step in self.head) or "the output"
            head = OverviewLabel(f"→ {steps} → <b>the answer</b> (left: click it)", justify="left", color="#bbbbbb", size="8pt")
            self.addItem(head, row=row, col=0)
            layout.setRowFixedHeight(row, TITLE_PX)
            needed = total_height + 2 * TITLE_PX  # more than a screen only for a model with very many layers: it scrolls
            self.setMinimumHeight(0 if needed <= fill_height else int(needed))
            self.setMinimumWidth(160)
        else:
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
    def _peak_text(title: pg.LabelItem) -> QGraphicsSimpleTextItem:
        """A plain-text item just after ``title``'s text, in its font and colour, for the layer's largest value."""
        text = title.item
        peak = QGraphicsSimpleTextItem(text)
        peak.setFont(text.font())
        peak.setBrush(text.defaultTextColor())
        margin = text.document().documentMargin()
        peak.setPos(margin + text.document().idealWidth(), margin)
        return peak

    def peak_text(self, layer: str) -> str:
        """What the panel says after ``layer``'s title about its largest value (\"\" before a drawing)."""
        peak = self._peaks.get(layer)
        return peak.text() if peak is not None else ""

    def _title(self, info) -> str:
        if not self.overview:
            return f"<b>{info.name}</b> · {info.kind} · {'×'.join(str(d) for d in info.shape)}"
        operation = html.escape(self.operations.get(info.name, info.kind))
        text = f"<b>{html.escape(info.name)}</b> · {operation} → {'×'.join(str(d) for d in info.shape)}"
        plan = self.plans.get(info.name)
        if plan is not None and len(info.shape) == 3 and plan.shown < info.shape[-1]:
            text += f" · <u>+{info.shape[-1] - plan.shown} more</u>"
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
            shown = maps[..., : item.map_shape[2]]
            normalised = shown / peak if peak > 0 else shown  # no drawing yet: a faint grid of empty maps
            item.setImage(tile(normalised.astype(np.float32, copy=False), item.cols), levels=(0.0, 1.0), autoLevels=False)
            self._peaks[info.name].setText(f" · max {peak:.2f}" if activations else "")

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
