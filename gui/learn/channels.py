"""Learn ▸ What each channel looks for: each channel's strongest digit patches and an optimised input.

One row per conv and pooling layer, a few channels each (their nine strongest receptive-field
patches as a 3×3 mosaic), so the patches grow from strokes to loops and parts of digits down the
screen. Choosing a channel shows its nine patches with their values and an input optimised to
excite its centre unit, with the value it reaches beside the best digit's. A click on a patch
puts that digit on the canvas with the unit outlined in the feature maps.

The numbers come from ``model/features.py``: the bundled model's ship precomputed in
``resources/`` (the view opens at once); any other model's are computed on a thread this view
owns (progress bar, Cancel) and cached per model file in the user's cache folder.

Beside it: ``channel_thread.py`` (that thread), ``channel_images.py`` (patches, mosaics, a layer's
row) and ``channel_digits.py`` (a patch's digit put on the canvas); their names still import from here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from model.teaching.feature_sets import FeatureSet, LayerFeatures, find_features
from model.teaching.features import MNIST_TEST, model_hash
from model.teaching.numbers import fmt

from .channel_digits import DigitChoice, show_digit
from .channel_images import PREVIEW_CHANNELS, TILE_PX, grey_pixmap, layer_row, mosaic  # noqa: F401 (re-exported)
from .channel_thread import _RETIRING, FeatureThread, _retire  # noqa: F401 (re-exported)
from .widgets import message_label

WIDTH, MIN_WIDTH = 900, 500  # the view's width: wanted, and the least that shows a row and the detail
PATCH_PX = 72
OPTIMISED_PX = 150
SOURCES = (("MNIST test digits", MNIST_TEST), ("My stored digits", "handwriting"))
SOURCE_WORDS = {MNIST_TEST: "MNIST test digit", "mnist-sample": "MNIST digit", "handwriting": "of your digits"}
INTRO = (
    "Each square: one channel's nine strongest patches over the digits (the part of the digit a unit sees, its "
    "receptive field). Early layers see a few pixels and answer to strokes and edges; deeper ones see more and answer "
    "to curves, loops and parts of digits. Click a channel for its patches' values and an input made to excite it."
)


class ChannelsWindow(QWidget):
    """What each channel looks for: the layer rows on the left, the chosen channel on the right.

    ``set_model(path)`` shows a model's features (at once if saved, else computed in the
    background); a click on a patch emits ``digit_requested(DigitChoice)``. Attributes tests
    use: ``source_combo``, ``progress``, ``cancel_button``, ``tiles`` ((layer, channel) ->
    button), ``patch_buttons``, ``optimised_label``, ``optimised_text``, ``features``.
    """

    digit_requested = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("channels_window")
        self.setWindowTitle("What each channel looks for")
        self.model_path: Path | None = None
        self.features: FeatureSet | None = None
        self.thread: FeatureThread | None = None
        self._memory: dict[tuple[str, str], FeatureSet] = {}  # (model hash, source) -> features shown before
        self._sha: dict[Path, str] = {}
        self.tiles: dict[tuple[str, int], QToolButton] = {}
        self.selected: tuple[str, int] | None = None

        layout = QVBoxLayout(self)
        intro = QLabel(INTRO, objectName="channels_intro")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Patches from"))
        self.source_combo = QComboBox(objectName="channels_source")
        for text, key in SOURCES:
            self.source_combo.addItem(text, key)
        self.source_combo.currentIndexChanged.connect(lambda _: self.refresh())
        bar.addWidget(self.source_combo)
        bar.addStretch(1)
        self.progress = QProgressBar(objectName="channels_progress")
        self.progress.setFixedWidth(260)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", objectName="channels_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        bar.addWidget(self.progress)
        bar.addWidget(self.cancel_button)
        layout.addLayout(bar)
        self.message = message_label()
        layout.addWidget(self.message)

        body = QHBoxLayout()
        self.rows = QWidget(objectName="channels_rows")
        self.rows_layout = QVBoxLayout(self.rows)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(2)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.rows)
        body.addWidget(scroll, 1)
        body.addWidget(self._build_detail())
        layout.addLayout(body, 1)

        bottom = QHBoxLayout()
        bottom.addStretch(1)
        close = QPushButton("Close", objectName="channels_close")
        close.clicked.connect(self.close)
        bottom.addWidget(close)
        layout.addLayout(bottom)
        QShortcut(QKeySequence("Ctrl+W"), self, self.close)
        self._busy(False)

    def _build_detail(self) -> QWidget:
        panel = QWidget(objectName="channels_detail")
        panel.setFixedWidth(3 * (PATCH_PX + 14) + 24)
        v = QVBoxLayout(panel)
        v.setContentsMargins(6, 0, 0, 0)
        pick = QHBoxLayout()
        self.layer_combo = QComboBox(objectName="channels_layer")
        self.layer_combo.currentIndexChanged.connect(self._on_pick)
        self.channel_spin = QSpinBox(objectName="channels_channel")
        self.channel_spin.valueChanged.connect(self._on_pick)
        pick.addWidget(self.layer_combo, 1)
        pick.addWidget(QLabel("channel"))
        pick.addWidget(self.channel_spin)
        v.addLayout(pick)
        self.detail_title = QLabel(objectName="channels_detail_title")
        self.detail_title.setWordWrap(True)
        v.addWidget(self.detail_title)
        grid = QGridLayout()
        grid.setSpacing(4)
        self.patch_buttons: list[QToolButton] = []
        for i in range(9):
            b = QToolButton(objectName=f"channels_patch_{i}")
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setIconSize(QSize(PATCH_PX, PATCH_PX))
            b.setAutoRaise(True)
            b.clicked.connect(lambda _=False, i=i: self._on_patch(i))
            grid.addWidget(b, i // 3, i % 3)
            self.patch_buttons.append(b)
        v.addLayout(grid)
        opt = QHBoxLayout()
        self.optimised_label = QLabel(objectName="channels_optimised")
        self.optimised_label.setFixedSize(OPTIMISED_PX, OPTIMISED_PX)
        opt.addWidget(self.optimised_label)
        self.optimised_text = QLabel(objectName="channels_optimised_text")
        self.optimised_text.setWordWrap(True)
        self.optimised_text.setAlignment(Qt.AlignmentFlag.AlignTop)
        opt.addWidget(self.optimised_text, 1)
        v.addLayout(opt)
        v.addStretch(1)
        return panel

    # --- what is shown -----------------------------------------------------------------------

    def source(self) -> str:
        return self.source_combo.currentData()

    def set_model(self, path: str | Path | None) -> None:
        """Show the features of the model file at ``path`` (``None``: no model yet)."""
        path = Path(path) if path is not None else None
        if path == self.model_path and self.features is not None:
            return
        self.model_path = path
        self.refresh()

    def refresh(self) -> None:
        """Show the current model's features over the chosen digits: from memory, the file, or computed."""
        self.cancel()
        if self.model_path is None:
            self.show_message("The model is still loading; its channels appear as soon as it is ready.")
            return
        sha = self._sha.get(self.model_path)
        if sha is None:
            try:
                sha = self._sha[self.model_path] = model_hash(self.model_path)
            except OSError as exc:
                self.show_message(f"Cannot read {self.model_path}: {exc}")
                return
        key = (sha, self.source())
        found = self._memory.get(key)
        if found is None and self.source() == MNIST_TEST:
            found = find_features(sha) or find_features(sha, "mnist-sample")
        if found is not None:
            self.show_features(found)
            return
        self.thread = FeatureThread(self.model_path, self.source())
        self.thread.progressed.connect(self._on_progress)
        self.thread.computed.connect(self._on_computed)
        self.thread.failed.connect(self._on_failed)
        self._busy(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Loading the model…")
        self.show_message(
            f"Looking for what each channel of {self.model_path.name} answers to: running the digits through it "
            "(a minute or so, once: the result is kept for this model file)."
        )
        self.thread.start()

    @Slot()
    def cancel(self) -> None:
        if self.thread is not None:
            self.thread.cancel()
            _retire(self.thread)
            self.thread = None
            self.show_message("Cancelled. Choose the digits again (or reopen the view) to start over.")
        self._busy(False)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)

    @Slot(str, int, int)
    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        words = {"patches": "digits run through the model", "optimise": "layers' inputs optimised"}.get(stage, stage)
        self.progress.setFormat(f"%v / %m {words}")

    @Slot(object)
    def _on_computed(self, features: FeatureSet) -> None:
        _retire(self.thread)
        self.thread = None
        self._busy(False)
        self._memory[(features.model_sha256, self.source())] = features
        self.show_features(features)

    @Slot(str)
    def _on_failed(self, reason: str) -> None:
        _retire(self.thread)
        self.thread = None
        self._busy(False)
        self.show_message("Cancelled." if not reason else f"Could not compute the channels: {reason}")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_features(self, features: FeatureSet) -> None:
        """Lay out one row per layer and select a channel (the same one again, if it still exists)."""
        self.features = features
        self._memory[(features.model_sha256, features.source)] = features
        while self.rows_layout.count():
            item = self.rows_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.tiles.clear()
        if not features.layers:
            self.show_message("This model has no convolution or pooling layers: no channel looks at parts of the image.")
            return
        self.show_message(features.note)
        for f in features.layers:
            self.rows_layout.addWidget(layer_row(f, features.scale, self.tiles, self.select))
        self.rows_layout.addStretch(1)
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for f in features.layers:
            self.layer_combo.addItem(f"{f.name} ({f.kind}, {f.channels} channels)", f.name)
        self.layer_combo.blockSignals(False)
        layer, channel = self.selected if self.selected else (features.layers[0].name, 0)
        if features.layer(layer) is None:
            layer, channel = features.layers[0].name, 0
        self.select(layer, channel)

    def select(self, layer: str, channel: int) -> None:
        """Show ``channel`` of ``layer`` in the detail: its nine patches and its optimised input."""
        fs = self.features
        f = fs.layer(layer) if fs is not None else None
        if f is None:
            return
        channel = min(max(int(channel), 0), f.channels - 1)
        self.selected = (layer, channel)
        for key, tile in self.tiles.items():
            tile.setChecked(key == self.selected)
        for widget, value in ((self.layer_combo, self.layer_combo.findData(layer)), (self.channel_spin, channel)):
            widget.blockSignals(True)
            if widget is self.channel_spin:
                self.channel_spin.setRange(0, f.channels - 1)
                self.channel_spin.setValue(value)
            else:
                self.layer_combo.setCurrentIndex(value)
            widget.blockSignals(False)
        where = SOURCE_WORDS.get(fs.source, "digit")
        self.detail_title.setText(
            f"<b>{layer} · channel {channel}</b>: its nine strongest units over the {where}s, each the "
            f"{f.field[0]}×{f.field[1]} patch that unit sees. Click one to put its digit on the canvas."
        )
        for i, b in enumerate(self.patch_buttons):
            if i < f.values.shape[1]:
                b.setIcon(grey_pixmap(f.patches[channel, i], fs.scale, PATCH_PX))
                b.setText(fmt(float(f.values[channel, i]), 3))
                b.setToolTip(
                    f"Digit {int(f.index[channel, i])}, unit row {int(f.row[channel, i])}, col {int(f.col[channel, i])}: "
                    f"{layer} channel {channel} = {fmt(float(f.values[channel, i]), 4)}"
                )
                b.setEnabled(True)
            else:
                b.setIcon(QPixmap())
                b.setText("")
                b.setEnabled(False)
        self._show_optimised(f, channel, fs)

    def _show_optimised(self, f: LayerFeatures, channel: int, fs: FeatureSet) -> None:
        if f.optimised is None or f.optimised_values is None:
            self.optimised_label.clear()
            self.optimised_text.setText("No optimised input for this model yet: look at it with MNIST test digits first.")
            return
        r, c = f.centre
        self.optimised_label.setPixmap(grey_pixmap(f.optimised[channel], fs.scale, OPTIMISED_PX, f.window))
        reached = float(f.optimised_values[channel])
        text = (
            f"<b>An input made to excite it</b>: pixels changed step by step to raise the unit at row {r}, col {c} "
            f"(its field outlined), blurred and shifted a little on the way so it reads as strokes.<br>"
            f"It reaches <b>{fmt(reached, 3)}</b>"
        )
        if f.best_values is not None:
            text += f"; the best MNIST digit gives <b>{fmt(float(f.best_values[channel]), 3)}</b> at that unit."
        self.optimised_text.setText(text)

    @Slot()
    def _on_pick(self, *_) -> None:
        layer = self.layer_combo.currentData()
        if layer is not None:
            self.select(layer, self.channel_spin.value())

    def _on_patch(self, i: int) -> None:
        if self.features is None or self.selected is None:
            return
        layer, channel = self.selected
        f = self.features.layer(layer)
        index = int(f.index[channel, i])
        self.digit_requested.emit(
            DigitChoice(
                self.features.drawings.get(index),
                self.features.strokes.get(index),
                layer,
                channel,
                int(f.row[channel, i]),
                int(f.col[channel, i]),
                float(f.values[channel, i]),
            )
        )

    def place_beside(self, main: QWidget) -> None:
        """Open to the right of ``main`` if the screen has room, else over its right part: the maps, never the canvas."""
        screen = main.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        h = min(740, area.height() - 48)
        frame = main.frameGeometry()
        canvas = getattr(main, "canvas", None)
        least = max(MIN_WIDTH, self.minimumSizeHint().width())
        if area.right() - frame.right() - 8 >= least:
            x = frame.right() + 8
            w = min(WIDTH, area.right() - x)
        else:
            left = canvas.mapToGlobal(canvas.rect().topRight()).x() + 12 if canvas is not None else area.left()
            w = min(WIDTH, area.right() - left)
            if w < least:  # a screen too small to keep the canvas free
                w = min(WIDTH, area.width() - 16)
            x = area.right() - w
        self.resize(w, h)
        self.move(x, max(area.top(), min(frame.top(), area.bottom() - h - 32)))

    def keyPressEvent(self, event):  # noqa: N802 (Qt override)
        if event.key() == Qt.Key.Key_Escape:
            self.close()
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event):  # noqa: N802 (Qt override)
        self.cancel()
        super().closeEvent(event)


def open_channels(window) -> ChannelsWindow:
    """Open (or raise) the view for ``window`` (a ``MainWindow``); a click on a patch loads its digit there."""
    view = getattr(window, "channels_window", None)
    if view is None:
        view = window.channels_window = ChannelsWindow(window)
        view.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        view.digit_requested.connect(lambda choice: show_digit(window, choice))
        window.state.model_changed.connect(lambda info: view.set_model(info.path) if view.isVisible() else None)
        view.place_beside(window)
    view.show()
    view.raise_()
    info = window.state.model_info
    view.set_model(info.path if info is not None else None)
    return view
