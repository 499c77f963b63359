"""The graphics items of the feature-map panel: a layer's mosaic image and the overview's one-line labels.

``LayerMosaic`` colours its mosaic in one table lookup (``colour_table``, ``colour``) and says which
map cell is clicked or hovered; ``OverviewLabel`` and ``MoreLabel`` (a layer's title, "+N more")
never widen the overview's layout. ``gui/feature_maps.py`` (``FeatureMapPanel``) places them.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage

from .map_layout import TITLE_PX, MapCell
from .panels import colormap

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
