"""The answer explained to the last step: pooling, the dense layer's sum for one class, softmax.

``AnswerPanel`` shows a ``model.answer.AnswerBreakdown``: (1) the maps the last layer pools, as
thumbnails with their means (or maxima), largest contribution first; (2) the chosen class's score
as the sum the dense layer computes, term by term, largest first, each term linked to its
channel's map; (3) softmax turning every class's score into the probabilities the window shows.
Every number comes from the breakdown; written sums are sums of the numbers written.

``AnswerView`` puts the panel in a dock beside the explanation dock and asks the inference worker
(through the Learn controller's jobs) for a breakdown whenever the answer changes while it is open.
A click on the predicted digit or on a probability bar opens it.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.panels import colormap
from model.teaching.answer import AnswerBreakdown, answer_job
from model.teaching.numbers import fmt, rounded

ANSWER_TAG = "answer"
DECIMALS = 3
TOP_TERMS = 10  # terms written one by one; the rest are summed into one term
THUMB_COLS = 6
MAX_THUMBS = 24  # the largest contributions; the rest are summed in step 2
LABEL_PX = 15  # the line under each thumbnail
DOCK_PX = 440
POOLING_WORDS = {
    "global average": ("Global average pooling", "mean"),
    "global max": ("Global max pooling", "max"),
    "flatten": ("Flatten", "sum of terms"),
}


class AnswerPanel(QWidget):
    """The last steps of the network for the current drawing and one chosen class.

    ``show_breakdown(b, cls)`` fills it; choosing another class re-writes step 2 without asking
    the model again. ``channel_clicked(layer, channel)`` is emitted when a term's channel link or
    thumbnail is clicked.
    """

    channel_clicked = Signal(str, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("answer_explanation")
        self.breakdown: AnswerBreakdown | None = None
        self.cls = 0
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 6)

        self.title_label = _label("answer_title", bold=True, points=3)
        layout.addWidget(self.title_label)
        self.class_row = QHBoxLayout()
        self.class_row.addWidget(QLabel("Class:"))
        self.class_buttons = QButtonGroup(self)
        self.class_buttons.idClicked.connect(self.set_class)
        self.class_row.addStretch(1)
        layout.addLayout(self.class_row)
        self.message_label = _label("answer_message")
        layout.addWidget(self.message_label)

        self.pool_label = _label("answer_pooling")
        layout.addWidget(self.pool_label)
        self.thumbs = pg.GraphicsLayoutWidget()
        self.thumbs.setObjectName("answer_thumbnails")
        self.thumbs.setBackground("#16161a")
        self.thumb_view = self.thumbs.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.thumb_view.setMenuEnabled(False)
        self.thumb_image = pg.ImageItem()
        self.thumb_image.setColorMap(colormap())
        self.thumb_view.addItem(self.thumb_image)
        self.thumb_image.mouseClickEvent = self._on_thumb_clicked
        self._thumb_texts: list[pg.TextItem] = []
        self._thumb_order: np.ndarray = np.zeros(0, int)
        self._thumb_shape = (0, 0)
        layout.addWidget(self.thumbs)

        self.sum_label = _label("answer_sum", selectable=True)
        self.sum_label.linkActivated.connect(self._on_link)
        layout.addWidget(self.sum_label)
        self.softmax_label = _label("answer_softmax", selectable=True)
        layout.addWidget(self.softmax_label)
        layout.addStretch(1)
        self.show_message("Draw a digit, then click the answer or a probability bar.")

    # --- showing ----------------------------------------------------------------------------

    def show_message(self, text: str, title: str = "How is this answer computed?") -> None:
        self.title_label.setText(title)
        self.message_label.setText(text)
        self.message_label.show()
        for w in (self.pool_label, self.thumbs, self.sum_label, self.softmax_label):
            w.hide()

    def show_status(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.show()

    def show_breakdown(self, b: AnswerBreakdown, cls: int | None = None) -> None:
        self.breakdown = b
        self._set_classes(b.class_names)
        self.message_label.hide()
        self.set_class(b.predicted if cls is None else cls)

    def _set_classes(self, names: list[str]) -> None:
        if [button.text() for button in self.class_buttons.buttons()] == names:
            return
        for button in self.class_buttons.buttons():
            self.class_buttons.removeButton(button)
            button.deleteLater()
        for i, name in enumerate(names):
            button = QPushButton(name, objectName=f"answer_class_{i}")
            button.setCheckable(True)
            button.setFixedWidth(max(28, 10 * len(name) + 12))
            self.class_buttons.addButton(button, i)
            self.class_row.insertWidget(self.class_row.count() - 1, button)

    @Slot(int)
    def set_class(self, cls: int) -> None:
        b = self.breakdown
        if b is None:
            return
        self.cls = int(cls) if 0 <= cls < b.num_classes else b.predicted
        button = self.class_buttons.button(self.cls)
        if button is not None:
            button.setChecked(True)
        p = b.probabilities[self.cls]
        answer = " (the answer)" if self.cls == b.predicted else ""
        self.title_label.setText(f"Why {b.name(self.cls)} gets {p * 100:.1f}%{answer}")
        self._show_pooling(b)
        self.sum_label.setText(self.sum_text(b, self.cls))
        self.softmax_label.setText(self.softmax_text(b, self.cls))
        for w in (self.sum_label, self.softmax_label):
            w.show()

    def _show_pooling(self, b: AnswerBreakdown) -> None:
        if b.maps is None:
            self.pool_label.setText(
                f"<b>1.</b> The last dense layer <b>{html.escape(b.dense_name)}</b> reads the {len(b.inputs)} outputs of the "
                "layer before it (no feature maps here)."
            )
            self.pool_label.show()
            self.thumbs.hide()
            return
        h, w, c = b.maps.shape
        what, stat = POOLING_WORDS[b.pooling]
        if b.pooling == "flatten":
            text = (
                f"<b>1. {what}</b>: the {c} maps of <b>{html.escape(b.maps_name)}</b> ({h}×{w} each) laid out as "
                f"{len(b.inputs)} numbers, every cell its own input. Thumbnails: each map with its cells' summed "
                f"terms for class {html.escape(b.name(self.cls))}: the {min(c, MAX_THUMBS)} largest, largest first."
            )
            values = b.channel_contributions(self.cls)
        else:
            text = (
                f"<b>1. {what}</b>: each of the {c} maps of <b>{html.escape(b.maps_name)}</b> ({h}×{w}) becomes one "
                f"number, its {stat}. The {min(c, MAX_THUMBS)} largest contributions to class "
                f"{html.escape(b.name(self.cls))}, largest first (click one to see it large):"
            )
            values = b.inputs
        self.pool_label.setText(text)
        order = np.argsort(-b.channel_contributions(self.cls), kind="stable")[:MAX_THUMBS]
        self._show_thumbnails(b.maps, order, values)
        self.pool_label.show()
        self.thumbs.show()

    def _show_thumbnails(self, maps: np.ndarray, order: np.ndarray, values: np.ndarray) -> None:
        h, w, _ = maps.shape
        cols = min(THUMB_COLS, len(order))
        rows = math.ceil(len(order) / cols)
        tile_px = max(40.0, (max(self.width(), 300) - 40) / cols)  # screen pixels per thumbnail column
        px_per_cell = tile_px / (w + 1)
        label_h = max(2, math.ceil(LABEL_PX / px_per_cell))  # room under each map for its number, in map cells
        cell_h, cell_w = h + label_h, w + 1
        mosaic = np.full((rows * cell_h, cols * cell_w), np.nan, np.float32)
        peak = float(np.abs(maps).max()) or 1.0
        for i, ch in enumerate(order):
            r, c = divmod(i, cols)
            mosaic[r * cell_h : r * cell_h + h, c * cell_w : c * cell_w + w] = maps[:, :, ch] / peak
        self.thumb_image.setImage(mosaic, levels=(0.0, 1.0), autoLevels=False)
        for item in self._thumb_texts:
            self.thumb_view.removeItem(item)
        self._thumb_texts = []
        for i, ch in enumerate(order):
            r, c = divmod(i, cols)
            item = pg.TextItem(f"#{ch} {fmt(values[ch], 2)}", color="#dddddd", anchor=(0, 0))
            item.setFont(QFont(self.font().family(), 7))
            item.setPos(c * cell_w, r * cell_h + h)
            self.thumb_view.addItem(item)
            self._thumb_texts.append(item)
        self._thumb_order, self._thumb_shape = order, (cell_h, cell_w)
        self.thumb_view.setRange(xRange=(0, cols * cell_w), yRange=(0, rows * cell_h), padding=0.01)
        self.thumbs.setFixedHeight(int(rows * cell_h * px_per_cell) + 10)

    def _on_thumb_clicked(self, event) -> None:
        b = self.breakdown
        cell_h, cell_w = self._thumb_shape
        if b is None or not cell_h:
            return
        pos = event.pos()
        cols = min(THUMB_COLS, len(self._thumb_order))
        r, c = int(pos.y() // cell_h), int(pos.x() // cell_w)
        index = r * cols + c
        if 0 <= c < cols and 0 <= index < len(self._thumb_order):
            event.accept()
            self.channel_clicked.emit(b.maps_name, int(self._thumb_order[index]))

    @Slot(str)
    def _on_link(self, link: str) -> None:
        if self.breakdown is not None and link.startswith("channel:"):
            self.channel_clicked.emit(self.breakdown.maps_name, int(link.split(":", 1)[1]))

    # --- the words (pure functions of the breakdown) ----------------------------------------

    @staticmethod
    def sum_text(b: AnswerBreakdown, cls: int) -> str:
        """Step 2 as rich text: the terms of class ``cls``'s score, largest first, + bias = score."""
        name = html.escape(b.name(cls))
        per_channel = b.maps is not None and b.pooling == "flatten"
        terms = b.channel_contributions(cls) if per_channel else b.contributions[cls]
        order = np.argsort(-np.abs(terms), kind="stable")
        shown, rest = order[:TOP_TERMS], order[TOP_TERMS:]
        kernel = b.contributions[cls] / np.where(b.inputs == 0, 1.0, b.inputs)  # the weights, where the input is not 0
        rows = []
        written = []
        for i in shown:
            term = float(rounded(terms[i], DECIMALS))
            written.append(term)
            if b.maps is not None:
                who = f'<a href="channel:{i}">map #{i}</a>'
            else:
                who = f"unit {i}"
            if per_channel:
                how = f"{b.maps.shape[0] * b.maps.shape[1]} cells × their weights"
            elif b.inputs[i] == 0:
                how = "0 × weight"
            else:
                how = f"{fmt(b.inputs[i], DECIMALS)} × {fmt(kernel[i], DECIMALS)}"
            rows.append(f"<tr><td>{who}</td><td>{how}</td><td align='right'>{fmt(term, DECIMALS)}</td></tr>")
        if len(rest):
            term = float(rounded(terms[rest].sum(), DECIMALS))
            written.append(term)
            rows.append(
                f"<tr><td>{len(rest)} smaller terms</td><td>together</td><td align='right'>{fmt(term, DECIMALS)}</td></tr>"
            )
        bias = float(rounded(b.bias[cls], DECIMALS))
        written.append(bias)
        rows.append(f"<tr><td>bias</td><td></td><td align='right'>{fmt(bias, DECIMALS)}</td></tr>")
        total = float(np.sum(written))
        rows.append(f"<tr><td><b>= score of {name}</b></td><td></td><td align='right'><b>{fmt(total, DECIMALS)}</b></td></tr>")
        model = b.model_logits[cls] if b.model_logits is not None else b.logits[cls]
        dense = html.escape(b.dense_name)
        source = "the model's own output" if b.model_logits is not None else f"layer {dense}, before its softmax"
        check = f"The score the model computed ({source}): <b>{fmt(model, DECIMALS)}</b>"
        if abs(total - model) >= 0.5 * 10**-DECIMALS:
            check += f" (the written terms are rounded to {DECIMALS} decimals)"
        inputs = "map" if b.maps is not None else "unit"
        head = (
            f"<b>2. Dense layer {html.escape(b.dense_name)}</b>: the score of class {name} is each {inputs}'s number × "
            f"its weight for {name}, added up, plus a bias. Largest terms first"
            + (" (per map: the sum over its cells)" if per_channel else "")
            + ":"
        )
        return f"{head}<table cellspacing='6'>{''.join(rows)}</table>{check}."

    @staticmethod
    def softmax_text(b: AnswerBreakdown, cls: int) -> str:
        """Step 3 as rich text: softmax from every class's score to the probabilities."""
        top = float(b.logits.max())
        e = np.exp(b.logits - top)
        total = float(e.sum())
        rows = []
        for k in range(b.num_classes):
            style = " style='color:#f0a030'" if k == cls else ""
            rows.append(
                f"<tr{style}><td>{html.escape(b.name(k))}</td><td align='right'>{fmt(b.logits[k], DECIMALS)}</td>"
                f"<td align='right'>{e[k]:.4g}</td><td align='right'>{b.probabilities[k] * 100:.2f}%</td></tr>"
            )
        if b.output == "sigmoid":
            how = "The model ends in sigmoids; the app divides them by their sum."
        else:
            how = (
                f"<b>3. Softmax</b>: each score becomes e<sup>score − {fmt(top, DECIMALS)}</sup> (the largest score "
                f"subtracted, so nothing overflows), divided by their sum {total:.4g}: the probabilities add up to 1."
            )
            if b.output == "logits":
                how += " (This model outputs the scores; the app applies the softmax.)"
        header = "<tr><th align='left'>class</th><th>score</th><th>e<sup>score − max</sup></th><th>probability</th></tr>"
        return f"{how}<table cellspacing='6'>{header}{''.join(rows)}</table>"


def _label(name: str, bold: bool = False, points: int = 0, selectable: bool = False) -> QLabel:
    label = QLabel(objectName=name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    if bold or points:
        font = QFont(label.font())
        font.setBold(bold)
        font.setPointSize(font.pointSize() + points)
        label.setFont(font)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    return label


class AnswerView(QObject):
    """The answer dock of a main window, fed by the Learn controller's worker jobs.

    ``open(cls)`` shows the dock for class ``cls`` (``None``: the predicted class) and asks for a
    breakdown of the current drawing; while open, every new answer is explained again.
    """

    def __init__(self, teaching):
        super().__init__(teaching)
        self.teaching = teaching
        window = teaching.window
        self.window = window
        self.cls: int | None = None
        self.panel = AnswerPanel()
        self.dock = QDockWidget("How is this answer computed?", window)
        self.dock.setObjectName("answer_dock")
        self.dock.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea)
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.tabifyDockWidget(teaching.dock, self.dock)
        self.dock.hide()
        self.panel.class_buttons.idClicked.connect(self._on_class_chosen)
        self.panel.channel_clicked.connect(self._on_channel_clicked)
        window.prediction.class_clicked.connect(self.open)
        window.prediction.digit_label.installEventFilter(self)
        window.prediction.digit_label.setCursor(Qt.CursorShape.PointingHandCursor)
        window.state.result_shown.connect(self._on_result_shown)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            if watched.text():
                self.open(None)
                return True
        return False

    @Slot(int)
    def open(self, cls: int | None = None) -> None:
        self.cls = cls
        if not self.dock.isVisible():
            self.dock.show()
            # Room for the sum's table; the canvas and the overview keep the rest (the overview refits).
            self.window.resizeDocks([self.dock], [int(min(DOCK_PX, self.window.width() * 0.36))], Qt.Orientation.Horizontal)
        self.dock.raise_()
        self.request()

    @Slot(int)
    def _on_class_chosen(self, cls: int) -> None:
        self.cls = cls

    def request(self) -> None:
        image = self.teaching._drawing()
        if image is None:
            self.teaching._latest.pop(ANSWER_TAG, None)
            self.panel.show_message("Draw a digit first: then this shows how the network turns its last maps into the answer.")
            return
        self.teaching._run(ANSWER_TAG, answer_job(image.astype(np.float32)))
        if self.panel.breakdown is None:
            self.panel.show_status("Computing…" + self.teaching._waiting_note())

    def show_result(self, result: AnswerBreakdown | Exception) -> None:
        if isinstance(result, Exception):
            self.panel.breakdown = None
            self.panel.show_message(f"This model's answer cannot be broken down: {result}", title="Not available")
        else:
            self.panel.show_breakdown(result, self.cls)

    @Slot(int)
    def _on_result_shown(self, _request_id: int) -> None:
        if self.dock.isVisible():
            self.request()

    @Slot(str, int)
    def _on_channel_clicked(self, layer: str, channel: int) -> None:
        maps = self.window.feature_maps
        opener = getattr(maps, "open_map", None)
        if opener is not None and layer in getattr(maps, "_items", {}):
            opener(layer, channel)
