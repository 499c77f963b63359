"""A first-run tour: four hints, each naming where to look, dismissible and remembered.

1. draw on the canvas; 2. the 28x28 image is what the network sees; 3. click a feature map cell;
4. the Learn menu. Drawing a stroke and clicking a map move the tour on by themselves; "Next" and
"Don't show again" do it by hand. Once finished or dismissed it stays away (``hints/done`` in the
settings); Help ▸ Show the tour starts it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

DONE_KEY = "hints/done"


@dataclass(frozen=True)
class Hint:
    text: str
    anchor: Callable[[], QWidget | None]  # where the bubble floats (looked up when shown)


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
        self._place(hint.anchor())
        self.show()
        self.raise_()

    def _place(self, anchor: QWidget | None) -> None:
        """Inside ``anchor``'s top right corner (the maps' side: the canvas and answer stay in view)."""
        win = self.window_
        if anchor is None or not anchor.isVisible():
            self.move(max(win.width() - self.width() - 16, 4), 60)
            return
        top_left = anchor.mapTo(win, QPoint(0, 0))
        x = top_left.x() + anchor.width() - self.width() - 24
        y = top_left.y() + 40
        x = min(max(x, 4), max(win.width() - self.width() - 4, 4))
        y = min(max(y, 4), max(win.height() - self.height() - 4, 4))
        self.move(x, y)

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
            self.reposition()  # a dock opened or the splitter moved: follow the maps' corner
        return False

    def dismiss(self) -> None:
        self.hide()
        self.finished.emit()

    def reposition(self) -> None:
        if self.isVisible():
            self._place(self.hints[self.index].anchor())


def install_hints(window, settings) -> HintBubble:
    """The tour for ``window`` (a ``MainWindow``); started now unless the settings say it was seen."""
    maps = lambda: window.maps_area  # noqa: E731
    hints = [
        Hint(
            "Draw a digit on the black square on the left, with the mouse, a finger or a pen. "
            "The network answers while you draw, and says when it is guessing: the answer greys out with "
            "\u201cnot sure: 4 or 9\u201d or \u201cnot a digit\u201d under it.",
            maps,
        ),
        Hint(
            "The small image under the canvas is what the network actually sees: your drawing at 28×28 "
            "pixels, centred the way MNIST's digits were.",
            maps,
        ),
        Hint(
            "Every square on this side is a feature map. Click any cell to see the arithmetic behind its "
            "value; Zoom enlarges the maps.",
            maps,
        ),
        Hint(
            "The Learn menu (top) has a convolution playground, the learned filters, the architecture and a saliency view.", maps
        ),
    ]
    bubble = HintBubble(window, hints)

    def remember() -> None:
        settings.set(DONE_KEY, True)
        settings.sync()

    bubble.finished.connect(remember)
    window.maps_area.installEventFilter(bubble)
    window.canvas.stroke_finished.connect(lambda: bubble.advance_from(0))
    window.feature_maps.map_clicked.connect(lambda *_: bubble.advance_from(2))
    if not settings.flag(DONE_KEY):
        bubble.start()
    return bubble
