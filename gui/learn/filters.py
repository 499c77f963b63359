"""The learned filters of any conv layer, as small images; click one to read it or try it in the playground."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout

from model.teaching.jobs import ConvKernels
from model.teaching.numbers import fmt

from .widgets import ValueGrid, diverging_colormap, fit_to_screen, message_label, plain_axis


class KernelImage(pg.ImageItem):
    """One kernel as a tiny image; reports clicks with its filter index."""

    def __init__(self, index: int, on_click):
        super().__init__()
        self.index, self._on_click = index, on_click

    def mouseClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            event.accept()
            self._on_click(self.index)


class FiltersDialog(QDialog):
    """The learned kernels of a conv layer as small images, blue negative, red positive.

    The first conv layer's kernels look straight at the drawing. For deeper layers each filter
    has one kernel per input channel; the channel selector shows one of them for every filter.
    Click a kernel to read its numbers; "Try it in the playground" emits
    ``try_requested(layer, filter, input channel)``.
    """

    try_requested = Signal(str, int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("filters_dialog")
        self.setWindowTitle("Learned filters")
        self.kernels: list[ConvKernels] = []
        self.selected = 0
        layout = QVBoxLayout(self)
        self.intro = QLabel(objectName="filters_intro")
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        self.layer_combo = QComboBox(objectName="filters_layer")
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer_combo.currentIndexChanged.connect(self._redraw)
        row.addWidget(self.layer_combo)
        row.addSpacing(16)
        self.channel_caption = QLabel("Input channel")
        row.addWidget(self.channel_caption)
        self.channel_spin = QSpinBox(objectName="filters_channel")
        self.channel_spin.setToolTip("Deeper filters have one kernel per input channel (per map of the layer before)")
        self.channel_spin.valueChanged.connect(self._redraw)
        row.addWidget(self.channel_spin)
        row.addStretch(1)
        layout.addLayout(row)
        self.message = message_label()
        layout.addWidget(self.message)
        body = QHBoxLayout()
        self.grid = pg.GraphicsLayoutWidget()
        self.grid.setObjectName("filters_grid")
        self.grid.setBackground("#16161a")
        body.addWidget(self.grid, 1)
        side = QVBoxLayout()
        self.detail = ValueGrid("click a filter")
        self.detail.setMinimumSize(190, 150)
        side.addWidget(self.detail)
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        self.detail_label.setFixedWidth(220)
        side.addWidget(self.detail_label)
        self.try_button = QPushButton("Try it in the playground", objectName="filters_try")
        self.try_button.clicked.connect(self._try_in_playground)
        self.try_button.setEnabled(False)
        side.addWidget(self.try_button)
        side.addStretch(1)
        body.addLayout(side)
        layout.addLayout(body, 1)
        fit_to_screen(self, 900, 700)
        self.show_message("Reading the filters from the model…")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_kernels(self, kernels: list[ConvKernels]) -> None:
        current = self.layer_combo.currentText()
        self.kernels = kernels
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for k in kernels:
            kh, kw, c_in, f = k.kernel.shape
            self.layer_combo.addItem(f"{k.name} ({f} filters of {kh}×{kw}×{c_in})", k.name)
        index = self.layer_combo.findData(current.split(" ")[0]) if current else 0
        self.layer_combo.setCurrentIndex(max(index, 0))
        self.layer_combo.blockSignals(False)
        if not kernels:
            self.grid.clear()
            self.show_message(
                "This model has no convolution layers, so it has no filters to show: it reads the pixels with Dense layers only."
            )
            return
        self.show_message("")
        self._redraw()

    def current(self) -> ConvKernels | None:
        index = self.layer_combo.currentIndex()
        return self.kernels[index] if 0 <= index < len(self.kernels) else None

    def shown_kernels(self) -> np.ndarray:
        """The kernels on screen: ``(filters, kh, kw)`` for the chosen layer and input channel."""
        k = self.current()
        if k is None:
            return np.zeros((0, 0, 0), np.float32)
        c = min(self.channel_spin.value(), k.kernel.shape[2] - 1)
        return np.moveaxis(k.kernel[:, :, c, :], -1, 0)

    def _redraw(self, *_) -> None:
        k = self.current()
        self.grid.clear()
        if k is None:
            return
        c_in = k.kernel.shape[2]
        self.channel_spin.blockSignals(True)
        self.channel_spin.setRange(0, c_in - 1)
        self.channel_spin.blockSignals(False)
        self.channel_spin.setEnabled(c_in > 1)
        self.channel_caption.setText(
            f"Input channel (one of the {c_in} maps of the layer before)" if c_in > 1 else "Input channel"
        )
        self.intro.setText(_intro(k, self.channel_spin.value()))
        shown = self.shown_kernels()
        n = len(shown)
        cols = max(1, math.ceil(math.sqrt(n * 1.6)))
        # A robust scale: one extreme weight would otherwise wash every other kernel out to white.
        peak = float(np.percentile(np.abs(shown), 98)) if shown.size else 0.0
        peak = peak or float(np.abs(shown).max()) or 1.0
        cmap = diverging_colormap()
        for i, kernel in enumerate(shown):
            r, c = divmod(i, cols)
            cell = self.grid.addLayout(row=r, col=c)
            cell.setContentsMargins(1, 1, 1, 1)
            cell.addLabel(str(i), row=0, col=0, color="#cccccc", size="8pt")
            view = cell.addViewBox(row=1, col=0, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            item = KernelImage(i, self.select)
            item.setColorMap(cmap)
            item.setImage(np.ascontiguousarray(kernel, np.float32), levels=(-peak, peak))
            view.addItem(item)
            view.setRange(xRange=(0, kernel.shape[1]), yRange=(0, kernel.shape[0]), padding=0.02)
        bar = pg.ColorBarItem(
            values=(-peak, peak),
            colorMap=cmap,
            orientation="horizontal",
            interactive=False,
            label="weight (blue −, red +; the strongest 2% saturate)",
            width=12,
        )
        plain_axis(bar.axis)
        self.grid.addItem(bar, row=math.ceil(n / cols), col=0, colspan=cols)
        self.select(min(self.selected, n - 1))

    def select(self, index: int) -> None:
        """Show filter ``index``'s numbers (what clicking its image does)."""
        k = self.current()
        shown = self.shown_kernels()
        if k is None or not 0 <= index < len(shown):
            return
        self.selected = index
        c = self.channel_spin.value()
        channel = f", input channel {c}" if k.kernel.shape[2] > 1 else ""
        self.detail.set_values(shown[index], decimals=3, title=f"{k.name} filter {index}{channel}")
        if k.note:
            self.detail_label.setText(f"Bias {fmt(float(k.bias[index]), 4)}. {k.name}: {k.note}.")
        else:
            self.detail_label.setText(
                f"Bias {fmt(float(k.bias[index]), 4)}. Each output of this filter is "
                f"Σ(window × these weights) + bias, then {k.activation}."
            )
        self.try_button.setEnabled(True)

    @Slot()
    def _try_in_playground(self) -> None:
        k = self.current()
        if k is not None:
            self.try_requested.emit(k.name, self.selected, min(self.channel_spin.value(), k.kernel.shape[2] - 1))


def _intro(k: ConvKernels, channel: int) -> str:
    """What the colours mean for this layer: pixels for a layer on the image, maps for deeper ones."""
    if k.note:
        return (
            f"{k.name} is {k.note}. Each small square is one filter's kernel: red weights add the value under them, "
            "blue weights subtract it."
        )
    if k.kernel.shape[2] == 1:
        return (
            "Each small square is one filter (kernel) the network learned from MNIST digits, laid over the drawing: "
            "red weights add the pixel under them, blue weights subtract it. A filter answers most where the image "
            "looks like its red part and not like its blue part."
        )
    return (
        f"{k.name} reads the {k.kernel.shape[2]} maps of the layer before, not the drawing: each filter has one "
        f"{k.kernel.shape[0]}×{k.kernel.shape[1]} kernel per map, and the squares show the kernels for map "
        f"{channel}. Red weights add that map's value under them, blue weights subtract it; the filter adds up all "
        f"{k.kernel.shape[2]} maps' contributions."
    )
