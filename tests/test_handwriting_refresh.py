"""My handwriting's "reads N of M" is about the model in use: it is read again when the model changes."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QListWidget

from gui.main_window import MainWindow
from model.data.paths import BUNDLED_MLP, BUNDLED_MODEL

pytestmark = pytest.mark.slow


def test_reads_n_of_m_follows_a_model_switch(qtbot, tmp_path, monkeypatch, fixtures):
    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=90_000)
    w.handwriting.store.import_folder(fixtures / "strokes")
    w.handwriting.show_view()
    view = w.findChild(QListWidget, "digits_3").window()
    accuracy = view.findChild(QLabel, "handwriting_accuracy")
    qtbot.waitUntil(lambda: BUNDLED_MODEL.name in accuracy.text() and "of 30" in accuracy.text(), timeout=60_000)
    w.load_model(BUNDLED_MLP)
    qtbot.waitUntil(lambda: BUNDLED_MLP.name in accuracy.text() and "of 30" in accuracy.text(), timeout=60_000)
    w.close()
