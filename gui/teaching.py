"""Teach the convolution on the user's own drawing: wires the explanation and lesson views into the window.

``install_teaching(window)`` adds, without changing ``MainWindow``'s code:

- an explanation dock: click (or, when asked, hover) any cell of any conv or pooling feature
  map and see the window, kernel, products, sum, bias and activation that give its value;
- a "Learn" menu with the convolution playground, the learned first-layer filters, the
  architecture with parameter counts next to a fully connected network's, and a saliency view.

Keras never runs here on the GUI thread: every question to the model (a breakdown, the kernels,
the parameter counts, saliency) is a ``Job`` for the window's inference worker, tagged so that a
newer question of the same kind replaces an older one still waiting; answers come back through
``worker.job_done`` and are shown only if they answer the latest question.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .explain_view import ExplanationPanel, HighlightedMap, ValueGrid, diverging_colormap, fmt, plain_axis
from .playground_view import PlaygroundWindow
from .worker import Job

EXPLAIN_TAG = "explain"
KERNELS_TAG = "kernels"
ARCHITECTURE_TAG = "architecture"
SALIENCY_TAG = "saliency"
HOVER_DELAY_MS = 60
SALIENCY_DELAY_MS = 150
DRAW_FIRST = ("Draw a digit first: then click any cell of a feature map to see how the network computed "
              "its value from your drawing.")


# --- what the worker sends back ---------------------------------------------------------------


@dataclass
class Explanation:
    """A breakdown and what is needed to draw it. ``previous``: ``(h, w, c)`` map the window is taken from."""

    breakdown: object  # ConvBreakdown | PoolBreakdown
    image: np.ndarray  # (28, 28) model input
    previous: np.ndarray | None
    model_value: float | None


@dataclass
class ConvKernels:
    """One ``Conv2D`` layer's weights: ``kernel`` ``(kh, kw, c_in, filters)``, ``bias`` ``(filters,)``."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str


@dataclass
class SaliencyMaps:
    target: int
    saliency: np.ndarray  # (28, 28) gradient x input
    occlusion: np.ndarray  # (28, 28) probability drop when blanked
    probabilities: np.ndarray  # (10,)
    image: np.ndarray


# --- jobs (run on the worker thread; keras is imported there) ----------------------------------


def explain_job(layer: str, channel: int, row: int, col: int, image: np.ndarray,
                activations: dict[str, np.ndarray], model_value: float | None):
    """A ``Job.fn``: the breakdown of ``(row, col, channel)`` of ``layer`` for ``image``."""

    def fn(predictor) -> Explanation:
        import keras

        from model.explain import conv_breakdown, pool_breakdown

        model = predictor.model
        try:
            target = model.get_layer(layer)
        except ValueError:
            raise ValueError(f"The loaded model has no layer named {layer!r}; click a map of the current model.") from None
        if isinstance(target, keras.layers.Conv2D):
            breakdown = conv_breakdown(model, image, layer, row, col, channel)
        elif isinstance(target, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            breakdown = pool_breakdown(model, image, layer, row, col, channel)
        else:
            raise ValueError(f"{layer} is a {type(target).__name__} layer: the step-by-step arithmetic is shown for "
                             f"Conv2D and pooling layers. Click a map of one of those.")
        source = breakdown.input_layer_name
        if source == "input":
            previous = np.asarray(image, np.float32).reshape(28, 28, -1)
        elif source in activations:
            previous = activations[source]
        else:  # the layer before is not one of the maps on screen (e.g. a normalisation layer)
            sub = keras.Model(model.inputs[0], model.get_layer(source).output)
            previous = keras.ops.convert_to_numpy(sub(np.asarray(image, np.float32).reshape(1, 28, 28, 1)))[0]
        return Explanation(breakdown, image, previous, model_value)

    return fn


def kernels_job(predictor) -> list[ConvKernels]:
    """Every ``Conv2D`` layer's kernel and bias, in model order."""
    import keras

    out = []
    for layer in predictor.model.layers:
        if isinstance(layer, keras.layers.Conv2D) and type(layer).__name__ == "Conv2D":
            weights = layer.get_weights()
            kernel = np.asarray(weights[0], np.float32)
            bias = np.asarray(weights[1], np.float32) if len(weights) > 1 else np.zeros(kernel.shape[-1], np.float32)
            activation = getattr(layer.activation, "__name__", type(layer.activation).__name__)
            out.append(ConvKernels(layer.name, kernel, bias, activation))
    return out


def architecture_job(predictor):
    from model.explain import parameter_comparison

    shape = tuple(int(d) for d in predictor.model.inputs[0].shape[1:])
    return shape, parameter_comparison(predictor.model)


def saliency_job(image: np.ndarray, target: int):
    def fn(predictor) -> SaliencyMaps:
        from model.explain import occlusion, saliency

        probabilities = predictor.predict_probabilities(np.asarray(image, np.float32)[None])[0]
        return SaliencyMaps(target, saliency(predictor.model, image, target), occlusion(predictor.model, image, target),
                            probabilities, image)

    return fn


# --- dialogs ---------------------------------------------------------------------------------


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #444; padding: 4px;")
    return label


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
    Click a kernel to read its numbers and try it in the playground.
    """

    def __init__(self, teaching: Teaching, parent=None):
        super().__init__(parent)
        self.teaching = teaching
        self.setObjectName("filters_dialog")
        self.setWindowTitle("Learned filters")
        self.kernels: list[ConvKernels] = []
        self.selected = 0
        layout = QVBoxLayout(self)
        intro = QLabel("Each small square is one filter (kernel) the network learned from MNIST digits: red weights add "
                       "the pixel under them, blue weights subtract it. A filter answers most where the image looks "
                       "like its red part and not like its blue part.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
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
        self.message = _message_label()
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
        self.resize(900, 700)
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
            self.show_message("This model has no Conv2D layers, so it has no filters to show.")
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
        self.channel_caption.setText(f"Input channel (one of the {c_in} maps of the layer before)" if c_in > 1 else "Input channel")
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
            item = KernelImage(i, self._select)
            item.setColorMap(cmap)
            item.setImage(np.ascontiguousarray(kernel, np.float32), levels=(-peak, peak))
            view.addItem(item)
            view.setRange(xRange=(0, kernel.shape[1]), yRange=(0, kernel.shape[0]), padding=0.02)
        bar = pg.ColorBarItem(values=(-peak, peak), colorMap=cmap, orientation="horizontal", interactive=False,
                              label="weight (blue −, red +; the strongest 2% saturate)", width=12)
        plain_axis(bar.axis)
        self.grid.addItem(bar, row=math.ceil(n / cols), col=0, colspan=cols)
        self._select(min(self.selected, n - 1))

    def _select(self, index: int) -> None:
        k = self.current()
        shown = self.shown_kernels()
        if k is None or not 0 <= index < len(shown):
            return
        self.selected = index
        c = self.channel_spin.value()
        channel = f", input channel {c}" if k.kernel.shape[2] > 1 else ""
        self.detail.set_values(shown[index], title=f"{k.name} filter {index}{channel}")
        self.detail_label.setText(f"Bias {fmt(float(k.bias[index]), 4)}. Each output of this filter is "
                                  f"Σ(window × these weights) + bias, then {k.activation}.")
        self.try_button.setEnabled(True)

    def _try_in_playground(self) -> None:
        shown = self.shown_kernels()
        if len(shown):
            self.teaching.open_playground(kernel=shown[self.selected], name=self._preset_name())

    def _preset_name(self) -> str:
        k = self.current()
        first = self.kernels and k is self.kernels[0] and k.kernel.shape[2] == 1
        return f"{k.name} filter {self.selected}" if first else "custom filter"


class ArchitectureDialog(QDialog):
    """Each layer's output shape and parameters, next to a fully connected network of the same width."""

    COLUMNS = ["layer", "type", "output shape", "parameters", "fully connected equivalent", "× more"]

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("architecture_dialog")
        self.setWindowTitle("Architecture and parameters")
        layout = QVBoxLayout(self)
        intro = QLabel("A convolution reuses one small filter at every position of the image, so its parameters do "
                       "not grow with the image. The right-hand column counts what a fully connected (Dense) layer "
                       "would need to produce the same number of values from the same input.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.strip_area = QScrollArea()
        self.strip_area.setWidgetResizable(True)
        self.strip_area.setFixedHeight(112)
        self.strip_area.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.strip_area)
        self.message = _message_label()
        layout.addWidget(self.message)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("architecture_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        layout.addWidget(self.table, 1)
        self.summary = QLabel(objectName="architecture_summary")
        self.summary.setWordWrap(True)
        font = QFont(self.summary.font())
        font.setPointSize(font.pointSize() + 2)
        self.summary.setFont(font)
        self.summary.setStyleSheet("QLabel { background: #fff6da; border: 1px solid #e0c060; padding: 6px; }")
        layout.addWidget(self.summary)
        self.comparison = None
        self.resize(900, 700)
        self.show_message("Counting the parameters…")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_comparison(self, input_shape: tuple[int, ...], comparison) -> None:
        """``comparison``: ``model.explain.ParameterComparison``."""
        self.comparison = comparison
        self.show_message("")
        rows = comparison.rows
        self.table.setRowCount(len(rows) + 2)
        bold = QFont(self.table.font())
        bold.setBold(True)

        def put(r: int, values: list[str], font: QFont | None = None, conv: bool = False) -> None:
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if font is not None:
                    item.setFont(font)
                if conv:
                    item.setBackground(QColor(255, 246, 218))
                self.table.setItem(r, c, item)

        shape = "×".join(map(str, input_shape))
        put(0, ["input", "image", shape, "0", "0", ""])
        for i, row in enumerate(rows, start=1):
            ratio = f"{row.dense_params / row.params:,.0f}×" if row.params and row.dense_params != row.params else ""
            put(i, [row.name, row.kind, "×".join(map(str, row.output_shape)), f"{row.params:,}", f"{row.dense_params:,}", ratio],
                conv="Conv" in row.kind)
        put(len(rows) + 1, ["total", "", "", f"{comparison.total_params:,}", f"{comparison.total_dense_params:,}",
                            f"{comparison.ratio:,.0f}×"], bold)
        self.summary.setText(
            f"This CNN has {comparison.total_params:,} parameters. A fully connected network of the same width would "
            f"need {comparison.total_dense_params:,}: {comparison.ratio:,.0f} times as many. The convolutions "
            f"(highlighted rows) share each small filter across the whole image.")
        self._build_strip(input_shape, rows)

    def _build_strip(self, input_shape, rows) -> None:
        strip = QWidget()
        layout = QHBoxLayout(strip)
        layout.setContentsMargins(2, 2, 2, 2)

        def box(title: str, kind: str, shape: str, params: str, highlight: bool) -> QLabel:
            label = QLabel(f"<b>{title}</b><br>{kind}<br>{shape}<br><span style='color:#555'>{params}</span>")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("QLabel { border: 1px solid #999; border-radius: 4px; padding: 3px 6px; background: %s; }"
                                % ("#fff1c6" if highlight else "#f4f4f4"))
            return label

        layout.addWidget(box("input", "image", "×".join(map(str, input_shape)), "", False))
        for row in rows:
            layout.addWidget(QLabel("→"))
            layout.addWidget(box(row.name, row.kind, "×".join(map(str, row.output_shape)), f"{row.params:,} params",
                                 "Conv" in row.kind))
        layout.addStretch(1)
        self.strip_area.setWidget(strip)


class SaliencyDialog(QDialog):
    """Which pixels of the drawing pushed the prediction towards a chosen digit.

    Two views of the same question: gradient × input (how much a little more ink on each inked
    pixel would raise the probability) and occlusion (how much the probability drops when a 4×4
    patch is blanked). Red pushes towards the digit, blue away from it.
    """

    def __init__(self, teaching: Teaching, parent=None):
        super().__init__(parent)
        self.teaching = teaching
        self.setObjectName("saliency_dialog")
        self.setWindowTitle("Why this answer?")
        self.chosen: int | None = None  # None: follow the predicted digit
        self.target: int | None = None
        self.saliency_map: np.ndarray | None = None
        self.occlusion_map: np.ndarray | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Explain the digit"))
        self.class_buttons = QButtonGroup(self)
        self.class_buttons.setExclusive(True)
        for digit in range(10):
            button = QPushButton(str(digit))
            button.setCheckable(True)
            button.setFixedWidth(36)
            button.setObjectName(f"saliency_class_{digit}")
            self.class_buttons.addButton(button, digit)
            row.addWidget(button)
        self.class_buttons.idClicked.connect(self.set_class)
        self.follow_button = QPushButton("Predicted digit", objectName="saliency_follow")
        self.follow_button.setToolTip("Always explain the digit the network predicts")
        self.follow_button.clicked.connect(lambda: self.set_class(None))
        row.addWidget(self.follow_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.message = _message_label()
        layout.addWidget(self.message)
        self.probability = QLabel(objectName="saliency_probability")
        font = QFont(self.probability.font())
        font.setPointSize(font.pointSize() + 2)
        font.setBold(True)
        self.probability.setFont(font)
        layout.addWidget(self.probability)
        maps = QHBoxLayout()
        self.input_view = HighlightedMap("your drawing (28×28 model input)")
        self.saliency_view = HighlightedMap("gradient × input")
        self.occlusion_view = HighlightedMap("occlusion")
        for view in (self.input_view, self.saliency_view, self.occlusion_view):
            view.setMinimumSize(250, 280)
            maps.addWidget(view)
        layout.addLayout(maps, 1)
        legend = QLabel("Red: these pixels pushed the network towards the digit; blue: they pushed it away; white: no "
                        "effect. Gradient × input is zero wherever there is no ink. Colours are scaled to each map's "
                        "largest value.")
        legend.setWordWrap(True)
        layout.addWidget(legend)
        self.resize(900, 560)
        self.show_message(DRAW_FIRST.replace("click any cell of a feature map", "open this view"))

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_class(self, digit: int | None) -> None:
        """Explain ``digit`` (0-9); ``None`` follows the predicted digit."""
        self.chosen = digit
        self.teaching.request_saliency()

    def show_maps(self, maps: SaliencyMaps) -> None:
        self.target = maps.target
        self.saliency_map, self.occlusion_map = maps.saliency, maps.occlusion
        button = self.class_buttons.button(maps.target)
        if button is not None:
            button.setChecked(True)
        cmap = diverging_colormap()
        self.input_view.set_map(maps.image, levels=(0.0, 1.0))
        self.input_view.set_title("your drawing<br>(the 28×28 model input)<br>&nbsp;")
        for view, values in ((self.saliency_view, maps.saliency), (self.occlusion_view, maps.occlusion)):
            peak = float(np.abs(values).max()) or 1.0
            view.set_map(values, levels=(-peak, peak), cmap=cmap)
        p = maps.probabilities
        predicted = int(np.argmax(p))
        which = "the predicted digit" if maps.target == predicted else f"the network predicts {predicted} ({p[predicted] * 100:.1f}%)"
        self.probability.setText(f"Explaining {maps.target}: probability {p[maps.target] * 100:.1f}% — {which}")
        self.saliency_view.set_title(f"gradient × input for {maps.target}<br>each inked pixel's push on p({maps.target})<br>"
                                     f"largest: {_points(float(np.abs(maps.saliency).max()))} points")
        t = maps.target
        change = float(np.abs(maps.occlusion).max())
        self.occlusion_view.set_title(f"occlusion for {t}<br>drop of p({t}) when a 4×4 patch is blanked<br>"
                                      f"largest: {_points(change)} points")
        note = ""
        if p[t] > 0.99 and change < 0.01:
            note = (f"The network is so sure of this {t} that blanking any 4×4 patch changes p({t}) by "
                    f"{_points(change)} points at most: no single small part of the drawing decides it.")
        elif p[t] < 0.01:
            note = (f"p({t}) is {'' if p[t] < 1e-4 else 'only '}{_points(float(p[t]))}%: the network does not see a {t} here. Each map is scaled to its "
                    f"largest value, so it still shows which pixels argue for (red) and against (blue) a {t}, "
                    f"but the effects are tiny.")
        self.show_message(note)


def _points(probability: float) -> str:
    """A probability (or a change of one) in percentage points, readable when tiny: ``"below 0.01"``."""
    value = abs(probability) * 100
    return "below 0.01" if value < 0.01 else f"{value:.2g}" if value < 10 else f"{value:.0f}"


# --- the integration -------------------------------------------------------------------------


class Teaching(QObject):
    """Holds the dock, the panels and the dialogs, and routes their questions to the worker.

    Attributes tests use: ``dock``, ``panel`` (``ExplanationPanel``), ``playground``,
    ``filters_dialog``, ``architecture_dialog``, ``saliency_dialog`` (``None`` until opened),
    ``menu`` and the actions.
    """

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._ids = itertools.count(1)
        self._latest: dict[str, int] = {}
        self.target: tuple[str, int, int, int] | None = None
        self.kernels: list[ConvKernels] | None = None
        self.playground: PlaygroundWindow | None = None
        self.filters_dialog: FiltersDialog | None = None
        self.architecture_dialog: ArchitectureDialog | None = None
        self.saliency_dialog: SaliencyDialog | None = None

        self.panel = ExplanationPanel()
        self.dock = QDockWidget("How is this value computed?", window)
        self.dock.setObjectName("explanation_dock")
        self.dock.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea)
        self.dock.setWidget(self.panel)
        self.dock.setMinimumWidth(480)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()

        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(HOVER_DELAY_MS)
        self._hover_timer.timeout.connect(self._on_hover_settled)
        self._hovered: tuple[str, int, int, int] | None = None
        # Saliency costs ~50 ms on the worker (a gradient and a batch of occluded images): while
        # the user is still drawing, wait for a pause rather than delaying every prediction.
        self._saliency_timer = QTimer(self)
        self._saliency_timer.setSingleShot(True)
        self._saliency_timer.setInterval(SALIENCY_DELAY_MS)
        self._saliency_timer.timeout.connect(self.request_saliency)

        self._build_menu()
        window.feature_maps.map_clicked.connect(self.explain)
        window.feature_maps.map_hovered.connect(self._on_map_hovered)
        window.worker.job_done.connect(self._on_job_done)
        window.worker.model_loaded.connect(self._on_model_loaded)
        window.result_shown.connect(self._on_result_shown)
        window.canvas.strokes_changed.connect(self._on_strokes_changed)

    def _build_menu(self) -> None:
        bar = self.window.menuBar()
        self.menu = bar.addMenu("&Learn")
        self.menu.setObjectName("learn_menu")
        help_action = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        if help_action is not None:  # keep Help last, where people look for it
            bar.removeAction(self.menu.menuAction())
            bar.insertMenu(help_action, self.menu)

        def action(text: str, slot, tip: str) -> QAction:
            a = QAction(text, self.window)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            self.menu.addAction(a)
            return a

        self.playground_action = action("Convolution &playground…", lambda: self.open_playground(),
                                        "Slide a filter over a small grid or your drawing, one multiply-sum at a time")
        self.filters_action = action("First-layer &filters…", self.open_filters,
                                     "The 3×3 filters the network learned, as small images")
        self.architecture_action = action("&Architecture && parameters…", self.open_architecture,
                                          "Each layer's output shape and parameters, against a fully connected network")
        self.saliency_action = action("&Why this answer (saliency)…", self.open_saliency,
                                      "Which pixels of your drawing pushed the prediction towards a digit")
        self.menu.addSeparator()
        self.explain_action = self.dock.toggleViewAction()
        self.explain_action.setText("&Explanation panel (click a feature map)")
        self.menu.addAction(self.explain_action)

    # --- jobs --------------------------------------------------------------------------------

    def _run(self, tag: str, fn) -> int:
        job_id = next(self._ids)
        self._latest[tag] = job_id
        self.window.worker.run_job(Job(job_id, fn, tag))
        return job_id

    @Slot(object, object, str)
    def _on_job_done(self, job_id, result, tag: str) -> None:
        if self._latest.get(tag) != job_id:
            return  # another module's job, or an answer to an older question
        del self._latest[tag]
        if tag == EXPLAIN_TAG:
            self._show_explanation(result)
        elif tag == KERNELS_TAG:
            self._show_kernels(result)
        elif tag == ARCHITECTURE_TAG:
            self._show_architecture(result)
        elif tag == SALIENCY_TAG:
            self._show_saliency(result)

    def _waiting_note(self) -> str:
        return "" if self.window.model_info is not None else " The model is still loading; this appears as soon as it is ready."

    # --- explanation -------------------------------------------------------------------------

    @Slot(str, int, int, int)
    def explain(self, layer: str, channel: int, row: int, col: int) -> None:
        """Explain the value at ``(row, col)`` of ``channel`` of ``layer`` for the current drawing."""
        self.target = (layer, int(channel), int(row), int(col))
        if not self.dock.isVisible():
            self.dock.show()
            self.dock.raise_()
        self._request_explanation()

    def _request_explanation(self) -> None:
        if self.target is None:
            return
        layer, channel, row, col = self.target
        result = self.window.last_result
        if result is None or result.input is None:
            self._latest.pop(EXPLAIN_TAG, None)
            self.panel.show_message(DRAW_FIRST)
            return
        activations = dict(result.activations)
        a = activations.get(layer)
        model_value = None
        if a is not None and row < a.shape[0] and col < a.shape[1] and channel < a.shape[2]:
            model_value = float(a[row, col, channel])
        self._run(EXPLAIN_TAG, explain_job(layer, channel, row, col, np.array(result.input, np.float32), activations, model_value))
        self.panel.show_status(f"Computing {layer} · channel {channel} · row {row}, col {col}…{self._waiting_note()}")

    def _show_explanation(self, result) -> None:
        if isinstance(result, Exception):
            self.panel.show_message(f"Cannot explain this value: {result}", title="Not available")
            return
        from model.explain import ConvBreakdown

        if isinstance(result.breakdown, ConvBreakdown):
            self.panel.show_conv(result.breakdown, result.image, result.previous, result.model_value)
        else:
            self.panel.show_pool(result.breakdown, result.image, result.previous, result.model_value)

    @Slot(object)
    def _on_map_hovered(self, hit) -> None:
        if hit is None or not self.dock.isVisible() or not self.panel.follow_mouse.isChecked():
            return
        self._hovered = tuple(hit)
        self._hover_timer.start()  # restarts: only the cell the mouse rests on is computed

    def _on_hover_settled(self) -> None:
        if self._hovered is not None and self._hovered != self.target:
            self.explain(*self._hovered)

    @Slot()
    def _on_strokes_changed(self) -> None:
        if self.window.last_result is None and self.dock.isVisible():
            self._latest.pop(EXPLAIN_TAG, None)
            self.panel.show_message(DRAW_FIRST)
        if self.window.last_result is None and self.saliency_dialog is not None and self.saliency_dialog.isVisible():
            self._latest.pop(SALIENCY_TAG, None)
            self.saliency_dialog.show_message(DRAW_FIRST.replace("click any cell of a feature map", "open this view"))

    @Slot(int)
    def _on_result_shown(self, _request_id: int) -> None:
        if self.dock.isVisible() and self.target is not None:
            self._request_explanation()
        if self.saliency_dialog is not None and self.saliency_dialog.isVisible():
            self._saliency_timer.start()
        if self.playground is not None and self.playground.isVisible() and self.playground.is_showing_drawing() \
                and not self.playground.play_button.isChecked():
            image = self._drawing()
            if image is not None:
                self.playground.set_input(image)

    @Slot(object)
    def _on_model_loaded(self, info) -> None:
        self.kernels = None
        names = {layer.name for layer in info.layers}
        if self.target is not None and self.target[0] not in names:
            self.target = None
            self.panel.show_message("A new model is loaded. Click any cell of its feature maps to see how it is computed.")
        if (self.filters_dialog is not None and self.filters_dialog.isVisible()) or \
                (self.playground is not None and self.playground.isVisible()):
            self._request_kernels()
        if self.architecture_dialog is not None and self.architecture_dialog.isVisible():
            self._run(ARCHITECTURE_TAG, architecture_job)

    # --- playground --------------------------------------------------------------------------

    def _drawing(self) -> np.ndarray | None:
        result = self.window.last_result
        return None if result is None or result.input is None else np.array(result.input, np.float64).reshape(28, 28)

    def open_playground(self, kernel: np.ndarray | None = None, name: str = "custom filter") -> PlaygroundWindow:
        if self.playground is None:
            # Owned by the main window (closed and freed with it) but a window of its own.
            self.playground = PlaygroundWindow(self._drawing, self.window)
            self.playground.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
            if self.kernels is not None:
                self.playground.set_learned_kernels(self._learned_presets())
        if self.kernels is None:
            self._request_kernels()
        if kernel is not None:
            if name in self.playground.preset_names():
                self.playground.load_preset(name)
            else:
                self.playground.set_kernel(kernel)
        self.playground.show()
        self.playground.raise_()
        return self.playground

    def _learned_presets(self) -> dict[str, np.ndarray]:
        if not self.kernels:
            return {}
        first = self.kernels[0]
        if first.kernel.shape[2] != 1:
            return {}
        return {f"{first.name} filter {i}": first.kernel[:, :, 0, i] for i in range(first.kernel.shape[-1])}

    # --- filters -----------------------------------------------------------------------------

    def _request_kernels(self) -> None:
        self._run(KERNELS_TAG, kernels_job)

    def open_filters(self) -> FiltersDialog:
        if self.filters_dialog is None:
            self.filters_dialog = FiltersDialog(self, self.window)
        if self.kernels is None:
            self.filters_dialog.show_message("Reading the filters from the model…" + self._waiting_note())
            self._request_kernels()
        else:
            self.filters_dialog.set_kernels(self.kernels)
        self.filters_dialog.show()
        self.filters_dialog.raise_()
        return self.filters_dialog

    def _show_kernels(self, result) -> None:
        if isinstance(result, Exception):
            if self.filters_dialog is not None:
                self.filters_dialog.show_message(f"Could not read the filters: {result}")
            return
        self.kernels = result
        if self.filters_dialog is not None:
            self.filters_dialog.set_kernels(result)
        if self.playground is not None:
            self.playground.set_learned_kernels(self._learned_presets())

    # --- architecture ------------------------------------------------------------------------

    def open_architecture(self) -> ArchitectureDialog:
        if self.architecture_dialog is None:
            self.architecture_dialog = ArchitectureDialog(self.window)
        self.architecture_dialog.show_message("Counting the parameters…" + self._waiting_note())
        self._run(ARCHITECTURE_TAG, architecture_job)
        self.architecture_dialog.show()
        self.architecture_dialog.raise_()
        return self.architecture_dialog

    def _show_architecture(self, result) -> None:
        if self.architecture_dialog is None:
            return
        if isinstance(result, Exception):
            self.architecture_dialog.show_message(f"Could not count the parameters: {result}")
            return
        self.architecture_dialog.set_comparison(*result)

    # --- saliency ----------------------------------------------------------------------------

    def open_saliency(self) -> SaliencyDialog:
        if self.saliency_dialog is None:
            self.saliency_dialog = SaliencyDialog(self, self.window)
        self.saliency_dialog.show()
        self.saliency_dialog.raise_()
        self.request_saliency()
        return self.saliency_dialog

    def request_saliency(self) -> None:
        dialog = self.saliency_dialog
        if dialog is None:
            return
        result = self.window.last_result
        if result is None or result.input is None:
            self._latest.pop(SALIENCY_TAG, None)
            dialog.show_message(DRAW_FIRST.replace("click any cell of a feature map", "open this view"))
            return
        target = dialog.chosen if dialog.chosen is not None else (result.digit if result.digit is not None else 0)
        dialog.show_message(f"Computing which pixels matter for {target}…{self._waiting_note()}")
        self._run(SALIENCY_TAG, saliency_job(np.array(result.input, np.float32), int(target)))

    def _show_saliency(self, result) -> None:
        if self.saliency_dialog is None:
            return
        if isinstance(result, Exception):
            self.saliency_dialog.show_message(f"Could not compute the saliency maps: {result}")
            return
        self.saliency_dialog.show_maps(result)


def install_teaching(window) -> Teaching:
    """Add the explanation dock and the Learn menu to ``window`` (a ``MainWindow``); idempotent."""
    existing = getattr(window, "teaching", None)
    if isinstance(existing, Teaching):
        return existing
    teaching = Teaching(window)
    window.teaching = teaching
    return teaching
