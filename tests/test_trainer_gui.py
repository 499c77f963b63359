"""Learn ▸ Build and train a network: type layers and read shapes, see an impossible one named, train, use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gui.learn.trainer import TrainerWindow, filter_mosaic


@pytest.fixture
def trainer(qtbot, tmp_path):
    w = TrainerWindow(models_folder=tmp_path / "models")
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()
    w.close()


def cell(w: TrainerWindow, row: int, col: int) -> str:
    return w.table.item(row, col).text()


def test_typing_a_spec_shows_each_layers_shape_and_parameters_with_the_formula(trainer, qtbot):
    trainer.spec_edit.clear()
    qtbot.keyClicks(trainer.spec_edit, "conv 8 5 same, pool 2, conv 16 5 same, pool 3")
    assert trainer.presets.currentIndex() == 0 or "ConvNetJS" in trainer.presets.currentText()
    assert trainer.table.rowCount() == 7  # input, 4 layers, flatten (added), softmax (added)
    assert (cell(trainer, 1, 1), cell(trainer, 1, 2), cell(trainer, 1, 3)) == ("28×28×8", "(28 + 2·2 − 5)/1 + 1 = 28", "208")
    assert cell(trainer, 4, 1) == "4×4×16" and cell(trainer, 4, 2) == "⌊(14 + 2·0 − 3)/3⌋ + 1 = 4"
    assert "5,994 parameters" in trainer.total.text()
    assert trainer.message.text() == "" and trainer.train_button.isEnabled()


def test_an_impossible_layer_is_named_with_its_arithmetic_and_training_is_off(trainer, qtbot):
    trainer.spec_edit.clear()
    qtbot.keyClicks(trainer.spec_edit, "conv 8 5, pool 2, conv 8 5, pool 2, conv 8 5")
    assert trainer.message.text().startswith("item 5 'conv 8 5': kernel 5×5 is larger than its 4×4 input")
    assert "(4 + 2·0 − 5)/1 + 1 = 0 < 1" in trainer.message.text()
    assert not trainer.train_button.isEnabled()
    qtbot.keyClicks(trainer.spec_edit, "x")  # "conv 8 5x": malformed
    assert "not a whole number" in trainer.message.text()
    trainer.presets.setCurrentIndex(1)
    trainer.presets.activated.emit(1)
    assert trainer.message.text() == "" and "101,770 parameters" in trainer.total.text()


def test_escape_closes_the_window(trainer, qtbot):
    qtbot.keyClick(trainer, Qt.Key.Key_Escape)
    assert not trainer.isVisible()


def test_filter_mosaic_tiles_each_filter():
    import numpy as np

    kernel = np.arange(3 * 3 * 1 * 10, dtype=np.float32).reshape(3, 3, 1, 10)
    mosaic = filter_mosaic(kernel)
    assert mosaic.shape == (2 * 4 - 1, 8 * 4 - 1)
    assert mosaic[0, 0] == kernel[0, 0, 0, 0] and mosaic[4, 4 + 2] == kernel[0, 2, 0, 9]


@pytest.mark.slow
def test_a_short_run_draws_curves_saves_a_model_and_use_it_opens_it(qtbot, tmp_path, mnist_folder, monkeypatch):
    from gui.learn import install_teaching
    from gui.main_window import MainWindow

    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path / "user"))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60000)
    teaching = install_teaching(w)
    assert "Build and train" in teaching.trainer_action.text()
    teaching.trainer_action.trigger()
    t = teaching.trainer
    assert t.isVisible()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)  # clears the canvas; must not close the trainer beside it
    assert t.isVisible()
    t.data_dir = mnist_folder
    t.spec_edit.setText("conv 4 3, pool 2")
    t.seconds.setValue(2)
    from model.data import load_mnist_test

    digit = load_mnist_test(mnist_folder)[0][0] / 255.0
    t.set_drawing(digit)  # as the main window does after each prediction
    qtbot.mouseClick(t.train_button, Qt.MouseButton.LeftButton)
    assert t.pause_button.isEnabled() and not t.train_button.isEnabled()
    qtbot.waitUntil(lambda: t.thread is None, timeout=120000)
    assert t.saved is not None and t.saved.is_file(), t.status.text()
    assert t.saved.parent == tmp_path / "user" / "models"
    assert len(t.curves["t"]) >= 2 and t.curves["vacc"], t.curves
    assert t.loss_train.getData()[0] is not None and len(t.loss_train.getData()[0]) == len(t.curves["t"])
    assert t.filters_image.image is not None and t.filters_image.image.shape == (3, 4 * 4 - 1)
    assert all(a.text() != "·" for a in t.strip.answers)
    assert t.maps_image.image is not None and t.maps_image.image.shape == (26, 4 * 27 - 1)  # conv1's 4 maps, 26×26
    card = json.loads(t.saved.with_suffix(".json").read_text())
    assert card["layer_spec"] == "conv 4 3, pool 2" and "accuracy" in card["evaluation"]["mnist_test"]
    assert "Saved" in t.status.text() and t.use_button.isEnabled()
    qtbot.mouseClick(t.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: Path(w.model_info.path) == t.saved, timeout=60000)
    compare = t.open_compare()
    assert any(p.path == t.saved.with_suffix(".json") for p in compare.points)
    assert {p.name for p in compare.points if p.bundled} == {"bundled CNN", "lesson's MLP"}
    compare.close()
    t.shutdown()
    w.close()
