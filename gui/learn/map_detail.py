"""One feature map, large, above the explanation: the overview's maps are too small to aim at one cell.

``MapDetail`` shows the map of one channel with cells of at least ``DETAIL_CELL_PX`` screen
pixels (``show_map``), or every map of one layer (``show_layer``: what the overview's "+N more"
left out), in the Learn dock, so it covers neither the canvas nor the overview. Clicking a cell
emits ``cell_clicked(layer, channel, row, col)`` (the controller explains it, as a click in the
overview does); hovering emits ``hover_text`` (layer, channel, row, col, value).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from gui.feature_maps import HIGHLIGHT, MapCell
from gui.panels import colormap

DETAIL_CELL_PX = 8  # one cell of the large map: big enough to aim a click at
DETAIL_PX = 240  # the large map's side, for maps up to 30 cells across
LAYER_CELL_PX = 3  # every map of a layer: small, but each map still clickable
MAX_HEIGHT_PX = 320


class DetailImage(pg.ImageItem):
    """``channels`` of one layer tiled ``cols`` per row; reports the cell clicked or hovered."""

    def __init__(self, owner: MapDetail):
        super().__init__()
        self.owner = owner
        self.layer, self.channels, self.cols, self.h, self.w = "", [0], 1, 1, 1
        self.setAcceptHoverEvents(True)

    def locate(self, pos) -> MapCell | None:
        x, y = int(math.floor(pos.x())), int(math.floor(pos.y()))
        tr, rr = divmod(y, self.h + 1)
        tc, cc = divmod(x, self.w + 1)
        index = tr * self.cols + tc
        if x < 0 or y < 0 or rr >= self.h or cc >= self.w or tc >= self.cols or index >= len(self.channels):
            return None
        return MapCell(self.layer, self.channels[index], rr, cc)

    def cell_rect(self, cell: MapCell) -> QRectF:
        tr, tc = divmod(self.channels.index(cell.channel), self.cols)
        return QRectF(tc * (self.w + 1) + cell.col, tr * (self.h + 1) + cell.row, 1, 1)

    def mouseClickEvent(self, event):  # noqa: N802 (pyqtgraph override)
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.locate(event.pos())
            if hit is not None:
                event.accept()
                self.owner.cell_clicked.emit(*hit)

    def hoverEvent(self, event):  # noqa: N802 (pyqtgraph override)
        self.owner.hovered(None if event.isExit() else self.locate(event.pos()))


class MapDetail(QWidget):
    """The clicked map (or a whole layer) large, live; its cells are clicked to be explained."""

    cell_clicked = Signal(str, int, int, int)
    hover_text = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("map_detail")
        self.activations: dict[str, np.ndarray] = {}
        self.layer: str | None = None
        self.channel: int | None = None  # None: every map of the layer
        self.selected: MapCell | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.title = QLabel(objectName="map_detail_title")
        self.title.setWordWrap(True)
        self.hover_label = QLabel(" ", objectName="map_detail_hover")
        self.hover_label.setStyleSheet("color: #777;")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#16161a")
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.graphics.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = DetailImage(self)
        self.image.setColorMap(colormap())
        self.view.addItem(self.image)
        self.outline = pg.QtWidgets.QGraphicsRectItem()
        pen = QPen(pg.mkColor(*HIGHLIGHT))
        pen.setCosmetic(True)
        pen.setWidth(2)
        self.outline.setPen(pen)
        self.outline.setZValue(10)
        self.outline.hide()
        self.view.addItem(self.outline)
        self.scroll = QScrollArea()
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.graphics)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.title)
        layout.addWidget(self.scroll)
        layout.addWidget(self.hover_label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.hide()

    def show_map(self, layer: str, channel: int, activations: dict[str, np.ndarray], cell: MapCell | None = None) -> None:
        """Channel ``channel`` of ``layer`` large; ``cell`` outlined (the one explained below)."""
        self.layer, self.channel, self.selected = layer, int(channel), cell
        self.set_activations(activations)

    def show_layer(self, layer: str, activations: dict[str, np.ndarray]) -> None:
        """Every map of ``layer``, small enough to show them all here; a click on a cell explains it."""
        self.layer, self.channel, self.selected = layer, None, None
        self.set_activations(activations)

    def set_activations(self, activations: dict[str, np.ndarray]) -> None:
        """Redraw for a new answer (the same layer and channel)."""
        self.activations = activations
        a = activations.get(self.layer) if self.layer else None
        if a is None or np.ndim(a) != 3:
            self.hide()
            return
        maps = np.asarray(a, np.float32)
        h, w, c = maps.shape
        peak = float(np.abs(maps).max()) or 1.0
        if self.channel is not None and self.channel < c:
            channels, cols = [self.channel], 1
            cell = max(DETAIL_CELL_PX, DETAIL_PX / max(h, w))
            self.title.setText(f"<b>{self.layer}</b> · channel {self.channel} · {h}×{w} · click a cell to see how it is computed")
        else:
            channels = list(range(c))
            width = max(self.scroll.viewport().width(), 200) - 4
            cell = LAYER_CELL_PX
            cols = max(1, min(c, int((width + cell) // ((w + 1) * cell))))
            self.title.setText(f"<b>{self.layer}</b> · all {c} maps · {h}×{w} each · click a cell to see how it is computed")
        rows = math.ceil(len(channels) / cols)
        mosaic = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, np.float32)
        for i, ch in enumerate(channels):
            r, q = divmod(i, cols)
            mosaic[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[:, :, ch] / peak
        img = self.image
        img.layer, img.channels, img.cols, img.h, img.w = self.layer, channels, cols, h, w
        img.setImage(mosaic, levels=(0.0, 1.0), autoLevels=False)
        size_w, size_h = math.ceil(mosaic.shape[1] * cell), math.ceil(mosaic.shape[0] * cell)
        self.graphics.setFixedSize(size_w, size_h)
        self.view.setRange(xRange=(0, mosaic.shape[1]), yRange=(0, mosaic.shape[0]), padding=0)
        self.scroll.setFixedHeight(min(size_h + 2, MAX_HEIGHT_PX))
        if self.selected is not None and self.selected.layer == self.layer and self.selected.channel in channels:
            self.outline.setRect(img.cell_rect(self.selected))
            self.outline.show()
        else:
            self.outline.hide()
        self.show()

    def cell_size_on_screen(self) -> float:
        """Screen pixels per cell of the map shown."""
        a, b = self.image.mapToScene(pg.Point(0, 0)), self.image.mapToScene(pg.Point(1, 0))
        return abs(b.x() - a.x())

    def cell_centre(self, cell: MapCell):
        """Widget coordinates (of ``self.graphics``) of a cell's centre (tests click it)."""
        return self.graphics.mapFromScene(self.image.mapToScene(self.image.cell_rect(cell).center()))

    def hovered(self, cell: MapCell | None) -> None:
        text = " "
        a = self.activations.get(cell.layer) if cell is not None else None
        if cell is not None and a is not None:
            value = float(a[cell.row, cell.col, cell.channel])
            text = f"{cell.layer} · channel {cell.channel} · row {cell.row}, col {cell.col} · value {value:.4f}"
        self.hover_label.setText(text)
        self.hover_text.emit(text.strip())
