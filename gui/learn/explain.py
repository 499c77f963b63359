"""The arithmetic behind one feature-map value, written out the way the lesson does it.

``ExplanationPanel`` shows a ``ConvBreakdown`` or ``PoolBreakdown`` (``model/explain.py``): the
window of the previous layer's output that feeds the value (highlighted on that map), the
receptive field on the model input, the kernel, the element-wise products, their sum, the
bias, the activation and the result, next to the number the model itself computed. Nothing here
computes a convolution: every number comes from the breakdown.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.panels import colormap
from model.teaching.explain import ConvBreakdown, PoolBreakdown
from model.teaching.jobs import DECIMALS, Arithmetic, ChannelView, channel_view, conv_arithmetic, pool_arithmetic, tied_cells

from .widgets import FIELD_COLOUR, HighlightedMap, Operator, ValueGrid, input_levels, plain_axis, span_text

# Below this width the two maps and the window/kernel/products grids stack instead of standing side
# by side, so a narrow dock (a 1366x768 or 1024x768 screen) needs no sideways scrolling.
NARROW_PX = 560
MAP_ROW_PX = 250
GRID_ROW_PX = 150


class ExplanationPanel(QWidget):
    """How one value of a feature map is computed, with the user's own numbers.

    ``show_conv``/``show_pool`` take a breakdown from ``model/explain.py`` (its ``input_map`` is
    the map the window is taken from), the ``(h, w)`` model input, and the value the model
    computed (to state whether the two agree; the words come from ``model.teaching``). ``show_message`` shows friendly text
    instead (no drawing yet, model loading, a layer without a breakdown).
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("explanation")
        self.breakdown: ConvBreakdown | PoolBreakdown | None = None
        self.image: np.ndarray | None = None
        self.model_value: float | None = None
        self.arithmetic: Arithmetic | None = None
        self.view: ChannelView | None = None  # the slices of a convolution a student can pick
        self.source_channels: tuple[int, ...] = ()
        self.input_channel = 0
        self._summary: list[str] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)

        self.title_label = QLabel(objectName="explanation_title")
        title_font = QFont(self.font())
        title_font.setPointSize(title_font.pointSize() + 3)
        title_font.setBold(True)
        self.title_label.setFont(title_font)
        self.title_label.setWordWrap(True)
        self.intro_label = QLabel(objectName="explanation_intro")
        self.intro_label.setWordWrap(True)
        self.status_label = QLabel(objectName="explanation_status")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #777;")
        self.follow_mouse = QCheckBox("Follow the mouse over the feature maps")
        self.follow_mouse.setToolTip("When ticked, hovering a feature-map cell explains it; otherwise click a cell.")
        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        layout.addLayout(top)
        layout.addWidget(self.intro_label)

        self.maps_row = QWidget()
        maps = QHBoxLayout(self.maps_row)
        maps.setContentsMargins(0, 0, 0, 0)
        self.input_map = HighlightedMap("model input")
        self.input_map.set_rect_colour(FIELD_COLOUR)
        self.previous_map = HighlightedMap("previous layer")
        maps.addWidget(self.input_map)
        maps.addWidget(self.previous_map)
        self.maps_row.setFixedHeight(MAP_ROW_PX)
        layout.addWidget(self.maps_row)

        self.channel_row = QWidget()
        channel_layout = QVBoxLayout(self.channel_row)
        channel_layout.setContentsMargins(0, 0, 0, 0)
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Input channel shown:"))
        self.channel_combo = QComboBox(objectName="explanation_channel")
        self.channel_combo.setToolTip(
            "The input channels, largest contribution first; the window, kernel and products below are those of this channel."
        )
        self.channel_combo.currentIndexChanged.connect(self._on_channel_combo)
        chooser.addWidget(self.channel_combo, 1)
        channel_layout.addLayout(chooser)
        self.contrib_plot = pg.PlotWidget()
        self.contrib_plot.setObjectName("explanation_contributions")
        self.contrib_plot.setMenuEnabled(False)
        self.contrib_plot.setMouseEnabled(False, False)
        self.contrib_plot.hideButtons()
        self.contrib_plot.setFixedHeight(110)
        plain_axis(self.contrib_plot.getAxis("left"))
        plain_axis(self.contrib_plot.getAxis("bottom"))
        self.contrib_plot.setLabel("bottom", "Σ(window × kernel) of each input channel (click a bar)")
        self.contrib_plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.8)
        self.contrib_plot.addItem(self.bars)
        channel_layout.addWidget(self.contrib_plot)
        layout.addWidget(self.channel_row)

        self.grids_row = QWidget()
        grids = QHBoxLayout(self.grids_row)
        grids.setContentsMargins(0, 0, 0, 0)
        grids.setSpacing(2)
        self.window_grid = ValueGrid("window")
        self.kernel_grid = ValueGrid("kernel")
        self.products_grid = ValueGrid("products")
        self.times_label = Operator("×")
        self.equals_label = Operator("=")
        for w in (self.window_grid, self.times_label, self.kernel_grid, self.equals_label, self.products_grid):
            grids.addWidget(w, 0 if isinstance(w, Operator) else 1)
        self.grids_row.setMinimumHeight(GRID_ROW_PX)
        layout.addWidget(self.grids_row)

        self.arithmetic_label = QLabel(objectName="explanation_arithmetic")
        self.arithmetic_label.setWordWrap(True)
        self.arithmetic_label.setTextFormat(Qt.TextFormat.RichText)
        self.arithmetic_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.arithmetic_label)

        self.result_label = QLabel(objectName="explanation_result")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        result_font = QFont(self.font())
        result_font.setPointSize(result_font.pointSize() + 2)
        result_font.setBold(True)
        self.result_label.setFont(result_font)
        self.result_label.setStyleSheet("QLabel { background: #fff6da; border: 1px solid #e0c060; padding: 6px; }")
        layout.addWidget(self.result_label)
        self.check_label = QLabel(objectName="explanation_check")
        self.check_label.setWordWrap(True)
        layout.addWidget(self.check_label)
        layout.addWidget(self.status_label)
        layout.addStretch(1)
        layout.addWidget(self.follow_mouse)
        self.show_message("Click any cell of a feature map to see how its value is computed from your drawing.")

    # --- public API ------------------------------------------------------------------------------

    def resizeEvent(self, event):  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.reflow(event.size().width())

    def reflow(self, width: int) -> None:
        """Side by side when there is room, stacked when the panel is narrower than ``NARROW_PX``."""
        narrow = width < NARROW_PX
        direction = QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        for row in (self.maps_row, self.grids_row):
            layout = row.layout()
            if isinstance(layout, QBoxLayout) and layout.direction() != direction:
                layout.setDirection(direction)
        self.maps_row.setFixedHeight(2 * MAP_ROW_PX if narrow else MAP_ROW_PX)
        self.grids_row.setMinimumHeight(3 * GRID_ROW_PX if narrow else GRID_ROW_PX)

    def summary_text(self) -> str:
        """Everything the panel says, as plain text (tests, copying into notes)."""
        return "\n".join(line for line in self._summary if line)

    def show_message(self, text: str, title: str = "How is this value computed?") -> None:
        """Replace the explanation by ``text`` (no drawing yet, model loading, an error)."""
        self.breakdown = None
        self.title_label.setText(title)
        self.intro_label.setText(text)
        for w in (self.maps_row, self.channel_row, self.grids_row, self.arithmetic_label, self.result_label, self.check_label):
            w.hide()
        self.status_label.setText("")
        self._summary = [title, text]

    def show_status(self, text: str) -> None:
        """A small note under the explanation (e.g. "computing…") that leaves the numbers in place."""
        self.status_label.setText(text)

    def show_conv(
        self,
        breakdown: ConvBreakdown,
        image: np.ndarray,
        model_value: float | None = None,
        source_channels: tuple[int, ...] = (),
    ) -> None:
        """Explain a convolution's value: ``Conv2D``; ``DepthwiseConv2D``; ``SeparableConv2D`` in its two
        steps; batch normalisation after a convolution as a step of its own.

        ``source_channels``: the ``input_map`` channel each kernel channel reads (``Explanation``).
        """
        self._set_common(breakdown, image, model_value)
        b = breakdown
        self.source_channels = tuple(source_channels)
        view = self.view = channel_view(b, self.source_channels)
        kh, kw, n = view.kernel.shape
        source = self._source_name(b)
        self.title_label.setText(f"{b.layer_name} · filter {b.channel} · row {b.row}, col {b.col}")
        multi = n > 1
        stride = "" if b.strides == (1, 1) else f", stride {b.strides[0]}×{b.strides[1]}"
        norm = [s.layer_name for s in b.stages if s.kind == "batch_norm"]
        then = f", batch normalisation ({', '.join(norm)}) rescales it" if norm else ""
        if view.separable:
            intro = (
                f"{b.kind} works in two steps. Step 1 (depthwise): each of the {b.patch.shape[2]} input channels of "
                f"{source} ({b.padding} padding{stride}) is multiplied by its own {kh}×{kw} kernel and summed, giving "
                f"{n} numbers. Step 2 (pointwise): those {n} numbers are multiplied by filter {b.channel}'s {n} weights "
                f"(a 1×1 convolution) and added up; the bias is added{then} and {b.activation} is applied. "
                "Pick a step-1 channel below to see its window and kernel (largest contribution first)."
            )
        elif b.kind == "DepthwiseConv2D" or (b.stages and b.stages[0].kind == "depthwise"):
            intro = (
                f"A depthwise convolution: filter {b.channel} reads only channel {view.source[0]} of {source} "
                f"({b.padding} padding{stride}). A {kh}×{kw} window is multiplied, number by number, with the filter's own "
                f"{kh}×{kw} kernel; the {kh * kw} products are added up, the bias is added{then} and {b.activation} is applied."
            )
        else:
            depth = f"×{n}" if multi else ""
            intro = (
                f"A {kh}×{kw}{depth} window of {source} ({b.padding} padding{stride}) is multiplied, number by number, "
                f"with filter {b.channel}'s {kh}×{kw}{depth} kernel. The {kh * kw * n} products are added up, the bias "
                f"is added{then} and {b.activation} is applied."
                + (" The window has one slice per input channel: pick one below (largest contribution first)." if multi else "")
            )
        self.intro_label.setText(intro)
        self.contrib_plot.setLabel(
            "bottom",
            "step 2: each step-1 channel's value × its 1×1 weight (click a bar)"
            if view.separable
            else "Σ(window × kernel) of each input channel (click a bar)",
        )
        self.channel_row.setVisible(multi)
        for w in (self.times_label, self.kernel_grid, self.equals_label, self.products_grid):
            w.show()
        if multi:
            order = np.argsort(-np.abs(view.contributions), kind="stable")
            self.channel_combo.blockSignals(True)
            self.channel_combo.clear()
            for c in order:
                self.channel_combo.addItem(view.labels[c], int(c))
            self.channel_combo.setCurrentIndex(0)
            self.channel_combo.blockSignals(False)
            self.input_channel = int(order[0])
            self.contrib_plot.setXRange(-0.8, n - 0.2, padding=0)
        else:
            self.input_channel = 0
        self._draw_channel()
        self._show_all()

    def show_pool(self, breakdown: PoolBreakdown, image: np.ndarray, model_value: float | None = None) -> None:
        """Explain a max/average pooling value."""
        self._set_common(breakdown, image, model_value)
        b = breakdown
        ph, pw = b.window.shape
        source = self._source_name(b)
        self.title_label.setText(f"{b.layer_name} · channel {b.channel} · row {b.row}, col {b.col}")
        what = "the largest" if b.mode == "max" else "the average"
        self.intro_label.setText(
            f"{ph}×{pw} {b.mode} pooling: this value is {what} of the {b.count} values in a {ph}×{pw} window of "
            f"{source}, channel {b.channel}. Pooling has no weights: it only keeps "
            f"{'the strongest answer' if b.mode == 'max' else 'the mean answer'} of each small neighbourhood, "
            f"so the map gets {b.strides[0]}× smaller."
        )
        self.input_channel = b.channel
        self.view = None
        self.channel_row.hide()
        for w in (self.times_label, self.kernel_grid, self.equals_label, self.products_grid):
            w.hide()
        self._draw_channel()
        self._show_all()

    def set_input_channel(self, channel: int) -> None:
        """Show the window, kernel slice and products of input ``channel`` (conv layers with c_in > 1)."""
        index = self.channel_combo.findData(int(channel))
        if index >= 0:
            self.channel_combo.setCurrentIndex(index)

    # --- drawing -----------------------------------------------------------------------------

    def _show_all(self) -> None:
        for w in (self.maps_row, self.grids_row, self.arithmetic_label, self.result_label, self.check_label):
            w.show()

    def _set_common(self, breakdown, image, model_value) -> None:
        self.breakdown = breakdown
        self.image = None if image is None else np.asarray(image, np.float32).reshape(np.shape(image)[:2])
        self.model_value = None if model_value is None else float(model_value)
        self.status_label.setText("")
        r0, r1, c0, c1 = breakdown.receptive_field
        self.input_map.set_map(self.image, levels=input_levels(self.image))
        self.input_map.set_window(breakdown.receptive_field)
        h, w = self.image.shape if self.image is not None else (0, 0)
        self.input_map.set_title(f"model input {h}×{w}<br>receptive field: rows {span_text(r0, r1)}, cols {span_text(c0, c1)}")

    @staticmethod
    def _source_name(b) -> str:
        return "the input image" if b.input_layer_name == "input" else f"{b.input_layer_name}'s output"

    def _draw_channel(self) -> None:
        b = self.breakdown
        if b is None:
            return
        c = self.input_channel
        view = self.view if isinstance(b, ConvBreakdown) else None
        shown_channel = view.source[c] if view is not None else c  # the channel of the map the window is taken from
        r0, r1, c0, c1 = b.input_window
        is_input = b.input_layer_name == "input"
        name = "input image" if is_input else f"{b.input_layer_name} ch {shown_channel}"
        source = b.input_map
        if source is not None and source.ndim == 3 and shown_channel < source.shape[-1]:
            hi = input_levels(source)[1] if is_input else float(np.abs(source).max())
            self.previous_map.set_map(
                source[..., shown_channel], levels=(0.0, hi if hi > 0 else 1.0), cmap=None if is_input else colormap()
            )
            self.previous_map.set_window(b.input_window)
            self.previous_map.set_title(f"{name}<br>window: rows {span_text(r0, r1)}, cols {span_text(c0, c1)}")
        else:
            self.previous_map.set_map(None)
            self.previous_map.set_title(f"{name}<br>map not available")
        if view is not None:
            n = view.kernel.shape[2]
            suffix = "" if n == 1 else f" · ch {c if view.separable else shown_channel}"
            kernel = "depthwise" if view.separable else "depthwise kernel" if b.kind == "DepthwiseConv2D" else "kernel"
            self.window_grid.set_values(view.patch[..., c], padded=view.padded, decimals=DECIMALS, title=f"window{suffix}")
            self.kernel_grid.set_values(view.kernel[..., c], decimals=DECIMALS, title=f"{kernel}{suffix}")
            self.products_grid.set_values(view.products[..., c], padded=view.padded, decimals=DECIMALS, title="products")
            brushes = [
                pg.mkBrush(255, 196, 0) if i == c else pg.mkBrush(236, 112, 84) if v > 0 else pg.mkBrush(84, 146, 222)
                for i, v in enumerate(view.contributions)
            ]
            self.bars.setOpts(x=np.arange(n), height=view.contributions, width=0.8, brushes=brushes)
            self._write(conv_arithmetic(b, c, self.model_value, self.source_channels))
        else:
            source_name = "the input" if is_input else b.input_layer_name
            self.window_grid.set_values(
                b.window,
                padded=b.padded,
                highlight=tied_cells(b),
                decimals=DECIMALS,
                title=f"window of {source_name} · ch {b.channel}",
            )
            self._write(pool_arithmetic(b, self.model_value))

    def _write(self, arithmetic: Arithmetic) -> None:
        self.arithmetic = arithmetic
        self.arithmetic_label.setText("".join(f"<p style='margin:2px 0'>{_html(line)}</p>" for line in arithmetic.lines))
        self.result_label.setText(arithmetic.result)
        self.check_label.setText(arithmetic.check)
        self._summary = [self.title_label.text(), self.intro_label.text(), *arithmetic.lines, arithmetic.result, arithmetic.check]

    # --- channel selection -------------------------------------------------------------------

    @Slot(int)
    def _on_channel_combo(self, index: int) -> None:
        channel = self.channel_combo.itemData(index)
        if channel is None or self.breakdown is None:
            return
        self.input_channel = int(channel)
        self._draw_channel()

    def _on_plot_clicked(self, event) -> None:
        b = self.breakdown
        if not isinstance(b, ConvBreakdown):
            return
        point = self.contrib_plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        channel = int(round(point.x()))
        if self.view is not None and 0 <= channel < self.view.kernel.shape[2]:
            self.set_input_channel(channel)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")
