"""Both models' probabilities for the current drawing, side by side: what tuning changed, digit by digit."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

BUNDLED_BRUSH = (120, 150, 220)
PERSONAL_BRUSH = (250, 160, 40)


class ComparePanel(QDockWidget):
    """A dock: paired bars per digit, bundled (blue) and personal (orange), with each model's answer."""

    def __init__(self, parent=None):
        super().__init__("Bundled vs. my model", parent)
        self.setObjectName("compare_dock")
        body = QWidget()
        layout = QVBoxLayout(body)
        self.answers = QLabel(objectName="compare_answers")
        self.answers.setWordWrap(True)
        self.answers.setTextFormat(Qt.TextFormat.RichText)
        self.plot = pg.PlotWidget(objectName="compare_plot")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.setXRange(-0.6, 9.6, padding=0)
        self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(10)]])
        self.plot.setMinimumHeight(140)
        self.bundled_bars = pg.BarGraphItem(x=np.arange(10) - 0.18, height=np.zeros(10), width=0.34, brush=BUNDLED_BRUSH)
        self.personal_bars = pg.BarGraphItem(x=np.arange(10) + 0.18, height=np.zeros(10), width=0.34, brush=PERSONAL_BRUSH)
        self.plot.addItem(self.bundled_bars)
        self.plot.addItem(self.personal_bars)
        layout.addWidget(self.answers)
        layout.addWidget(self.plot, 1)
        self.setWidget(body)
        self.show_message("Draw a digit to compare the bundled model with your personal one.")

    def show_message(self, text: str) -> None:
        self.answers.setText(text)
        self.bundled_bars.setOpts(height=np.zeros(10))
        self.personal_bars.setOpts(height=np.zeros(10))

    def show_probabilities(self, bundled: np.ndarray | None, personal: np.ndarray | None) -> None:
        if bundled is None and personal is None:
            self.show_message("No digit drawn.")
            return

        def answer(name: str, colour: tuple, p: np.ndarray | None) -> str:
            if p is None:
                return f"<span style='color: rgb{colour}'>■</span> {name}: —"
            return f"<span style='color: rgb{colour}'>■</span> {name}: <b>{int(p.argmax())}</b> ({p.max() * 100:.1f}%)"

        self.answers.setText(
            answer("bundled", BUNDLED_BRUSH, bundled) + "&nbsp;&nbsp;&nbsp;" + answer("my model", PERSONAL_BRUSH, personal)
        )
        self.bundled_bars.setOpts(height=np.zeros(10) if bundled is None else bundled)
        self.personal_bars.setOpts(height=np.zeros(10) if personal is None else personal)
