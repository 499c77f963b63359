"""Wires the Learn views into the main window: the explanation dock, the Learn menu, the jobs.

``install_teaching(window)`` adds, without changing ``MainWindow``'s code:

- an explanation dock: click (or, when asked, hover) any cell of any conv or pooling feature
  map and see the window, kernel, products, sum, bias and activation that give its value;
- a "Learn" menu with the convolution playground, the learned filters, the architecture and
  its parameters, and a saliency view.

The views only emit signals; this controller answers them. Keras never runs on the GUI thread:
every question to the model is a job from ``model/teaching.py`` for the window's inference
worker, tagged so that a newer question of the same kind replaces an older one still waiting;
answers come back through ``worker.job_done`` and are shown only if they answer the latest one.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

from gui.feature_maps import MapCell
from gui.menus import add_action, menu_before_help
from gui.worker import Job
from model.teaching.explain import ConvBreakdown
from model.teaching.jobs import (
    Architecture,
    ConvKernels,
    Explanation,
    SaliencyMaps,
    architecture_job,
    explain_job,
    kernels_job,
    saliency_job,
)

from .answer import ANSWER_TAG, AnswerView
from .architecture import ArchitectureDialog
from .explain import ExplanationPanel
from .filters import FiltersDialog
from .map_detail import MapDetail
from .placement import present_beside
from .playground import PlaygroundWindow
from .saliency import SaliencyDialog

EXPLAIN_TAG = "explain"
KERNELS_TAG = "kernels"
ARCHITECTURE_TAG = "architecture"
SALIENCY_TAG = "saliency"
HOVER_DELAY_MS = 60
SALIENCY_DELAY_MS = 400
DRAW_FIRST = (
    "Draw a digit first: then click any cell of a feature map to see how the network computed its value from your drawing."
)
DRAW_FIRST_SALIENCY = "Draw a digit first: then this view shows which pixels of your drawing the network relied on."
LOADING = " The model is still loading; this appears as soon as it is ready."
NO_CONV = (
    "This model has no convolution layers: it reads the pixels with Dense layers only, so there is no filter, window "
    "or feature map to explain here. Its probabilities are in the main window, and Learn ▸ Why this answer still "
    "shows which pixels it relied on."
)
NO_CONV_TITLE = "No convolution layers"


class Teaching(QObject):
    """Holds the dock, the panels and the dialogs, and routes their questions to the worker.

    Attributes tests use: ``dock``, ``panel`` (``ExplanationPanel``), ``playground``,
    ``filters_dialog``, ``architecture_dialog``, ``saliency_dialog`` (``None`` until opened),
    ``target`` (the cell explained), ``menu`` and the actions.
    """

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.state = window.state  # the worker, the model in use, the answer on screen (gui/state.py)
        self._ids = itertools.count(1)
        self._latest: dict[str, int] = {}
        self.target: tuple[str, int, int, int] | None = None
        self.kernels: list[ConvKernels] | None = None
        self.playground: PlaygroundWindow | None = None
        self.filters_dialog: FiltersDialog | None = None
        self.architecture_dialog: ArchitectureDialog | None = None
        self.saliency_dialog: SaliencyDialog | None = None
        self._saliency_class: int | None = None  # None: the predicted digit

        self.panel = ExplanationPanel()
        self.dock = QDockWidget("How is this value computed?", window)
        self.dock.setObjectName("explanation_dock")
        self.dock.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea)
        self.detail = MapDetail()  # the clicked map, large, above the explanation of its cell
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.detail)
        column.addWidget(self.panel, 1)
        self.dock.setWidget(body)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()

        self._hover_timer = _single_shot(self, HOVER_DELAY_MS, self._on_hover_settled)
        self._hovered: tuple[str, int, int, int] | None = None
        # Saliency costs 0.1-0.5 s on the worker (up to 512 gradients along the integration path and
        # a batch of occluded images): while the user is still drawing, wait for a pause.
        self._saliency_timer = _single_shot(self, SALIENCY_DELAY_MS, self.request_saliency)

        self._build_menu()
        self.answer = AnswerView(self)  # a click on the answer or a bar: pooling, the dense sum, softmax
        window.feature_maps.map_clicked.connect(self.explain)
        window.feature_maps.more_requested.connect(self.show_layer)
        self.detail.cell_clicked.connect(self._on_detail_clicked)
        window.feature_maps.map_hovered.connect(self._on_map_hovered)
        self.state.worker.job_done.connect(self._on_job_done)
        self.state.model_changed.connect(self._on_model_loaded)
        self.state.result_shown.connect(self._on_result_shown)
        window.canvas.strokes_changed.connect(self._on_strokes_changed)

    def _build_menu(self) -> None:
        self.menu = menu_before_help(self.window, "&Learn", "learn_menu")

        def action(text: str, slot: Callable[[], object], tip: str) -> QAction:
            return add_action(self.window, text, slot, tip=tip, menu=self.menu)

        self.playground_action = action(
            "Convolution &playground…",
            self.open_playground,
            "Slide a filter over a small grid or your drawing, one multiply-sum at a time",
        )
        self.filters_action = action("Learned &filters…", self.open_filters, "The filters the network learned, as small images")
        self.architecture_action = action(
            "&Architecture && parameters…",
            self.open_architecture,
            "Each layer's output shape and parameters, against the lesson's fully connected network",
        )
        self.saliency_action = action(
            "&Why this answer (saliency)…",
            self.open_saliency,
            "Which pixels of your drawing pushed the prediction towards a digit",
        )
        self.channels_action = action(
            "What each &channel looks for…",
            self.open_channels,
            "Each channel's strongest digit patches, layer by layer, and an input made to excite it",
        )
        self.trainer_action = action(
            "&Build and train a network…",
            self.open_trainer,
            "Write the layers, see every shape and parameter, train on MNIST live and use the result",
        )
        self.menu.addSeparator()
        self.explain_action = self.dock.toggleViewAction()
        self.explain_action.setText("&Explanation panel (click a feature map)")
        self.menu.addAction(self.explain_action)

    # --- jobs --------------------------------------------------------------------------------

    def _run(self, tag: str, fn: Callable[[object], object]) -> None:
        job_id = next(self._ids)
        self._latest[tag] = job_id
        self.state.worker.run_job(Job(job_id, fn, tag))

    @Slot(object, object, str)
    def _on_job_done(self, job_id: int, result: object, tag: str) -> None:
        if self._latest.get(tag) != job_id:
            return  # another module's job, or an answer to an older question
        del self._latest[tag]
        handler = {
            EXPLAIN_TAG: self._show_explanation,
            KERNELS_TAG: self._show_kernels,
            ARCHITECTURE_TAG: self._show_architecture,
            SALIENCY_TAG: self._show_saliency,
            ANSWER_TAG: self.answer.show_result,
        }[tag]
        handler(result)

    def _waiting_note(self) -> str:
        return "" if self.state.model_info is not None else LOADING

    def _drawing(self) -> np.ndarray | None:
        """The current model input as a 2-D ``(h, w)`` float64 image, or ``None`` before any drawing."""
        result = self.state.last_result
        return None if result is None or result.input is None else np.squeeze(np.asarray(result.input, np.float64))

    # --- explanation -------------------------------------------------------------------------

    @Slot(str, int, int, int)
    def explain(self, layer: str, channel: int, row: int, col: int) -> None:
        """Explain the value at ``(row, col)`` of ``channel`` of ``layer`` for the current drawing."""
        self.target = (layer, int(channel), int(row), int(col))
        if not self.dock.isVisible():
            self.dock.show()
            self.dock.raise_()
        if self.state.last_result is not None:
            self.detail.show_map(layer, channel, self.state.last_result.activations, MapCell(*self.target))
        if not self.has_maps():
            self.panel.show_message(NO_CONV, title=NO_CONV_TITLE)
            return
        self._request_explanation()

    @Slot(str, int, int, int)
    def _on_detail_clicked(self, layer: str, channel: int, row: int, col: int) -> None:
        self.window.feature_maps.select(MapCell(layer, channel, row, col))
        self.explain(layer, channel, row, col)

    @Slot(str)
    def show_layer(self, layer: str) -> None:
        """Every map of ``layer`` in the dock (the overview's "+N more"); a click on one explains it."""
        self.dock.show()
        self.dock.raise_()
        self.detail.show_layer(layer, self.state.last_result.activations if self.state.last_result else {})

    def has_maps(self) -> bool:
        """Whether the loaded model has convolution or pooling layers to explain (``True`` while it loads)."""
        info = self.state.model_info
        return info is None or any("Conv" in layer.kind or "Pooling" in layer.kind for layer in info.layers)

    def _request_explanation(self) -> None:
        if self.target is None or not self.has_maps():
            return
        layer, channel, row, col = self.target
        image = self._drawing()
        if image is None:
            self._latest.pop(EXPLAIN_TAG, None)
            self.panel.show_message(DRAW_FIRST)
            return
        a = self.state.last_result.activations.get(layer)
        model_value = None
        if a is not None and row < a.shape[0] and col < a.shape[1] and channel < a.shape[2]:
            model_value = float(a[row, col, channel])
        self._run(EXPLAIN_TAG, explain_job(layer, channel, row, col, image.astype(np.float32), model_value))
        self.panel.show_status(f"Computing {layer} · channel {channel} · row {row}, col {col}…{self._waiting_note()}")

    def _show_explanation(self, result: Explanation | Exception) -> None:
        if isinstance(result, Exception):
            self.panel.show_message(f"Cannot explain this value: {result}", title="Not available")
        elif isinstance(result.breakdown, ConvBreakdown):
            self.panel.show_conv(result.breakdown, result.image, result.model_value, result.source_channels)
        else:
            self.panel.show_pool(result.breakdown, result.image, result.model_value)

    @Slot(object)
    def _on_map_hovered(self, hit: tuple[str, int, int, int] | None) -> None:
        if hit is None or not self.dock.isVisible() or not self.panel.follow_mouse.isChecked():
            return
        self._hovered = tuple(hit)
        self._hover_timer.start()  # restarts: only the cell the mouse rests on is computed

    def _on_hover_settled(self) -> None:
        if self._hovered is not None and self._hovered != self.target:
            self.explain(*self._hovered)

    @Slot()
    def _on_strokes_changed(self) -> None:
        if self.state.last_result is not None:
            return
        if self.dock.isVisible():
            self._latest.pop(EXPLAIN_TAG, None)
            self.panel.show_message(DRAW_FIRST)
        if _shown(self.saliency_dialog):
            self._latest.pop(SALIENCY_TAG, None)
            self.saliency_dialog.show_message(DRAW_FIRST_SALIENCY)

    @Slot(int)
    def _on_result_shown(self, _request_id: int) -> None:
        if self.dock.isVisible() and self.detail.isVisible():
            self.detail.set_activations(self.state.last_result.activations)
        if self.dock.isVisible() and self.target is not None:
            self._request_explanation()
        if _shown(self.saliency_dialog):
            self._saliency_timer.start()
        if getattr(self, "trainer", None) is not None:
            self.trainer.set_drawing(self._drawing())
        if _shown(self.playground) and self.playground.is_showing_drawing() and not self.playground.play_button.isChecked():
            image = self._drawing()
            if image is not None:
                self.playground.set_input(image)

    @Slot(object)
    def _on_model_loaded(self, info) -> None:
        self.kernels = None
        self._saliency_class = None  # the new model's classes may be others
        names = {layer.name for layer in info.layers}
        if not self.has_maps():
            self.target = None
            self.panel.show_message(NO_CONV, title=NO_CONV_TITLE)
        elif self.target is None or self.target[0] not in names:  # also replaces a previous model's "no convolution"
            self.target = None
            self.panel.show_message(f"{info.name} is loaded. Click any cell of its feature maps to see how it is computed.")
        if self.saliency_dialog is not None:
            self.saliency_dialog.set_class_names(info.class_names)
        if _shown(self.filters_dialog) or _shown(self.playground):
            self._run(KERNELS_TAG, kernels_job)
        if _shown(self.architecture_dialog):
            self._run(ARCHITECTURE_TAG, architecture_job)

    @Slot()
    def open_channels(self):
        from .channels import open_channels

        return open_channels(self.window)

    # --- playground --------------------------------------------------------------------------

    @Slot()
    def open_playground(self) -> PlaygroundWindow:
        if self.playground is None:
            # Owned by the main window (closed and freed with it) but a window of its own.
            self.playground = PlaygroundWindow(self.window)
            self.playground.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
            self.playground.drawing_requested.connect(self._send_drawing)
            if self.kernels is not None:
                self.playground.set_learned_kernels(self._learned_presets())
        if self.kernels is None:
            self._run(KERNELS_TAG, kernels_job)
        _present(self.playground)
        return self.playground

    @Slot()
    def open_trainer(self):
        """Learn ▸ Build and train a network: its own window (and its own training thread)."""
        if getattr(self, "trainer", None) is None:
            from PySide6.QtWidgets import QApplication

            from .trainer import TrainerWindow

            self.trainer = TrainerWindow(self.window)
            self.trainer.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
            self.trainer.use_requested.connect(self.window.load_model)  # the File ▸ Open model path
            self._worker_failed = False
            self.state.worker.model_failed.connect(lambda *_: setattr(self, "_worker_failed", True))
            self.trainer.tf_ready = lambda: (
                self.state.model_info is not None
                or self._worker_failed
                or hasattr(sys.modules.get("keras"), "Sequential")  # imported in full, by anyone
            )
            self.trainer.give_way = self.state.worker.answering  # the live drawing first: training waits
            QApplication.instance().aboutToQuit.connect(self.trainer.shutdown)
            self.trainer.place_beside(self.window)
            self.trainer.set_drawing(self._drawing())
        _present(self.trainer)
        return self.trainer

    @Slot()
    def _send_drawing(self) -> None:
        image = self._drawing()
        if image is None:
            self.playground.show_problem(
                "Draw a digit in the main window first; then “Use my drawing” loads the image the network sees."
            )
        else:
            self.playground.set_input(image)

    @Slot(str, int, int)
    def _try_filter(self, layer: str, index: int, channel: int) -> None:
        """Open the playground on filter ``index`` of ``layer`` (its slice for input ``channel``)."""
        k = next((k for k in self.kernels or [] if k.name == layer), None)
        if k is None:
            return
        playground = self.open_playground()
        name = f"{layer} filter {index}"
        if name in playground.preset_names() and k.kernel.shape[2] == 1:
            playground.load_preset(name)
        else:
            # A depthwise filter has one kernel, over the one input channel it reads (its note says which).
            playground.set_kernel(k.kernel[:, :, channel, index], name if k.note else f"{name}, input channel {channel}")

    def _learned_presets(self) -> dict[str, np.ndarray]:
        first = self.kernels[0] if self.kernels else None
        if first is None or first.kernel.shape[2] != 1:
            return {}
        return {f"{first.name} filter {i}": first.kernel[:, :, 0, i] for i in range(first.kernel.shape[-1])}

    # --- filters -----------------------------------------------------------------------------

    @Slot()
    def open_filters(self) -> FiltersDialog:
        if self.filters_dialog is None:
            self.filters_dialog = FiltersDialog(self.window)
            self.filters_dialog.try_requested.connect(self._try_filter)
        if self.kernels is None:
            self.filters_dialog.show_message("Reading the filters from the model…" + self._waiting_note())
            self._run(KERNELS_TAG, kernels_job)
        else:
            self.filters_dialog.set_kernels(self.kernels)
        _present(self.filters_dialog)
        return self.filters_dialog

    def _show_kernels(self, result: list[ConvKernels] | Exception) -> None:
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

    @Slot()
    def open_architecture(self) -> ArchitectureDialog:
        if self.architecture_dialog is None:
            self.architecture_dialog = ArchitectureDialog(self.window)
        self.architecture_dialog.show_message("Counting the parameters…" + self._waiting_note())
        self._run(ARCHITECTURE_TAG, architecture_job)
        _present(self.architecture_dialog)
        return self.architecture_dialog

    def _show_architecture(self, result: Architecture | Exception) -> None:
        if self.architecture_dialog is None:
            return
        if isinstance(result, Exception):
            self.architecture_dialog.show_message(f"Could not count the parameters: {result}")
        else:
            self.architecture_dialog.set_architecture(result)

    # --- saliency ----------------------------------------------------------------------------

    @Slot()
    def open_saliency(self) -> SaliencyDialog:
        if self.saliency_dialog is None:
            self.saliency_dialog = SaliencyDialog(self.window)
            self.saliency_dialog.class_chosen.connect(self._on_saliency_class)
            self.saliency_dialog.follow_prediction.connect(lambda: self._on_saliency_class(None))
            if self.state.model_info is not None:
                self.saliency_dialog.set_class_names(self.state.model_info.class_names)
        _present(self.saliency_dialog)
        self.request_saliency()
        return self.saliency_dialog

    @Slot(int)
    def _on_saliency_class(self, digit: int | None) -> None:
        self._saliency_class = digit
        self.request_saliency()

    @Slot()
    def request_saliency(self) -> None:
        dialog = self.saliency_dialog
        if dialog is None:
            return
        image, result = self._drawing(), self.state.last_result
        if image is None:
            self._latest.pop(SALIENCY_TAG, None)
            dialog.show_message(DRAW_FIRST_SALIENCY)
            return
        target = self._saliency_class if self._saliency_class is not None else (result.digit or 0)
        dialog.show_message(f"Computing which pixels matter for {target}…{self._waiting_note()}")
        self._run(SALIENCY_TAG, saliency_job(image.astype(np.float32), int(target)))

    def _show_saliency(self, result: SaliencyMaps | Exception) -> None:
        if self.saliency_dialog is None:
            return
        if isinstance(result, Exception):
            self.saliency_dialog.show_message(f"Could not compute the saliency maps: {result}")
        else:
            self.saliency_dialog.show_maps(result)


def _single_shot(parent: QObject, ms: int, slot: Callable[[], object]) -> QTimer:
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(ms)
    timer.timeout.connect(slot)
    return timer


def _shown(widget: QWidget | None) -> bool:
    return widget is not None and widget.isVisible()


def _present(widget: QWidget) -> None:
    present_beside(widget, widget.parentWidget())  # beside the canvas, never over it; Close, Esc, Ctrl+W


def install_teaching(window) -> Teaching:
    """Add the explanation dock and the Learn menu to ``window`` (a ``MainWindow``); idempotent."""
    existing = getattr(window, "teaching", None)
    if isinstance(existing, Teaching):
        return existing
    teaching = Teaching(window)
    window.teaching = teaching
    return teaching
