"""Learn ▸ Build and train ▸ Compare: parameters against test accuracy, one point per network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout

from model.training.live import compare_points


class CompareDialog(QDialog):
    """Parameters against MNIST-test accuracy for every network in the user's folder and the bundled two."""

    def __init__(self, folder: Path | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("trainer_compare")
        self.setWindowTitle("Compare networks: parameters against test accuracy")
        layout = QVBoxLayout(self)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "parameters (log scale)")
        self.plot.setLabel("left", "MNIST test accuracy (%)")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        layout.addWidget(self.plot)
        self.note = QLabel(wordWrap=True)
        layout.addWidget(self.note)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        layout.addWidget(close, alignment=Qt.AlignmentFlag.AlignRight)
        self.points = compare_points(folder)
        for p in self.points:
            colour = "#c0392b" if p.bundled else "#2c6fbb"
            # log mode takes raw x for data, but items such as TextItem sit in the view's (log10) coordinates
            self.plot.plot([p.params], [p.accuracy * 100], pen=None, symbol="o", symbolBrush=colour, symbolSize=10)
            secs = f", {p.seconds:.0f} s" if p.seconds is not None else ""
            label = p.name if len(p.name) <= 40 else p.name[:38] + "…"
            text = pg.TextItem(f"{label} ({p.params:,}{secs})", color=colour, anchor=(0.5, 1.2))
            text.setPos(np.log10(p.params), p.accuracy * 100)
            self.plot.addItem(text)
        if self.points:
            xs = [np.log10(p.params) for p in self.points]
            ys = [p.accuracy * 100 for p in self.points]
            self.plot.setXRange(min(xs) - 0.6, max(xs) + 0.6, padding=0)
            self.plot.setYRange(min(ys) - 0.5, min(100.0, max(ys) + 0.5), padding=0)
        self.note.setText(
            f"{len(self.points)} networks: red, the bundled CNN and the lesson's MLP; blue, the ones you trained "
            "(kept with their cards in your models folder). Up and to the left is better: accuracy for fewer parameters."
        )
        self.resize(760, 520)
