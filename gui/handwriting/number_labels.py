"""Labelling a written number: type its digits while the canvas has focus, Enter stores them.

While the canvas shows a number (two or more digits), typed digits are collected instead of stored
one by one (Backspace takes one back); Enter stores each digit's strokes as its own labelled drawing,
split exactly as the boxes on the canvas show, so tuning learns from them like any other digit.
A new stroke, Undo or Clear forgets what was typed.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class NumberLabeller(QObject):
    """Collects the typed label of the number on the canvas for a ``HandwritingController``."""

    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.window = controller.window
        self.typed = ""
        self.window.canvas.strokes_changed.connect(self.forget)

    def number_digits(self) -> list:
        """The digits of the number on the canvas (``worker.DigitResult``), or ``[]`` for one digit."""
        result = getattr(self.window, "last_result", None)
        digits = getattr(result, "digits", None) or []
        return digits if len(digits) > 1 else []

    def forget(self) -> None:
        self.typed = ""

    def key_pressed(self, key: int, digit: int | None) -> bool:
        """Handle a key typed on the canvas; ``True`` if it was part of a number's label."""
        digits = self.number_digits()
        if not digits:
            return False
        if digit is not None:
            self.typed += str(digit)
        elif key == Qt.Key.Key_Backspace and self.typed:
            self.typed = self.typed[:-1]
        elif key in ENTER_KEYS and self.typed:
            self.store(self.typed)
            return True
        else:
            return False
        self.window.statusBar().showMessage(
            f"Label: {self.typed or '…'} — type all {len(digits)} digits of the number, Enter stores them "
            "(Backspace takes one back).",
            15000,
        )
        return True

    def store(self, text: str) -> list:
        """Store each digit of the number on the canvas labelled with ``text``'s digits; the stored paths."""
        digits = self.number_digits()
        status = self.window.statusBar()
        if len(text) != len(digits):
            status.showMessage(
                f"You typed {len(text)} digits ({text}) but the canvas shows {len(digits)}; Backspace and type the number again.",
                10000,
            )
            return []
        strokes = self.window.canvas.strokes()
        store = self.controller.store
        paths = []
        try:
            for d, ch in zip(digits, text):
                paths.append(store.add([strokes[i] for i in d.strokes], int(ch)))
        except (OSError, ValueError, IndexError) as exc:
            status.showMessage(f"Could not store the number in {store.folder}: {exc}", 10000)
            return paths
        self.typed = ""
        counts = self.controller.update_counts()
        self.window.canvas.clear()
        status.showMessage(
            f"Stored {text} as {len(text)} labelled digits, {sum(counts.values())} in all "
            "(canvas cleared; Ctrl+Z brings the drawing back).",
            6000,
        )
        for path, ch in zip(paths, text):
            self.controller.stored.emit(str(path), int(ch))
        return paths
