"""Learn ▸ What each channel looks for, driven like a student: rows per layer, a channel's patches and
optimised input, a click that puts the digit on the canvas with the unit outlined, and a background
computation with progress and Cancel for a model without saved results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

SHOTS = Path("/tmp/shots")


def _fake_features():
    from model.teaching.feature_sets import FeatureSet, LayerFeatures

    rng = np.random.default_rng(0)
    layers = []
    for name, kind, shape, field in (("c1", "Conv2D", (28, 28, 4), (3, 3)), ("p1", "MaxPooling2D", (14, 14, 4), (4, 4))):
        c = shape[2]
        values = -np.sort(-rng.random((c, 9)).astype(np.float32), axis=1) * 5
        layers.append(
            LayerFeatures(
                name,
                kind,
                shape,
                field,
                values,
                rng.integers(0, 3, (c, 9)),
                rng.integers(0, shape[0], (c, 9)),
                rng.integers(0, shape[1], (c, 9)),
                rng.random((c, 9, *field)).astype(np.float32),
                (shape[0] // 2, shape[1] // 2),
                rng.random((c, 28, 28)).astype(np.float32),
                values[:, 0] + 1,
                values[:, 0],
                (13, 16, 13, 16),
            )
        )
    drawings = {i: rng.random((28, 28)).astype(np.float32) for i in range(3)}
    return FeatureSet(layers, "mnist-test", drawings, model_sha256="x")


def test_rows_per_layer_detail_and_patch_click(qtbot):
    from gui.learn.channels import ChannelsWindow

    view = ChannelsWindow()
    qtbot.addWidget(view)
    view.show()
    features = _fake_features()
    view.show_features(features)
    rows = [view.findChild(type(view.rows), f"channels_row_{n}") for n in ("c1", "p1")]
    assert all(r is not None for r in rows)
    assert "3×3" in rows[0].findChildren(type(view.message))[0].text()  # receptive field written per layer
    assert "4×4" in rows[1].findChildren(type(view.message))[0].text()
    assert len(view.tiles) == 8  # every channel of these 4-channel layers
    qtbot.mouseClick(view.tiles[("p1", 2)], Qt.MouseButton.LeftButton)
    assert view.selected == ("p1", 2) and view.channel_spin.value() == 2
    f = features.layer("p1")
    assert [b.text() for b in view.patch_buttons] == [f"{v:.3f}" for v in f.values[2]]
    text = view.optimised_text.text()
    assert f"{f.optimised_values[2]:.3f}" in text and f"{f.best_values[2]:.3f}" in text
    with qtbot.waitSignal(view.digit_requested) as got:
        qtbot.mouseClick(view.patch_buttons[4], Qt.MouseButton.LeftButton)
    choice = got.args[0]
    assert (choice.layer, choice.channel, choice.row, choice.col) == ("p1", 2, f.row[2, 4], f.col[2, 4])
    np.testing.assert_array_equal(choice.drawing, features.drawings[int(f.index[2, 4])])
    view.channel_spin.setValue(3)  # any channel, not only the ones in the row
    assert view.selected == ("p1", 3)
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not view.isVisible()
    view.show()
    qtbot.mouseClick(view.findChild(type(view.cancel_button), "channels_close"), Qt.MouseButton.LeftButton)
    assert not view.isVisible()


@pytest.mark.slow
def test_bundled_model_opens_from_the_shipped_file_and_a_patch_lands_on_the_canvas(qtbot, tmp_path, monkeypatch, stroke_fixtures):
    from gui.learn import install_teaching
    from gui.main_window import MainWindow
    from model.data.handwriting import HandwritingStore

    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))
    for _, strokes, label in stroke_fixtures[:10]:
        HandwritingStore().add(strokes, label)

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(420, 560)
    w.move(0, 0)
    w.show()
    install_teaching(w)
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60000)
    w.teaching.channels_action.trigger()
    view = w.channels_window
    assert view.thread is None and view.features is not None  # no computation: the shipped results
    assert [f.name for f in view.features.layers] == ["conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "conv5"]
    canvas = w.canvas.rect().translated(w.canvas.mapToGlobal(w.canvas.rect().topLeft()))
    if view.screen().availableGeometry().right() - canvas.right() > view.minimumSizeHint().width() + 12:
        assert not view.frameGeometry().intersects(canvas)  # beside the window, not over the canvas
    qtbot.mouseClick(view.tiles[("conv3", 4)], Qt.MouseButton.LeftButton)
    f = view.features.layer("conv3")
    with qtbot.waitSignal(w.result_shown, timeout=20000):
        qtbot.mouseClick(view.patch_buttons[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.feature_maps.selected is not None, timeout=5000)
    assert tuple(w.feature_maps.selected) == ("conv3", 4, int(f.row[4, 0]), int(f.col[4, 0]))
    shown = w.last_result.activations["conv3"][f.row[4, 0], f.col[4, 0], 4]
    assert shown == pytest.approx(float(f.values[4, 0]), rel=1e-4)  # the canvas digit gives the patch's value
    SHOTS.mkdir(parents=True, exist_ok=True)
    view.grab().save(str(SHOTS / "channels_bundled.png"))

    # The switch to the user's own digits: computed in the background, a click puts the strokes on the canvas.
    view.source_combo.setCurrentIndex(view.source_combo.findData("handwriting"))
    qtbot.waitUntil(lambda: view.features.source == "handwriting" or view.thread is None, timeout=60000)
    assert view.features.source == "handwriting", view.message.text()
    view.select("conv1", 0)
    f = view.features.layer("conv1")
    with qtbot.waitSignal(w.result_shown, timeout=20000):
        qtbot.mouseClick(view.patch_buttons[0], Qt.MouseButton.LeftButton)
    assert w.canvas.stroke_count() == len(view.features.strokes[int(f.index[0, 0])])
    qtbot.waitUntil(lambda: w.last_result is not None and w.feature_maps.selected is not None, timeout=5000)
    shown = w.last_result.activations["conv1"][f.row[0, 0], f.col[0, 0], 0]
    assert shown == pytest.approx(float(f.values[0, 0]), rel=1e-4)
    view.close()
    w.close()


@pytest.mark.slow
def test_another_model_is_computed_in_the_background_with_progress_and_cancel(qtbot, tmp_path, monkeypatch):
    import keras

    from gui.learn.channels import ChannelsWindow
    from model.teaching.feature_sets import cache_path
    from model.teaching.features import model_hash

    monkeypatch.setenv("DIGIT_RECOGNIZER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("model.data.paths.default_mnist_dir", lambda: None)  # as in the frozen app: the shipped sample stands in
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", name="a"),
            keras.layers.MaxPooling2D(name="b"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    path = tmp_path / "tiny.keras"
    model.save(path)

    view = ChannelsWindow()
    qtbot.addWidget(view)
    view.show()
    view.set_model(path)
    assert view.thread is not None and view.progress.isVisible() and view.cancel_button.isVisible()
    cancelled = view.thread
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    assert view.thread is None and "Cancelled" in view.message.text() and not view.progress.isVisible()

    def ended() -> bool:
        try:
            return cancelled.isFinished()
        except RuntimeError:  # already deleted: it ended
            return True

    # Let the cancelled thread wind down first: on CPython 3.11 two threads parsing Python at once
    # (numpy's .npy header here, TensorFlow's tracing there) can raise "AST constructor recursion
    # depth mismatch" (CPython gh-106905: that state is not thread-safe), seen once in a CI rehearsal.
    qtbot.waitUntil(ended, timeout=60000)
    view.refresh()
    qtbot.waitUntil(lambda: view.features is not None or view.thread is None, timeout=120000)
    assert view.features is not None, view.message.text()
    assert [f.name for f in view.features.layers] == ["a", "b"]
    assert view.features.source == "mnist-sample" and "1,200" in view.message.text()
    assert cache_path(model_hash(path), "mnist-sample").is_file()  # the next opening is instant
