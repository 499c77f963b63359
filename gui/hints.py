"""A first-run tour: four hints, each pointing at the thing it names, dismissible and remembered.

1. draw on the canvas; 2. the 28x28 image is what the network sees; 3. click a feature map cell;
4. the Learn menu. Drawing a stroke and clicking a map move the tour on by themselves; "Next" and
"Don't show again" do it by hand. Once finished or dismissed it stays away (``hints/done`` in the
settings); Help ▸ Show the tour starts it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

DONE_KEY = "hints/done"


@dataclass(frozen=True)
class Hint:
    text: str
    target: Callable[[], QWidget | None]  # what the hint points at (looked up when shown)


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
        self._place(hint.target())
        self.show()
        self.raise_()

    def _place(self, target: QWidget | None) -> None:
        """Beside the target (right of it if there is room, else left, else below), inside the window."""
        win = self.window_
        if target is None or not target.isVisible():
            self.move(win.width() - self.width() - 16, 60)
            return
        top_left = target.mapTo(win, QPoint(0, 0))
        x = top_left.x() + target.width() + 8
        if x + self.width() > win.width():
            x = top_left.x() - self.width() - 8
        y = top_left.y() + 8
        if x < 0:
            x = top_left.x() + 8
            y = top_left.y() + target.height() + 8
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
        """Move on if the user just did what hint ``index`` asked for."""
        if self.isVisible() and self.index == index:
            self.advance()

    def dismiss(self) -> None:
        self.hide()
        self.finished.emit()

    def reposition(self) -> None:
        if self.isVisible():
            self._place(self.hints[self.index].target())


def install_hints(window, settings) -> HintBubble:
    """The tour for ``window`` (a ``MainWindow``); started now unless the settings say it was seen."""
    hints = [
        Hint("Draw a digit here with the mouse, a finger or a pen. The network answers while you draw.", lambda: window.canvas),
        Hint(
            "This 28×28 image is what the network actually sees: your drawing shrunk and centred the way MNIST's digits were.",
            lambda: window.input_view,
        ),
        Hint(
            "Every square here is a feature map. Click any cell to see the arithmetic behind its value; "
            "use Zoom to enlarge the maps.",
            lambda: window.maps_area,
        ),
        Hint(
            "The Learn menu has a convolution playground, the learned filters, the architecture and a saliency view.",
            window.menuBar,
        ),
    ]
    bubble = HintBubble(window, hints)

    def remember() -> None:
        settings.set(DONE_KEY, True)
        settings.sync()

    bubble.finished.connect(remember)
    window.canvas.stroke_finished.connect(lambda: bubble.advance_from(0))
    window.feature_maps.map_clicked.connect(lambda *_: bubble.advance_from(2))
    if not settings.flag(DONE_KEY):
        bubble.start()
    return bubble
