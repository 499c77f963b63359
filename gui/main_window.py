"""The main window: canvas, what the network sees, its answer, and every feature map, live.

Opening, dropping, saving and exporting files are its base's, ``FileWindow`` (``gui/window_files.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from model.nets.requests import LatestRequest

from .about import AboutDialog
from .canvas import DrawingCanvas
from .files import FileReader
from .hints import install_hints
from .learn import install_teaching
from .maps_area import FeatureMapArea
from .menus import build_menus
from .panels import InputView, PredictionPanel, SquareBox
from .settings import WindowSettings, restore_geometry, restore_state
from .state import AppState
from .window_files import FileWindow
from .worker import InferenceWorker, ModelInfo, Request, Result

APP_TITLE = "Digit Recognizer"  # = the application's display name (gui/app.py)
BOTTOM_MAX_HEIGHT = 280  # the preview and the answer under the canvas, on a tall window
BOTTOM_SHARE = 0.42  # ... and at most this share of the column on a short one: the canvas stays the biggest
DEFAULT_SIZE = QSize(1280, 820)  # first launch, on a screen with room for it
SCREEN_MARGIN = QSize(24, 48)  # left free around the window for the frame and panels of the desktop


class MainWindow(FileWindow):
    """Draw a digit; watch the prediction and every conv/pool layer's feature maps update live.

    ``MainWindow()`` starts loading the bundled model in the background at once (``model_path``:
    another one); the canvas accepts strokes meanwhile and they are recognised as soon as the
    model is ready.
    """

    model_ready = Signal()

    def __init__(self, model_path: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.last_error: str | None = None
        self.requests = LatestRequest()
        self._picture: np.ndarray | None = None
        self._picture_image = None  # the opened picture as shown (a QImage)
        self._covered: tuple | None = None  # (pixels, image) of a picture drawn over: undo brings it back
        self._submitted_at: dict[int, float] = {}
        self.latencies: list[float] = []  # seconds from request to panels updated
        self._arrived: Result | None = None  # the newest answer not yet on screen
        self.settings = WindowSettings()
        self.file_reader = FileReader(self)
        self.file_reader.batch_read.connect(self._on_files_read)
        self._build()
        build_menus(self)
        self._restore_settings()

        self.worker = InferenceWorker(model_path)
        self.state = AppState(self.worker, self)  # what the views share (gui/state.py)
        self.result_shown = self.state.result_shown  # request id, after the panels were updated (benchmarks, tests)
        self.prediction.label_requested.connect(self.state.label_requested)
        self.worker.model_loaded.connect(self._on_model_loaded)
        self.worker.model_failed.connect(self._on_model_failed)
        self.worker.prediction_ready.connect(self._on_result)
        self.teaching = install_teaching(self)
        from .handwriting import attach  # label-while-drawing, fine-tuning, model switch

        self.handwriting = attach(self, model_path)
        self.hints = install_hints(self, self.settings)
        self.worker.start()
        self._started_at = time.perf_counter()
        self._set_model_status("Loading TensorFlow and the model… you can draw already.")

    # The model in use and the answer on screen belong to the shared state (gui/state.py).
    @property
    def model_info(self) -> ModelInfo | None:
        return self.state.model_info if hasattr(self, "state") else None

    @model_info.setter
    def model_info(self, info: ModelInfo | None) -> None:
        self.state.model_info = info

    @property
    def last_result(self) -> Result | None:
        return self.state.last_result if hasattr(self, "state") else None

    @last_result.setter
    def last_result(self, result: Result | None) -> None:
        self.state.last_result = result

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.canvas = DrawingCanvas()
        self.canvas.strokes_changed.connect(self._on_strokes_changed)
        self.canvas.digit_clicked.connect(self.select_digit)
        self._focus_stroke: int | None = None  # a number's digit the user clicked (a stroke of it)
        self.canvas.setFocus()  # typed digits store the drawing from the start (its ring shows it)
        self.input_view = InputView()
        self.prediction = PredictionPanel()
        self.maps_area = FeatureMapArea()
        self.feature_maps = self.maps_area.panel

        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clear_button")
        for button, tip in (
            (self.undo_button, "Undo the last stroke (Ctrl+Z)"),
            (self.redo_button, "Redo (Ctrl+Shift+Z)"),
            (self.clear_button, "Clear the canvas (Esc)"),
        ):
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button.clicked.connect(self.canvas.redo)
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for b in (self.undo_button, self.redo_button, self.clear_button):
            buttons.addWidget(b)

        self.seen_title = seen_title = QLabel("What the network sees (28×28)")
        seen_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        seen_title.setWordWrap(True)
        seen = QVBoxLayout()
        seen.addWidget(seen_title)
        seen.addWidget(SquareBox(self.input_view), 1)
        bottom = QHBoxLayout()
        bottom.addLayout(seen, 1)
        bottom.addWidget(self.prediction, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.canvas, 5)
        left_layout.addLayout(buttons)
        self.bottom_widget = bottom_widget = QWidget()
        bottom_widget.setLayout(bottom)
        bottom_widget.setMaximumHeight(BOTTOM_MAX_HEIGHT)
        left_layout.addWidget(bottom_widget, 2)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main_splitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.maps_area)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.model_status = QLabel(objectName="model_status")
        self.timing_status = QLabel()
        self.statusBar().addPermanentWidget(self.timing_status)
        self.statusBar().addPermanentWidget(self.model_status)

    # --- settings and size ---------------------------------------------------------------------

    def _restore_settings(self) -> None:
        if not restore_geometry(self, self.settings.bytes("geometry")):
            self.fit_to_screen()
        restore_state(self.splitter, self.settings.bytes("splitter"))

    def fit_to_screen(self) -> None:
        """First launch: ``DEFAULT_SIZE`` or the screen's free area, whichever is smaller, centred."""
        screen = self.screen()
        if screen is None:
            self.resize(DEFAULT_SIZE)
            return
        area = screen.availableGeometry()  # logical pixels: a 2560x1600 screen at 2x is 1280x800
        frame = self.frameGeometry().size() - self.geometry().size()  # the title bar and borders
        width = min(DEFAULT_SIZE.width(), area.width() - SCREEN_MARGIN.width() - frame.width())
        height = min(DEFAULT_SIZE.height(), area.height() - SCREEN_MARGIN.height() - frame.height())
        self.resize(max(width, 320), max(height, 320))
        self.move(area.x() + (area.width() - self.width()) // 2, area.y() + (area.height() - self.height()) // 2)

    def _save_settings(self) -> None:
        self.settings.set("geometry", self.saveGeometry())
        self.settings.set("splitter", self.splitter.saveState())
        self.settings.sync()

    # --- recognition -------------------------------------------------------------------------

    @Slot()
    def _on_strokes_changed(self) -> None:
        if self.canvas.is_empty():
            if self._picture is not None:
                return
            if self._covered is not None:  # the strokes drawn over an opened picture were undone
                (self._picture, image), self._covered = self._covered, None
                self.canvas.set_picture(image)
                self._submit(Request(0, image=self._picture))
                return
            self._show_empty()
            return
        if self._picture is not None:  # drawing over an opened picture: kept for an undo
            self._covered = (self._picture, self._picture_image)
        self._picture = None
        self.canvas.set_picture(None)
        self._focus_stroke = None  # writing on: the panels follow the digit being written
        self._submit(Request(0, strokes=self.canvas.strokes()))

    def _submit(self, request: Request) -> int:
        request.id = self.requests.issue()
        self._submitted_at[request.id] = time.perf_counter()
        if len(self._submitted_at) > 256:
            for k in sorted(self._submitted_at)[:-64]:
                del self._submitted_at[k]
        self.worker.submit(request)
        if self.model_info is None:
            self.prediction.set_waiting("Loading the model… your digit will be recognised as soon as it is ready.")
        return request.id

    def _show_empty(self) -> None:
        # Anything still in flight belongs to a drawing that no longer exists.
        self.requests.invalidate()
        self.last_result = None
        self.prediction.set_probabilities(None)
        self.input_view.set_input(None)
        self.feature_maps.set_activations({})
        self.timing_status.setText("")
        self.canvas.set_digit_boxes([], [])

    @Slot(Result)
    def _on_result(self, result: Result) -> None:
        # While a pen moves, answers can arrive faster than the panels paint: of the answers waiting
        # in the event queue only the newest is shown, once the queue has been read.
        if self._arrived is None:
            QTimer.singleShot(0, self, self._show_arrived)
        if self._arrived is None or result.id >= self._arrived.id:
            self._arrived = result

    @Slot()
    def _show_arrived(self) -> None:
        result, self._arrived = self._arrived, None
        if result is None or not self.requests.accept(result.id):
            return  # stale: a newer drawing (or none) is on screen already
        if result.error:
            self.statusBar().showMessage(f"Could not recognise this input: {result.error}", 8000)
            return
        self._show_result(result)
        started = self._submitted_at.pop(result.id, None)
        if started is not None:
            latency = time.perf_counter() - started
            self.latencies.append(latency)
            del self.latencies[:-1000]
            self.timing_status.setText(f"network {result.seconds * 1000:.0f} ms · on screen {latency * 1000:.0f} ms")
        self.result_shown.emit(result.id)

    def _show_result(self, result: Result) -> None:
        if result.digits and self._focus_stroke is not None:
            # The user picked a digit: an answer to a request sent before the click keeps it picked.
            picked = next((k for k, d in enumerate(result.digits) if self._focus_stroke in d.strokes), result.selected)
            if picked != result.selected:
                result = result.with_selected(picked)
        self.last_result = result
        self.input_view.set_input(result.input)
        if result.probabilities is None:
            self.prediction.set_probabilities(
                None, "No digit found — draw a bigger shape" if self._picture is None else "No digit found in this picture"
            )
        else:
            self.prediction.set_probabilities(result.probabilities)
            self.prediction.set_status(result.verdict)
        self.feature_maps.set_activations({**result.activations, **result.dense_activations})
        self._show_number(result)

    def _show_number(self, result: Result) -> None:
        """A number of 2+ digits: boxes and answers on the canvas, the whole number and its confidence as the answer."""
        if len(result.digits) < 2:
            self.canvas.set_digit_boxes([], [])
            self.prediction.set_number(None)
            return
        names = self.prediction.class_names
        best = [int(d.probabilities.argmax()) for d in result.digits]
        labels = [names[k] if k < len(names) else str(k) for k in best]
        self.canvas.set_digit_boxes([d.box for d in result.digits], labels, result.selected)
        self.prediction.set_number("".join(labels), result.number_confidence, result.selected, len(result.digits))

    @Slot(int)
    def select_digit(self, index: int) -> None:
        """Show digit ``index`` of the number on screen (left to right) in the panels, maps and explanations."""
        result = self.last_result
        if result is None or not 0 <= index < len(result.digits) or index == result.selected:
            return
        self._focus_stroke = result.digits[index].strokes[0]
        self._show_result(result.with_selected(index))
        self.result_shown.emit(result.id)

    def _resubmit(self) -> None:
        if self._picture is not None:
            self._submit(Request(0, image=self._picture))
        elif not self.canvas.is_empty():
            self._submit(Request(0, strokes=self.canvas.strokes(), focus_stroke=self._focus_stroke))

    # --- model -------------------------------------------------------------------------------

    @Slot(ModelInfo)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        first = self.model_info is None
        self.model_info = info
        if info.layers:
            self.feature_maps.set_layers(info.layers, None, info.operations, info.head, info.input_shape)
        else:  # a dense-only model: no maps, but its Dense layers' outputs if there are any
            self.feature_maps.set_layers(
                info.dense_layers,
                "This model has no convolution or pooling layers, so "
                "there are no feature maps; its probabilities are on the left."
                + (" Its Dense layers' outputs:" if info.dense_layers else ""),
            )
        self.prediction.set_class_names(info.class_names)
        h, w = info.input_size
        self.seen_title.setText(
            "What the network sees (28×28)" if (h, w) == (28, 28) else f"Your drawing at 28×28 (the model gets it as {h}×{w})"
        )
        self.seen_title.setToolTip(info.input_note)
        self._show_active_model()
        # Ends with the app's display name, so Qt does not append it a second time.
        self.setWindowTitle(f"{info.name} — {APP_TITLE}")
        if first:
            self.statusBar().showMessage(
                f"Model ready in {time.perf_counter() - self._started_at:.1f} s "
                f"(TensorFlow {info.import_seconds:.1f} s + model {info.load_seconds:.2f} s)",
                6000,
            )
        else:
            self.statusBar().showMessage(f"Loaded {info.path}. " + " ".join(info.notes), 10000)
        self.requests.invalidate()  # answers of the previous model are not this model's
        self.last_result = None
        if self.canvas.is_empty() and self._picture is None:
            self.prediction.set_probabilities(None)
        self._resubmit()
        self.model_ready.emit()

    @Slot(str, str)
    def _on_model_failed(self, path: str, message: str) -> None:
        self.last_error = message
        if self.model_info is not None:
            keep = f"The current model ({self.model_info.name}) stays loaded."
            self._show_active_model()
        else:
            keep = "No model is loaded; open a compatible Keras file (File ▸ Open model)."
            self._set_model_status("No model loaded")
            self.feature_maps.show_message("No model loaded")
            self.prediction.set_waiting("No model: open one with File ▸ Open model")
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Cannot use this model",
            f"Could not load {Path(path).name}.",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(f"{message}\n\n{keep}")
        box.setObjectName("model_error_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the app keeps running (and tests are not blocked)
        self.statusBar().showMessage(f"Could not load {path}: {message}", 10000)

    def _show_active_model(self) -> None:
        info = self.model_info
        if info is not None:
            calibration = "" if info.calibrated else " · confidence not calibrated"
            self._set_model_status(f"Model: {info.name}" + (" (bundled)" if info.bundled else "") + calibration)
            self.model_status.setToolTip(f"{info.path}\n" + "\n".join(info.notes))

    def _set_model_status(self, text: str) -> None:
        self.model_status.setText(text)

    def load_model(self, path: str | Path) -> None:
        current = f" ({self.model_info.name} stays active until it is ready)" if self.model_info else ""
        self._set_model_status(f"Loading {Path(path).name}…{current}")
        self.worker.load_model(path)

    # --- misc --------------------------------------------------------------------------------

    @Slot()
    def clear(self) -> None:
        self._picture = self._covered = None
        self.canvas.set_picture(None)
        self.canvas.clear()
        self._show_empty()

    def show_about(self) -> None:
        dialog = AboutDialog(self.model_info, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def resizeEvent(self, event):  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        # On a short window the preview (a square as tall as its row) would outgrow the canvas.
        column = self.height() - self.menuBar().height() - self.statusBar().height()
        self.bottom_widget.setMaximumHeight(max(150, min(BOTTOM_MAX_HEIGHT, int(column * BOTTOM_SHARE))))
        hints = getattr(self, "hints", None)  # resized while being built, before the tour exists
        if hints is not None:
            hints.reposition()

    def closeEvent(self, event):  # noqa: N802 (Qt override)
        self._save_settings()
        self.worker.stop()
        self.file_reader.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the worker (tests and the self-test close windows without an event loop)."""
        if self.worker.isRunning():
            self.worker.stop()
