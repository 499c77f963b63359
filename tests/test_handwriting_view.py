"""My handwriting under load and under mistakes (issue 20): opens at once, Enter never deletes, delete undoes, failures said."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QListWidget, QMessageBox, QPushButton

from model.data.handwriting import HandwritingStore

SEVEN = [np.array([[0.2, 0.2], [0.8, 0.2], [0.4, 0.9]])]


class FakeController(QObject):
    """What the view needs of the handwriting controller, without a window or a model."""

    readings_ready = Signal(str, list, object, object)

    def __init__(self, store):
        super().__init__()
        self.store = store
        self.requested = 0

    def request_readings(self, drawings) -> None:
        self.requested += 1


def _view(qtbot, store):
    from gui.handwriting.view import HandwritingView

    view = HandwritingView(FakeController(store))
    qtbot.addWidget(view)
    view.show()
    return view


def test_thumbnails_are_rendered_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    import threading

    import model.data.preprocess as preprocess

    store = HandwritingStore(tmp_path)
    for i in range(200):
        store.add(SEVEN, i % 10)
    on_gui_thread = []
    real = preprocess.strokes_to_input

    def watched(strokes, *args, **kwargs):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return real(strokes, *args, **kwargs)

    monkeypatch.setattr(preprocess, "strokes_to_input", watched)
    view = _view(qtbot, store)
    assert sum(view.findChild(QListWidget, f"digits_{d}").count() for d in range(10)) == 200  # listed at once
    sevens = view.findChild(QListWidget, "digits_7")
    qtbot.waitUntil(lambda: not sevens.item(sevens.count() - 1).icon().pixmap(56, 56).toImage().isNull(), timeout=30_000)
    qtbot.waitUntil(lambda: len(on_gui_thread) >= 200, timeout=30_000)
    assert not any(on_gui_thread), "a thumbnail was rendered on the GUI thread"


def test_enter_does_not_delete_and_delete_can_be_undone(qtbot, tmp_path):
    store = HandwritingStore(tmp_path)
    paths = [store.add(SEVEN, 7), store.add(SEVEN, 7)]
    view = _view(qtbot, store)
    sevens = view.findChild(QListWidget, "digits_7")
    sevens.item(0).setSelected(True)
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        qtbot.keyClick(sevens, key)
        qtbot.keyClick(view, key)
    assert all(p.exists() for p in paths)
    assert not view.findChild(QPushButton, "delete_drawings").isDefault()
    qtbot.mouseClick(view.findChild(QPushButton, "delete_drawings"), Qt.MouseButton.LeftButton)
    assert view.findChild(QListWidget, "digits_7").count() == 1
    qtbot.mouseClick(view.findChild(QPushButton, "undo_delete"), Qt.MouseButton.LeftButton)
    assert all(p.exists() for p in paths) and view.findChild(QListWidget, "digits_7").count() == 2


def _problem_text(view) -> str:
    boxes = [b for b in view.findChildren(QMessageBox) if b.isVisible()]
    assert boxes, "the failure was not shown"
    return boxes[-1].text()


def test_buttons_say_what_failed(qtbot, tmp_path):
    store = HandwritingStore(tmp_path)
    changed = store.add(SEVEN, 3)
    gone = store.add(SEVEN, 4)
    view = _view(qtbot, store)
    changed.write_text("no longer a drawing")
    view.findChild(QListWidget, "digits_3").item(0).setSelected(True)
    view.relabel_selected(5)
    assert changed.name in _problem_text(view)
    for box in view.findChildren(QMessageBox):
        box.close()
    gone.unlink()  # another window deleted it
    view.findChild(QListWidget, "digits_4").item(0).setSelected(True)
    view.delete_selected()
    assert "already gone" in _problem_text(view)


@pytest.mark.skipif(sys.platform != "linux", reason="names of arbitrary bytes are a POSIX file-system thing")
def test_names_not_in_utf8_and_of_255_bytes_can_be_relabelled_and_deleted(qtbot, tmp_path):
    store = HandwritingStore(tmp_path)
    doc = json.dumps({"strokes": [[[0.2, 0.2], [0.8, 0.2], [0.4, 0.9]]], "label": 2}).encode()
    latin = os.fsdecode(b"2_caf\xe9.json")
    (tmp_path / latin).write_bytes(doc)
    (tmp_path / ("2_" + "x" * 248 + ".json")).write_bytes(doc)
    view = _view(qtbot, store)
    twos = view.findChild(QListWidget, "digits_2")
    assert twos.count() == 2
    twos.selectAll()
    view.relabel_selected(6)
    assert view.findChild(QListWidget, "digits_6").count() == 2 and not view.findChildren(QMessageBox)
    view.findChild(QListWidget, "digits_6").selectAll()
    view.delete_selected()
    assert list(tmp_path.iterdir()) == [] and not view.findChildren(QMessageBox)


def test_a_bar_click_stores_the_class_name_not_the_bar_index():
    from types import SimpleNamespace

    from gui.handwriting import HandwritingController

    stored, said = [], []
    names = [str(d) for d in range(1, 10)] + ["0"]  # a card naming the outputs 1..9, 0
    status = SimpleNamespace(showMessage=lambda text, ms=0: said.append(text))
    state = SimpleNamespace(model_info=SimpleNamespace(class_names=names))
    window = SimpleNamespace(statusBar=lambda: status)
    fake = SimpleNamespace(window=window, state=state, label_current=stored.append)
    HandwritingController.label_clicked_class(fake, 9)
    assert stored == [0]
    state.model_info.class_names = ["cat", "dog"]
    assert HandwritingController.label_clicked_class(fake, 1) is None and stored == [0]
    assert "'dog' is not a digit" in said[-1]


def test_the_model_cache_notices_a_file_replaced_with_the_same_time_and_size(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import model.nets.inference as inference
    from gui.worker import InferenceWorker

    built = []
    monkeypatch.setattr(inference, "Predictor", lambda path: built.append(path) or object())
    model = tmp_path / "m.keras"
    model.write_bytes(b"first model")
    fake = SimpleNamespace(_other_models={})
    first = InferenceWorker._predictor_for(fake, model)
    assert InferenceWorker._predictor_for(fake, model) is first and len(built) == 1
    st = model.stat()
    other = tmp_path / "other.keras"
    other.write_bytes(b"other model")  # same size
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, model)
    assert InferenceWorker._predictor_for(fake, model) is not first and len(built) == 2
    model.with_suffix(".json").write_text('{"invert": true}')  # a new card alone
    InferenceWorker._predictor_for(fake, model)
    assert len(built) == 3
