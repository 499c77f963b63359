"""The main window: canvas, what the network sees, its answer, and every feature map, live."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from model.data import DataError, read_strokes, write_atomically, write_strokes

from .canvas import DrawingCanvas
from .learn import install_teaching
from .panels import FeatureMapPanel, InputView, MapViewer, PredictionPanel
from .worker import InferenceWorker, ModelInfo, Request, Result

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
SETTINGS = ("digit-recognizer", "Digit Recognizer")


def qimage_to_array(image: QImage) -> np.ndarray:
    """A QImage -> ``(h, w, 4)`` uint8 RGBA array (a copy)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buf = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.sizeInBytes())
    return buf.reshape(h, rgba.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


class MainWindow(QMainWindow):
    """Draw a digit; watch the prediction and every conv/pool layer's feature maps update live.

    ``MainWindow()`` starts loading the bundled model in the background at once; the canvas
    accepts strokes meanwhile and they are recognised as soon as the model is ready.
    """

    result_shown = Signal(int)  # request id, after the panels were updated (benchmarks, tests)
    model_ready = Signal()

    def __init__(self, model_path: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Digit Recognizer — watch a CNN think")
        self.setAcceptDrops(True)
        self.model_info: ModelInfo | None = None
        self.last_result: Result | None = None
        self.last_error: str | None = None
        self._request_id = 0
        self._min_valid_id = 0
        self._shown_id = -1
        self._picture: np.ndarray | None = None
        self._submitted_at: dict[int, float] = {}
        self.latencies: list[float] = []  # seconds from request to panels updated
        self._settings = QSettings(*SETTINGS)
        self._build()
        self._build_actions()
        self._restore_settings()

        self.worker = InferenceWorker(model_path)
        self.worker.model_loaded.connect(self._on_model_loaded)
        self.worker.model_failed.connect(self._on_model_failed)
        self.worker.prediction_ready.connect(self._on_result)
        self.teaching = install_teaching(self)
        from .handwriting import attach  # label-while-drawing, fine-tuning, model switch

        self.handwriting = attach(self, model_path)
        self.worker.start()
        self._started_at = time.perf_counter()
        self._set_model_status("Loading TensorFlow and the model… you can draw already.")

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.canvas = DrawingCanvas()
        self.canvas.strokes_changed.connect(self._on_strokes_changed)
        self.input_view = InputView()
        self.prediction = PredictionPanel()
        self.feature_maps = FeatureMapPanel()
        self.feature_maps.map_hovered.connect(self._on_map_hovered)
        self.feature_maps.map_clicked.connect(self._on_map_clicked)
        self.enlarged_map: MapViewer | None = None

        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clear_button")
        for button, tip in ((self.undo_button, "Undo the last stroke (Ctrl+Z)"),
                            (self.redo_button, "Redo (Ctrl+Shift+Z)"),
                            (self.clear_button, "Clear the canvas (Esc)")):
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button.clicked.connect(self.canvas.redo)
        self.clear_button.clicked.connect(self.clear)
        buttons = QHBoxLayout()
        for b in (self.undo_button, self.redo_button, self.clear_button):
            buttons.addWidget(b)

        seen_title = QLabel("What the network sees (28×28)")
        seen_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        seen = QVBoxLayout()
        seen.addWidget(seen_title)
        seen.addWidget(self.input_view, 1)
        bottom = QHBoxLayout()
        bottom.addLayout(seen, 1)
        bottom.addWidget(self.prediction, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.canvas, 5)
        left_layout.addLayout(buttons)
        bottom_widget = QWidget()
        bottom_widget.setLayout(bottom)
        bottom_widget.setMaximumHeight(300)
        left_layout.addWidget(bottom_widget, 2)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        maps_title = QLabel("Feature maps — every convolution and pooling layer, live (click a map to enlarge)")
        maps_title.setWordWrap(True)
        right_layout.addWidget(maps_title)
        # Deep models have many layers: scroll rather than squeeze the maps below readability.
        self.maps_scroll = QScrollArea()
        self.maps_scroll.setWidgetResizable(True)
        self.maps_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.maps_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.maps_scroll.setWidget(self.feature_maps)
        right_layout.addWidget(self.maps_scroll, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.setCentralWidget(self.splitter)

        self.model_status = QLabel()
        self.timing_status = QLabel()
        self.statusBar().addPermanentWidget(self.timing_status)
        self.statusBar().addPermanentWidget(self.model_status)
        self.resize(1280, 800)

    def _build_actions(self) -> None:
        def action(text, slot, shortcut=None, tip=None, menu=None):
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            if tip:
                a.setStatusTip(tip)
                a.setToolTip(tip)
            if menu is not None:
                menu.addAction(a)
            self.addAction(a)  # shortcuts work even with the menu bar hidden
            return a

        file_menu = self.menuBar().addMenu("&File")
        self.open_model_action = action("Open &model…", self.open_model_dialog, QKeySequence.StandardKey.Open,
                                        "Load another compatible .keras model (input 28×28×1, 10 outputs)", file_menu)
        action("Open &image…", self.open_image_dialog, QKeySequence("Ctrl+I"),
               "Recognise a PNG/JPEG picture of a digit, or load a stroke .json file", file_menu)
        action("&Save drawing…", self.save_drawing_dialog, QKeySequence.StandardKey.Save,
               "Save the drawing as PNG or as stroke JSON", file_menu)
        action("&Export feature maps…", self.export_maps_dialog, QKeySequence("Ctrl+E"),
               "Save the feature-map panel as a PNG", file_menu)
        file_menu.addSeparator()
        action("&Quit", self.close, QKeySequence.StandardKey.Quit, None, file_menu)

        edit_menu = self.menuBar().addMenu("&Edit")
        action("&Undo stroke", self.canvas.undo, [QKeySequence("Ctrl+Z")], "Undo the last stroke", edit_menu)
        action("&Redo stroke", self.canvas.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")],
               "Redo the stroke you undid", edit_menu)
        action("&Clear", self.clear, [QKeySequence(Qt.Key.Key_Escape), QKeySequence("Ctrl+Backspace")],
               "Clear the canvas (undo brings it back)", edit_menu)

        help_menu = self.menuBar().addMenu("&Help")
        action("&About…", self.show_about, None, "About this app and its model", help_menu)

    # --- settings ----------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        geometry = self._settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self._settings.value("splitter")
        if state is not None:
            self.splitter.restoreState(state)

    def _save_settings(self) -> None:
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("splitter", self.splitter.saveState())
        self._settings.sync()

    def _last_dir(self, key: str) -> str:
        return str(self._settings.value(f"dirs/{key}", str(Path.home())))

    def _remember_dir(self, key: str, path: str) -> None:
        self._settings.setValue(f"dirs/{key}", str(Path(path).parent))

    # --- recognition -------------------------------------------------------------------------

    @Slot()
    def _on_strokes_changed(self) -> None:
        if self.canvas.is_empty():
            if self._picture is not None:
                return
            self._show_empty()
            return
        self._picture = None
        self.canvas.set_picture(None)
        self._submit(Request(0, strokes=self.canvas.strokes()))

    def _submit(self, request: Request) -> int:
        self._request_id += 1
        request.id = self._request_id
        now = time.perf_counter()
        self._submitted_at[request.id] = now
        if len(self._submitted_at) > 256:
            for k in sorted(self._submitted_at)[:-64]:
                del self._submitted_at[k]
        self.worker.submit(request)
        if self.model_info is None:
            self.prediction.set_waiting("Loading the model… your digit will be recognised as soon as it is ready.")
        return request.id

    def _show_empty(self) -> None:
        # Anything still in flight belongs to a drawing that no longer exists.
        self._request_id += 1
        self._min_valid_id = self._request_id
        self.last_result = None
        self.prediction.set_probabilities(None)
        self.input_view.set_input(None)
        self.feature_maps.set_activations({})
        self.timing_status.setText("")

    @Slot(object)
    def _on_result(self, result: Result) -> None:
        if result.id < self._min_valid_id or result.id <= self._shown_id:
            return  # stale: a newer drawing is on screen already
        self._shown_id = result.id
        if result.error:
            self.statusBar().showMessage(f"Could not recognise this input: {result.error}", 8000)
            return
        self.last_result = result
        self.input_view.set_input(result.input)
        if result.probabilities is None:
            self.prediction.set_probabilities(None, "No digit found — draw a bigger shape" if self._picture is None
                                              else "No digit found in this picture")
        else:
            self.prediction.set_probabilities(result.probabilities)
        self.feature_maps.set_activations(result.activations)
        if self.enlarged_map is not None and self.enlarged_map.isVisible():
            self.enlarged_map.update_map(result.activations)
        started = self._submitted_at.pop(result.id, None)
        if started is not None:
            latency = time.perf_counter() - started
            self.latencies.append(latency)
            del self.latencies[:-1000]
            self.timing_status.setText(f"network {result.seconds * 1000:.0f} ms · on screen {latency * 1000:.0f} ms")
        self.result_shown.emit(result.id)

    def _resubmit(self) -> None:
        if self._picture is not None:
            self._submit(Request(0, image=self._picture))
        elif not self.canvas.is_empty():
            self._submit(Request(0, strokes=self.canvas.strokes()))

    # --- model -------------------------------------------------------------------------------

    @Slot(object)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        first = self.model_info is None
        self.model_info = info
        self.feature_maps.set_layers(info.layers)
        params = sum(layer.params for layer in info.layers)
        self._set_model_status(f"Model: {info.path.name} · {len(info.layers)} feature layers · ready")
        self.setWindowTitle(f"Digit Recognizer — {info.path.name}")
        if first:
            self.statusBar().showMessage(
                f"Model ready in {time.perf_counter() - self._started_at:.1f} s "
                f"(TensorFlow {info.import_seconds:.1f} s + model {info.load_seconds:.2f} s)", 6000)
        else:
            self.statusBar().showMessage(f"Loaded {info.path} ({params:,} parameters in its feature layers)", 6000)
        self._shown_id = -1
        self._min_valid_id = self._request_id + 1
        if self.canvas.is_empty() and self._picture is None:
            self.prediction.set_probabilities(None)
        self._resubmit()
        self.model_ready.emit()

    @Slot(str, str)
    def _on_model_failed(self, path: str, message: str) -> None:
        self.last_error = message
        keep = f"The current model ({self.model_info.path.name}) stays loaded." if self.model_info else \
            "No model is loaded; open a compatible .keras file (File ▸ Open model)."
        if self.model_info is None:
            self._set_model_status("No model loaded")
            self.feature_maps.show_message("No model loaded")
            self.prediction.set_waiting("No model: open one with File ▸ Open model")
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot use this model",
                          f"Could not load {Path(path).name}.", QMessageBox.StandardButton.Ok, self)
        box.setInformativeText(f"{message}\n\n{keep}")
        box.setObjectName("model_error_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the app keeps running (and tests are not blocked)
        self.statusBar().showMessage(f"Could not load {path}: {message}", 10000)

    def _set_model_status(self, text: str) -> None:
        self.model_status.setText(text)

    def load_model(self, path: str | Path) -> None:
        self._set_model_status(f"Loading {Path(path).name}…")
        self.worker.load_model(path)

    # --- files -------------------------------------------------------------------------------

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a Keras model", self._last_dir("model"),
                                              "Keras models (*.keras)")
        if path:
            self._remember_dir("model", path)
            self.load_model(path)

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a picture or strokes", self._last_dir("image"),
            "Pictures and strokes (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.json);;All files (*)")
        if path:
            self._remember_dir("image", path)
            self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Open a picture, a stroke file or a model; a bad file gets a message and changes nothing."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".keras":
            self.load_model(path)
            return True
        if suffix == ".json":
            try:
                strokes, _ = read_strokes(path)
            except DataError as exc:
                self._warn("Cannot open strokes", str(exc))
                return False
            self._picture = None
            self.canvas.set_picture(None)
            self.canvas.set_strokes(strokes)
            return True
        image = QImage(str(path))
        if image.isNull():
            self._warn("Cannot open picture", f"{path} is not a picture Qt can read (PNG, JPEG, BMP, GIF).")
            return False
        array = qimage_to_array(image)
        self.canvas.clear()
        self._picture = array
        self.canvas.set_picture(image)
        self._submit(Request(0, image=array))
        self.statusBar().showMessage(f"Recognising {path.name} — draw on the canvas to go back to drawing", 6000)
        return True

    def save_drawing_dialog(self) -> None:
        if self.canvas.is_empty():
            self.statusBar().showMessage("Nothing to save: the canvas is empty", 4000)
            return
        path, chosen = QFileDialog.getSaveFileName(
            self, "Save the drawing", str(Path(self._last_dir("save")) / "digit.png"),
            "PNG image (*.png);;Strokes as JSON (*.json)")
        if path:
            self._remember_dir("save", path)
            self.save_drawing(path)

    def save_drawing(self, path: str | Path) -> None:
        path = Path(path)
        label = self.last_result.digit if self.last_result else None
        try:
            if path.suffix.lower() == ".json":
                write_strokes(path, self.canvas.strokes(), label)
            else:
                write_atomically(path, png_bytes(self.canvas.grab(self.canvas.paper_rect().toAlignedRect()).toImage()))
        except OSError as exc:
            self._warn("Cannot save", f"Could not write {path}: {exc.strerror or exc}. Your drawing is unchanged.")
            return
        self.statusBar().showMessage(f"Saved {path}", 5000)

    def export_maps_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export feature maps",
                                              str(Path(self._last_dir("export")) / "feature-maps.png"), "PNG (*.png)")
        if path:
            self._remember_dir("export", path)
            self.export_maps(path)

    def export_maps(self, path: str | Path) -> None:
        try:
            write_atomically(path, png_bytes(self.feature_maps.grab().toImage()))
        except OSError as exc:
            self._warn("Cannot export", f"Could not write {path}: {exc.strerror or exc}")
            return
        self.statusBar().showMessage(f"Exported feature maps to {path}", 5000)

    def _warn(self, title: str, text: str) -> None:
        self.last_error = text
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # --- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event):
        urls = event.mimeData().urls()
        if urls and all(Path(u.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES | {".keras", ".json"} for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event):
        for url in event.mimeData().urls():
            self.open_file(url.toLocalFile())
        event.acceptProposedAction()

    # --- misc --------------------------------------------------------------------------------

    @Slot()
    def clear(self) -> None:
        self._picture = None
        self.canvas.set_picture(None)
        self.canvas.clear()
        self._show_empty()

    @Slot(str, int, int, int)
    def _on_map_clicked(self, layer: str, channel: int, row: int, col: int) -> None:
        if self.enlarged_map is None:
            self.enlarged_map = MapViewer(self)
        self.enlarged_map.show_map(layer, channel, self.last_result.activations if self.last_result else {})

    @Slot(object)
    def _on_map_hovered(self, hit) -> None:
        if hit is None or self.last_result is None:
            return
        layer, channel, row, col = hit
        a = self.last_result.activations.get(layer)
        if a is not None and row < a.shape[0] and col < a.shape[1]:
            self.statusBar().showMessage(f"{layer} · channel {channel} · row {row}, col {col} · value {a[row, col, channel]:.4f}")

    def show_about(self) -> None:
        info = self.model_info
        card = (info.card or {}) if info else {}
        ev = card.get("evaluation", {})
        lines = ["<h3>Digit Recognizer</h3>",
                 "<p>Draw a digit and watch a convolutional neural network recognise it, layer by layer.</p>"]
        if info:
            lines.append(f"<p><b>Model:</b> {info.path}<br><b>Parameters:</b> {card.get('total_params', '?'):,}</p>"
                         if isinstance(card.get("total_params"), int) else f"<p><b>Model:</b> {info.path}</p>")
            rows = "".join(f"<tr><td>{layer.name}</td><td>{layer.kind}</td><td>{'×'.join(map(str, layer.shape))}</td>"
                           f"<td align=right>{layer.params:,}</td></tr>" for layer in info.layers)
            lines.append(f"<table cellspacing=6><tr><th>layer</th><th>type</th><th>output</th><th>params</th></tr>{rows}</table>")
            if "mnist_test" in ev:
                lines.append(f"<p>MNIST test accuracy: {ev['mnist_test']['accuracy'] * 100:.2f}%")
            if "pendigits_heldout_writers" in ev:
                lines.append(f"<br>Pen-drawn digits of unseen writers: {ev['pendigits_heldout_writers']['accuracy'] * 100:.2f}%")
            if card.get("training", {}).get("command"):
                lines.append(f"<p>Trained with: <code>{card['training']['command']}</code></p>")
        else:
            lines.append("<p>The model is still loading.</p>")
        box = QMessageBox(QMessageBox.Icon.Information, "About Digit Recognizer", "".join(lines),
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("about_dialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def closeEvent(self, event):
        self._save_settings()
        self.worker.stop()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the worker (tests and the self-test close windows without an event loop)."""
        if self.worker.isRunning():
            self.worker.stop()


def quit_after(app, seconds: float) -> None:
    QTimer.singleShot(int(seconds * 1000), app.quit)
