"""The convolution playground window: one small image, one filter, every multiply-sum shown.

Edit a small grid (5x5 like the lesson's example) or load the 28x28 drawing the network sees,
choose or edit a filter (the classic presets, the lesson's example, or the model's own first-layer
kernels), set the padding and the stride, and step through (or animate) the sliding window. The
state, the maths and every sentence come from ``model.playground.Playground``; this window only
draws them and passes the student's edits on.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from model.data.preprocess import INPUT_SIZE
from model.teaching.playground import CUSTOM, EDGE_DEMO, LESSON, MAX_GRID, PRESETS, Padding, Playground

from .widgets import (
    GridTable,
    HighlightedMap,
    Operator,
    ValueGrid,
    centred,
    diverging_colormap,
    fit_to_screen,
    grey_label,
    text_label,
)

SPEEDS = {"slow": 900, "normal": 450, "fast": 120, "very fast": 25}  # ms per step
MAX_PADDING = 5
MAX_STRIDE = 3


class PlaygroundWindow(QWidget):
    """Slide a filter over a small image, one multiply-sum at a time.

    "Use my drawing" emits ``drawing_requested``; whoever owns the window answers with
    ``set_input(drawing)`` or ``show_problem(text)``. ``state`` is the ``Playground`` being shown.
    Tests drive it through its controls or ``set_input``, ``set_kernel``, ``set_padding``,
    ``set_stride``, ``load_preset``, ``step``, and read ``output``, ``step_text`` and the grids.
    """

    drawing_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("playground")
        self.setWindowTitle("Convolution playground")
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.state = Playground()
        self._timer = QTimer(self)
        self._timer.setInterval(SPEEDS["normal"])
        self._timer.timeout.connect(self._on_tick)
        self._build()
        self._fill_presets()
        self._redraw()
        fit_to_screen(self, 1200, 800)

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        # 1. input
        input_box = QGroupBox("1 · Input image")
        input_layout = QVBoxLayout(input_box)
        row = QHBoxLayout()
        self.size_label = QLabel("Grid size")
        row.addWidget(self.size_label)
        self.size_spin = QSpinBox(objectName="grid_size")
        self.size_spin.setRange(3, MAX_GRID)
        self.size_spin.setValue(5)
        self.size_spin.setToolTip("Rows and columns of the editable grid")
        self.size_spin.valueChanged.connect(self._on_size_changed)
        row.addWidget(self.size_spin)
        row.addStretch(1)
        input_layout.addLayout(row)
        row = QHBoxLayout()  # the buttons on a line of their own, so the column stays narrow
        self.grid_button = QPushButton("Back to a grid", objectName="back_to_grid")
        self.grid_button.setToolTip("Replace the drawing by an editable grid of zeros")
        self.grid_button.clicked.connect(lambda: self._apply(self.state.resize_grid, self.size_spin.value()))
        row.addWidget(self.grid_button)
        self.drawing_button = QPushButton("Use my drawing", objectName="use_drawing")
        self.drawing_button.setToolTip(f"Load the {INPUT_SIZE}×{INPUT_SIZE} image the network sees for your current drawing")
        self.drawing_button.clicked.connect(self._on_drawing_clicked)
        row.addWidget(self.drawing_button)
        self.zeros_button = QPushButton("Zeros")
        self.zeros_button.setToolTip("Set every cell of the grid to 0")
        self.zeros_button.clicked.connect(lambda: self.set_input(np.zeros(self.state.image.shape)))
        row.addWidget(self.zeros_button)
        row.addStretch(1)
        input_layout.addLayout(row)
        self.input_stack = QStackedWidget()
        self.input_table = GridTable(44)
        self.input_table.setObjectName("input_grid")
        self.input_table.value_edited.connect(self._on_input_edited)
        self.input_table.edit_rejected.connect(self.show_problem)
        self.input_image = HighlightedMap(f"your drawing ({INPUT_SIZE}×{INPUT_SIZE})")
        self.input_stack.addWidget(centred(self.input_table))
        self.input_stack.addWidget(self.input_image)
        input_layout.addWidget(self.input_stack, 1)
        self.input_hint = grey_label()
        input_layout.addWidget(self.input_hint)

        # 2. filter and settings
        filter_box = QGroupBox("2 · Filter (kernel) and settings")
        filter_layout = QVBoxLayout(filter_box)
        preset_row = QHBoxLayout()
        preset_row.addWidget(QLabel("Preset"))
        self.preset_combo = QComboBox(objectName="preset")
        self.preset_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_combo.setMinimumContentsLength(14)
        self.preset_combo.activated.connect(self._on_preset_chosen)
        preset_row.addWidget(self.preset_combo, 1)
        filter_layout.addLayout(preset_row)
        self.kernel_table = GridTable(52)
        self.kernel_table.setObjectName("kernel_grid")
        self.kernel_table.value_edited.connect(lambda r, c, v: self._apply(self.state.edit_kernel, r, c, v, later=True))
        self.kernel_table.edit_rejected.connect(self.show_problem)
        filter_layout.addWidget(centred(self.kernel_table))
        self.preset_note = text_label("preset_note")
        filter_layout.addWidget(self.preset_note)
        pad_row = QHBoxLayout()
        pad_row.addWidget(QLabel("Padding"))
        self.padding_combo = QComboBox(objectName="padding")
        self.padding_combo.addItems(["valid", "same", "custom"])
        self.padding_combo.currentTextChanged.connect(self._on_padding_changed)
        pad_row.addWidget(self.padding_combo)
        self.pad_spin = QSpinBox(objectName="pad_amount")
        self.pad_spin.setRange(0, MAX_PADDING)
        self.pad_spin.setPrefix("p = ")
        self.pad_spin.setToolTip("Rows and columns of zeros added on every side")
        self.pad_spin.valueChanged.connect(self._on_padding_changed)
        pad_row.addWidget(self.pad_spin)
        self.pad_value = QLabel(objectName="pad_value")  # the padding "valid"/"same" actually add
        pad_row.addWidget(self.pad_value)
        pad_row.addStretch(1)
        filter_layout.addLayout(pad_row)
        pad_row = QHBoxLayout()
        pad_row.addWidget(QLabel("Stride"))
        self.stride_spin = QSpinBox(objectName="stride")
        self.stride_spin.setRange(1, MAX_STRIDE)
        self.stride_spin.setPrefix("s = ")
        self.stride_spin.setToolTip("How many cells the filter moves between two outputs")
        self.stride_spin.valueChanged.connect(lambda s: self._apply(self.state.set_stride, s))
        pad_row.addWidget(self.stride_spin)
        pad_row.addStretch(1)
        filter_layout.addLayout(pad_row)
        filter_layout.addStretch(1)

        # 3. output
        output_box = QGroupBox("3 · Output (feature map)")
        output_layout = QVBoxLayout(output_box)
        self.size_formula = text_label("size_formula", selectable=True, points=1)
        output_layout.addWidget(self.size_formula)
        self.output_stack = QStackedWidget()
        self.output_table = GridTable(46)
        self.output_table.setObjectName("output_grid")
        self.output_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.output_image = HighlightedMap("output")
        self.output_stack.addWidget(centred(self.output_table))
        self.output_stack.addWidget(self.output_image)
        output_layout.addWidget(self.output_stack, 3)
        self.max_pool, self.avg_pool = ValueGrid("2×2 max pooling"), ValueGrid("2×2 average pooling")
        self.max_pool_image, self.avg_pool_image = HighlightedMap("2×2 max pooling"), HighlightedMap("2×2 average pooling")
        self.pool_stack = QStackedWidget()
        for pair in ((self.max_pool, self.avg_pool), (self.max_pool_image, self.avg_pool_image)):
            page = QWidget()
            page_layout = QHBoxLayout(page)
            page_layout.setContentsMargins(0, 0, 0, 0)
            for w in pair:
                page_layout.addWidget(w)
            self.pool_stack.addWidget(page)
        self.pool_stack.setMinimumHeight(120)
        self.pool_stack.setMaximumHeight(150)
        output_layout.addWidget(self.pool_stack)
        self.pool_note = grey_label("pool_note")
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
        for w in (self.step_button, self.play_button, self.reset_button, self.speed_combo):
            buttons.addWidget(w)
        buttons.addStretch(1)
        step_layout.addLayout(buttons)
        self.step_window, self.step_kernel, self.step_products = ValueGrid("window"), ValueGrid("filter"), ValueGrid("products")
        grids = QHBoxLayout()
        for w in (self.step_window, Operator("×"), self.step_kernel, Operator("="), self.step_products):
            grids.addWidget(w)
        step_layout.addLayout(grids, 2)
        self.step_text = text_label("step_text", selectable=True, points=1)
        self.step_text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        step_layout.addWidget(self.step_text, 3)

        self.problem_label = text_label("playground_problem", style="color: #b00020;")

        # Everything scrolls inside the window, so it fits any screen (1024x768 included).
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(columns, 1)
        layout.addWidget(step_box)
        layout.addWidget(self.problem_label)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _fill_presets(self) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for group in ([CUSTOM], [LESSON, EDGE_DEMO], list(PRESETS), list(self.state.learned)):
            if group and self.preset_combo.count():
                self.preset_combo.insertSeparator(self.preset_combo.count())
            self.preset_combo.addItems(group)
        self.preset_combo.blockSignals(False)

    # --- public API --------------------------------------------------------------------------

    def preset_names(self) -> list[str]:
        """Every name ``load_preset`` accepts, in the list's order."""
        return self.state.preset_names()

    def set_learned_kernels(self, kernels: dict[str, np.ndarray]) -> None:
        """Add the model's filters as presets, e.g. ``{"conv1 filter 0": (3, 3) array}``; ``{}`` removes them."""
        self.state.set_learned(kernels)
        self._fill_presets()
        self._redraw()

    def set_input(self, image: np.ndarray) -> None:
        """Use ``image`` (``(n, m)``, any finite numbers) as the input; up to 12x12 it is an editable grid."""
        self._apply(self.state.set_input, image)

    def input(self) -> np.ndarray:
        return self.state.image.copy()

    def set_kernel(self, kernel: np.ndarray, preset: str = CUSTOM) -> None:
        """Use ``kernel`` (``(f, f2)``) as the filter; ``preset`` names it."""
        self._apply(self.state.set_kernel, kernel, preset)

    def kernel(self) -> np.ndarray:
        return self.state.kernel.copy()

    def set_padding(self, padding: Padding) -> None:
        """``"valid"``, ``"same"``, or a whole number of zero rows/columns on every side (up to 5)."""
        if not isinstance(padding, str) and not (isinstance(padding, (int, np.integer)) and 0 <= padding <= MAX_PADDING):
            raise ValueError(f"padding must be 'valid', 'same' or a whole number 0..{MAX_PADDING}; got {padding!r}.")
        self._apply(self.state.set_padding, padding)

    def set_stride(self, stride: int) -> None:
        if not 1 <= int(stride) <= MAX_STRIDE:
            raise ValueError(f"stride must be 1..{MAX_STRIDE}; got {stride!r}.")
        self._apply(self.state.set_stride, stride)

    def load_preset(self, name: str) -> None:
        """A filter from ``PRESETS`` or the model, or a whole example ("lesson example", "vertical edge demo")."""
        self._apply(self.state.load, name)

    def output(self) -> np.ndarray:
        """The full output of the current convolution (``(0, 0)`` if the settings do not fit)."""
        return np.zeros((0, 0)) if self.state.output is None else self.state.output.copy()

    @Slot()
    def step(self) -> None:
        """Move the window to the next output cell (after the last one, start again)."""
        if self.state.step() is not None:
            self._redraw()

    def go_to_step(self, index: int) -> None:
        """Jump to output cell number ``index`` (row by row, from 0)."""
        if self.state.go_to_step(index) is not None:
            self._redraw()

    @Slot()
    def reset(self) -> None:
        """Stop, forget the current step, and show the whole output again."""
        self.stop()
        self.state.reset()
        self._redraw()

    def stop(self) -> None:
        self._timer.stop()
        if self.play_button.isChecked():
            self.play_button.blockSignals(True)
            self.play_button.setChecked(False)
            self.play_button.setText("Play ▶")
            self.play_button.blockSignals(False)

    def is_showing_drawing(self) -> bool:
        return self.state.is_large()

    @Slot(str)
    def show_problem(self, text: str) -> None:
        self.problem_label.setText(text)

    # --- drawing the state -------------------------------------------------------------------

    def _apply(self, change, *args, later: bool = False) -> None:
        """Stop the animation, apply ``change(*args)`` to the state, redraw (after the current event if ``later``)."""
        self.stop()
        self.problem_label.setText("")
        change(*args)
        if later:  # not inside the table's own itemChanged
            QTimer.singleShot(0, self._redraw)
        else:
            self._redraw()

    def _sync_controls(self) -> None:
        s = self.state
        for w in (self.preset_combo, self.padding_combo, self.pad_spin, self.stride_spin, self.size_spin):
            w.blockSignals(True)
        self.preset_combo.setCurrentIndex(max(self.preset_combo.findText(s.preset_label()), 0))
        custom = not isinstance(s.padding, str)
        self.padding_combo.setCurrentText("custom" if custom else s.padding)
        if custom:
            self.pad_spin.setValue(s.padding)
        self.pad_spin.setVisible(custom)
        self.pad_value.setVisible(not custom)
        self.pad_value.setText(s.padding_text() if s.output is not None or s.padding == "valid" else "")
        self.padding_combo.setToolTip(s.padding_help())
        self.stride_spin.setValue(s.stride)
        large = s.is_large()
        if not large:
            self.size_spin.setValue(s.image.shape[0])
        self.size_label.setText(f"Your drawing, {s.image.shape[0]}×{s.image.shape[1]}" if large else "Grid size")
        self.size_spin.setVisible(not large)
        self.zeros_button.setVisible(not large)
        self.grid_button.setVisible(large)
        for w in (self.preset_combo, self.padding_combo, self.pad_spin, self.stride_spin, self.size_spin):
            w.blockSignals(False)
        self.preset_note.setText(s.note())

    def _redraw(self) -> None:
        s = self.state
        self._sync_controls()
        padded_image, pad_mask = s.padded()
        top, bottom, left, right = s.pads()
        step = s.current_step()
        window = (*step.rows, *step.cols) if step is not None else None
        large = s.is_large()

        if large:
            self.input_stack.setCurrentIndex(1)
            levels = (min(0.0, float(padded_image.min())), max(1.0, float(padded_image.max())))
            self.input_image.set_map(
                padded_image, levels=levels, edge=(top, top + s.image.shape[0], left, left + s.image.shape[1])
            )
            self.input_image.set_window(window)
            self.input_image.set_title(
                f"your drawing, {s.image.shape[0]}×{s.image.shape[1]}" + (" + zero padding" if pad_mask.any() else "")
            )
            self.input_hint.setText(
                f"This is the {INPUT_SIZE}×{INPUT_SIZE} image the network sees. “Back to a grid” gives an editable grid again."
            )
        else:
            self.input_stack.setCurrentIndex(0)
            self.input_table.show_values(padded_image, editable=~pad_mask, padded=pad_mask, window=window, labels_from=-top)
            self.input_hint.setText(
                "Click a cell and type a number to change it." + (" Grey cells are the zero padding." if pad_mask.any() else "")
            )
        self.kernel_table.show_values(s.kernel, editable=np.ones(s.kernel.shape, bool), tinted=True)
        self.size_formula.setText(s.formula())
        self.step_text.setText(s.step_text() if s.output is not None else "")
        self.step_kernel.set_values(s.kernel, title="filter")
        # Whole numbers as they are, fractions with the 4 decimals the written sum uses.
        decimals = None if step is None or np.all(step.products == np.round(step.products)) else 4
        self.step_window.set_values(None if step is None else step.window, decimals=decimals, title="window")
        self.step_products.set_values(None if step is None else step.products, decimals=decimals, title="products")
        self.pool_note.setText(s.pool_note())
        if s.output is None:
            self.output_table.show_values(np.zeros((0, 0)))
            self.output_image.set_map(None)
            self.max_pool.set_values(None)
            self.avg_pool.set_values(None)
            return
        out = s.output
        hidden = current = None
        if step is not None:
            hidden = np.arange(out.size).reshape(out.shape) > s.step_index
            current = (step.out_row, step.out_col)
        peak = float(np.abs(out).max()) or 1.0
        if large:
            self.output_stack.setCurrentIndex(1)
            shown = out.copy()
            if hidden is not None:
                shown[hidden] = np.nan
            self.output_image.set_map(shown, levels=(-peak, peak), cmap=diverging_colormap())
            self.output_image.set_window(None if current is None else (current[0], current[0] + 1, current[1], current[1] + 1))
            self.output_image.set_title(f"output {out.shape[0]}×{out.shape[1]} (red +, blue −)")
        else:
            self.output_stack.setCurrentIndex(0)
            self.output_table.show_values(out, hidden=hidden, current=current, tinted=True)
        pooled = s.pooled()
        self.pool_stack.setCurrentIndex(1 if large and pooled is not None else 0)
        if pooled is None:
            self.max_pool.set_values(None, title="2×2 max pooling")
            self.avg_pool.set_values(None, title="2×2 average pooling")
        elif large:
            for view, values, label in ((self.max_pool_image, pooled[0], "max"), (self.avg_pool_image, pooled[1], "average")):
                view.set_map(values, levels=(-peak, peak), cmap=diverging_colormap())
                view.set_title(f"{label} 2×2 → {values.shape[0]}×{values.shape[1]}")
        else:
            for grid, values, label in ((self.max_pool, pooled[0], "max"), (self.avg_pool, pooled[1], "average")):
                grid.set_values(values, title=f"{label} pool 2×2 → {values.shape[0]}×{values.shape[1]}")

    # --- slots -------------------------------------------------------------------------------

    def _on_tick(self) -> None:
        if self.state.at_last_step():
            self.stop()
            return
        self.step()

    @Slot(bool)
    def _on_play_toggled(self, playing: bool) -> None:
        if not playing:
            self._timer.stop()
            self.play_button.setText("Play ▶")
            return
        if self.state.output is None:
            self.stop()
            return
        if self.state.at_last_step():
            self.state.reset()
        self.play_button.setText("Pause ❚❚")
        self._timer.start()
        self._on_tick()

    @Slot()
    def _on_drawing_clicked(self) -> None:
        self.stop()
        self.drawing_requested.emit()

    @Slot(int)
    def _on_size_changed(self, n: int) -> None:
        self._apply(self.state.resize_grid, n)

    @Slot(int, int, float)
    def _on_input_edited(self, r: int, c: int, value: float) -> None:
        top, _, left, _ = self.state.pads()
        i, j = r - top, c - left
        if 0 <= i < self.state.image.shape[0] and 0 <= j < self.state.image.shape[1]:
            self._apply(self.state.edit_input, i, j, value, later=True)

    @Slot(int)
    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemText(index)
        if name and name != CUSTOM:
            self.load_preset(name)

    @Slot()
    def _on_padding_changed(self, *_) -> None:
        mode = self.padding_combo.currentText()
        self._apply(self.state.set_padding, self.pad_spin.value() if mode == "custom" else mode)

    def closeEvent(self, event):
        self.stop()
        super().closeEvent(event)
