"""The answer explained in the window: a click on the predicted digit or a probability bar opens the last
steps (pooling, the dense sum for that class, softmax) with the numbers the model computed."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.slow
MINUS = "\u2212"


def numbers(text: str) -> list[float]:
    plain = re.sub(r"<[^>]+>", " ", text)
    return [float(t.replace(MINUS, "-")) for t in re.findall(r"[−-]?\d+\.\d+", plain)]


@pytest.fixture
def window(qtbot):
    from gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def test_clicking_the_answer_and_a_bar_explains_the_last_steps(qtbot, window, stroke_fixtures):
    w = window
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60000)
    strokes = next(s for _, s, lab in stroke_fixtures if lab == 7)
    w.canvas.set_strokes(strokes)
    qtbot.waitUntil(lambda: w.last_result is not None and w.last_result.input is not None, timeout=20000)
    view = w.teaching.answer
    assert not view.dock.isVisible()

    qtbot.mouseClick(w.prediction.digit_label, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.panel.breakdown is not None, timeout=20000)
    assert view.dock.isVisible()
    b, panel = view.panel.breakdown, view.panel
    assert panel.cls == w.last_result.digit == 7
    assert np.abs(b.probabilities - w.last_result.probabilities).max() < 1e-5
    # The written sum: the terms and bias on screen add up to the score written, which is the model's.
    text = panel.sum_label.text()
    terms = [float(t.replace(MINUS, "-")) for t in re.findall(r"<td align='right'>([−\d.]+)</td></tr>", text)]
    score = float(re.search(r"score of 7</b></td><td></td><td align='right'><b>([−\d.]+)", text)[1].replace(MINUS, "-"))
    assert "map #" in text and "bias" in text and len(terms) == 12  # 10 terms, the rest together, the bias
    assert abs(sum(terms) - score) < 1e-6
    assert abs(score - b.logits[7]) < 0.01
    assert "Softmax" in panel.softmax_label.text()
    assert np.allclose(numbers(panel.softmax_label.text())[-1], b.probabilities[9] * 100, atol=0.01)
    assert "Global average pooling" in panel.pool_label.text() and panel.thumbs.isVisible()

    # A bar: that class, explained (and nothing stored as a label).
    plot = w.prediction.plot
    pos = plot.viewport().mapFrom(w.prediction, w.prediction.bar_centre(1).toPoint())
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: view.panel.cls == 1, timeout=20000)
    assert "Why 1 gets" in panel.title_label.text()
    assert "score of 1" in panel.sum_label.text()
    w.grab().save("/tmp/ov_answer_window.png")
