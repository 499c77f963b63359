"""Why this answer: which pixels of the drawing pushed the network towards a digit.

Two views of the question, both computed on the worker (``model.teaching.saliency_job``):
integrated gradients of the digit's pre-softmax score (the main map; its attributions add up to
the score change from a blank input, and the view says by how much they do), and occlusion (how
the digit's probability changes when a 4x4 patch is blanked). A map whose values are below float32
rounding noise is not drawn: the view says so instead.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QButtonGroup, QDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout

from model.teaching.jobs import SaliencyMaps
from model.teaching.numbers import fmt, fmt_term

from .widgets import HighlightedMap, diverging_colormap, fit_to_screen, input_levels, message_label

NOISE = "below numerical noise:<br>nothing to draw"


class SaliencyDialog(QDialog):
    """The drawing, its integrated-gradients map and its occlusion map for one digit.

    Choosing a digit emits ``class_chosen(digit)``; "Predicted digit" emits ``follow_prediction``.
    ``show_maps`` shows a ``model.teaching.SaliencyMaps``. Red pushes towards the digit, blue away.
    """

    class_chosen = Signal(int)
    follow_prediction = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("saliency_dialog")
        self.setWindowTitle("Why this answer?")
        self.maps: SaliencyMaps | None = None
        self.class_names: list[str] = []
        layout = QVBoxLayout(self)
        row = self.class_row = QHBoxLayout()
        row.addWidget(QLabel("Explain the class"))
        self.class_buttons = QButtonGroup(self)
        self.class_buttons.setExclusive(True)
        self.set_class_names([str(digit) for digit in range(10)])
        self.class_buttons.idClicked.connect(self.class_chosen)
        self.follow_button = QPushButton("Predicted digit", objectName="saliency_follow")
        self.follow_button.setToolTip("Always explain the digit the network predicts")
        self.follow_button.clicked.connect(self.follow_prediction)
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
        self.probability.setWordWrap(True)
        layout.addWidget(self.probability)
        maps = QHBoxLayout()
        self.input_view = HighlightedMap("your drawing (the model input)")
        self.integrated_view = HighlightedMap("integrated gradients")
        self.occlusion_view = HighlightedMap("occlusion")
        for view in (self.input_view, self.integrated_view, self.occlusion_view):
            view.setMinimumSize(200, 220)
            maps.addWidget(view)
        layout.addLayout(maps, 1)
        self.completeness = QLabel(objectName="saliency_completeness")
        self.completeness.setWordWrap(True)
        layout.addWidget(self.completeness)
        legend = QLabel(
            "Integrated gradients: how much each pixel's ink adds to (red) or takes from (blue) the digit's "
            "score, the network's number for that digit before softmax turns the scores into probabilities. "
            "Occlusion: red where blanking a 4×4 patch makes the digit less likely (the ink there supports "
            "it), blue where it makes it more likely. Each map's colours are scaled to its largest value."
        )
        legend.setWordWrap(True)
        legend.setStyleSheet("color: #444;")
        layout.addWidget(legend)
        fit_to_screen(self, 900, 600)
        self.show_message("Draw a digit first: then this view shows which pixels of your drawing the network relied on.")

    def set_class_names(self, names: list[str]) -> None:
        """One button per class of the loaded model (``class_chosen`` emits its index)."""
        if list(names) == self.class_names:
            return
        for button in self.class_buttons.buttons():
            self.class_buttons.removeButton(button)
            self.class_row.removeWidget(button)
            button.deleteLater()
        self.class_names = [str(n) for n in names]
        for i, name in enumerate(self.class_names):
            button = QPushButton(name, objectName=f"saliency_class_{i}")
            button.setCheckable(True)
            button.setMinimumWidth(32)
            button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
            self.class_buttons.addButton(button, i)
            self.class_row.insertWidget(1 + i, button)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def show_maps(self, maps: SaliencyMaps) -> None:
        self.maps = maps
        t, p, ig = maps.target, maps.probabilities, maps.integrated
        names = self.class_names if len(self.class_names) == len(p) else [str(i) for i in range(len(p))]
        self.set_class_names(names)
        button = self.class_buttons.button(t)
        if button is not None:
            button.setChecked(True)
        cmap = diverging_colormap()
        self.input_view.set_map(maps.image, levels=input_levels(maps.image))
        h, w = maps.image.shape
        # Four short lines per title (the maps start level, and a 1024-pixel screen's narrow panels
        # do not cut them off).
        self.input_view.set_title(f"your drawing as the model<br>receives it ({h}×{w})<br>&nbsp;<br>&nbsp;")
        predicted = int(np.argmax(p))
        which = (
            "the predicted class" if t == predicted else f"the network predicts {names[predicted]} ({p[predicted] * 100:.1f}%)"
        )
        label = names[t]
        self.probability.setText(f"Explaining {label}: probability {_percent(float(p[t]))} — {which}")

        if ig.below_noise:
            self.integrated_view.set_map(None)
            self.integrated_view.set_title(f"integrated gradients for {label}<br>{NOISE}<br>&nbsp;")
        else:
            # A robust scale: the single strongest pixel would otherwise wash every other one out.
            largest = float(np.abs(ig.attributions).max())
            peak = float(np.percentile(np.abs(ig.attributions), 99)) or largest or 1.0
            self.integrated_view.set_map(ig.attributions, levels=(-peak, peak), cmap=cmap)
            self.integrated_view.set_title(
                f"integrated gradients for {label}<br>each pixel's share of the score<br>largest: {fmt(largest, 3)}"
                "<br>(the top 1% saturate)"
            )
        self.completeness.setText(
            f"The attributions add up to the score change: {fmt(ig.attribution_sum, 3)} ≈ {fmt(ig.score_change, 3)} "
            f"= score of your drawing {fmt(ig.score, 3)} − score of a blank input {fmt_term(ig.baseline_score, 3)} "
            f"(within {ig.completeness_gap * 100:.2g}%, integrated over {ig.steps} steps)."
        )

        change = maps.occlusion
        if maps.occlusion_below_noise:
            self.occlusion_view.set_map(None)
            self.occlusion_view.set_title(f"occlusion for {label}<br>{NOISE}<br>&nbsp;")
        else:
            peak = float(np.abs(change).max()) or 1.0
            self.occlusion_view.set_map(change, levels=(-peak, peak), cmap=cmap)
            self.occlusion_view.set_title(
                f"occlusion for {label}: change of p({label})<br>when a 4×4 patch is blanked<br>"
                f"largest drop {_points(max(float(change.max()), 0.0))},<br>"
                f"largest rise {_points(max(-float(change.min()), 0.0))}"
            )
        note = ""
        if maps.occlusion_below_noise:
            note = (
                f"The network is so sure of this {label} (p = {_percent(float(p[t]))}) that blanking any 4×4 patch changes "
                f"p({label}) by less than float32 rounding: no single small part of the drawing decides it. "
                f"Integrated gradients work on the score before softmax, which is not saturated, so they still show "
                f"where the evidence is."
            )
        elif _split(p) is not None:
            a, b = _split(p)
            other = b if t == a else a
            note = (
                f"The network is not sure: {names[a]} ({_percent(float(p[a]))}) or {names[b]} ({_percent(float(p[b]))}). "
                f"These maps show the evidence for {label}; press {names[other]} above to see the evidence for "
                f"{names[other]} in the same places. Ink that is red in both maps argues for both digits: that is "
                f"where the drawing is ambiguous."
            )
        elif p[t] < 0.01:
            note = (
                f"p({label}) is {_percent(float(p[t]))}: the network does not see a {label} here. The maps show which pixels "
                f"argue for (red) and against (blue) a {label} anyway."
            )
        self.show_message(note)


def _split(p: np.ndarray, second_at_least: float = 0.2) -> tuple[int, int] | None:
    """The top two classes when the evidence is split between them (the second has at least 20%), else ``None``."""
    if len(p) < 2:
        return None
    order = np.argsort(p)[::-1]
    return (int(order[0]), int(order[1])) if p[order[1]] >= second_at_least else None


def _percent(probability: float) -> str:
    value = probability * 100
    if value > 99.9:
        return "above 99.9%"
    return "below 0.01%" if value < 0.01 else f"{value:.2g}%" if value < 10 else f"{value:.1f}%"


def _points(change: float) -> str:
    """A change of probability in percentage points, readable when tiny."""
    value = abs(change) * 100
    return "0 points" if value == 0 else "below 0.01 points" if value < 0.01 else f"{value:.2g} points"
