"""Small widgets the Learn views share: a grid of numbers, a map with a window on it, colours.

``ValueGrid`` (a small table of numbers painted with a diverging tint) and ``HighlightedMap`` (an
image with a rectangle on it) are used by the explanation panel, the playground and the dialogs.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QWidget

MINUS = "\u2212"
WINDOW_COLOUR = "#00e5ff"  # cyan: visible on inferno and on grey
FIELD_COLOUR = "#7CFC00"
HIGHLIGHT_COLOUR = QColor(255, 196, 0)
POSITIVE = QColor(236, 112, 84)
NEGATIVE = QColor(84, 146, 222)
PADDING_FILL = QColor(215, 215, 215)


def fmt(value: float, decimals: int = 2) -> str:
    """``-0.5`` -> ``"−0.50"``: fixed decimals and a real minus sign."""
    text = f"{value:.{decimals}f}"
    if text.startswith("-"):
        text = MINUS + text[1:] if float(text) != 0 else text[1:]
    return text


def fmt_term(value: float, decimals: int = 2) -> str:
    """A number inside a sum or product: negative ones get brackets, ``(−0.50)``."""
    text = fmt(value, decimals)
    return f"({text})" if text.startswith(MINUS) else text


def span_text(a: int, b: int) -> str:
    """End-exclusive ``[a, b)`` -> ``"3–5"`` (inclusive, as a reader counts rows)."""
    return f"{fmt(a, 0)}–{fmt(b - 1, 0)}" if b - a > 1 else fmt(a, 0)


def tint(value: float, scale: float) -> QColor:
    """White at zero, red for positive, blue for negative, stronger with ``|value| / scale``."""
    t = 0.0 if scale <= 0 else float(np.clip(abs(value) / scale, 0.0, 1.0))
    end = POSITIVE if value > 0 else NEGATIVE
    t *= 0.85  # keep black numbers readable on the strongest tint
    return QColor(round(255 + (end.red() - 255) * t), round(255 + (end.green() - 255) * t), round(255 + (end.blue() - 255) * t))


def diverging_colormap() -> pg.ColorMap:
    """Blue-white-red for signed values (kernels, saliency): CET-D1 if this pyqtgraph has it."""
    for name in ("CET-D1", "CET-D1A"):
        try:
            return pg.colormap.get(name)
        except (FileNotFoundError, KeyError, ValueError):
            continue
    return pg.ColorMap([0.0, 0.5, 1.0], [(40, 90, 200), (245, 245, 245), (200, 40, 40)])


def decimals_for(values: np.ndarray) -> int:
    """0 for whole numbers (the lesson's 0/1 grids), 3 when every value is small (products in deep
    layers are often < 0.1), otherwise 2."""
    finite = values[np.isfinite(values)] if values.size else values
    if finite.size and np.all(finite == np.round(finite)):
        return 0
    finite = np.abs(finite)
    return 3 if finite.size and 0 < finite.max() < 0.1 else 2


def plain_axis(axis: pg.AxisItem) -> pg.AxisItem:
    """Show an axis' values as they are (no "×0.001" SI rescaling of small weights)."""
    axis.enableAutoSIPrefix(False)
    if hasattr(axis, "setSIPrefixEnableRanges"):  # pyqtgraph >= 0.13.4 decides by range, not by the flag
        axis.setSIPrefixEnableRanges(())
    axis.updateAutoSIPrefix()
    return axis


class ValueGrid(QWidget):
    """A small grid of numbers with a title, each cell tinted by its sign and size.

    ``values``: ``(rows, cols)``. ``padded`` marks zero-padding cells (grey, "pad"); ``highlight``
    cells get a gold frame (the max of a pooling window, the current cell of a step).
    """

    def __init__(self, title: str = "", parent=None):
        super().__init__(parent)
        self.title = title
        self.values: np.ndarray | None = None
        self.padded: np.ndarray | None = None
        self.highlight: set[tuple[int, int]] = set()
        self.decimals = 2
        self.scale = 1.0
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_values(self, values: np.ndarray | None, *, padded: np.ndarray | None = None,
                   highlight: set[tuple[int, int]] | None = None, decimals: int | None = None,
                   scale: float | None = None, title: str | None = None) -> None:
        if title is not None:
            self.title = title
        self.values = None if values is None else np.asarray(values, dtype=np.float64)
        self.padded = None if padded is None else np.asarray(padded, dtype=bool)
        self.highlight = set(highlight or ())
        if self.values is not None:
            self.decimals = decimals if decimals is not None else decimals_for(self.values)
            peak = float(np.abs(self.values).max()) if self.values.size else 0.0
            self.scale = scale if scale is not None else peak
        self.updateGeometry()
        self.update()

    def text_values(self) -> list[list[str]]:
        """What each cell reads (tests, summaries)."""
        if self.values is None:
            return []
        return [[fmt(v, self.decimals) for v in row] for row in self.values]

    def _shape(self) -> tuple[int, int]:
        return (3, 3) if self.values is None else self.values.shape  # type: ignore[return-value]

    def sizeHint(self) -> QSize:
        rows, cols = self._shape()
        return QSize(cols * 54 + 4, rows * 36 + 26)

    def minimumSizeHint(self) -> QSize:
        rows, cols = self._shape()
        return QSize(cols * 42 + 4, rows * 28 + 24)

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        title_font = QFont(self.font())
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(self.palette().windowText().color())
        title_h = 20
        painter.drawText(QRectF(0, 0, self.width(), title_h), Qt.AlignmentFlag.AlignCenter, self.title)
        if self.values is None:
            return
        rows, cols = self.values.shape
        cell_w = min((self.width() - 2) / cols, 84.0)
        cell_h = max(min((self.height() - title_h - 2) / rows, cell_w * 0.8, 46.0), 12.0)
        x0 = (self.width() - cell_w * cols) / 2
        y0 = title_h + 1
        font = QFont(self.font())
        font.setPixelSize(int(np.clip(min(cell_h * 0.42, cell_w * 0.26), 8, 16)))
        painter.setFont(font)
        grid_pen = QPen(QColor(150, 150, 150), 1)
        for r in range(rows):
            for c in range(cols):
                rect = QRectF(x0 + c * cell_w, y0 + r * cell_h, cell_w, cell_h)
                is_pad = self.padded is not None and bool(self.padded[r, c])
                value = float(self.values[r, c])
                if is_pad:
                    painter.fillRect(rect, PADDING_FILL)
                    painter.fillRect(rect, QBrush(QColor(170, 170, 170), Qt.BrushStyle.BDiagPattern))
                elif np.isfinite(value):
                    painter.fillRect(rect, tint(value, self.scale))
                else:
                    painter.fillRect(rect, QColor(245, 245, 245))
                painter.setPen(grid_pen)
                painter.drawRect(rect)
                if np.isfinite(value):
                    painter.setPen(QColor(90, 90, 90) if is_pad else QColor(0, 0, 0))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "pad 0" if is_pad and cell_w > 44 else fmt(value, self.decimals))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(HIGHLIGHT_COLOUR, 3))
        for r, c in self.highlight:
            if 0 <= r < rows and 0 <= c < cols:
                painter.drawRect(QRectF(x0 + c * cell_w + 1.5, y0 + r * cell_h + 1.5, cell_w - 3, cell_h - 3))
        painter.end()


class HighlightedMap(pg.GraphicsLayoutWidget):
    """One 2-D map (the model input, a previous layer's channel) with a rectangle drawn on it.

    The rectangle may reach past the map's borders (a window over zero padding); the view then
    widens to show it, and a thin dashed line marks the map's real edge.
    """

    def __init__(self, title: str = "", parent=None):
        super().__init__(parent)
        self.setBackground("#16161a")
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.title = self.addLabel(title, row=0, col=0, color="#dddddd", size="9pt")
        self.view = self.addViewBox(row=1, col=0, lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.edge = QGraphicsRectItem()
        edge_pen = QPen(QColor(160, 160, 160), 1, Qt.PenStyle.DashLine)
        edge_pen.setCosmetic(True)
        self.edge.setPen(edge_pen)
        self.view.addItem(self.edge)
        self.rect = QGraphicsRectItem()
        self.set_rect_colour(WINDOW_COLOUR)
        self.view.addItem(self.rect)
        self.rect.hide()
        self.shape: tuple[int, int] = (0, 0)
        self.window: tuple[int, int, int, int] | None = None
        self.setMinimumSize(140, 150)

    def set_rect_colour(self, colour: str) -> None:
        pen = QPen(QColor(colour), 2.5)
        pen.setCosmetic(True)
        self.rect.setPen(pen)

    def set_title(self, text: str) -> None:
        self.title.setText(text, color="#dddddd", size="9pt")

    def set_map(self, array: np.ndarray | None, levels: tuple[float, float] | None = None,
                cmap: pg.ColorMap | None = None, edge: tuple[int, int, int, int] | None = None) -> None:
        """``array``: ``(h, w)`` float; ``levels`` default to ``(min(0, lo), hi)``; ``cmap`` default grey.

        ``edge``: ``(row0, row1, col0, col1)`` of the real image inside ``array`` when ``array``
        includes padding (dashed line); default the whole array."""
        if array is None:
            self.image.clear()
            self.shape = (0, 0)
            self.rect.hide()
            return
        a = np.ascontiguousarray(array, dtype=np.float32)
        if levels is None:
            lo, hi = float(np.nanmin(a)) if a.size else 0.0, float(np.nanmax(a)) if a.size else 1.0
            levels = (min(lo, 0.0), hi if hi > min(lo, 0.0) else min(lo, 0.0) + 1.0)
        if cmap is None:
            self.image.setLookupTable(None)
        else:
            self.image.setColorMap(cmap)
        self.image.setImage(a, levels=levels, autoLevels=False)
        self.shape = a.shape[:2]
        r0, r1, c0, c1 = edge if edge is not None else (0, a.shape[0], 0, a.shape[1])
        self.edge.setRect(QRectF(c0, r0, c1 - c0, r1 - r0))
        self._fit()

    def set_window(self, window: tuple[int, int, int, int] | None) -> None:
        """``(row0, row1, col0, col1)``, end exclusive; ``None`` hides the rectangle."""
        self.window = None if window is None else tuple(int(v) for v in window)  # type: ignore[assignment]
        if self.window is None:
            self.rect.hide()
        else:
            r0, r1, c0, c1 = self.window
            self.rect.setRect(QRectF(c0, r0, c1 - c0, r1 - r0))
            self.rect.show()
        self._fit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if hasattr(self, "view"):  # GraphicsView calls this from its own constructor
            self._fit()  # the range set while hidden used a zero-size view; lockAspect needs the real one

    def _fit(self) -> None:
        h, w = self.shape
        x0, y0, x1, y1 = 0, 0, w, h
        if self.window is not None:
            r0, r1, c0, c1 = self.window
            x0, y0, x1, y1 = min(x0, c0), min(y0, r0), max(x1, c1), max(y1, r1)
        if x1 > x0 and y1 > y0:
            self.view.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.03)


class Operator(QLabel):
    def __init__(self, text: str, parent=None):
        super().__init__(text, parent)
        font = QFont(self.font())
        font.setPointSize(font.pointSize() + 8)
        font.setBold(True)
        self.setFont(font)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFixedWidth(22)




def message_label() -> QLabel:
    """A grey, word-wrapped line for "loading…", "draw first" and error messages."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #444; padding: 4px;")
    return label
