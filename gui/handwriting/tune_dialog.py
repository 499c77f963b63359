"""The Fine-tune dialog: start, watch the progress, cancel, read the before/after figures, switch models.

Not modal: tuning runs on its own thread, so drawing and live predictions go on meanwhile. Closing
the dialog does not stop a tuning in progress; it finishes in the background and the dialog shows
the result when reopened. Closing the window cancels it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from .runner import TuneThread


class FineTuneDialog(QDialog):
    """``tuned`` fires with the card when a new personal model has been written."""

    tuned = Signal(object)

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.setObjectName("fine_tune_dialog")
        self.setWindowTitle("Fine-tune on my handwriting")
        self.controller = controller
        self.thread: TuneThread | None = None
        self.intro = QLabel(objectName="tune_intro")
        self.intro.setWordWrap(True)
        self.progress = QProgressBar(objectName="tune_progress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.stage = QLabel(objectName="tune_stage")
        self.results = QLabel(objectName="tune_results")
        self.results.setTextFormat(Qt.TextFormat.RichText)  # describe_html: escaped lines, the request in bold
        self.results.setWordWrap(True)
        self.results.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.start_button = QPushButton("Start fine-tuning", objectName="start_tuning")
        self.cancel_button = QPushButton("Cancel", objectName="cancel_tuning")
        self.use_button = QPushButton("Use my personal model", objectName="use_personal")
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(lambda: controller.set_use_personal(True))
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.use_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.progress)
        layout.addWidget(self.stage)
        layout.addWidget(self.results, 1)
        layout.addLayout(buttons)
        self.resize(560, 320)
        self.refresh()

    def refresh(self) -> None:
        from model.training.tune import HOLDOUT_EVERY, MIN_DRAWINGS

        counts = self.controller.store.counts()
        total = sum(counts.values())
        per_digit = "  ".join(f"{d}: {n}" for d, n in counts.items())
        self.intro.setText(
            f"Fine-tunes a copy of the bundled model on your {total} stored drawings ({per_digit}) mixed with MNIST "
            f"digits, so it keeps reading everybody else's. Every {HOLDOUT_EVERY}th drawing of each digit is held out "
            f"to measure the result honestly. Needs at least {MIN_DRAWINGS} drawings; about 50 (5 of each digit) work "
            f"well. The result is saved as {self.controller.personal_path.name}; the bundled model is never changed."
        )
        running = self.thread is not None
        self.start_button.setEnabled(not running and total >= MIN_DRAWINGS)
        self.cancel_button.setEnabled(running)
        self.use_button.setEnabled(not running and self.controller.personal_path.exists() and not self.controller.use_personal)
        if not running and self.controller.personal_path.exists() and not self.results.text():
            self.results.setText(self.controller.personal_summary())

    def start(self) -> None:
        if self.thread is not None:
            return
        drawings = self.controller.store.drawings  # read on the tuning thread, not here
        self.results.setText("")
        self.progress.setValue(0)
        self.stage.setText("starting…")
        self.thread = TuneThread(
            self.controller.tune_base(), drawings, self.controller.personal_path, self.controller.mnist_dir(), self
        )
        self.thread.progressed.connect(self._progressed)
        self.thread.finished_ok.connect(self._finished)
        self.thread.failed.connect(self._failed)
        self.thread.cancelled.connect(self._cancelled)
        self.thread.finished.connect(self._thread_ended)
        self.thread.start(self.thread.Priority.LowPriority)
        self.refresh()

    def cancel(self) -> None:
        if self.thread is not None:
            self.thread.cancel()
            self.stage.setText("cancelling…")
            self.cancel_button.setEnabled(False)

    def _progressed(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.stage.setText(text)

    def _finished(self, card: dict) -> None:
        from model.training.tune_report import describe_html

        self.progress.setValue(1000)
        self.stage.setText("done")
        self.results.setText(describe_html(card))
        self.tuned.emit(card)

    def _failed(self, message: str) -> None:
        self.stage.setText("failed")
        self.results.setText(f"Fine-tuning failed: {html.escape(message)}<br>Your drawings and models are unchanged.")

    def _cancelled(self) -> None:
        self.progress.setValue(0)
        self.stage.setText("Cancelled — nothing was written; the previous models are unchanged.")

    def _thread_ended(self) -> None:
        if self.thread is not None:
            self.thread.deleteLater()
        self.thread = None
        self.refresh()

    def wait_for_thread(self) -> None:
        """Cancel and join a running tuning (the window is closing)."""
        if self.thread is not None:
            self.thread.cancel()
            self.thread.wait()
