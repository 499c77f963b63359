"""A first-run tour: six hints, each beside the part of the window it talks about, dismissible and remembered.

1. draw on the canvas; 2. the 28x28 image is what the network sees; 3. the answer and its bars
(and "not sure" / "not a digit"); 4. click a feature map cell; 5. type a digit to store the
drawing; 6. the Learn menu. The part each hint talks about is outlined, and the bubble sits next
to it (beside it where there is room, so it never covers what it describes). Drawing a stroke,
clicking a map and storing a digit move the tour on by themselves; "Next" and "Don't show again"
do it by hand. Once finished or dismissed it stays away (``hints/done`` in the settings); Help ▸
Show the tour starts it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

DONE_KEY = "hints/done"
GAP = 12  # pixels between the outlined part and its bubble
SIDES = ("right", "left", "below", "above")


@dataclass(frozen=True)
class Hint:
    text: str
    anchor: Callable[[], QWidget | QRect | None]  # what it talks about (looked up when shown): a widget, or a rect in the window
    sides: tuple[str, ...] = SIDES  # where the bubble may go, in order of preference
    inside: bool = False  # the part is large (the maps): the bubble may sit inside its top-left corner


class Outline(QWidget):
    """An orange frame drawn over the part of the window a hint talks about (clicks pass through)."""

    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("hint_outline")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.hide()

    def paintEvent(self, event):  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(230, 140, 20), 3))
        painter.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 6, 6)
        painter.end()


def anchor_rect(window, anchor: QWidget | QRect | None) -> QRect | None:
    """Where ``anchor`` is in ``window``'s coordinates (``None``: nowhere to point at)."""
    if isinstance(anchor, QRect):
        return anchor if anchor.isValid() else None
    if anchor is None or not anchor.isVisibleTo(window):  # not "isVisible": the window may not be shown yet
        return None
    return QRect(anchor.mapTo(window, QPoint(0, 0)), anchor.size())


def place_beside(target: QRect, size, bounds: QRect, sides=SIDES, inside: bool = False) -> tuple[QPoint, str]:
    """Top-left corner for a bubble of ``size`` next to ``target``, within ``bounds``; and the side used.

    The first side in ``sides`` where the whole bubble fits wins; if none does, ``inside`` puts it
    in the target's top-left corner, else the side with the most room is used, clamped into ``bounds``.
    """
    w, h = size.width(), size.height()
    y_beside = min(max(target.top() + 8, bounds.top()), bounds.bottom() - h)
    x_beside = min(max(target.left(), bounds.left()), bounds.right() - w)
    spots = {
        "right": (QPoint(target.right() + GAP, y_beside), bounds.right() - target.right() - GAP >= w),
        "left": (QPoint(target.left() - GAP - w, y_beside), target.left() - GAP - bounds.left() >= w),
        "below": (QPoint(x_beside, target.bottom() + GAP), bounds.bottom() - target.bottom() - GAP >= h),
        "above": (QPoint(x_beside, target.top() - GAP - h), target.top() - GAP - bounds.top() >= h),
    }
    for side in sides:
        point, fits = spots[side]
        if fits:
            return point, side
    if inside:
        point = QPoint(target.left() + GAP, target.top() + 40)
        side = "inside"
    else:
        room = {
            "right": bounds.right() - target.right(),
            "left": target.left() - bounds.left(),
            "below": bounds.bottom() - target.bottom(),
            "above": target.top() - bounds.top(),
        }
        side = max(sides, key=lambda s: room[s])
        point = spots[side][0]
    x = min(max(point.x(), bounds.left()), max(bounds.right() - w, bounds.left()))
    y = min(max(point.y(), bounds.top()), max(bounds.bottom() - h, bounds.top()))
    return QPoint(x, y), side


class HintBubble(QFrame):
    """One hint at a time, floating in the window beside its target."""

    finished = Signal()

    def __init__(self, window, hints: list[Hint]):
        super().__init__(window)
        self.setObjectName("hint_bubble")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#hint_bubble { background: #fff6d5; border: 1px solid #c9a227; border-radius: 6px; }"
            "#hint_bubble QLabel { color: #222; }"
        )
        self.window_ = window
        self.hints = hints
        self.index = 0
        self.text = QLabel(objectName="hint_text")
        self.text.setWordWrap(True)
        self.step = QLabel(objectName="hint_step")
        self.next_button = QPushButton("Next", objectName="hint_next")
        self.close_button = QPushButton("Don't show again", objectName="hint_close")
        for b in (self.next_button, self.close_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.next_button.clicked.connect(self.advance)
        self.close_button.clicked.connect(self.dismiss)
        buttons = QHBoxLayout()
        buttons.addWidget(self.step)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self.setFixedWidth(300)
        self.outline = Outline(window)
        self.side = "none"  # where the bubble sits relative to its part: right, left, below, above, inside
        self.hide()

    def start(self) -> None:
        self.index = 0
        self._show_current()

    def _show_current(self) -> None:
        hint = self.hints[self.index]
        self.text.setText(hint.text)
        self.step.setText(f"{self.index + 1} of {len(self.hints)}")
        self.next_button.setText("Done" if self.index == len(self.hints) - 1 else "Next")
        self.adjustSize()
        self.show()
        self._place(hint)
        self.raise_()

    def _place(self, hint: Hint) -> None:
        """Beside the part ``hint`` talks about, which is outlined; top right if it is not on screen."""
        win = self.window_
        target = anchor_rect(win, hint.anchor())
        if target is None:
            self.outline.hide()
            self.side = "none"
            self.move(max(win.width() - self.width() - 16, 4), 60)
            return
        self.outline.setGeometry(target.adjusted(-3, -3, 3, 3))
        self.outline.show()
        self.outline.raise_()
        bounds = win.rect().adjusted(4, 4, -4, -4)
        point, self.side = place_beside(target, self.size(), bounds, hint.sides, hint.inside)
        self.move(point)

    def advance(self) -> None:
        if self.index + 1 >= len(self.hints):
            self.dismiss()
            return
        self.index += 1
        self._show_current()

    def advance_from(self, index: int) -> None:
        """The user just did what hint ``index`` asks for: move past it (and any before it)."""
        if self.isVisible() and self.index <= index:
            self.index = index
            self.advance()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            self.reposition()  # a dock opened or the splitter moved: follow the part
        return False

    def dismiss(self) -> None:
        self.hide()
        self.outline.hide()
        self.finished.emit()

    def hideEvent(self, event):  # noqa: N802 (Qt override)
        if self.isHidden():  # hidden itself (not with a minimised window): its outline goes too
            self.outline.hide()
        super().hideEvent(event)

    def reposition(self) -> None:
        if not self.isHidden():  # shown, or to be shown with the window (laid out before it appears)
            self._place(self.hints[self.index])


def install_hints(window, settings) -> HintBubble:
    """The tour for ``window`` (a ``MainWindow``); started now unless the settings say it was seen."""

    def learn_menu() -> QRect | None:
        bar = window.menuBar()
        action = next((a for a in bar.actions() if a.text().replace("&", "") == "Learn"), None)
        if action is None:
            return None
        rect = bar.actionGeometry(action)
        return QRect(bar.mapTo(window, rect.topLeft()), rect.size())

    def paper() -> QRect | None:  # the black square itself, not the canvas widget's margins
        canvas = window.canvas
        if not canvas.isVisibleTo(window):
            return None
        r = canvas.paper_rect().toAlignedRect()
        return QRect(canvas.mapTo(window, r.topLeft()), r.size())

    hints = [
        Hint(
            "Draw a digit on this black square, with the mouse, a finger or a pen. The network answers while you draw.",
            paper,
            ("right", "below"),
        ),
        Hint(
            "This small image is what the network actually sees: your drawing at 28×28 "
            "pixels, centred the way MNIST's digits were.",
            lambda: window.input_view,
            ("right", "above"),
        ),
        Hint(
            "The answer: the digit and one bar per digit for how sure the network is. When no digit "
            "stands out it says “not sure”, and a scribble that is no digit is “not a digit”.",
            lambda: window.prediction,
            ("right", "above"),
        ),
        Hint(
            "Each small square here is a feature map: one filter of one layer, bright where it found its "
            "pattern in your drawing (faint until you draw). Click any cell to see the arithmetic behind "
            "its value; + and − resize the maps.",
            lambda: window.maps_area,
            (),  # beside the maps is the canvas: the bubble goes inside the maps' corner instead
            inside=True,
        ),
        Hint(
            "Type a digit (0-9) while the canvas has focus (the blue ring) to store your drawing with that "
            "label. Handwriting ▸ Fine-tune then teaches a copy of the model your handwriting.",
            paper,
            ("right", "below"),
        ),
        Hint(
            "The Learn menu has a convolution playground, the learned filters, the architecture and a "
            "saliency view; they open beside the canvas. Help ▸ Getting started has these steps again.",
            learn_menu,
            ("below",),
        ),
    ]
    bubble = HintBubble(window, hints)

    def remember() -> None:
        settings.set(DONE_KEY, True)
        settings.sync()

    bubble.finished.connect(remember)
    for part in (window.maps_area, window.canvas, window.input_view, window.prediction):
        part.installEventFilter(bubble)  # a dock opened, the splitter moved: the bubble follows its part
    window.canvas.stroke_finished.connect(lambda: bubble.advance_from(0))
    window.feature_maps.map_clicked.connect(lambda *_: bubble.advance_from(3))
    stored = getattr(getattr(window, "handwriting", None), "stored", None)
    if stored is not None:  # the handwriting feature is attached: storing a digit is step 5 done
        stored.connect(lambda *_: bubble.advance_from(4))
    if not settings.flag(DONE_KEY):
        bubble.start()
    return bubble
