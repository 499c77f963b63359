"""The convolution playground: one small image, one 3x3 filter, every multiply-sum shown.

A separate window where the lesson is interactive: edit a small grid (5x5 like the lesson's
example) or load the 28x28 drawing the network sees, choose or edit a filter (the classic
presets, the lesson's example, or the model's own first-layer kernels), set the padding and
the stride, and step through (or animate) the sliding window. The output size formula is filled
in with the numbers, and the output is max- and average-pooled 2x2. All the maths comes from
``model/playground.py``; this module only shows it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.playground import (
    LESSON_EXAMPLE,
    PRESETS,
    Example,
    Step,
    conv2d_single,
    output_size_formula,
    pad_amounts,
    pad_image,
    pool2d,
    steps,
    vertical_edge_demo,
)

from .widgets import HIGHLIGHT_COLOUR, MINUS, HighlightedMap, ValueGrid, diverging_colormap, tint

LESSON = "lesson example"
EDGE_DEMO = "vertical edge demo"
CUSTOM = "custom filter"
MAX_GRID = 12  # larger inputs (the 28x28 drawing) are shown as images, not tables
PRESET_NOTES = {
    "identity": "Identity: a single 1 in the middle copies the image (without its border).",
    "vertical edge": "Vertical edge (line) filter: large where a bright vertical line runs through the window, 0 on flat areas.",
    "horizontal edge": "Horizontal edge (line) filter: large where a bright horizontal line runs through the window.",
    "blur": "Blur: every output is the average of the 3×3 window.",
    "sharpen": "Sharpen: 5 × the centre minus its four neighbours, so differences stand out.",
    "sobel x": "Sobel x: right column minus left column, answers to steps from dark to light going right.",
    "sobel y": "Sobel y: bottom row minus top row, answers to steps from dark to light going down.",
}
SPEEDS = {"slow": 900, "normal": 450, "fast": 120, "very fast": 25}


def num(value: float) -> str:
    """Whole numbers without decimals (the lesson's ``4``), others with 2; a real minus sign."""
    value = float(value)
    text = str(int(round(value))) if abs(value - round(value)) < 1e-9 else f"{value:.2f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def num_term(value: float) -> str:
    text = num(value)
    return f"({text})" if text.startswith(MINUS) else text


def parse_number(text: str) -> float:
    """A cell's text -> float; accepts ``−`` and ``,`` as decimal comma. Raises ValueError."""
    cleaned = text.strip().replace(MINUS, "-").replace(",", ".")
    if "/" in cleaned:  # "1/9" for a blur weight
        top, bottom = cleaned.split("/", 1)
        value = float(top) / float(bottom)
    else:
        value = float(cleaned)
    if not np.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


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

    def show_values(self, values: np.ndarray, *, editable: np.ndarray | None = None, padded: np.ndarray | None = None,
                    window: tuple[int, int, int, int] | None = None, hidden: np.ndarray | None = None,
                    current: tuple[int, int] | None = None, tinted: bool = False, labels_from: int = 0) -> None:
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
                item = QTableWidgetItem("" if is_hidden else num(values[r, c]))
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
                    item.setBackground(QBrush(QColor(255, 226, 120) if not (padded is not None and padded[r, c]) else QColor(225, 205, 140)))
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
        except (ValueError, ZeroDivisionError):
            self.edit_rejected.emit(f"“{item.text()}” is not a number; type e.g. 1, −0.5 or 1/9.")
            self._filling = True
            item.setText(num(self._values[r, c]))
            self._filling = False
            return
        self._values[r, c] = value
        self.value_edited.emit(r, c, value)


class PlaygroundWindow(QWidget):
    """Slide a filter over a small image, one multiply-sum at a time.

    ``drawing_provider`` returns the current ``(28, 28)`` model input or ``None`` (no drawing yet);
    "Use my drawing" calls it. ``set_learned_kernels`` adds the model's own first-layer filters
    to the presets. Tests drive it through ``set_input``, ``set_kernel``, ``set_padding``,
    ``set_stride``, ``load_preset``, ``output`` and ``step``.
    """

    def __init__(self, drawing_provider: Callable[[], np.ndarray | None] | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("playground")
        self.setWindowTitle("Convolution playground")
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.drawing_provider = drawing_provider
        self._image = np.array(LESSON_EXAMPLE.image, dtype=np.float64)
        self._kernel = np.array(LESSON_EXAMPLE.kernel, dtype=np.float64)
        self._padding: str | int = "valid"
        self._stride = 1
        self._output: np.ndarray | None = None
        self._error: str | None = None
        self._steps: list[Step] | None = None
        self._step_index = -1
        self._learned: dict[str, np.ndarray] = {}
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_tick)
        self._updating = False
        self._build()
        self.load_preset(LESSON)
        self.resize(1100, 760)

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        # 1. input
        input_box = QGroupBox("1 · Input image")
        input_layout = QVBoxLayout(input_box)
        row = QHBoxLayout()
        row.addWidget(QLabel("Grid size"))
        self.size_spin = QSpinBox(objectName="grid_size")
        self.size_spin.setRange(3, MAX_GRID)
        self.size_spin.setValue(5)
        self.size_spin.setToolTip("Rows and columns of the editable grid")
        self.size_spin.valueChanged.connect(self._on_size_changed)
        row.addWidget(self.size_spin)
        self.drawing_button = QPushButton("Use my drawing", objectName="use_drawing")
        self.drawing_button.setToolTip("Load the 28×28 image the network sees for your current drawing")
        self.drawing_button.clicked.connect(self.use_drawing)
        row.addWidget(self.drawing_button)
        clear = QPushButton("Zeros")
        clear.setToolTip("Set every cell of the grid to 0")
        clear.clicked.connect(lambda: self.set_input(np.zeros((self.size_spin.value(),) * 2)))
        row.addWidget(clear)
        row.addStretch(1)
        input_layout.addLayout(row)
        self.input_stack = QStackedWidget()
        self.input_table = GridTable(44)
        self.input_table.setObjectName("input_grid")
        self.input_table.value_edited.connect(self._on_input_edited)
        self.input_table.edit_rejected.connect(self._show_problem)
        self.input_image = HighlightedMap("your drawing (28×28)")
        self.input_stack.addWidget(self._centred(self.input_table))
        self.input_stack.addWidget(self.input_image)
        input_layout.addWidget(self.input_stack, 1)
        self.input_hint = QLabel()
        self.input_hint.setWordWrap(True)
        self.input_hint.setStyleSheet("color: #555;")
        self.input_hint.setMinimumHeight(self.input_hint.fontMetrics().lineSpacing() * 2 + 4)
        input_layout.addWidget(self.input_hint)

        # 2. filter and settings
        filter_box = QGroupBox("2 · Filter (kernel) and settings")
        filter_layout = QVBoxLayout(filter_box)
        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Preset"))
        self.preset_combo = QComboBox(objectName="preset")
        self.preset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.preset_combo.activated.connect(self._on_preset_chosen)
        preset_row.addWidget(self.preset_combo, 1)
        filter_layout.addLayout(preset_row)
        self.kernel_table = GridTable(52)
        self.kernel_table.setObjectName("kernel_grid")
        self.kernel_table.value_edited.connect(self._on_kernel_edited)
        self.kernel_table.edit_rejected.connect(self._show_problem)
        filter_layout.addWidget(self._centred(self.kernel_table))
        self.preset_note = QLabel(objectName="preset_note")
        self.preset_note.setWordWrap(True)
        filter_layout.addWidget(self.preset_note)
        pad_row = QHBoxLayout()
        pad_row.addWidget(QLabel("Padding"))
        self.padding_combo = QComboBox(objectName="padding")
        self.padding_combo.addItems(["valid", "same", "custom"])
        self.padding_combo.setToolTip("valid: no padding · same: as many zeros as keep the size (Keras' rule) · "
                                      "custom: p rows/columns of zeros on every side")
        self.padding_combo.currentTextChanged.connect(self._on_padding_changed)
        pad_row.addWidget(self.padding_combo)
        pad_row.addWidget(QLabel("p ="))
        self.pad_spin = QSpinBox(objectName="pad_amount")
        self.pad_spin.setRange(0, 5)
        self.pad_spin.valueChanged.connect(self._on_padding_changed)
        pad_row.addWidget(self.pad_spin)
        pad_row.addSpacing(12)
        pad_row.addWidget(QLabel("Stride s ="))
        self.stride_spin = QSpinBox(objectName="stride")
        self.stride_spin.setRange(1, 3)
        self.stride_spin.valueChanged.connect(self._on_stride_changed)
        pad_row.addWidget(self.stride_spin)
        pad_row.addStretch(1)
        filter_layout.addLayout(pad_row)
        filter_layout.addStretch(1)

        # 3. output
        output_box = QGroupBox("3 · Output (feature map)")
        output_layout = QVBoxLayout(output_box)
        self.size_formula = QLabel(objectName="size_formula")
        self.size_formula.setWordWrap(True)
        self.size_formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        formula_font = QFont(self.font())
        formula_font.setPointSize(formula_font.pointSize() + 1)
        self.size_formula.setFont(formula_font)
        output_layout.addWidget(self.size_formula)
        self.output_stack = QStackedWidget()
        self.output_table = GridTable(46)
        self.output_table.setObjectName("output_grid")
        self.output_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.output_image = HighlightedMap("output")
        self.output_stack.addWidget(self._centred(self.output_table))
        self.output_stack.addWidget(self.output_image)
        output_layout.addWidget(self.output_stack, 3)
        pools = QHBoxLayout()
        self.max_pool = ValueGrid("2×2 max pooling")
        self.avg_pool = ValueGrid("2×2 average pooling")
        self.max_pool_image = HighlightedMap("2×2 max pooling")
        self.avg_pool_image = HighlightedMap("2×2 average pooling")
        self.pool_stack = QStackedWidget()
        small, large = QWidget(), QWidget()
        small_layout, large_layout = QHBoxLayout(small), QHBoxLayout(large)
        for w in (self.max_pool, self.avg_pool):
            small_layout.addWidget(w)
        for w in (self.max_pool_image, self.avg_pool_image):
            large_layout.addWidget(w)
        small_layout.setContentsMargins(0, 0, 0, 0)
        large_layout.setContentsMargins(0, 0, 0, 0)
        self.pool_stack.addWidget(small)
        self.pool_stack.addWidget(large)
        self.pool_stack.setMinimumHeight(120)
        self.pool_stack.setMaximumHeight(150)
        self.pool_note = QLabel(objectName="pool_note")
        self.pool_note.setWordWrap(True)
        self.pool_note.setStyleSheet("color: #555;")
        pools.addWidget(self.pool_stack, 1)
        output_layout.addLayout(pools, 0)
        output_layout.addWidget(self.pool_note)

        columns = QHBoxLayout()
        columns.addWidget(input_box, 4)
        columns.addWidget(filter_box, 3)
        columns.addWidget(output_box, 4)

        # 4. the sliding window, step by step
        step_box = QGroupBox("4 · Slide the filter: one output cell at a time")
        step_layout = QHBoxLayout(step_box)
        buttons = QVBoxLayout()
        self.step_button = QPushButton("Step ▶|", objectName="step_button")
        self.step_button.setToolTip("Move the window to the next output cell")
        self.step_button.clicked.connect(self.step)
        self.play_button = QPushButton("Play ▶", objectName="play_button")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.reset_button = QPushButton("Reset ⟲", objectName="reset_button")
        self.reset_button.clicked.connect(self.reset)
        self.speed_combo = QComboBox(objectName="speed")
        self.speed_combo.addItems(list(SPEEDS))
        self.speed_combo.setCurrentText("normal")
        self.speed_combo.currentTextChanged.connect(lambda name: self._timer.setInterval(SPEEDS[name]))
        self._timer.setInterval(SPEEDS["normal"])
        for w in (self.step_button, self.play_button, self.reset_button, self.speed_combo):
            buttons.addWidget(w)
        buttons.addStretch(1)
        step_layout.addLayout(buttons)
        self.step_window = ValueGrid("window")
        self.step_kernel = ValueGrid("filter")
        self.step_products = ValueGrid("products")
        grids = QHBoxLayout()
        for w in (self.step_window, self._operator("×"), self.step_kernel, self._operator("="), self.step_products):
            grids.addWidget(w)
        grid_box = QWidget()
        grid_box.setLayout(grids)
        grid_box.setFixedWidth(470)
        step_layout.addWidget(grid_box)
        self.step_text = QLabel(objectName="step_text")
        self.step_text.setWordWrap(True)
        self.step_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.step_text.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        step_font = QFont(self.font())
        step_font.setPointSize(step_font.pointSize() + 2)
        self.step_text.setFont(step_font)
        self.step_text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        step_layout.addWidget(self.step_text, 1)
        step_box.setMaximumHeight(200)

        self.problem_label = QLabel(objectName="playground_problem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b00020;")

        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(step_box)
        layout.addWidget(self.problem_label)
        self._fill_presets()

    @staticmethod
    def _centred(widget: QWidget) -> QWidget:
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

    @staticmethod
    def _operator(text: str) -> QLabel:
        label = QLabel(text)
        font = QFont(label.font())
        font.setPointSize(font.pointSize() + 8)
        font.setBold(True)
        label.setFont(font)
        label.setFixedWidth(20)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label

    def _fill_presets(self) -> None:
        current = self.preset_combo.currentText()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        self.preset_combo.addItem(CUSTOM)
        self.preset_combo.insertSeparator(1)
        self.preset_combo.addItems([LESSON, EDGE_DEMO])
        self.preset_combo.insertSeparator(self.preset_combo.count())
        self.preset_combo.addItems(list(PRESETS))
        if self._learned:
            self.preset_combo.insertSeparator(self.preset_combo.count())
            self.preset_combo.addItems(list(self._learned))
        index = self.preset_combo.findText(current)
        self.preset_combo.setCurrentIndex(max(index, 0))
        self.preset_combo.blockSignals(False)

    # --- public API --------------------------------------------------------------------------

    def preset_names(self) -> list[str]:
        """Every name ``load_preset`` accepts, in the combo's order."""
        return [LESSON, EDGE_DEMO, *PRESETS, *self._learned]

    def set_learned_kernels(self, kernels: dict[str, np.ndarray]) -> None:
        """Add the model's filters as presets, e.g. ``{"conv1 filter 0": (3, 3) array}``; ``{}`` removes them."""
        self._learned = {name: np.array(k, dtype=np.float64) for name, k in kernels.items()}
        self._fill_presets()

    def set_input(self, image: np.ndarray) -> None:
        """Use ``image`` (``(n, m)``, any numbers) as the input; up to 12x12 it is an editable grid."""
        image = np.asarray(image, dtype=np.float64)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim != 2 or image.size == 0 or not np.isfinite(image).all():
            raise ValueError(f"Expected a 2-D array of finite numbers; got shape {image.shape}.")
        self._image = image.copy()
        if max(image.shape) <= MAX_GRID and image.shape[0] == image.shape[1]:
            self.size_spin.blockSignals(True)
            self.size_spin.setValue(max(3, image.shape[0]))
            self.size_spin.blockSignals(False)
        self._recompute()

    def input(self) -> np.ndarray:
        return self._image.copy()

    def set_kernel(self, kernel: np.ndarray, preset: str = CUSTOM) -> None:
        """Use ``kernel`` (``(f, f2)``) as the filter; ``preset`` names it in the combo."""
        kernel = np.asarray(kernel, dtype=np.float64)
        if kernel.ndim != 2 or kernel.size == 0 or max(kernel.shape) > 7 or not np.isfinite(kernel).all():
            raise ValueError(f"Expected a small 2-D filter (up to 7x7) of finite numbers; got shape {kernel.shape}.")
        self._kernel = kernel.copy()
        index = self.preset_combo.findText(preset)
        self.preset_combo.setCurrentIndex(index if index >= 0 else 0)
        self.preset_note.setText(PRESET_NOTES.get(preset, self._learned_note(preset)))
        self._recompute()

    def kernel(self) -> np.ndarray:
        return self._kernel.copy()

    def set_padding(self, padding: str | int) -> None:
        """``"valid"``, ``"same"``, or a whole number of zero rows/columns on every side."""
        if isinstance(padding, str) and padding in {"valid", "same"}:
            self._padding = padding
        elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and 0 <= padding <= self.pad_spin.maximum():
            self._padding = int(padding)
        else:
            raise ValueError(f"padding must be 'valid', 'same' or a whole number 0..{self.pad_spin.maximum()}; got {padding!r}.")
        self._updating = True
        self.padding_combo.setCurrentText(padding if isinstance(padding, str) else "custom")
        if not isinstance(padding, str):
            self.pad_spin.setValue(int(padding))
        self._updating = False
        self._recompute()

    def set_stride(self, stride: int) -> None:
        if not 1 <= int(stride) <= self.stride_spin.maximum():
            raise ValueError(f"stride must be 1..{self.stride_spin.maximum()}; got {stride!r}.")
        self._stride = int(stride)
        self._updating = True
        self.stride_spin.setValue(self._stride)
        self._updating = False
        self._recompute()

    def load_preset(self, name: str) -> None:
        """A filter from ``PRESETS`` or the model, or a whole example ("lesson example", "vertical edge demo")."""
        if name in (LESSON, EDGE_DEMO):
            example: Example = LESSON_EXAMPLE if name == LESSON else vertical_edge_demo()
            self.stop()
            self._image = np.array(example.image, dtype=np.float64)
            self._kernel = np.array(example.kernel, dtype=np.float64)
            self._padding, self._stride = example.padding, example.stride
            self._updating = True
            self.padding_combo.setCurrentText(example.padding if isinstance(example.padding, str) else "custom")
            self.stride_spin.setValue(example.stride)
            self.size_spin.setValue(example.image.shape[0])
            self._updating = False
            self.preset_combo.setCurrentIndex(self.preset_combo.findText(name))
            self.preset_note.setText(example.note)
            self._recompute()
            return
        if name in PRESETS:
            self.set_kernel(PRESETS[name], name)
            return
        if name in self._learned:
            self.set_kernel(self._learned[name], name)
            return
        raise ValueError(f"Unknown preset {name!r}; choose one of {self.preset_names()}.")

    def output(self) -> np.ndarray:
        """The full output of the current convolution (``(0, 0)`` if the settings do not fit)."""
        return np.zeros((0, 0)) if self._output is None else self._output.copy()

    def formula_text(self) -> str:
        return self.size_formula.text()

    @Slot()
    def step(self) -> None:
        """Move the window to the next output cell (after the last one, start again)."""
        if self._output is None:
            return
        if self._steps is None:
            self._steps = list(steps(self._image, self._kernel, self._padding, self._stride))
        if not self._steps:
            return
        self._step_index = (self._step_index + 1) % len(self._steps)
        self._show_step()

    def go_to_step(self, index: int) -> None:
        """Jump to output cell number ``index`` (row by row, from 0)."""
        if self._output is None:
            return
        if self._steps is None:
            self._steps = list(steps(self._image, self._kernel, self._padding, self._stride))
        self._step_index = int(np.clip(index, 0, len(self._steps) - 1))
        self._show_step()

    def step_index(self) -> int:
        """The output cell being shown (``-1``: not stepping, the whole output is shown)."""
        return self._step_index

    @Slot()
    def reset(self) -> None:
        """Stop, forget the current step, and show the whole output again."""
        self.stop()
        self._step_index = -1
        self._redraw()

    def stop(self) -> None:
        self._timer.stop()
        if self.play_button.isChecked():
            self.play_button.blockSignals(True)
            self.play_button.setChecked(False)
            self.play_button.setText("Play ▶")
            self.play_button.blockSignals(False)

    @Slot()
    def use_drawing(self) -> None:
        image = self.drawing_provider() if self.drawing_provider is not None else None
        if image is None:
            self._show_problem("Draw a digit in the main window first; then “Use my drawing” loads the 28×28 image the network sees.")
            return
        self.stop()
        self.set_input(image)

    def is_showing_drawing(self) -> bool:
        return max(self._image.shape) > MAX_GRID

    # --- computing and showing ---------------------------------------------------------------

    def _recompute(self) -> None:
        self.stop()
        self.pad_spin.setEnabled(self.padding_combo.currentText() == "custom")
        self._steps = None
        self._step_index = -1
        self.problem_label.setText("")
        try:
            self._output = conv2d_single(self._image, self._kernel, self._padding, self._stride)
            self._error = None
        except ValueError as exc:
            self._output, self._error = None, str(exc)
        self._redraw()

    def _pads(self) -> tuple[int, int, int, int]:
        top, bottom = pad_amounts(self._image.shape[0], self._kernel.shape[0], self._padding, self._stride)
        left, right = pad_amounts(self._image.shape[1], self._kernel.shape[1], self._padding, self._stride)
        return top, bottom, left, right

    def _formula(self) -> str:
        (n, m), (f, f2), s = self._image.shape, self._kernel.shape, self._stride
        top, bottom, left, right = self._pads()

        def one(n_: int, f_: int, before: int, after: int) -> str:
            if before == after:
                return output_size_formula(n_, f_, before, s)
            out = (n_ + before + after - f_) // s + 1
            exact = (n_ + before + after - f_) % s == 0
            fraction = f"({n_} + {before} + {after} − {f_}) / {s}"
            return f"{fraction if exact else '⌊' + fraction + '⌋'} + 1 = {out}"

        rows = one(n, f, top, bottom)
        if (n, f, top, bottom) == (m, f2, left, right):
            text = f"Output size = (n + 2p − f) / s + 1\n= {rows}"
        else:
            text = f"Output rows = {rows}\ncolumns = {one(m, f2, left, right)}"
        out_h, out_w = self._output.shape
        pad_note = ""
        if self._padding == "same":
            pad_note = (f" ('same' adds {top} zero row{'s' if top != 1 else ''} on top" +
                        (f" and {bottom} at the bottom" if bottom != top else " and bottom") + ")")
        return f"{text}  →  a {out_h}×{out_w} output{pad_note}"

    def _redraw(self) -> None:
        top, bottom, left, right = self._pads()
        try:
            padded_image, _ = pad_image(self._image, self._kernel.shape, self._padding, self._stride)
        except ValueError:
            padded_image = np.pad(self._image, ((top, bottom), (left, right)))
        pad_mask = np.ones(padded_image.shape, bool)
        pad_mask[top : top + self._image.shape[0], left : left + self._image.shape[1]] = False
        step = self._steps[self._step_index] if self._steps is not None and self._step_index >= 0 else None
        window = (*step.rows, *step.cols) if step is not None else None
        large = self.is_showing_drawing()

        # input
        if large:
            self.input_stack.setCurrentIndex(1)
            self.input_image.set_map(padded_image, levels=(min(0.0, float(padded_image.min())), max(1.0, float(padded_image.max()))),
                                     edge=(top, top + self._image.shape[0], left, left + self._image.shape[1]))
            self.input_image.set_window(window)
            self.input_image.set_title(f"your drawing, {self._image.shape[0]}×{self._image.shape[1]}"
                                       + (f" + {top} px of zero padding" if top or left or bottom or right else ""))
            self.input_hint.setText("This is the 28×28 image the network sees. Change the grid size to go back to an editable grid.")
        else:
            self.input_stack.setCurrentIndex(0)
            self.input_table.show_values(padded_image, editable=~pad_mask, padded=pad_mask, window=window, labels_from=-top)
            self.input_hint.setText("Click a cell and type a number to change it. Grey cells are the zero padding."
                                    if pad_mask.any() else "Click a cell and type a number to change it.")

        # kernel
        self.kernel_table.show_values(self._kernel, editable=np.ones(self._kernel.shape, bool), tinted=True)

        # output, formula, pooling
        if self._output is None:
            self.size_formula.setText(f"The filter does not fit: {self._error}")
            self.output_table.show_values(np.zeros((0, 0)))
            self.output_image.set_map(None)
            self.max_pool.set_values(None)
            self.avg_pool.set_values(None)
            self.pool_note.setText("")
            self.step_text.setText("")
            return
        self.size_formula.setText(self._formula())
        out = self._output
        hidden = None
        current = None
        if step is not None:
            order = np.arange(out.size).reshape(out.shape)
            hidden = order > self._step_index
            current = (step.out_row, step.out_col)
        if large:
            self.output_stack.setCurrentIndex(1)
            shown = out.copy()
            if hidden is not None:
                shown[hidden] = np.nan
            peak = float(np.abs(out).max()) or 1.0
            self.output_image.set_map(shown, levels=(-peak, peak), cmap=diverging_colormap())
            self.output_image.set_window(None if current is None else (current[0], current[0] + 1, current[1], current[1] + 1))
            self.output_image.set_title(f"output {out.shape[0]}×{out.shape[1]} (red +, blue −)")
        else:
            self.output_stack.setCurrentIndex(0)
            self.output_table.show_values(out, hidden=hidden, current=current, tinted=True)

        if min(out.shape) >= 2:
            pooled_max, pooled_avg = pool2d(out, 2, 2, "max"), pool2d(out, 2, 2, "average")
            if large:
                self.pool_stack.setCurrentIndex(1)
                peak = float(np.abs(out).max()) or 1.0
                for view, pooled, label in ((self.max_pool_image, pooled_max, "max"), (self.avg_pool_image, pooled_avg, "average")):
                    view.set_map(pooled, levels=(-peak, peak), cmap=diverging_colormap())
                    view.set_title(f"{label} 2×2 → {pooled.shape[0]}×{pooled.shape[1]}")
            else:
                self.pool_stack.setCurrentIndex(0)
                self.max_pool.set_values(pooled_max, title=f"max pool 2×2 → {pooled_max.shape[0]}×{pooled_max.shape[1]}")
                self.avg_pool.set_values(pooled_avg, title=f"average pool 2×2 → {pooled_avg.shape[0]}×{pooled_avg.shape[1]}")
            dropped = "" if out.shape[0] % 2 == 0 and out.shape[1] % 2 == 0 else \
                " (an odd last row/column has no 2×2 window and is dropped)"
            self.pool_note.setText("Pooling the output with 2×2 windows, stride 2: max keeps the strongest answer "
                                   f"of each window, average their mean{dropped}.")
        else:
            self.pool_stack.setCurrentIndex(0)
            self.max_pool.set_values(None, title="2×2 max pooling")
            self.avg_pool.set_values(None, title="2×2 average pooling")
            self.pool_note.setText(f"The {out.shape[0]}×{out.shape[1]} output is too small for 2×2 pooling.")

        if step is None:
            self.step_window.set_values(None)
            self.step_kernel.set_values(self._kernel, title="filter")
            self.step_products.set_values(None)
            self.step_text.setText("Press Step to put the filter on the first window: each output cell is the sum of "
                                   "the window's numbers multiplied by the filter's, position by position.")

    def _show_step(self) -> None:
        self._redraw()
        step = self._steps[self._step_index]
        top, _, left, _ = self._pads()
        self.step_window.set_values(step.window, title="window")
        self.step_kernel.set_values(self._kernel, title="filter")
        self.step_products.set_values(step.products, title="products")
        terms = " + ".join(f"{num_term(a)}·{num_term(w)}" for a, w in zip(step.window.ravel(), self._kernel.ravel()))
        r0, r1 = step.rows[0] - top, step.rows[1] - top - 1
        c0, c1 = step.cols[0] - left, step.cols[1] - left - 1
        where = f"image rows {num(r0)}…{num(r1)}, columns {num(c0)}…{num(c1)}"
        n_steps = len(self._steps)
        self.step_text.setText(
            f"Output cell (row {step.out_row}, col {step.out_col}) — step {self._step_index + 1} of {n_steps}, window over {where}:\n"
            f"{terms} = {num(step.total)}")

    # --- slots -------------------------------------------------------------------------------

    def _on_tick(self) -> None:
        if self._steps is not None and self._step_index >= len(self._steps) - 1:
            self.stop()
            return
        self.step()

    @Slot(bool)
    def _on_play_toggled(self, playing: bool) -> None:
        if playing:
            if self._output is None:
                self.stop()
                return
            if self._steps is not None and self._step_index >= len(self._steps) - 1:
                self._step_index = -1
            self.play_button.setText("Pause ❚❚")
            self._timer.start()
            self._on_tick()
        else:
            self._timer.stop()
            self.play_button.setText("Play ▶")

    @Slot(int)
    def _on_size_changed(self, n: int) -> None:
        if self._updating:
            return
        image = np.zeros((n, n))
        if not self.is_showing_drawing():
            k = min(n, self._image.shape[0]), min(n, self._image.shape[1])
            image[: k[0], : k[1]] = self._image[: k[0], : k[1]]
        self.set_input(image)

    @Slot(int, int, float)
    def _on_input_edited(self, r: int, c: int, value: float) -> None:
        top, _, left, _ = self._pads()
        i, j = r - top, c - left
        if 0 <= i < self._image.shape[0] and 0 <= j < self._image.shape[1]:
            self._image[i, j] = value
            QTimer.singleShot(0, self._recompute)  # not inside the table's own itemChanged

    @Slot(int, int, float)
    def _on_kernel_edited(self, r: int, c: int, value: float) -> None:
        self._kernel[r, c] = value
        self.preset_combo.setCurrentIndex(0)
        self.preset_note.setText("Your own filter.")
        QTimer.singleShot(0, self._recompute)

    @Slot(int)
    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        if name and name != CUSTOM:
            self.load_preset(name)

    @Slot()
    def _on_padding_changed(self, *_) -> None:
        if self._updating:
            return
        mode = self.padding_combo.currentText()
        self.pad_spin.setEnabled(mode == "custom")
        self._padding = self.pad_spin.value() if mode == "custom" else mode
        self._recompute()

    @Slot(int)
    def _on_stride_changed(self, stride: int) -> None:
        if self._updating:
            return
        self._stride = stride
        self._recompute()

    def _show_problem(self, text: str) -> None:
        self.problem_label.setText(text)

    def _learned_note(self, name: str) -> str:
        if name in self._learned:
            return (f"{name}: a 3×3 filter the network learned from MNIST digits. Try it on your drawing to see "
                    f"what it responds to.")
        return "Your own filter."

    def closeEvent(self, event):
        self.stop()
        super().closeEvent(event)
