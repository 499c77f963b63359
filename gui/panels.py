"""pyqtgraph panels: the model's input and the prediction.

Following pyqtgraph's own advice: row-major C-contiguous float32 arrays, explicit ``levels=`` on
``setImage`` (auto-levels would sample every frame), a named colormap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from model.data.preprocess import INPUT_SIZE

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

COLORMAP_NAME = "inferno"  # perceptually uniform, black at zero like the canvas and MNIST
UNSURE_BELOW = 0.6  # top probability under which the app says it is not sure
GREYED = "color: #9a9a9a;"  # the big digit of an answer the network is not sure of


def colormap() -> pg.ColorMap:
    return pg.colormap.get(COLORMAP_NAME)


class InputView(pg.GraphicsLayoutWidget):
    """The 28x28 image the network actually receives, always square (it never stretches)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("model_input")
        self.setToolTip(
            "What the network sees: your drawing fitted into 20x20 pixels and centred by\n"
            "its centre of mass in a 28x28 field, as MNIST's digits were prepared."
        )
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32), levels=(0.0, 1.0))
        self.view.addItem(self.image)
        self.view.setRange(xRange=(0, INPUT_SIZE), yRange=(0, INPUT_SIZE), padding=0.02)
        self.setMinimumSize(96, 96)

    def set_input(self, x: np.ndarray | None) -> None:
        """Show ``x``, an ``(h, w)`` float image in [0, 1] (``None``: black)."""
        if x is None:
            x = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
        self.image.setImage(x, levels=(0.0, 1.0), autoLevels=False)
        self.view.setRange(xRange=(0, x.shape[1]), yRange=(0, x.shape[0]), padding=0.02)


class SquareBox(QWidget):
    """Holds one widget as the largest centred square that fits (layouts only stretch rectangles)."""

    def __init__(self, child: QWidget, parent=None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def resizeEvent(self, event):  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)


class PredictionPanel(QWidget):
    """The predicted class, large, its confidence, and a bar chart of every class's probability.

    Clicking a class's bar emits ``class_clicked(index)`` (the window explains that class's
    probability); Shift+click emits ``label_requested(index)`` (store the drawing with that label).
    """

    class_clicked = Signal(int)
    label_requested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.digit_label = QLabel("", objectName="predicted_digit")
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._font = QFont()
        self._font.setBold(True)
        self.digit_label.setMinimumHeight(64)
        self.digit_label.setToolTip("The class the network thinks you drew")
        self.confidence_label = QLabel("", objectName="confidence")
        self.confidence_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confidence_label.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("probabilities")
        self.plot.setToolTip(
            "Probability of every class; click a bar to see how it is computed, Shift+click to store your drawing as that class"
        )
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.getAxis("left").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.plot.setMinimumHeight(100)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=(120, 120, 140))
        self.plot.addItem(self.bars)
        layout.addWidget(self.digit_label)
        layout.addWidget(self.confidence_label)
        layout.addWidget(self.plot, 1)
        self.class_names: list[str] = []
        self.set_class_names([str(i) for i in range(10)])
        self.set_probabilities(None)

    def set_class_names(self, names: Sequence[str]) -> None:
        """One name per output, in output order (``"0"``..``"9"`` for digits)."""
        self.class_names = [str(n) for n in names]
        n = len(self.class_names)
        self.plot.setXRange(-0.6, n - 0.4, padding=0)
        longest = max((len(s) for s in self.class_names), default=1)
        # Long names get rotated-free short ticks: the index, with the name in the tooltip/label.
        ticks = [(i, s if longest <= 3 or n <= 6 else str(i)) for i, s in enumerate(self.class_names)]
        self.plot.getAxis("bottom").setTicks([ticks])
        self._font.setPointSize(56 if longest <= 2 else 40 if longest <= 5 else 22)
        self.digit_label.setFont(self._font)
        self.bars.setOpts(x=np.arange(n), height=np.zeros(n), brushes=None, brush=(120, 120, 140))

    def bar_centre(self, index: int) -> QPointF:
        """Widget coordinates of the middle of class ``index``'s bar column (used by tests to click it)."""
        view = self.plot.getPlotItem().vb
        scene = view.mapViewToScene(QPointF(index, 0.5))
        return QPointF(self.plot.mapTo(self, self.plot.mapFromScene(scene)))

    def _on_plot_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self.class_names:
            return
        view = self.plot.getPlotItem().vb
        if not view.sceneBoundingRect().contains(event.scenePos()):
            return
        x = view.mapSceneToView(event.scenePos()).x()
        index = round(x)
        if 0 <= index < len(self.class_names) and abs(x - index) <= 0.45:
            event.accept()
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            (self.label_requested if shift else self.class_clicked).emit(index)

    def set_waiting(self, text: str) -> None:
        self.digit_label.setText("")
        self.confidence_label.setText(text)

    def set_probabilities(self, probabilities: np.ndarray | None, empty_text: str = "Draw a digit") -> None:
        n = len(self.class_names)
        self._probabilities = None
        if probabilities is None:
            self.digit_label.setText("")
            self.confidence_label.setText(empty_text)
            self.bars.setOpts(height=np.zeros(n), brushes=None, brush=(120, 120, 140))
            return
        p = np.asarray(probabilities, dtype=float).ravel()
        if len(p) != n:  # a model without names for its classes: number them
            self.set_class_names([str(i) for i in range(len(p))])
            n = len(p)
        order = np.argsort(p)[::-1]
        top = int(order[0])
        second = int(order[1]) if n > 1 else top
        name = self.class_names
        self.digit_label.setText(name[top])
        brushes = [pg.mkBrush(110, 110, 130)] * n
        if p[top] >= UNSURE_BELOW:
            self.digit_label.setStyleSheet("")
            self.confidence_label.setText(f"{p[top] * 100:.1f}% sure")
            brushes[top] = pg.mkBrush(250, 160, 40)
        else:
            self.digit_label.setStyleSheet("color: gray;")
            self.confidence_label.setText(
                f"Not sure: {name[top]} ({p[top] * 100:.0f}%) or {name[second]} ({p[second] * 100:.0f}%)?"
            )
            brushes[top] = pg.mkBrush(200, 150, 90)
        self.bars.setOpts(x=np.arange(n), height=p, brushes=brushes)
        self._probabilities = p

    def set_number(self, text: str | None, confidence: float = 0.0, selected: int = -1, count: int = 0) -> None:
        """Show a whole number (``None``: back to one digit) with its confidence (the product of its digits').

        The bars keep showing the selected digit's probabilities (set by :meth:`set_probabilities`).
        """
        if text is None:
            if self.digit_label.font().pointSize() != self._font.pointSize():
                self.digit_label.setFont(self._font)
            return
        font = QFont(self._font)
        font.setPointSize(max(14, min(self._font.pointSize(), int(self._font.pointSize() * 3.2 / max(len(text), 1)))))
        self.digit_label.setFont(font)
        self.digit_label.setText(text)
        self.digit_label.setStyleSheet("" if confidence >= UNSURE_BELOW else "color: gray;")
        sure = "over 99.9" if confidence >= 0.999 else f"{confidence * 100:.1f}"  # never rounded up to certainty
        self.confidence_label.setText(
            f"{sure}% sure of all {count} digits · bars: digit {selected + 1} (click a box to pick one)"
        )

    def set_status(self, verdict) -> None:
        """Show how sure the answer is (a ``model.nets.confidence.Verdict``; ``None`` leaves the probabilities' own wording).

        Sure: the digit as is. Unsure ("not sure: 4 or 9") or "not a digit": the digit greys out and
        the reason goes under it.
        """
        p = getattr(self, "_probabilities", None)
        if verdict is None or p is None:
            return
        if verdict.status == "digit":
            if self.digit_label.styleSheet():
                self.digit_label.setStyleSheet("")
            self.digit_label.setToolTip("The class the network thinks you drew")
            # 99.96% is not certainty: never round a calibrated probability up to "100.0%"
            sure = "over 99.9" if verdict.confidence >= 0.999 else f"{verdict.confidence * 100:.1f}"
            self.confidence_label.setText(f"{sure}% sure")
            return
        if self.digit_label.styleSheet() != GREYED:
            self.digit_label.setStyleSheet(GREYED)  # a style change re-polishes the label: only when it changes
        name = self.class_names
        if verdict.status == "unsure":
            a, b = verdict.classes[:2]
            text = f"Not sure: {name[a]} or {name[b]} ({p[a] * 100:.0f}% / {p[b] * 100:.0f}%)"
            tip = "The network's evidence is split between these two classes"
        else:
            top = verdict.classes[0]
            text = f"Not a digit (closest: {name[top]})"
            tip = "This drawing is far from every digit the network was trained on, so its answer means little"
        self.digit_label.setToolTip(tip)
        self.confidence_label.setText(text)  # the bars keep their colours: redrawing them again costs the live path
