"""Learn ▸ Build and train a network: write the layers, watch every shape follow, train on MNIST, use the result.

The layer list is one line of the grammar of :mod:`model.training.spec` (the same as ``main.py train
--layers``); the table under it shows each layer's output shape and parameters with the lesson's
arithmetic, or names the impossible item. Training runs in a :class:`TrainingThread` that owns its
own Keras model (never the app's inference worker): loss and accuracy curves, the first
convolution's filters and a strip of test digits with their current answers come every ~0.5 s.
A finished run is saved with its card in the user's models folder; "Use it" asks the main window
to open it like File ▸ Open model.

Beside it: ``trainer_thread.py`` (the training thread), ``trainer_views.py`` (the digit strip,
the filter mosaic) and ``trainer_compare.py`` (the Compare dialog); their names still import from here.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.training.live import Progress, TrainSettings
from model.training.spec import PRESETS, USAGE, SpecError, plan, total_params

from .trainer_compare import CompareDialog
from .trainer_thread import STRIP, TrainingThread
from .trainer_views import DIGIT_PX, DigitStrip, filter_mosaic  # noqa: F401 (re-exported)
from .widgets import diverging_colormap, fit_to_screen

COLUMNS = ("Layer", "Output shape", "How (n + 2p − f)/s + 1", "Parameters", "How")


class TrainerWindow(QWidget):
    """Build a network from one line of layers, train it on MNIST live, and hand it to the main window.

    ``use_requested(path)``: the user wants the trained model (a saved ``.keras``) as the live model.
    """

    use_requested = Signal(str)

    def __init__(self, parent=None, data_dir=None, models_folder: Path | None = None, limit: int | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("trainer_window")
        self.setWindowTitle("Build and train a network")
        self.data_dir, self.limit = data_dir, limit
        self.models_folder = models_folder
        self.thread: TrainingThread | None = None
        self.saved: Path | None = None
        self.curves: dict[str, list] = {k: [] for k in ("t", "loss", "acc", "vt", "vloss", "vacc")}
        self.started = 0.0
        # Set by the main window: True once its worker has imported TensorFlow (two threads importing it
        # at once leave half-initialised modules behind, and the app's model fails to load).
        self.tf_ready = None
        # Set by the main window: True while someone draws (its worker's answering()); training gives way.
        self.give_way = None
        self.drawing: np.ndarray | None = None

        root = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Preset"))
        self.presets = QComboBox(objectName="trainer_presets")
        self.presets.addItems(["(your own)", *PRESETS])
        self.presets.activated.connect(self._preset_chosen)
        row.addWidget(self.presets)
        row.addWidget(QLabel("Layers"))
        self.spec_edit = QLineEdit(objectName="trainer_spec")
        self.spec_edit.setPlaceholderText(USAGE)
        self.spec_edit.setToolTip(f"Comma-separated layers: {USAGE}. A dense softmax over the 10 digits is added.")
        self.spec_edit.textChanged.connect(self._spec_changed)
        row.addWidget(self.spec_edit, 1)
        root.addLayout(row)

        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS), objectName="trainer_layers")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lv.addWidget(self.table, 1)
        self.total = QLabel(objectName="trainer_total")
        lv.addWidget(self.total)
        self.message = QLabel(objectName="trainer_message", wordWrap=True)
        self.message.setStyleSheet("color: #c0392b;")
        lv.addWidget(self.message)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Seconds"))
        self.seconds = QDoubleSpinBox(objectName="trainer_seconds", decimals=0, minimum=1, maximum=3600, value=60)
        self.seconds.setToolTip("Training stops after this many seconds and keeps the best network by validation")
        controls.addWidget(self.seconds)
        self.train_button = QPushButton("Train on MNIST", objectName="trainer_train")
        self.pause_button = QPushButton("Pause", objectName="trainer_pause")
        self.stop_button = QPushButton("Stop (keep best)", objectName="trainer_stop")
        self.cancel_button = QPushButton("Cancel", objectName="trainer_cancel")
        for b, slot in (
            (self.train_button, self.start_training),
            (self.pause_button, self._toggle_pause),
            (self.stop_button, self.stop_training),
            (self.cancel_button, self.cancel_training),
        ):
            b.clicked.connect(slot)
            controls.addWidget(b)
        lv.addLayout(controls)
        after = QHBoxLayout()
        self.use_button = QPushButton("Use it", objectName="trainer_use")
        self.use_button.setToolTip("Make the trained network the live model (drawing, feature maps, explanations)")
        self.use_button.clicked.connect(self.use_it)
        self.compare_button = QPushButton("Compare…", objectName="trainer_compare_button")
        self.compare_button.clicked.connect(self.open_compare)
        close = QPushButton("Close", objectName="trainer_close")
        close.clicked.connect(self.close)
        for b in (self.use_button, self.compare_button):
            after.addWidget(b)
        after.addStretch(1)
        after.addWidget(close)
        lv.addLayout(after)
        self.status = QLabel("Choose a preset or write layers, then Train.", objectName="trainer_status", wordWrap=True)
        lv.addWidget(self.status)
        split.addWidget(left)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        plots = pg.GraphicsLayoutWidget()
        plots.setBackground("w")
        self.loss_plot = plots.addPlot(title="loss")
        self.acc_plot = plots.addPlot(title="accuracy (%)")
        self.loss_plot.addLegend(offset=(-5, 5))
        self.acc_plot.addLegend(offset=(-5, -5))
        for p in (self.loss_plot, self.acc_plot):
            p.setLabel("bottom", "seconds")
            p.showGrid(x=True, y=True, alpha=0.3)
            p.setMouseEnabled(False, False)
            p.hideButtons()
        # Fixed ranges: axes that do not move are painted from their cache, which keeps each refresh
        # of the curves cheap on the GUI thread while training takes the CPU.
        self.loss_plot.setYRange(0, 2.5, padding=0)
        self.acc_plot.setYRange(0, 100, padding=0)
        self.loss_train = self.loss_plot.plot(pen=pg.mkPen("#2c6fbb", width=2), name="training")
        self.loss_val = self.loss_plot.plot(pen=pg.mkPen("#e67e22", width=2), symbol="o", symbolSize=5, name="validation")
        self.acc_train = self.acc_plot.plot(pen=pg.mkPen("#2c6fbb", width=2), name="training")
        self.acc_val = self.acc_plot.plot(pen=pg.mkPen("#e67e22", width=2), symbol="o", symbolSize=5, name="validation")
        rv.addWidget(plots, 3)
        self.filters_caption = QLabel(
            "The first convolution's filters (blue negative, red positive) will appear here, "
            "and below them its maps of your drawing."
        )
        self.filters_caption.setWordWrap(True)
        rv.addWidget(self.filters_caption)
        self.filters_view = pg.GraphicsLayoutWidget()
        self.filters_view.setBackground("#16161a")
        box = self.filters_view.addViewBox(lockAspect=True, invertY=True)
        box.setMouseEnabled(False, False)
        self.filters_image = pg.ImageItem(axisOrder="row-major")
        self.filters_image.setColorMap(diverging_colormap())
        box.addItem(self.filters_image)
        box = self.filters_view.addViewBox(row=1, col=0, lockAspect=True, invertY=True)
        box.setMouseEnabled(False, False)
        self.maps_image = pg.ImageItem(axisOrder="row-major")
        self.maps_image.setColorMap(pg.colormap.get("inferno"))
        box.addItem(self.maps_image)
        rv.addWidget(self.filters_view, 2)
        rv.addWidget(QLabel("Test digits and the network's answers now (✗ misread):"))
        self.strip = DigitStrip()
        rv.addWidget(self.strip)
        self.time_left = QLabel(objectName="trainer_time_left")
        self.time_left.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # no relayout per update
        rv.addWidget(self.time_left)
        split.addWidget(right)
        split.setSizes([700, 520])
        root.addWidget(split, 1)

        for keys in (QKeySequence(Qt.Key.Key_Escape), QKeySequence.StandardKey.Close):
            # Only with the focus in this window: Esc on the main window's canvas clears the drawing.
            QShortcut(keys, self, self.close, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.compare: CompareDialog | None = None
        self.presets.setCurrentIndex(2)
        self._preset_chosen(2)
        self._set_running(False)

    # --- the layer list ----------------------------------------------------------------------

    @Slot(int)
    def _preset_chosen(self, index: int) -> None:
        if index > 0:
            self.spec_edit.setText(PRESETS[self.presets.itemText(index)])

    @Slot(str)
    def _spec_changed(self, text: str) -> None:
        if self.presets.currentIndex() > 0 and PRESETS[self.presets.currentText()] != text:
            self.presets.setCurrentIndex(0)
        try:
            rows = plan(text)
        except SpecError as exc:
            self.message.setText(str(exc))
            self.total.setText("")
            self.train_button.setEnabled(False)
            self.table.setRowCount(0)
            return
        self.message.setText("")
        self.table.setRowCount(len(rows) + 1)
        cells = [("input", "28×28×1", "", "0", "")]
        for r in rows:
            what = r.text if r.text != "(added)" else f"{r.kind} (added)"
            cells.append((what, "×".join(map(str, r.shape)), r.shape_math, f"{r.params:,}", r.params_math))
        for i, row in enumerate(cells):
            for j, value in enumerate(row):
                item = QTableWidgetItem(value)
                if j == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.total.setText(f"Total: {total_params(rows):,} parameters (the lesson's MLP has 101,770)")
        self.train_button.setEnabled(self.thread is None)

    # --- training ----------------------------------------------------------------------------

    def _set_running(self, running: bool) -> None:
        self.train_button.setEnabled(not running and not self.message.text())
        self.spec_edit.setReadOnly(running)
        self.presets.setEnabled(not running)
        for b in (self.pause_button, self.stop_button, self.cancel_button):
            b.setEnabled(running)
        self.use_button.setEnabled(not running and self.saved is not None)

    @Slot()
    def start_training(self, epochs: int | None = None) -> None:
        spec = self.spec_edit.text()
        try:
            plan(spec)
        except SpecError as exc:
            self.message.setText(str(exc))
            return
        if self.thread is not None:
            return
        if self.tf_ready is not None and not self.tf_ready():
            self.status.setText("Waiting for the app to finish loading TensorFlow…")
            self.train_button.setEnabled(False)
            QTimer.singleShot(250, lambda: self.start_training(epochs))
            return
        from model.data.paths import models_dir

        folder = self.models_folder or models_dir()
        out = folder / f"digit_net-{time.strftime('%Y%m%d-%H%M%S')}.keras"
        settings = TrainSettings(seconds=float(self.seconds.value()), epochs=epochs, quick_val_every=3.0)
        self.curves = {k: [] for k in self.curves}
        self.saved = None
        self.thread = TrainingThread(spec, settings, out, self.data_dir, self.limit, self)
        self.thread.probe = self.drawing
        self.thread.control.give_way = self.give_way
        self.thread.progressed.connect(self._on_progress)
        self.thread.digits_ready.connect(self.strip.set_digits)
        self.thread.done.connect(self._on_done)
        self.thread.finished.connect(self._on_thread_finished)
        for p in (self.loss_plot, self.acc_plot):
            p.setXRange(0, settings.seconds, padding=0.02)
        self.pause_button.setText("Pause")
        self._set_running(True)
        self.status.setText("Loading MNIST and building the network…")
        self.started = time.perf_counter()
        self.thread.start()

    def set_drawing(self, image: np.ndarray | None) -> None:
        """The user's drawing ``(28, 28)`` in [0, 1]: the first convolution's maps of it are shown as it learns."""
        ok = image is not None and np.size(image) == 28 * 28
        self.drawing = np.asarray(image, np.float32).reshape(28, 28) if ok else None
        if self.thread is not None:
            self.thread.probe = self.drawing

    @Slot()
    def _toggle_pause(self) -> None:
        if self.thread is None:
            return
        paused = self.thread.control.paused
        if paused.is_set():
            paused.clear()
            self.pause_button.setText("Pause")
            self.status.setText("Training…")
        else:
            paused.set()
            self.pause_button.setText("Resume")
            self.status.setText("Paused (the clock is stopped too).")

    @Slot()
    def stop_training(self) -> None:
        if self.thread is not None:
            self.thread.control.stopped.set()
            self.status.setText("Stopping after this batch; the best network so far is kept…")

    @Slot()
    def cancel_training(self) -> None:
        if self.thread is not None:
            self.thread.control.cancelled.set()
            self.status.setText("Cancelling; nothing will be saved…")

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        c = self.curves
        c["t"].append(p.seconds)
        c["loss"].append(p.loss)
        c["acc"].append(p.accuracy * 100)
        if p.val_accuracy is not None:
            c["vt"].append(p.seconds)
            c["vloss"].append(p.val_loss)
            c["vacc"].append(p.val_accuracy * 100)
        self.loss_train.setData(c["t"], c["loss"])
        self.acc_train.setData(c["t"], c["acc"])
        self.loss_val.setData(c["vt"], c["vloss"])
        self.acc_val.setData(c["vt"], c["vacc"])
        if p.filters is not None:
            mosaic = filter_mosaic(p.filters)
            peak = float(np.abs(mosaic).max()) or 1.0
            self.filters_image.setImage(mosaic, levels=(-peak, peak))
            k, _, cin, cout = p.filters.shape
            caption = (
                f"conv1's {cout} filters, {k}×{k}"
                + (f" (mean over {cin} input channels)" if cin > 1 else "")
                + ": blue negative, red positive"
                + ("; below, what they make of your drawing" if p.maps is not None else " (draw a digit to see its maps too)")
            )
            if self.filters_caption.text() != caption:
                self.filters_caption.setText(caption)
        if p.maps is not None:
            mosaic = filter_mosaic(p.maps[:, :, None, :])
            self.maps_image.setImage(mosaic, levels=(0.0, float(mosaic.max()) or 1.0))
        wrong = self.strip.set_answers(p.answers) if p.answers is not None else None
        left = (p.budget - p.seconds) if p.budget else None
        val = f", validation {c['vacc'][-1]:.1f}%" if c["vacc"] else ""
        self.time_left.setText(
            f"{p.seconds:.0f} s trained, epoch {p.epoch:.2f}"
            + (f", {max(0.0, left):.0f} s left" if left is not None else f", {p.fraction:.0%} done")
            + f"; training accuracy {p.accuracy * 100:.1f}%{val}"
            + (f"; {wrong} of {STRIP} test digits misread" if wrong is not None else "")
        )
        if not self.thread or not self.thread.control.paused.is_set():
            self.status.setText("Training… (Pause, Stop to keep the best so far, Cancel to keep nothing)")

    @Slot(object, object)
    def _on_done(self, path, outcome) -> None:
        if isinstance(outcome, Exception):
            self.status.setText(f"Training failed: {outcome}")
        elif path is None:
            self.status.setText("Cancelled; nothing was saved.")
        else:
            self.saved = Path(path)
            from model.nets.card import read_card

            card = read_card(self.saved).raw
            test = card.get("evaluation", {}).get("mnist_test", {}).get("accuracy")
            self.status.setText(
                f"Saved {self.saved.name}: {outcome.epochs:.2f} epochs in {outcome.seconds:.0f} s "
                f"(stopped by {outcome.stopped_by}); "
                f"best validation accuracy {outcome.val_accuracy:.2%}"
                + (f", test accuracy {test:.2%}" if test is not None else "")
                + ". “Use it” makes it the live model."
            )

    @Slot()
    def _on_thread_finished(self) -> None:
        self.thread = None
        self._set_running(False)

    # --- after training ----------------------------------------------------------------------

    @Slot()
    def use_it(self) -> None:
        if self.saved is not None:
            self.use_requested.emit(str(self.saved))
            self.status.setText(f"Opening {self.saved.name} as the live model (also in File ▸ Open model later).")

    @Slot()
    def open_compare(self) -> CompareDialog:
        self.compare = CompareDialog(self.models_folder, self)
        self.compare.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.compare.show()
        return self.compare

    def place_beside(self, main: QWidget) -> None:
        """Open to the right of ``main`` when the screen has room, else fitted to the screen."""
        fit_to_screen(self, 1220, 720)
        screen = main.screen()
        if screen is not None:
            area = screen.availableGeometry()
            x = main.frameGeometry().right() + 8
            if x + self.width() <= area.right():
                self.move(x, max(area.top(), main.y()))

    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Cancel a run and wait for its thread (on app exit: a running QThread must not be destroyed)."""
        if self.thread is not None:
            self.thread.control.cancelled.set()
            self.thread.control.paused.clear()
            self.thread.wait(wait_ms)

    def closeEvent(self, event):  # noqa: N802 (Qt override)
        if self.thread is not None:  # closing is cancelling: a hidden window must not keep the CPU busy
            self.cancel_training()
        super().closeEvent(event)
