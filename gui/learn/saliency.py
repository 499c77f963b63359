"""Why this answer: which pixels of the drawing pushed the network towards a digit."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QButtonGroup, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from model.teaching import SaliencyMaps

from .widgets import HighlightedMap, diverging_colormap, message_label

DRAW_FIRST = "Draw a digit first: then open this view to see which pixels of your drawing the network relied on."


class SaliencyDialog(QDialog):
    """Which pixels of the drawing pushed the prediction towards a chosen digit.

    Two views of the same question: gradient × input (how much a little more ink on each inked
    pixel would raise the probability) and occlusion (how much the probability drops when a 4×4
    patch is blanked). Red pushes towards the digit, blue away from it.
    """

    def __init__(self, teaching: Teaching, parent=None):
        super().__init__(parent)
        self.teaching = teaching
        self.setObjectName("saliency_dialog")
        self.setWindowTitle("Why this answer?")
        self.chosen: int | None = None  # None: follow the predicted digit
        self.target: int | None = None
        self.saliency_map: np.ndarray | None = None
        self.occlusion_map: np.ndarray | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Explain the digit"))
        self.class_buttons = QButtonGroup(self)
        self.class_buttons.setExclusive(True)
        for digit in range(10):
            button = QPushButton(str(digit))
            button.setCheckable(True)
            button.setFixedWidth(36)
            button.setObjectName(f"saliency_class_{digit}")
            self.class_buttons.addButton(button, digit)
            row.addWidget(button)
        self.class_buttons.idClicked.connect(self.set_class)
        self.follow_button = QPushButton("Predicted digit", objectName="saliency_follow")
        self.follow_button.setToolTip("Always explain the digit the network predicts")
        self.follow_button.clicked.connect(lambda: self.set_class(None))
        row.addWidget(self.follow_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.message = message_label()
        layout.addWidget(self.message)
        self.probability = QLabel(objectName="saliency_probability")
        font = QFont(self.probability.font())
        font.setPointSize(font.pointSize() + 2)
        font.setBold(True)
        self.probability.setFont(font)
        layout.addWidget(self.probability)
        maps = QHBoxLayout()
        self.input_view = HighlightedMap("your drawing (28×28 model input)")
        self.saliency_view = HighlightedMap("gradient × input")
        self.occlusion_view = HighlightedMap("occlusion")
        for view in (self.input_view, self.saliency_view, self.occlusion_view):
            view.setMinimumSize(250, 280)
            maps.addWidget(view)
        layout.addLayout(maps, 1)
        legend = QLabel("Red: these pixels pushed the network towards the digit; blue: they pushed it away; white: no "
                        "effect. Gradient × input is zero wherever there is no ink. Colours are scaled to each map's "
                        "largest value.")
        legend.setWordWrap(True)
        layout.addWidget(legend)
        self.resize(900, 560)
        self.show_message(DRAW_FIRST)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_class(self, digit: int | None) -> None:
        """Explain ``digit`` (0-9); ``None`` follows the predicted digit."""
        self.chosen = digit
        self.teaching.request_saliency()

    def show_maps(self, maps: SaliencyMaps) -> None:
        self.target = maps.target
        self.saliency_map, self.occlusion_map = maps.saliency, maps.occlusion
        button = self.class_buttons.button(maps.target)
        if button is not None:
            button.setChecked(True)
        cmap = diverging_colormap()
        self.input_view.set_map(maps.image, levels=(0.0, 1.0))
        self.input_view.set_title("your drawing<br>(the 28×28 model input)<br>&nbsp;")
        for view, values in ((self.saliency_view, maps.saliency), (self.occlusion_view, maps.occlusion)):
            peak = float(np.abs(values).max()) or 1.0
            view.set_map(values, levels=(-peak, peak), cmap=cmap)
        p = maps.probabilities
        predicted = int(np.argmax(p))
        which = "the predicted digit" if maps.target == predicted else f"the network predicts {predicted} ({p[predicted] * 100:.1f}%)"
        self.probability.setText(f"Explaining {maps.target}: probability {p[maps.target] * 100:.1f}% — {which}")
        self.saliency_view.set_title(f"gradient × input for {maps.target}<br>each inked pixel's push on p({maps.target})<br>"
                                     f"largest: {_points(float(np.abs(maps.saliency).max()))} points")
        t = maps.target
        change = float(np.abs(maps.occlusion).max())
        self.occlusion_view.set_title(f"occlusion for {t}<br>drop of p({t}) when a 4×4 patch is blanked<br>"
                                      f"largest: {_points(change)} points")
        note = ""
        if p[t] > 0.99 and change < 0.01:
            note = (f"The network is so sure of this {t} that blanking any 4×4 patch changes p({t}) by "
                    f"{_points(change)} points at most: no single small part of the drawing decides it.")
        elif p[t] < 0.01:
            note = (f"p({t}) is {'' if p[t] < 1e-4 else 'only '}{_points(float(p[t]))}%: the network does not see a {t} here. Each map is scaled to its "
                    f"largest value, so it still shows which pixels argue for (red) and against (blue) a {t}, "
                    f"but the effects are tiny.")
        self.show_message(note)


def _points(probability: float) -> str:
    """A probability (or a change of one) in percentage points, readable when tiny: ``"below 0.01"``."""
    value = abs(probability) * 100
    return "below 0.01" if value < 0.01 else f"{value:.2g}" if value < 10 else f"{value:.0f}"


