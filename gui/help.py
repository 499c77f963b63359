"""Help ▸ Getting started, Keyboard shortcuts and What am I looking at.

Each is built from the live window when it opens: the shortcut table reads the window's own
``QAction`` shortcuts (so it cannot go stale when a shortcut changes), and "What am I looking at"
is a screenshot of the window as it is now (``QWidget.grab``) with numbered callouts painted over
the panels they name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QFont, QImage, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

# The same five steps as the README's "Try this", in the app.
GETTING_STARTED = (
    (
        "Draw a digit",
        "Draw on the black square with the mouse, a finger or a pen. The network answers while you draw: "
        "the big digit and the ten probability bars under the canvas. When no digit stands out it says "
        "“not sure”, and a scribble that is no digit at all is called “not a digit”.",
    ),
    (
        "Watch the feature maps",
        "The right-hand side shows every convolution and pooling layer's feature maps, first layer at the top: "
        "bright cells are where a filter found its pattern in your drawing. + and − (Ctrl++ / Ctrl+−) resize them.",
    ),
    (
        "Click a map cell",
        "Click any cell of any map: a panel shows the window of the layer below, the filter, the products, "
        "their sum, the bias and the activation that give that one value.",
    ),
    (
        "Type a digit to store your drawing",
        "While the canvas has focus (a blue ring around it), typing 0-9 stores the drawing with that label. "
        "Handwriting ▸ My handwriting shows what you stored; Handwriting ▸ Fine-tune on my digits teaches "
        "a copy of the model your handwriting.",
    ),
    (
        "Open the Learn views",
        "The Learn menu has a convolution playground (slide a filter over a grid or your drawing), the learned "
        "filters, the architecture with its parameters, and a saliency view of which pixels mattered. "
        "They open beside the canvas, so you can keep drawing and watch them update.",
    ),
)


def getting_started_html() -> str:
    """The five steps as a small HTML list (our own text; nothing from a file or a model)."""
    items = "".join(f"<li><b>{title}.</b> {text}</li>" for title, text in GETTING_STARTED)
    return f"<h3>Getting started in five steps</h3><ol>{items}</ol><p>Help ▸ Show the tour points at each part again.</p>"


class GettingStartedDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("getting_started_dialog")
        self.setWindowTitle("Getting started")
        layout = QVBoxLayout(self)
        self.text = QLabel(getting_started_html(), objectName="getting_started_text")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        layout.addWidget(self.text)
        layout.addWidget(_close_buttons(self))
        self.resize(520, 460)


# --- keyboard shortcuts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShortcutRow:
    where: str  # "Edit", "Learn", or "" for an action in no menu
    action: str  # its text without the & accelerators
    keys: str  # every shortcut, as the platform writes it ("Ctrl+Z, Ctrl+Y")


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").replace("…", "").strip()


def shortcut_rows(window) -> list[ShortcutRow]:
    """Every action of ``window`` that has a shortcut, in menu order, then the ones in no menu."""
    rows: list[ShortcutRow] = []
    seen: set[int] = set()

    def keys(action: QAction) -> str:
        return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty())

    def walk(menu: QMenu, where: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{where} ▸ {_plain(action.text())}")
                continue
            seen.add(id(action))
            if keys(action):
                rows.append(ShortcutRow(where, _plain(action.text()), keys(action)))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.text()))
    for action in window.actions():
        if id(action) not in seen and keys(action):
            rows.append(ShortcutRow("", _plain(action.text()), keys(action)))
    return rows


# Keys that are not actions: the canvas reads them itself.
CANVAS_KEYS = (("Canvas", "Store the drawing with that label (canvas has focus)", "0 - 9"),)


class ShortcutsDialog(QDialog):
    def __init__(self, window, parent=None):
        super().__init__(parent or window)
        self.setObjectName("shortcuts_dialog")
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(r.where, r.action, r.keys) for r in shortcut_rows(window)] + list(CANVAS_KEYS)
        self.table = QTableWidget(len(rows), 3, objectName="shortcuts_table")
        self.table.setHorizontalHeaderLabels(["menu", "action", "keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(_close_buttons(self))
        self.resize(620, 520)


# --- what am I looking at ----------------------------------------------------------------------


@dataclass(frozen=True)
class Callout:
    number: int
    name: str
    what: str
    rect: QRect  # in the window's coordinates


def callouts(window) -> list[Callout]:
    """The main window's panels, numbered in reading order, with where each is on screen now."""
    parts = [
        ("menu bar", "File, Edit, View, Learn, Handwriting and Help.", window.menuBar()),
        ("canvas", "Draw a digit here. Type 0-9 while it has focus to store the drawing.", window.canvas),
        ("undo, redo, clear", "Ctrl+Z, Ctrl+Shift+Z, Esc.", window.undo_button),
        ("what the network sees", "Your drawing at 28×28 pixels, centred the way MNIST's digits were.", window.input_view),
        (
            "the answer",
            "The digit, its probability and one bar per digit; “not sure” when no digit stands out.",
            window.prediction,
        ),
        (
            "feature maps",
            "Every conv and pooling layer's output for your drawing; click a cell to see its arithmetic.",
            window.maps_area,
        ),
        ("status bar", "The active model, the time each answer took and your stored digits.", window.statusBar()),
    ]
    out = []
    for name, what, widget in parts:
        if widget is None or not widget.isVisible():
            continue
        rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        if name == "undo, redo, clear":  # the three buttons side by side
            rect = rect.united(QRect(window.clear_button.mapTo(window, QPoint(0, 0)), window.clear_button.size()))
        out.append(Callout(len(out) + 1, name, what, rect))
    return out


BADGE = 24


def _grey(image: QImage) -> np.ndarray:
    """``image`` as a ``(height, width)`` array of grey levels, in its device pixels."""
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    stride = grey.bytesPerLine()
    rows = np.frombuffer(grey.constBits(), np.uint8, count=stride * grey.height()).reshape(grey.height(), stride)
    return rows[:, : grey.width()].copy()  # a copy: a view would outlive the QImage that owns the bytes


def _busyness(grey: np.ndarray, dpr: float, rect: QRectF) -> float:
    """How much of the picture a badge on ``rect`` (logical pixels) would hide: the spread of its
    pixels' grey levels (text and maps vary a lot, an empty margin not at all)."""
    r = QRectF(rect.x() * dpr, rect.y() * dpr, rect.width() * dpr, rect.height() * dpr).toRect()
    part = grey[max(r.top(), 0) : max(r.bottom() + 1, 0), max(r.left(), 0) : max(r.right() + 1, 0)]
    return float(part.std()) if part.size else float("inf")


def _quiet_corner(image: QImage, r: QRectF) -> QRectF:
    """Where a part's number badge hides the least: the quietest spot along its frame's inside edges
    (a thin bar: along its middle), nearest the top left among equals, so a badge covers neither
    the title nor the button of the part it marks."""
    grey, dpr = _grey(image), image.devicePixelRatio()  # a HiDPI grab's image is in device pixels
    step = BADGE // 2
    if r.height() < BADGE + 6:  # a thin bar: the badge sits on its middle line
        top = min(max(r.top() + (r.height() - BADGE) / 2, 0), image.height() / dpr - BADGE)
        spots = [QRectF(x, top, BADGE, BADGE) for x in _steps(r.left() + 6, r.right() - BADGE - 6, step)]
    else:
        left, right = r.left() + 4, r.right() - BADGE - 4
        top, bottom = r.top() + 3, r.bottom() - BADGE - 3
        xs, ys = _steps(left, right, step), _steps(top, bottom, step)
        spots = [QRectF(x, y, BADGE, BADGE) for y in (top, bottom) for x in xs]
        spots += [QRectF(x, y, BADGE, BADGE) for x in (left, right) for y in ys]
    origin = r.topLeft()

    def cost(spot: QRectF) -> float:  # hidden detail first; a pixel further from the corner weighs little
        return _busyness(grey, dpr, spot) + 0.002 * ((spot.left() - origin.x()) + (spot.top() - origin.y()))

    return min(spots, key=cost)


def _steps(start: float, stop: float, step: int) -> list[float]:
    """``start``, ``start + step``, ... up to ``stop`` and ``stop`` itself (at least ``start``)."""
    if stop <= start:
        return [start]
    out = [start + i * step for i in range(int((stop - start) // step) + 1)]
    return out if out[-1] == stop else [*out, stop]


def annotated_screenshot(window, width: int = 900) -> tuple[QPixmap, list[Callout]]:
    """``window`` as it is now, scaled to ``width`` pixels, with each callout's frame and number."""
    shot = window.grab()
    marks = callouts(window)
    scale = min(1.0, width / max(shot.width(), 1))
    pixmap = shot.scaledToWidth(round(shot.width() * scale), Qt.TransformationMode.SmoothTransformation)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont(painter.font())
    font.setBold(True)
    font.setPixelSize(15)
    painter.setFont(font)
    accent = QColor(230, 120, 20)
    image = pixmap.toImage()  # before any badge is drawn: the corners are judged on the window itself
    for mark in marks:
        r = QRectF(mark.rect.x() * scale, mark.rect.y() * scale, mark.rect.width() * scale, mark.rect.height() * scale)
        painter.setPen(QPen(accent, 2, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(r.adjusted(1, 1, -1, -1))
        badge = _quiet_corner(image, r)
        painter.setPen(QPen(QColor("white"), 2))
        painter.setBrush(accent)
        painter.drawEllipse(badge)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, str(mark.number))
    painter.end()
    return pixmap, marks


class WhatAmILookingAtDialog(QDialog):
    def __init__(self, window, parent=None):
        super().__init__(parent or window)
        self.setObjectName("what_dialog")
        self.setWindowTitle("What am I looking at?")
        pixmap, self.marks = annotated_screenshot(window)
        self.picture = QLabel(objectName="what_picture")
        self.picture.setPixmap(pixmap)
        legend = "".join(f"<tr><td><b>{m.number}</b></td><td><b>{m.name}</b></td><td>{m.what}</td></tr>" for m in self.marks)
        self.legend = QLabel(f"<table cellspacing=4>{legend}</table>", objectName="what_legend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        body = QWidget()
        inner = QVBoxLayout(body)
        inner.addWidget(self.picture)
        inner.addWidget(self.legend)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll)
        layout.addWidget(_close_buttons(self))
        screen = window.screen()
        area = screen.availableGeometry() if screen is not None else QRect(0, 0, 1280, 800)
        self.resize(min(pixmap.width() + 60, area.width() - 40), min(pixmap.height() + 320, area.height() - 60))


def _close_buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    return buttons


def _open(dialog: QDialog) -> QDialog:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def show_getting_started(window) -> QDialog:
    return _open(GettingStartedDialog(window))


def show_shortcuts(window) -> QDialog:
    return _open(ShortcutsDialog(window))


def show_what_am_i_looking_at(window) -> QDialog:
    return _open(WhatAmILookingAtDialog(window))
