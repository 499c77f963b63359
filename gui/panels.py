"""pyqtgraph panels: the model's input, the prediction, and every feature map.

Following pyqtgraph's own advice: row-major C-contiguous float32 arrays, explicit ``levels=`` on
``setImage`` (auto-levels would sample every frame), a named colormap with a ``ColorBarItem``.
Each layer's channels are tiled into ONE mosaic image (NaN gaps render transparent), so a live
update is one ``setImage`` per layer rather than one per channel: 288 maps in 6 calls.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

COLORMAP_NAME = "inferno"  # perceptually uniform, black at zero like the canvas and MNIST
UNSURE_BELOW = 0.6  # top probability under which the app says it is not sure


def colormap() -> pg.ColorMap:
    return pg.colormap.get(COLORMAP_NAME)


class InputView(pg.GraphicsLayoutWidget):
    """The 28x28 image the network actually receives."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("model_input")
        self.setToolTip("What the network sees: your drawing fitted into 20x20 pixels and centred by\n"
                        "its centre of mass in a 28x28 field, as MNIST's digits were prepared.")
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(np.zeros((28, 28), np.float32), levels=(0.0, 1.0))
        self.view.addItem(self.image)
        self.view.setRange(xRange=(0, 28), yRange=(0, 28), padding=0.02)
        self.setMinimumSize(120, 120)

    def set_input(self, x: np.ndarray | None) -> None:
        self.image.setImage(np.zeros((28, 28), np.float32) if x is None else x, levels=(0.0, 1.0), autoLevels=False)


class PredictionPanel(QWidget):
    """The predicted digit, large, its confidence, and a bar chart of all ten probabilities."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.digit_label = QLabel("", objectName="predicted_digit")
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont()
        font.setPointSize(56)
        font.setBold(True)
        self.digit_label.setFont(font)
        self.digit_label.setMinimumHeight(90)
        self.digit_label.setToolTip("The digit the network thinks you drew")
        self.confidence_label = QLabel("", objectName="confidence")
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("probabilities")
        self.plot.setToolTip("Softmax probability of every digit")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        self.plot.getAxis("left").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.plot.setMinimumHeight(120)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=(120, 120, 140))
        self.plot.addItem(self.bars)
        layout.addWidget(self.digit_label)
        layout.addWidget(self.confidence_label)
        layout.addWidget(self.plot, 1)
        self.set_probabilities(None)

    def set_waiting(self, text: str) -> None:
        self.digit_label.setText("")
        self.confidence_label.setText(text)

    def set_probabilities(self, probabilities: np.ndarray | None, empty_text: str = "Draw a digit") -> None:
        if probabilities is None:
            self.digit_label.setText("")
            self.confidence_label.setText(empty_text)
            self.bars.setOpts(height=np.zeros(10))
            return
        p = np.asarray(probabilities, dtype=float)
        order = np.argsort(p)[::-1]
        top, second = int(order[0]), int(order[1])
        self.digit_label.setText(str(top))
        brushes = [pg.mkBrush(110, 110, 130)] * 10
        if p[top] >= UNSURE_BELOW:
            self.digit_label.setStyleSheet("")
            self.confidence_label.setText(f"{p[top] * 100:.1f}% sure")
            brushes[top] = pg.mkBrush(250, 160, 40)
        else:
            self.digit_label.setStyleSheet("color: gray;")
            self.confidence_label.setText(
                f"Not sure: {top} ({p[top] * 100:.0f}%) or {second} ({p[second] * 100:.0f}%)?")
            brushes[top] = pg.mkBrush(200, 150, 90)
        self.bars.setOpts(height=p, brushes=brushes)


def mosaic_shape(channels: int, max_cols: int = 16) -> tuple[int, int]:
    cols = min(channels, max_cols)
    return math.ceil(channels / cols), cols


def tile(maps: np.ndarray, cols: int) -> np.ndarray:
    """``(h, w, c)`` -> one ``(rows*(h+1)-1, cols*(w+1)-1)`` mosaic, channels row by row, NaN gaps."""
    h, w, c = maps.shape
    rows = math.ceil(c / cols)
    out = np.full((rows, h + 1, cols, w + 1), np.nan, np.float32)
    padded = np.full((rows * cols, h, w), np.nan, np.float32)
    padded[:c] = np.moveaxis(maps, -1, 0)
    out[:, :h, :, :w] = padded.reshape(rows, cols, h, w).transpose(0, 2, 1, 3)
    return out.reshape(rows * (h + 1), cols * (w + 1))[:-1, :-1]


class LayerMosaic(pg.ImageItem):
    """One layer's channels as a mosaic; reports which channel and cell is clicked or hovered."""

    def __init__(self, name: str, shape: tuple[int, int, int], cols: int, on_click, on_hover):
        super().__init__()
        # Not "shape"/"name": QGraphicsItem.shape() is a method pyqtgraph calls for hit tests.
        self.layer_name, self.map_shape, self.cols = name, shape, cols
        self._on_click, self._on_hover = on_click, on_hover
        self.setAcceptHoverEvents(True)

    def locate(self, pos: QPointF) -> tuple[int, int, int] | None:
        """Mosaic position -> ``(channel, row, col)`` inside that channel's map, or None on a gap."""
        h, w, c = self.map_shape
        x, y = int(math.floor(pos.x())), int(math.floor(pos.y()))
        tr, rr = divmod(y, h + 1)
        tc, cc = divmod(x, w + 1)
        channel = tr * self.cols + tc
        if x < 0 or y < 0 or rr >= h or cc >= w or tc >= self.cols or channel >= c:
            return None
        return channel, rr, cc

    def mouseClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.locate(event.pos())
            if hit is not None:
                event.accept()
                self._on_click(self.layer_name, *hit)

    def hoverEvent(self, event):
        if event.isExit():
            self._on_hover(None)
            return
        hit = self.locate(event.pos())
        self._on_hover(None if hit is None else (self.layer_name, *hit))


class FeatureMapPanel(pg.GraphicsLayoutWidget):
    """Every 4-D layer of the loaded model, in order, with its real name and shape.

    Built from the model's layer list (``LayerInfo``), so another model rebuilds it. Values are
    shown relative to each layer's largest activation (0 to 1) with one colormap and colour bar;
    the layer's title gives that maximum. Clicking a map emits ``map_clicked(layer, channel, row, col)``.
    """

    map_clicked = Signal(str, int, int, int)
    map_hovered = Signal(object)  # (layer, channel, row, col) or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("feature_maps")
        self.setBackground("#16161a")
        self.setMinimumWidth(300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._cmap = colormap()
        self._items: dict[str, LayerMosaic] = {}
        self._titles: dict[str, pg.LabelItem] = {}
        self._views: dict[str, pg.ViewBox] = {}
        self.layers: list = []
        self.last_activations: dict[str, np.ndarray] = {}
        self.show_message("Loading the model…")

    def show_message(self, text: str) -> None:
        self.clear()
        self.setMinimumHeight(100)
        self._items.clear()
        self.addLabel(text, color="#bbbbbb", size="12pt")

    def set_layers(self, layers: list) -> None:
        """Rebuild for ``layers`` (``LayerInfo`` with ``name``, ``kind``, ``shape``)."""
        self.clear()
        self._items.clear()
        self._titles.clear()
        self._views.clear()
        self.layers = list(layers)
        self.last_activations = {}
        if not layers:
            self.addLabel("This model has no convolution or pooling layers to show.", color="#bbbbbb")
            return
        bar = pg.ColorBarItem(values=(0, 1), colorMap=self._cmap, orientation="horizontal", interactive=False,
                              label="activation ÷ layer maximum", width=10)
        bar_view = self.addLayout(row=0, col=0)
        bar_view.addItem(bar)
        row = 1
        total_height = 70
        for info in layers:
            h, w, c = info.shape
            rows, cols = mosaic_shape(c)
            title = self.addLabel(self._title(info, None), row=row, col=0, justify="left", color="#dddddd")
            row += 1
            view = self.addViewBox(row=row, col=0, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            item = LayerMosaic(info.name, info.shape, cols, self.map_clicked.emit, self.map_hovered.emit)
            item.setColorMap(self._cmap)
            item.setImage(np.zeros(((h + 1) * rows - 1, (w + 1) * cols - 1), np.float32), levels=(0.0, 1.0))
            view.addItem(item)
            mosaic_w, mosaic_h = (w + 1) * cols - 1, (h + 1) * rows - 1
            view.setRange(xRange=(0, mosaic_w), yRange=(0, mosaic_h), padding=0.01)
            # Rows of maps get the same height whatever the layer's spatial size.
            self.ci.layout.setRowStretchFactor(row, rows)
            self.ci.layout.setRowMinimumHeight(row, 34 * rows)
            total_height += 34 * rows + 30
            self._items[info.name], self._titles[info.name], self._views[info.name] = item, title, view
            row += 1
        self.setMinimumHeight(total_height)

    @staticmethod
    def _title(info, peak: float | None) -> str:
        h, w, c = info.shape
        text = f"<b>{info.name}</b> · {info.kind} · {h}×{w}×{c}"
        if peak is not None:
            text += f" · max {peak:.2f}"
        return text

    def set_activations(self, activations: dict[str, np.ndarray]) -> None:
        self.last_activations = activations
        for info in self.layers:
            item = self._items.get(info.name)
            a = activations.get(info.name)
            if item is None:
                continue
            if a is None:
                a = np.zeros(info.shape, np.float32)
            peak = float(np.abs(a).max())
            normalised = a / peak if peak > 0 else a
            item.setImage(tile(normalised.astype(np.float32, copy=False), item.cols), levels=(0.0, 1.0), autoLevels=False)
            self._titles[info.name].setText(self._title(info, peak if activations else None))

    def mosaic(self, name: str) -> LayerMosaic:
        return self._items[name]

    def map_centre(self, name: str, channel: int, row: int = 0, col: int = 0) -> QPointF:
        """Widget coordinates of cell (row, col) of a channel's map (used by tests to click it)."""
        item = self._items[name]
        h, w, _ = item.map_shape
        tr, tc = divmod(channel, item.cols)
        scene = item.mapToScene(QPointF(tc * (w + 1) + col + 0.5, tr * (h + 1) + row + 0.5))
        return QPointF(self.mapFromScene(scene))


class MapViewer(pg.GraphicsLayoutWidget):
    """One feature map, enlarged, updating live; opened by clicking a map in the panel."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Tool, True)
        self.setObjectName("enlarged_map")
        self.resize(420, 460)
        self.layer: str | None = None
        self.channel = 0
        self.title = self.addLabel("", row=0, col=0, colspan=2)
        self.view = self.addViewBox(row=1, col=0, lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.image.setColorMap(colormap())
        self.view.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=colormap(), interactive=False, width=12)
        self.bar.setImageItem(self.image)
        self.addItem(self.bar, row=1, col=1)

    def show_map(self, layer: str, channel: int, activations: dict[str, np.ndarray]) -> None:
        self.layer, self.channel = layer, channel
        self.update_map(activations)
        self.show()
        self.raise_()

    def update_map(self, activations: dict[str, np.ndarray]) -> None:
        a = activations.get(self.layer) if self.layer else None
        if a is None or self.channel >= a.shape[-1]:
            self.image.clear()
            return
        m = np.ascontiguousarray(a[..., self.channel], dtype=np.float32)
        top = float(max(np.abs(a).max(), 1e-6))
        self.image.setImage(m, levels=(0.0, top), autoLevels=False)
        self.bar.setLevels((0.0, top))
        self.view.setRange(xRange=(0, m.shape[1]), yRange=(0, m.shape[0]), padding=0.02)
        title = f"{self.layer} · channel {self.channel} · {m.shape[0]}×{m.shape[1]} · max here {m.max():.3f}"
        self.title.setText(title)
        self.setWindowTitle(title)
