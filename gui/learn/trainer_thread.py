"""Learn ▸ Build and train: the thread that trains one network, with its own Keras model.

``TrainingThread`` loads MNIST, trains the spec against the clock (``model/training/live.py``),
and saves the result with its card; ``gui/learn/trainer.py`` (``TrainerWindow``) shows its progress.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from model.training.live import Control, TrainSettings
from model.training.spec import normalise

STRIP = 10  # test digits shown with their current answers


class TrainingThread(QThread):
    """Loads MNIST, trains one spec (its own Keras model), evaluates on test and saves it with its card.

    ``progressed(Progress)`` about every 0.5 s; ``digits_ready(images, labels)`` once the watched test
    digits are known; ``done(card path | None, Result | Exception)`` at the end (no path if cancelled).
    """

    progressed = Signal(object)
    digits_ready = Signal(object, object)
    done = Signal(object, object)

    def __init__(self, spec: str, settings: TrainSettings, out: Path, data_dir=None, limit: int | None = None, parent=None):
        super().__init__(parent)
        self.spec, self.settings, self.out, self.data_dir, self.limit = spec, settings, out, data_dir, limit
        self.control = Control()
        self.probe: np.ndarray | None = None  # the user's drawing (28, 28), replaced whole by the GUI thread

    def run(self) -> None:
        try:
            from model.training.live import load_spec_data, save_trained, train_spec

            data = load_spec_data(self.data_dir, self.limit, self.settings.seed)
            watch = data.x_test[:STRIP]
            self.digits_ready.emit(watch[..., 0], data.y_test[:STRIP])
            result = train_spec(
                self.spec, data, self.settings, self.progressed.emit, self.control, watch, probe=lambda: self.probe
            )
            if result.cancelled:
                self.done.emit(None, result)
                return
            command = f"Learn ▸ Build and train a network: {normalise(self.spec)}"
            save_trained(self.spec, result, data, self.settings, self.out, command)
            self.done.emit(self.out, result)
        except Exception as exc:  # noqa: BLE001 - shown in the window, never a traceback dialog
            self.done.emit(None, exc)
