"""Small widgets the Learn views share: a grid of numbers, a map with a window on it, colours.

``ValueGrid`` (a small table of numbers painted with a diverging tint) and ``HighlightedMap`` (an
image with a rectangle on it) are used by the explanation panel, the playground and the dialogs.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsRectItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.teaching.numbers import fmt, parse_number

WINDOW_COLOUR = "#00e5ff"  # cyan: visible on inferno and on grey
FIELD_COLOUR = "#7CFC00"
HIGHLIGHT_COLOUR = QColor(255, 196, 0)
POSITIVE = QColor(236, 112, 84)
NEGATIVE = QColor(84, 146, 222)
PADDING_FILL = QColor(215, 215, 215)


def span_text(a: int, b: int) -> str:
    """End-exclusive ``[a, b)`` -> ``"3–5"`` (inclusive, as a reader counts rows)."""
    return f"{fmt(a, 0)}–{fmt(b - 1, 0)}" if b - a > 1 else fmt(a, 0)


def input_levels(image: np.ndarray | None) -> tuple[float, float]:
    """Grey levels for a model input: ``(0, 1)`` for the usual [0, 1] image, wider if the model takes 0-255."""
    if image is None or not np.size(image):
        return 0.0, 1.0
    return min(0.0, float(np.min(image))), max(1.0, float(np.max(image)))


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

    def set_values(
        self,
        values: np.ndarray | None,
        *,
        padded: np.ndarray | None = None,
        highlight: set[tuple[int, int]] | None = None,
        decimals: int | None = None,
        scale: float | None = None,
        title: str | None = None,
    ) -> None:
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
        return QSize(cols * (54 + 6 * max(self.decimals - 2, 0)) + 4, rows * 36 + 26)

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
        # As large as the longest number allows: a digit is about 0.6 of the pixel size wide.
        longest = max((len(fmt(v, self.decimals)) for v in self.values.ravel() if np.isfinite(v)), default=1)
        font.setPixelSize(int(np.clip(min(cell_h * 0.42, (cell_w - 4) / (0.6 * longest)), 7, 16)))
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
                    painter.drawText(
                        rect, Qt.AlignmentFlag.AlignCenter, "pad 0" if is_pad and cell_w > 44 else fmt(value, self.decimals)
                    )
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
        self.setMinimumSize(110, 120)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        # QGraphicsView asks for 600x480 by default; a map is happy smaller, and a preferred size
        # that large makes scroll areas (word-wrapped labels ask for height-for-width) overflow.
        return QSize(220, 230)

    def set_rect_colour(self, colour: str) -> None:
        pen = QPen(QColor(colour), 2.5)
        pen.setCosmetic(True)
        self.rect.setPen(pen)

    def set_title(self, text: str) -> None:
        self.title.setText(text, color="#dddddd", size="9pt")

    def title_text(self) -> str:
        """The title as shown above the map (rich text; ``<br>`` between lines)."""
        return str(self.title.text)

    def set_map(
        self,
        array: np.ndarray | None,
        levels: tuple[float, float] | None = None,
        cmap: pg.ColorMap | None = None,
        edge: tuple[int, int, int, int] | None = None,
    ) -> None:
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


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Resize a top-level ``window`` to ``width x height`` or its screen's available area, whichever is smaller.

    The area is in logical pixels (a 2560x1600 screen at 2x scale offers 1280x800 minus panels),
    so the window never opens larger than the screen it is on; its contents scroll instead.
    """
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(width, height)
        return
    area = screen.availableGeometry()
    # Leave room for the window frame and title bar the window manager adds.
    w, h = min(width, area.width() - 16), min(height, area.height() - 48)
    window.resize(max(w, 320), max(h, 240))
    x = area.x() + max((area.width() - window.width()) // 2, 0)
    y = area.y() + max((area.height() - window.height() - 32) // 2, 0)
    window.move(x, y)


class GridTable(QTableWidget):
    """A grid of numbers, some cells editable; edits come out as ``value_edited(row, col, value)``."""

    value_edited = Signal(int, int, float)
    edit_rejected = Signal(str)

    def __init__(self, cell: int = 40, parent=None):
        super().__init__(parent)
        self.cell = cell
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.horizontalHeader().setMinimumSectionSize(20)
        self.verticalHeader().setMinimumSectionSize(18)
        self.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QTableWidget.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QTableWidget.ScrollMode.ScrollPerPixel)
        font = QFont(self.font())
        font.setPointSize(font.pointSize() + 1)
        self.setFont(font)
        self._values = np.zeros((0, 0))
        self._filling = False
        self.itemChanged.connect(self._on_item_changed)

    def show_values(
        self,
        values: np.ndarray,
        *,
        editable: np.ndarray | None = None,
        padded: np.ndarray | None = None,
        window: tuple[int, int, int, int] | None = None,
        hidden: np.ndarray | None = None,
        current: tuple[int, int] | None = None,
        tinted: bool = False,
        labels_from: int = 0,
    ) -> None:
        """Fill the table. ``window``: ``(r0, r1, c0, c1)`` cells framed as the filter's window;
        ``hidden``: cells not computed yet (blank); ``current``: the cell being computed."""
        values = np.asarray(values, dtype=np.float64)
        self._values = values.copy()
        self._filling = True
        rows, cols = values.shape
        self.setRowCount(rows)
        self.setColumnCount(cols)
        self.setHorizontalHeaderLabels([str(c + labels_from) for c in range(cols)])
        self.setVerticalHeaderLabels([str(r + labels_from) for r in range(rows)])
        for c in range(cols):
            self.setColumnWidth(c, self.cell)
        for r in range(rows):
            self.setRowHeight(r, int(self.cell * 0.8))
        scale = float(np.abs(values).max()) if values.size else 0.0
        bold = QFont(self.font())
        bold.setBold(True)
        italic = QFont(self.font())
        italic.setItalic(True)
        for r in range(rows):
            for c in range(cols):
                is_hidden = hidden is not None and bool(hidden[r, c])
                item = QTableWidgetItem("" if is_hidden else fmt(values[r, c]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if editable is not None and editable[r, c]:
                    flags |= Qt.ItemFlag.ItemIsEditable
                item.setFlags(flags)
                in_window = window is not None and window[0] <= r < window[1] and window[2] <= c < window[3]
                if padded is not None and padded[r, c]:
                    item.setBackground(QBrush(QColor(210, 210, 210)))
                    item.setForeground(QBrush(QColor(100, 100, 100)))
                    item.setFont(italic)
                    item.setToolTip("zero padding")
                elif tinted and not is_hidden:
                    item.setBackground(QBrush(tint(values[r, c], scale)))
                if in_window:
                    item.setBackground(
                        QBrush(QColor(255, 226, 120) if not (padded is not None and padded[r, c]) else QColor(225, 205, 140))
                    )
                    item.setFont(bold)
                if current is not None and (r, c) == tuple(current):
                    item.setBackground(QBrush(HIGHLIGHT_COLOUR))
                    item.setFont(bold)
                self.setItem(r, c, item)
        self._filling = False
        self._fit()

    def _fit(self) -> None:
        # Header sizes are only final once shown, so ask for their size hints instead.
        frame = 2 * self.frameWidth() + 2
        w = self.verticalHeader().sizeHint().width() + sum(self.columnWidth(c) for c in range(self.columnCount())) + frame
        h = self.horizontalHeader().sizeHint().height() + sum(self.rowHeight(r) for r in range(self.rowCount())) + frame
        self.setMinimumSize(min(w, 320), min(h, 300))
        self.setMaximumSize(w + 2, h + 2)

    def values(self) -> np.ndarray:
        return self._values.copy()

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        r, c = item.row(), item.column()
        try:
            value = parse_number(item.text())
        except ValueError:
            self.edit_rejected.emit(f"“{item.text()}” is not a number; type e.g. 1, −0.5 or 1/9.")
            self._filling = True
            item.setText(fmt(self._values[r, c]))
            self._filling = False
            return
        self._values[r, c] = value
        self.value_edited.emit(r, c, value)


def centred(widget: QWidget) -> QWidget:
    """``widget`` in the middle of a holder that takes the spare room."""
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addStretch(1)
    inner = QVBoxLayout()
    inner.addWidget(widget)
    inner.addStretch(1)
    layout.addLayout(inner)
    layout.addStretch(1)
    return holder


def grey_label(name: str = "") -> QLabel:
    """A grey, word-wrapped hint with room for two lines."""
    label = QLabel(objectName=name) if name else QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #555;")
    label.setMinimumHeight(label.fontMetrics().lineSpacing() * 2 + 4)
    return label


def bigger(font: QFont, points: int) -> QFont:
    """A copy of ``font``, ``points`` larger."""
    bigger = QFont(font)
    bigger.setPointSize(bigger.pointSize() + points)
    return bigger


def text_label(name: str = "", *, selectable: bool = False, points: int = 0, style: str = "") -> QLabel:
    """A word-wrapped label named ``name``; ``points`` larger than the default font, ``style`` a style sheet."""
    label = QLabel(objectName=name) if name else QLabel()
    label.setWordWrap(True)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if points:
        label.setFont(bigger(label.font(), points))
    if style:
        label.setStyleSheet(style)
    return label
