"""The main window, driven like a user drives it: mouse drags, touch, keys, files."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EventLoopGaps
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMessageBox, QToolButton

from gui.main_window import MainWindow
from tests.automation import draw_with_mouse, draw_with_touch

pytestmark = pytest.mark.slow


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=90_000)
    yield w
    w.close()


def digit_shown(w) -> str:
    return w.findChild(QLabel, "predicted_digit").text()


def wait_for_result(qtbot, w, timeout=10_000):
    """Wait until the newest request is what the panels show."""
    qtbot.waitUntil(lambda: w.requests.settled, timeout=timeout)


def one_per_digit(stroke_fixtures):
    seen, out = set(), []
    for _path, strokes, label in stroke_fixtures:
        if label not in seen:
            seen.add(label)
            out.append((strokes, label))
    return out


def test_mouse_drawn_digits_are_recognised(qtbot, window, stroke_fixtures):
    correct = 0
    cases = one_per_digit(stroke_fixtures)
    for strokes, label in cases:
        QApplication.processEvents()
        qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
        assert digit_shown(window) == ""
        draw_with_mouse(window.canvas, strokes)
        wait_for_result(qtbot, window)
        correct += digit_shown(window) == str(label)
        assert window.findChild(QLabel, "confidence").text()
    assert correct >= len(cases) - 1, f"{correct}/{len(cases)} recognised"


def test_touch_drawn_digit_is_recognised(qtbot, window, stroke_fixtures):
    strokes, label = one_per_digit(stroke_fixtures)[3]
    draw_with_touch(window.canvas, strokes)
    wait_for_result(qtbot, window)
    assert window.canvas.stroke_count() == len(strokes)
    assert digit_shown(window) == str(label)


def test_a_tap_far_from_the_digit_changes_nothing_the_network_sees(qtbot, window, stroke_fixtures):
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    strokes, label = one_per_digit(stroke_fixtures)[5]
    draw_with_mouse(window.canvas, strokes)
    wait_for_result(qtbot, window)
    seen = window.input_view.grab().toImage()
    paper = window.canvas.paper_rect()
    corner = QPoint(int(paper.x() + 0.05 * paper.width()), int(paper.y() + 0.95 * paper.height()))
    QTest.mouseClick(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, corner)
    wait_for_result(qtbot, window)
    assert window.canvas.stroke_count() == len(strokes) + 1  # the tap is kept on the canvas (Undo removes it)
    assert window.input_view.grab().toImage() == seen  # but the network's 28x28 view leaves it out
    assert digit_shown(window) == str(label)


def test_prediction_updates_while_the_stroke_is_drawn(qtbot, window, stroke_fixtures):
    strokes, _ = one_per_digit(stroke_fixtures)[0]  # a one-stroke zero
    shown = []
    window.result_shown.connect(shown.append)
    draw_with_mouse(window.canvas, strokes, after_move=lambda: qtbot.wait(5), release=False)
    qtbot.waitUntil(lambda: len(shown) >= 3, timeout=10_000)
    assert window.canvas.stroke_count() == 0  # still drawing: nothing released yet
    assert digit_shown(window) != ""
    assert window.last_result.activations and set(window.last_result.activations) == {i.name for i in window.model_info.layers}


def test_undo_redo_and_clear(qtbot, window):
    a = [np.array([[0, 0], [0, 10.0]])]
    b = [np.array([[-3, 2], [3, 2.0]])]
    draw_with_mouse(window.canvas, a)
    draw_with_mouse(window.canvas, b)
    assert window.canvas.stroke_count() == 2
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.stroke_count() == 1
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.canvas.stroke_count() == 2
    wait_for_result(qtbot, window)
    assert digit_shown(window) != ""
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.is_empty() and digit_shown(window) == ""
    qtbot.wait(300)  # a late result of the old drawing must not reappear
    assert digit_shown(window) == ""
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo the clear
    assert window.canvas.stroke_count() == 2
    qtbot.mouseClick(window.clear_button, Qt.MouseButton.LeftButton)
    assert window.canvas.is_empty()


def test_empty_canvas_and_a_tap_show_no_prediction(qtbot, window):
    assert digit_shown(window) == ""
    qtbot.mouseClick(window.canvas, Qt.MouseButton.LeftButton, pos=window.canvas.rect().center())
    wait_for_result(qtbot, window)
    assert digit_shown(window) == ""
    assert "No digit" in window.findChild(QLabel, "confidence").text()


def test_a_bad_model_file_is_explained_and_the_current_model_stays(qtbot, window, tmp_path, stroke_fixtures):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    before = window.model_info
    window.load_model(bad)
    qtbot.waitUntil(lambda: window.last_error is not None, timeout=30_000)
    assert "broken.keras" in window.last_error or "corrupt" in window.last_error
    dialog = window.findChild(QMessageBox, "model_error_dialog")
    assert dialog is not None and dialog.isVisible()
    assert "stays loaded" in dialog.informativeText()
    dialog.close()
    assert window.model_info is before
    strokes, label = one_per_digit(stroke_fixtures)[7]
    draw_with_mouse(window.canvas, strokes)
    wait_for_result(qtbot, window)
    assert digit_shown(window) == str(label)


def test_another_model_rebuilds_the_feature_maps(qtbot, window, tmp_path):
    import keras
    from keras import layers

    inp = keras.Input((28, 28, 1))
    x = layers.Conv2D(6, 5, strides=2, activation="relu", name="big_filters")(inp)
    x = layers.AveragePooling2D(2, name="average")(x)
    out = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    path = tmp_path / "tiny.keras"
    keras.Model(inp, out).save(path)
    window.load_model(path)
    qtbot.waitUntil(lambda: window.model_info.path == path, timeout=30_000)
    assert [i.name for i in window.feature_maps.layers] == ["big_filters", "average"]
    draw_with_mouse(window.canvas, [np.array([[0, 0], [5, 5], [0, 10.0]])])
    wait_for_result(qtbot, window)
    assert set(window.last_result.activations) == {"big_filters", "average"}


def test_clicking_a_map_explains_and_outlines_that_cell_without_covering_anything(qtbot, window, stroke_fixtures):
    strokes, _ = one_per_digit(stroke_fixtures)[2]
    draw_with_mouse(window.canvas, strokes)
    wait_for_result(qtbot, window)
    clicked = []
    window.feature_maps.map_clicked.connect(lambda *args: clicked.append(args))
    layer = window.model_info.layers[1].name
    pos = window.feature_maps.map_centre(layer, 5, 3, 4)
    qtbot.mouseClick(window.feature_maps.viewport(), Qt.MouseButton.LeftButton, pos=pos.toPoint())
    qtbot.waitUntil(lambda: bool(clicked), timeout=3000)
    assert clicked[0] == (layer, 5, 3, 4)  # the very cell aimed at
    assert window.feature_maps.selected == (layer, 5, 3, 4)  # outlined
    dock = window.findChild(QDockWidget, "explanation_dock")
    qtbot.waitUntil(dock.isVisible, timeout=3000)
    # Nothing floats over the window: no extra top-level window opened by the click.
    assert [
        w
        for w in QApplication.topLevelWidgets()
        if w.isVisible() and w.isWindow() and w is not window and not isinstance(w, QMessageBox)
    ] == []


def test_every_map_fits_at_first_and_zoom_enlarges_them_in_place(qtbot, window, stroke_fixtures):
    draw_with_mouse(window.canvas, one_per_digit(stroke_fixtures)[2][0])
    wait_for_result(qtbot, window)
    for width in (1280, 1024, 900):
        window.resize(width, 700)
        qtbot.wait(50)
        for info in window.model_info.layers:  # the overview: small cells, but every one a visible value
            assert window.feature_maps.cell_size_on_screen(info.name) >= 1.5 - 0.01, (width, info.name)
        # Reflowed to the visible width: no map cut off at the right edge.
        assert window.feature_maps.width() <= window.maps_area.scroll.viewport().width(), width
    first = window.model_info.layers[0].name
    before = window.feature_maps.cell_size_on_screen(first)
    for _ in range(3):
        qtbot.mouseClick(window.findChild(QToolButton, "zoom_in"), Qt.MouseButton.LeftButton)
    qtbot.wait(50)  # the layout settles on the next turn of the event loop
    assert window.feature_maps.cell_size_on_screen(first) > before * 1.3
    assert window.feature_maps.cell_size_on_screen(first) >= 6 - 0.01  # zoomed: big enough to aim a click
    # Cells of the enlarged maps are clicked and explained like any other.
    clicked = []
    window.feature_maps.map_clicked.connect(lambda *args: clicked.append(args))
    pos = window.feature_maps.map_centre(first, 2, 10, 11)
    qtbot.mouseClick(window.feature_maps.viewport(), Qt.MouseButton.LeftButton, pos=pos.toPoint())
    assert clicked == [(first, 2, 10, 11)]


def test_hovering_a_map_shows_row_col_and_value(qtbot, window, stroke_fixtures):
    draw_with_mouse(window.canvas, one_per_digit(stroke_fixtures)[2][0])
    wait_for_result(qtbot, window)
    layer = window.model_info.layers[0].name
    pos = window.feature_maps.map_centre(layer, 1, 14, 9).toPoint()
    qtbot.mouseMove(window.feature_maps.viewport(), pos)
    label = window.findChild(QLabel, "map_hover")
    expected = float(window.last_result.activations[layer][14, 9, 1])
    qtbot.waitUntil(lambda: "row 14, col 9" in label.text(), timeout=3000)
    assert f"{expected:.4f}" in label.text() and "channel 1" in label.text()


def test_save_drawing_as_json_and_png(qtbot, window, tmp_path, stroke_fixtures):
    from model.data.readers import read_strokes

    strokes, label = one_per_digit(stroke_fixtures)[5]
    window.canvas.set_strokes(strokes)
    wait_for_result(qtbot, window)
    window.save_drawing(tmp_path / "d.json")
    window.save_drawing(tmp_path / "d.png")
    saved, saved_label = read_strokes(tmp_path / "d.json")
    assert len(saved) == len(strokes) and saved_label == label
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    window.export_maps(tmp_path / "maps.png")
    assert (tmp_path / "maps.png").stat().st_size > 5000


def test_opening_a_picture_and_strokes_recognises_them(qtbot, window, fixtures, tmp_path):
    picture = sorted((fixtures / "images").glob("*_black_on_white_rgb.png"))[0]
    with qtbot.waitSignal(window.files_opened) as opened:
        window.open_file(picture)
    assert opened.args == [1, 0]
    wait_for_result(qtbot, window)
    assert digit_shown(window) == picture.name[0]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    with qtbot.waitSignal(window.files_opened) as opened:
        window.open_file(broken)
    assert opened.args == [0, 1]
    assert "broken.png" in window.last_error
    assert digit_shown(window) == picture.name[0]  # nothing lost
    strokes_file = sorted((fixtures / "strokes").glob("6_*.json"))[0]
    with qtbot.waitSignal(window.files_opened):
        window.open_file(strokes_file)
    wait_for_result(qtbot, window)
    assert digit_shown(window) == "6"


def test_resizing_keeps_the_drawing(qtbot, window, stroke_fixtures):
    strokes, label = one_per_digit(stroke_fixtures)[4]
    draw_with_mouse(window.canvas, strokes)
    wait_for_result(qtbot, window)
    before = window.last_result.input.copy()
    window.resize(900, 650)
    qtbot.wait(100)
    assert window.canvas.stroke_count() == len(strokes)
    window.canvas.strokes_changed.emit()
    wait_for_result(qtbot, window)
    np.testing.assert_allclose(window.last_result.input, before, atol=1e-5)
    assert digit_shown(window) == str(label)


def test_strokes_drawn_while_the_model_loads_are_recognised_when_ready(qtbot, stroke_fixtures):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    strokes, label = one_per_digit(stroke_fixtures)[9]
    draw_with_mouse(w.canvas, strokes)
    assert w.canvas.stroke_count() == len(strokes)
    qtbot.waitUntil(lambda: digit_shown(w) == str(label), timeout=90_000)
    w.close()


def test_stress_hundreds_of_fast_strokes_do_not_freeze_or_grow_memory(qtbot, window):
    rng = np.random.default_rng(0)

    def rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    start_rss = None
    with EventLoopGaps() as gaps:
        for round_ in range(3):
            for _ in range(100):
                s = np.cumsum(rng.normal(size=(30, 2)), axis=0)
                draw_with_mouse(window.canvas, [s], after_move=QApplication.processEvents)
            wait_for_result(qtbot, window, timeout=20_000)
            if round_ == 0:
                start_rss = rss_mb()
            qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.is_empty()
    assert rss_mb() - start_rss < 80, "memory keeps growing with strokes"
    # The GUI thread kept turning: no event-loop stall longer than the freeze threshold.
    # A freeze a user notices, far above normal (~30 ms idle; up to ~0.7 s seen with both cores busy).
    assert gaps.longest < 2.0, f"GUI thread blocked for {gaps.longest * 1000:.0f} ms"


def test_window_screenshot(qtbot, window, stroke_fixtures, tmp_path):
    strokes, _ = one_per_digit(stroke_fixtures)[8]
    draw_with_mouse(window.canvas, strokes)
    wait_for_result(qtbot, window)
    path = tmp_path / "window.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 20_000


def test_geometry_is_remembered(qtbot, window):
    window.resize(760, 640)
    window.close()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert (w2.width(), w2.height()) == (760, 640)
    w2.close()
