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

The layout arithmetic lives in ``map_layout.py`` (Qt-free), the mosaic and label items in
``map_items.py``; their names still import from here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem, QSizePolicy

from .map_items import GAP_INDEX, LayerMosaic, MoreLabel, OverviewLabel, colour, colour_table  # noqa: F401 (re-exported)
from .map_layout import (  # noqa: F401 (re-exported: the layout arithmetic lives in map_layout.py)
    MAX_CELL_PX,
    MIN_CELL_PX,
    OVERVIEW_MIN_DEVICE_PX,
    SPACING_PX,
    TITLE_PX,
    LayerPlan,
    MapCell,
    as_maps,
    map_shape,
    overview_layout,
    reflow,
    tile,
)
from .panels import colormap

HIGHLIGHT = (80, 220, 255)
EMPTY_LEVEL = 0.12  # before the first drawing each map shows as a faint tile, so the grid is visible


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

    def _overview_plan(self, width: float, head_px: int = TITLE_PX) -> tuple[float, dict[str, LayerPlan], int]:
        """The cell size, each layer's plan and the height the overview fills (``head_px``: the last line's height)."""
        height = self._available_height if self._available_height is not None else self.height()
        height = max(int(height), 120)
        extra = TITLE_PX + head_px + 4 * SPACING_PX + (34 if self._message or not self.layers else 0) + 8  # input, head, margins
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
            # The way from the last map to the answer, wrapped to the panel's width (two lines on a
            # narrow panel rather than "the answer" cut off at its edge).
            steps = " → ".join(html.escape(step) for step in self.head) or "the output"
            head = OverviewLabel(f"→ {steps} → <b>the answer</b> (left: click it)", justify="left", color="#bbbbbb", size="8pt")
            doc = head.item.document()
            one_line = doc.size().height() - 2 * doc.documentMargin()
            head.item.setTextWidth(width)
            lines = max(1, round((doc.size().height() - 2 * doc.documentMargin()) / max(one_line, 1.0)))
            head_px = lines * TITLE_PX + 2 * (lines - 1)
            cell, self.plans, fill_height = self._overview_plan(width, head_px)
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
            self.addItem(head, row=row, col=0)
            layout.setRowFixedHeight(row, head_px)
            needed = total_height + TITLE_PX + head_px  # more than a screen only for a model with very many layers: it scrolls
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
        font = text.font()  # the title's size and colour are in its HTML, from the label's options
        size = str(title.opts.get("size") or "")
        if size.endswith("pt"):
            font.setPointSizeF(float(size[:-2]))
        peak.setFont(font)
        peak.setBrush(pg.mkColor(title.opts.get("color") or "#dddddd"))
        margin = text.document().documentMargin()
        peak.setPos(text.document().idealWidth() - margin, margin)  # idealWidth counts both margins
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
