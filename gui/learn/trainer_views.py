"""Learn ▸ Build and train: what the window shows of a run besides its curves.

``DigitStrip``: a row of test digits with the network's current answers; ``filter_mosaic``: the
first convolution's filters (or its maps of the drawing) as one image.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from .trainer_thread import STRIP

DIGIT_PX = 36  # each drawn at this size: the strip fits a 1024-pixel-wide screen beside the layer table


class DigitStrip(QWidget):
    """A row of test digits, each with the network's current answer (misread ones in red)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setSpacing(2)
        self.pictures, self.answers = [], []
        for i in range(STRIP):
            pic, ans = QLabel(), QLabel("·", alignment=Qt.AlignmentFlag.AlignCenter)
            pic.setFixedSize(DIGIT_PX, DIGIT_PX)
            pic.setStyleSheet("background: black;")
            ans.setObjectName(f"trainer_answer_{i}")
            grid.addWidget(pic, 0, i)
            grid.addWidget(ans, 1, i)
            self.pictures.append(pic)
            self.answers.append(ans)
        self.labels: np.ndarray | None = None

    def set_digits(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.labels = labels
        for pic, image in zip(self.pictures, images, strict=False):
            a = np.ascontiguousarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
            q = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale8).copy()
            pic.setPixmap(QPixmap.fromImage(q).scaled(DIGIT_PX, DIGIT_PX))

    def set_answers(self, answers: np.ndarray) -> int:
        """Show ``answers``; returns how many are misread."""
        wrong = 0
        for label, answer, truth in zip(self.answers, answers, self.labels if self.labels is not None else [], strict=False):
            ok = int(answer) == int(truth)
            wrong += not ok
            text = f"{int(answer)}" if ok else f"✗{int(answer)}"
            if label.text() == text:  # a style sheet change re-polishes the widget: only when it changes
                continue
            label.setText(text)
            label.setToolTip("" if ok else f"misread: this is a {int(truth)}")
            label.setStyleSheet("color: #176b2c; font-weight: bold;" if ok else "color: #c0392b; font-weight: bold;")
        return wrong


def filter_mosaic(kernel: np.ndarray) -> np.ndarray:
    """``(k, k, in, out)`` -> one ``(rows*(k+1), cols*(k+1))`` float32 image of the ``out`` filters (input channels averaged).

    Row-major, for an ``ImageItem`` with ``axisOrder="row-major"``; gaps are 0 (white on the diverging map).
    """
    k = kernel.shape[0]
    filters = kernel.mean(axis=2).transpose(2, 0, 1)  # (out, k, k)
    cols = min(8, len(filters))
    rows = -(-len(filters) // cols)
    out = np.zeros((rows * (k + 1) - 1, cols * (k + 1) - 1), np.float32)
    for i, f in enumerate(filters):
        r, c = divmod(i, cols)
        out[r * (k + 1) : r * (k + 1) + k, c * (k + 1) : c * (k + 1) + k] = f
    return out
