"""Learn ▸ What each channel looks for: one patch's digit put on the main window's canvas.

A click on a patch gives a ``DigitChoice`` (the digit and the unit that fired); ``show_digit``
puts that digit on the canvas and outlines the unit in the feature maps once they show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.teaching.numbers import fmt


@dataclass(frozen=True)
class DigitChoice:
    """A patch the user clicked: its whole digit and the unit that fired."""

    drawing: np.ndarray | None  # (28, 28) float32 in [0, 1]
    strokes: list | None  # the stored drawing's strokes, for the user's own digits
    layer: str
    channel: int
    row: int
    col: int
    value: float


def show_digit(window, choice: DigitChoice) -> None:
    """Put the chosen digit on ``window``'s canvas and outline the unit that fired once its maps are shown."""
    from gui.feature_maps import MapCell

    def outline(_request_id: int) -> None:
        window.state.result_shown.disconnect(outline)
        window.feature_maps.select(MapCell(choice.layer, choice.channel, choice.row, choice.col))
        result = window.state.last_result
        shown = result.activations.get(choice.layer) if result is not None else None
        value = f" = {fmt(float(shown[choice.row, choice.col, choice.channel]), 4)}" if shown is not None else ""
        window.statusBar().showMessage(
            f"{choice.layer} channel {choice.channel} at row {choice.row}, col {choice.col}{value} (outlined in the maps)", 15000
        )

    window.state.result_shown.connect(outline)
    if choice.strokes is not None:
        window.canvas.set_picture(None)
        window.canvas.set_strokes(choice.strokes)
    elif choice.drawing is not None:
        window.show_digit(choice.drawing)
    else:
        window.state.result_shown.disconnect(outline)
        window.statusBar().showMessage("This digit is not stored with the results; it cannot be put on the canvas.", 8000)
