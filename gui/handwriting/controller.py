"""The handwriting feature's controller: labelling, the menu, the personal model, background jobs."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel

from gui.menus import add_action, menu_before_help
from gui.settings import WindowSettings
from model.data.handwriting import HandwritingStore
from model.data.paths import BUNDLED_MODEL, models_dir

from .runner import WorkerJobs, probabilities_for, readings_for

USE_PERSONAL_KEY = "handwriting/use_personal"
PERSONAL_NAME = "personal.keras"
DIGIT_KEYS = {getattr(Qt.Key, f"Key_{d}"): d for d in range(10)}


def attach(window, model_path: str | Path | None = None) -> HandwritingController:
    """Add label-while-drawing, the Handwriting menu and the model switch to ``window``.

    ``model_path``: a model the user asked for when starting the app; it wins over the remembered
    bundled/personal choice for this session.
    """
    return HandwritingController(window, restore_choice=model_path is None)


class HandwritingController(QObject):
    """Owns the store, the background runner, the dialogs, and the bundled/personal model choice."""

    stored = Signal(str, int)  # path of the new file, its label
    readings_ready = Signal(str, object, object, object)  # model name, paths, labels, predicted
    counted = Signal()  # the store was read once off the GUI thread; counts are now a stat per file

    def __init__(self, window, restore_choice: bool = True):
        super().__init__(window)
        self.setObjectName("handwriting")
        self.window = window
        self.store = HandwritingStore()
        self.personal_path = models_dir() / PERSONAL_NAME
        self.settings = WindowSettings()
        self.state = window.state  # the worker, the model in use (gui/state.py)
        self.runner = WorkerJobs(self.state.worker, self)
        self.runner.done.connect(self._job_done)
        self.view = None
        self.tune_dialog = None
        self.compare = None
        self._reading_model: Path | None = None  # the model the last "readings" job used
        self._compare_timer = QTimer(self, singleShot=True, interval=60)
        self._compare_timer.timeout.connect(self._request_compare)

        from .number_labels import NumberLabeller

        self.number_labels = NumberLabeller(self)
        window.canvas.installEventFilter(self)
        window.installEventFilter(self)
        window.canvas.strokes_changed.connect(self._compare_timer.start)
        self.state.model_changed.connect(self._on_model_loaded)  # "reads N of M" is about the model in use
        # Shift+click on a digit's bar stores the drawing under that class (a plain click explains the answer).
        self.state.label_requested.connect(self.label_clicked_class)

        self.counter = QLabel(objectName="handwriting_counts")
        self.counter.setToolTip(
            "Your stored drawings per digit. Type a digit (0-9) on the canvas to store the drawing "
            "with that label; Handwriting ▸ My handwriting shows them."
        )
        window.statusBar().addPermanentWidget(self.counter)
        self._build_menu()
        # The first read parses every stored file (seconds at 10,000): on a thread, not at start-up.
        self.counter.setText("My digits: counting…")
        self.counted.connect(self.update_counts)
        threading.Thread(target=self._count_in_background, name="handwriting-count", daemon=True).start()
        if restore_choice:
            self._restore_model_choice()

    # --- menu and model choice ---------------------------------------------------------------

    def _build_menu(self) -> None:
        menu = menu_before_help(self.window, "&Handwriting", "handwriting_menu")

        def action(text, slot, shortcut=None, tip="", name=""):
            return add_action(self.window, text, slot, shortcut, tip, menu, name)

        self.view_action = action(
            "&My handwriting…",
            self.show_view,
            "Ctrl+Shift+H",
            "Your stored digits: thumbnails by digit, delete, relabel, import, export",
            "my_handwriting_action",
        )
        self.tune_action = action(
            "&Fine-tune on my digits…",
            self.show_tune_dialog,
            "Ctrl+Shift+T",
            "Teach a copy of the model your handwriting",
            "fine_tune_action",
        )
        menu.addSeparator()
        self.use_personal_action = action(
            "Use my &personal model",
            self.set_use_personal,
            "Ctrl+Shift+P",
            "Switch between the bundled model and the one tuned on your handwriting",
            "use_personal_action",
        )
        self.use_personal_action.setCheckable(True)
        self.compare_action = action(
            "&Compare bundled and personal",
            self.toggle_compare,
            "Ctrl+Shift+C",
            "Both models' probabilities for the current drawing, side by side",
            "compare_action",
        )
        self.compare_action.setCheckable(True)
        self._sync_actions()

    @property
    def use_personal(self) -> bool:
        return self.use_personal_action.isChecked()

    def _sync_actions(self) -> None:
        exists = self.personal_path.exists()
        self.use_personal_action.setEnabled(exists or self.use_personal)
        self.compare_action.setEnabled(exists)

    def _restore_model_choice(self) -> None:
        wanted = self.settings.flag(USE_PERSONAL_KEY)
        if wanted and self.personal_path.exists():
            self.use_personal_action.setChecked(True)
            self.window.load_model(self.personal_path)
        elif wanted:
            self.window.statusBar().showMessage(
                f"Your personal model {self.personal_path} is missing; using the bundled model.", 8000
            )
        self._sync_actions()

    def set_use_personal(self, on: bool) -> None:
        """Load the personal model (``on``) or the bundled one, and remember the choice."""
        on = bool(on)
        if on and not self.personal_path.exists():
            on = False
            self.window.statusBar().showMessage("No personal model yet: Handwriting ▸ Fine-tune on my digits makes one.", 8000)
        self.use_personal_action.blockSignals(True)
        self.use_personal_action.setChecked(on)
        self.use_personal_action.blockSignals(False)
        self.settings.set(USE_PERSONAL_KEY, on)
        self.settings.sync()
        self.window.load_model(self.personal_path if on else BUNDLED_MODEL)
        self._sync_actions()
        if self.tune_dialog is not None:
            self.tune_dialog.refresh()

    def current_model_path(self) -> Path:
        return self.personal_path if self.use_personal else BUNDLED_MODEL

    def tune_base(self) -> Path:
        # Always the bundled model: every tuning uses all stored drawings, so starting afresh keeps
        # the result reproducible and never compounds one tuning on top of the last.
        return BUNDLED_MODEL

    def mnist_dir(self) -> Path | None:
        from model.data.paths import default_mnist_dir

        return default_mnist_dir()

    def personal_summary(self) -> str:
        from model.nets.card import read_card_document
        from model.training.tune_report import describe_html

        card = read_card_document(self.personal_path)
        try:
            return "Your current personal model: " + describe_html(card)
        except (KeyError, TypeError):  # no card, or one not written by tune
            return ""

    # --- labelling ---------------------------------------------------------------------------

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if obj is self.window.canvas and kind == QEvent.Type.KeyPress:
            digit = DIGIT_KEYS.get(event.key())
            blocked = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
            if not (event.modifiers() & blocked) and self.number_labels.key_pressed(event.key(), digit):
                return True  # a number on the canvas: its digits are typed, then Enter stores them
            if digit is not None and not (event.modifiers() & blocked):
                self.label_current(digit)
                return True
        elif obj is self.window and kind == QEvent.Type.Close:
            self.shutdown()
        return False

    def label_clicked_class(self, index: int) -> Path | None:
        """A click on the bar of output ``index``: store the drawing under that output's class *name*.

        The index is the model's output order, which a card may change (classes 1..9, 0): the name is
        what the drawing is. A class that is not a digit 0-9 stores nothing, and says so.
        """
        info = self.state.model_info
        names = list(info.class_names) if info is not None else [str(d) for d in range(10)]
        name = names[index] if 0 <= index < len(names) else str(index)
        if name not in {str(d) for d in range(10)}:
            self.window.statusBar().showMessage(
                f"Class {name!r} is not a digit 0-9; only digits are stored in My handwriting. Nothing was stored.", 8000
            )
            return None
        return self.label_current(int(name))

    def label_current(self, digit: int) -> Path | None:
        """Store the canvas's drawing labelled ``digit``, then clear the canvas for the next one (undoable)."""
        canvas = self.window.canvas
        strokes = canvas.strokes()
        if not strokes:
            self.window.statusBar().showMessage(f"Draw a digit first, then type {digit} to store it with that label.", 6000)
            return None
        try:
            path = self.store.add(strokes, int(digit))
        except (OSError, ValueError) as exc:
            self.window.statusBar().showMessage(f"Could not store the drawing in {self.store.folder}: {exc}", 10000)
            return None
        counts = self.update_counts()
        canvas.clear()
        self.window.statusBar().showMessage(
            f"Stored as {digit} — {counts[digit]} of that digit, {sum(counts.values())} in all "
            "(canvas cleared; Ctrl+Z brings the drawing back).",
            6000,
        )
        self.stored.emit(str(path), int(digit))
        if self.view is not None and self.view.isVisible():
            self.view.refresh()
        if self.tune_dialog is not None:
            self.tune_dialog.refresh()
        return path

    def _count_in_background(self) -> None:
        try:
            self.store.counts()
            self.counted.emit()
        except (OSError, RuntimeError):  # an unreadable folder (said by update_counts), or the window is gone
            pass

    def update_counts(self) -> dict[int, int]:
        counts = self.store.counts()
        total = sum(counts.values())
        self.counter.setText(
            f"My digits: {total}  (" + " ".join(f"{d}:{n}" for d, n in counts.items()) + ")"
            if total
            else "My digits: none yet — type a digit on the canvas to store it"
        )
        return counts

    # --- dialogs and panels ------------------------------------------------------------------

    def show_view(self) -> None:
        from .view import HandwritingView

        if self.view is None:
            self.view = HandwritingView(self, self.window)
            self.view.changed.connect(self._store_changed)
        else:
            self.view.refresh()
        self.view.show()
        self.view.raise_()

    def show_tune_dialog(self) -> None:
        from .tune_dialog import FineTuneDialog

        if self.tune_dialog is None:
            self.tune_dialog = FineTuneDialog(self, self.window)
            self.tune_dialog.tuned.connect(self._tuned)
        self.tune_dialog.refresh()
        self.tune_dialog.show()
        self.tune_dialog.raise_()

    def toggle_compare(self, on: bool) -> None:
        from .compare import ComparePanel

        if self.compare is None:
            self.compare = ComparePanel(self.window)
            self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.compare)
            self.window.resizeDocks([self.compare], [380], Qt.Orientation.Horizontal)
            self.compare.visibilityChanged.connect(lambda visible: self.compare_action.setChecked(visible))
        self.compare.setVisible(bool(on))
        if on:
            self._request_compare()

    def _store_changed(self) -> None:
        self.update_counts()
        if self.tune_dialog is not None:
            self.tune_dialog.refresh()

    def _tuned(self, card: dict) -> None:
        self._sync_actions()
        if self.use_personal:
            self.window.load_model(self.personal_path)  # the new file replaces the old one
        else:
            self.window.statusBar().showMessage("Your personal model is ready: Handwriting ▸ Use my personal model.", 10000)
        if self.compare is not None and self.compare.isVisible():
            self._request_compare()

    # --- background jobs ---------------------------------------------------------------------

    def reading_model_path(self) -> Path:
        """The model the window uses now (opened by hand, personal or bundled): the one My handwriting measures."""
        info = getattr(self.window, "model_info", None)
        return Path(info.path) if info is not None else self.current_model_path()

    def request_readings(self, drawings) -> None:
        self._reading_model = self.reading_model_path()
        self.runner.submit("readings", readings_for(drawings, self._reading_model))

    def _on_model_loaded(self, _info) -> None:
        if self.view is not None and self.view.isVisible():
            self.view.refresh()  # read the stored drawings again with the new model

    def _request_compare(self) -> None:
        if self.compare is None or not self.compare.isVisible():
            return
        if not self.personal_path.exists():
            self.compare.show_message("No personal model yet: Handwriting ▸ Fine-tune on my digits makes one.")
            return
        strokes = self.window.canvas.strokes()
        if not strokes:
            self.compare.show_message("Draw a digit to compare the bundled model with your personal one.")
            return
        self.runner.submit("compare", probabilities_for(strokes, [BUNDLED_MODEL, self.personal_path]))

    def _job_done(self, tag: str, result) -> None:
        if isinstance(result, Exception):
            self.window.statusBar().showMessage(f"Handwriting: {result}", 10000)
            return
        if tag == "readings":
            paths, labels, predicted = result
            model = self._reading_model or self.current_model_path()
            self.readings_ready.emit(model.name, paths, labels, predicted)
        elif tag == "compare" and self.compare is not None:
            self.compare.show_probabilities(result.get(BUNDLED_MODEL), result.get(self.personal_path))

    def shutdown(self) -> None:
        """Stop the background threads (the window is closing)."""
        if self.tune_dialog is not None:
            self.tune_dialog.wait_for_thread()
