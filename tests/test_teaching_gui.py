"""The teaching views, driven like a student would: click a feature map, read the arithmetic; play with
the convolution playground; open the filters, architecture and saliency views from the Learn menu.

The explanation must state the very number the model computed (and say so only when it is). The playground's
maths and words are core tests (tests/test_playground.py); here its window must show them. Screenshots for
review go to /tmp/shots.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

SHOTS = Path("/tmp/shots")
MINUS = "\u2212"


def save_shot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / name))


def last_number(text: str) -> float:
    """The last decimal number in ``text`` (the panels write a real minus sign)."""
    numbers = re.findall(r"[−-]?\d+\.\d+", text)
    assert numbers, f"no number in {text!r}"
    return float(numbers[-1].replace(MINUS, "-"))


# --- the main window with the teaching views ------------------------------------------------------


@pytest.fixture
def window(qtbot):
    from gui.learn import install_teaching
    from gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1500, 900)
    w.show()
    qtbot.waitExposed(w)
    teaching = install_teaching(w)
    assert install_teaching(w) is teaching  # installing twice changes nothing
    yield w
    w.close()


def draw_digit(w, qtbot, stroke_fixtures, label: int = 3) -> None:
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60000)
    strokes = next(s for _, s, lab in stroke_fixtures if lab == label)
    w.canvas.set_strokes(strokes)
    qtbot.waitUntil(lambda: w.last_result is not None and w.last_result.input is not None, timeout=20000)


def brightest_cell(w, layer: str, channel: int) -> tuple[int, int]:
    a = w.last_result.activations[layer][..., channel]
    r, c = np.unravel_index(int(np.argmax(a)), a.shape)
    return int(r), int(c)


def numbers_in(text: str) -> list[float]:
    return [float(t.replace(MINUS, "-")) for t in re.findall(r"[−-]?\d+\.\d+", text)]


def click_kernel(dialog, qtbot, index: int) -> None:
    """Click the small image of filter ``index`` in the filters dialog, as a user would."""
    from gui.learn.filters import KernelImage

    item = next(i for i in dialog.grid.scene().items() if isinstance(i, KernelImage) and i.index == index)

    def centre():
        return dialog.grid.mapFromScene(item.mapToScene(item.boundingRect().center()))

    # The grid lays its images out after the dialog took its size beside the canvas: wait for it.
    qtbot.waitUntil(lambda: item in dialog.grid.items(centre()), timeout=2000)
    pos = centre()
    qtbot.mouseClick(dialog.grid.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: dialog.selected == index, timeout=2000)


def click_map(w, qtbot, layer: str, channel: int, row: int, col: int) -> None:
    fm = w.feature_maps
    qtbot.mouseClick(fm.viewport(), Qt.MouseButton.LeftButton, pos=fm.map_centre(layer, channel, row, col).toPoint())


def wait_for_explanation(w, qtbot, layer: str):
    panel = w.teaching.panel
    qtbot.waitUntil(
        lambda: (
            panel.breakdown is not None
            and panel.breakdown.layer_name == layer
            and (panel.breakdown.row, panel.breakdown.col, panel.breakdown.channel)
            == w.teaching.target[2:] + w.teaching.target[1:2]
        ),
        timeout=20000,
    )
    return panel


@pytest.mark.slow
def test_clicking_a_conv_cell_shows_the_arithmetic_and_the_models_own_value(window, qtbot, stroke_fixtures):
    w = window
    teaching = w.teaching
    assert not teaching.dock.isVisible()
    # Before any drawing the dock explains what to do instead of failing.
    teaching.explain("conv2", 5, 3, 3)
    assert teaching.dock.isVisible()
    assert "Draw a digit first" in teaching.panel.summary_text()

    draw_digit(w, qtbot, stroke_fixtures)
    row, col = brightest_cell(w, "conv2", 5)
    click_map(w, qtbot, "conv2", 5, row, col)  # a real click on the pyqtgraph mosaic
    qtbot.waitUntil(lambda: teaching.target is not None and teaching.target[0] == "conv2", timeout=5000)
    layer, channel, clicked_row, clicked_col = teaching.target
    assert channel == 5 and abs(clicked_row - row) <= 1 and abs(clicked_col - col) <= 1
    panel = wait_for_explanation(w, qtbot, "conv2")

    expected = float(w.last_result.activations["conv2"][clicked_row, clicked_col, 5])
    result = panel.findChild(type(panel.result_label), "explanation_result")
    assert abs(last_number(result.text()) - expected) < 1e-3
    assert "→ relu →" in result.text() and "bias" in result.text()
    summary = panel.summary_text()
    assert "The model computed" in summary and "✓" in summary
    # The written-out sum of the shown channel adds up to its channel sum.
    b = panel.breakdown
    channel_line = next(line for line in summary.splitlines() if line.startswith(f"Channel {panel.input_channel}:"))
    assert abs(last_number(channel_line) - float(b.products[..., panel.input_channel].sum())) < 1e-4
    # Choosing another input channel shows that channel's window and kernel.
    other = int(panel.channel_combo.itemData(1))
    panel.set_input_channel(other)
    assert panel.kernel_grid.text_values()[0][0] == f"{b.kernel[0, 0, other]:.{panel.kernel_grid.decimals}f}".replace("-", MINUS)
    assert panel.previous_map.window == tuple(b.input_window)
    assert panel.input_map.window == tuple(b.receptive_field)
    teaching.dock.setFloating(True)
    teaching.dock.resize(540, 1000)
    panel.set_input_channel(int(panel.channel_combo.itemData(0)))
    qtbot.wait(50)
    save_shot(teaching.dock, "explanation.png")
    teaching.dock.setFloating(False)
    qtbot.wait(50)
    save_shot(w, "explanation_window.png")

    # A pooling cell: the window and its max.
    row, col = brightest_cell(w, "pool1", 3)
    click_map(w, qtbot, "pool1", 3, row, col)
    qtbot.waitUntil(lambda: teaching.target[0] == "pool1", timeout=5000)
    _, _, pool_row, pool_col = teaching.target
    panel = wait_for_explanation(w, qtbot, "pool1")
    expected = float(w.last_result.activations["pool1"][pool_row, pool_col, 3])
    assert abs(last_number(panel.result_label.text()) - expected) < 1e-3
    assert panel.result_label.text().startswith("max(window)")
    assert abs(float(panel.breakdown.window.max()) - expected) < 1e-5
    assert not panel.kernel_grid.isVisible()

    # Following the mouse: hovering a conv1 cell explains it once the mouse rests.
    panel.follow_mouse.setChecked(True)
    w.feature_maps.map_hovered.emit(("conv1", 7, 14, 14))
    panel = wait_for_explanation(w, qtbot, "conv1")
    assert teaching.target == ("conv1", 7, 14, 14)
    expected = float(w.last_result.activations["conv1"][14, 14, 7])
    assert abs(last_number(panel.result_label.text()) - expected) < 1e-3

    # Clearing the canvas: the dock says to draw again rather than showing stale numbers.
    w.clear()
    assert "Draw a digit first" in panel.summary_text()


@pytest.mark.slow
def test_learn_menu_opens_filters_architecture_saliency_and_playground(window, qtbot, stroke_fixtures):
    w = window
    teaching = w.teaching
    titles = [a.text().replace("&", "") for a in teaching.menu.actions() if a.text()]
    assert any("playground" in t for t in titles) and any("filters" in t for t in titles)
    assert any("Architecture" in t for t in titles) and any("saliency" in t for t in titles)
    draw_digit(w, qtbot, stroke_fixtures)

    # Filters: the first conv layer's kernels, then a deeper layer per input channel.
    teaching.filters_action.trigger()
    dialog = teaching.filters_dialog
    qtbot.waitUntil(lambda: bool(dialog.kernels), timeout=20000)
    first = dialog.kernels[0]
    assert dialog.shown_kernels().shape == (first.kernel.shape[-1], *first.kernel.shape[:2])
    assert not dialog.channel_spin.isEnabled()
    assert "red weights add the pixel" in dialog.intro.text()
    click_kernel(dialog, qtbot, 4)
    assert dialog.detail.title.startswith(f"{first.name} filter 4")
    assert dialog.detail.values.shape == first.kernel.shape[:2]
    save_shot(dialog, "filters.png")
    dialog.layer_combo.setCurrentIndex(1)
    assert dialog.channel_spin.isEnabled()
    dialog.channel_spin.setValue(2)
    second = dialog.kernels[1]
    np.testing.assert_array_equal(dialog.shown_kernels()[0], second.kernel[:, :, 2, 0])
    # A deeper layer's kernels weigh the maps of the layer before, not pixels.
    assert "pixel" not in dialog.intro.text() and "map 2" in dialog.intro.text()
    dialog.layer_combo.setCurrentIndex(0)
    click_kernel(dialog, qtbot, 4)
    qtbot.mouseClick(dialog.try_button, Qt.MouseButton.LeftButton)
    playground = teaching.playground
    assert playground is not None and playground.isVisible()
    qtbot.waitUntil(lambda: f"{first.name} filter 4" in playground.preset_names(), timeout=10000)
    np.testing.assert_allclose(playground.kernel(), first.kernel[:, :, 0, 4], atol=1e-6)

    # The playground on the user's drawing: 28x28, shown as an image.
    qtbot.mouseClick(playground.drawing_button, Qt.MouseButton.LeftButton)
    assert playground.is_showing_drawing()
    np.testing.assert_allclose(playground.input(), w.last_result.input.reshape(28, 28), atol=1e-6)
    assert playground.output().shape == (26, 26)
    assert not playground.size_spin.isVisible() and "Your drawing, 28×28" in playground.size_label.text()
    playground.go_to_step(26 * 10 + 12)
    assert "= " in playground.step_text.text()
    save_shot(playground, "playground_drawing.png")
    playground.close()

    # Architecture: every layer, where the parameters sit, and the lesson's 784-128-10 MLP beside it.
    teaching.architecture_action.trigger()
    arch = teaching.architecture_dialog
    qtbot.waitUntil(lambda: arch.architecture is not None, timeout=20000)
    a = arch.architecture
    assert arch.table.rowCount() == len(a.rows) + 2
    total = sum(int(arch.table.item(i, 3).text().replace(",", "")) for i in range(1, arch.table.rowCount() - 1))
    assert arch.table.item(arch.table.rowCount() - 1, 3).text() == f"{total:,}" == f"{a.total:,}"
    feature_params = {layer.name: layer.params for layer in w.model_info.layers}
    for i, row in enumerate(a.rows, start=1):
        if row.name in feature_params:
            assert arch.table.item(i, 3).text() == f"{feature_params[row.name]:,}"
    cells = {
        arch.comparison.item(r, 0).text(): [arch.comparison.item(r, c).text() for c in (1, 2)]
        for r in range(arch.comparison.rowCount())
    }
    assert cells["parameters"] == [f"{total:,}", "101,770"]
    assert cells["in convolutions"][0].startswith(f"{a.params_in('convolution'):,} (")
    accuracy = cells["accuracy: MNIST test set"]
    assert all(text == "not measured" or re.fullmatch(r"\d+\.\d\d%", text) for text in accuracy)
    card = w.model_info.card or {}
    measured = card.get("evaluation", {}).get("mnist_test", {}).get("accuracy")
    assert accuracy[0] == ("not measured" if measured is None else f"{measured * 100:.2f}%")
    assert "784-128-10" in arch.findChild(type(arch.summary), "architecture_summary").text() or "MLP" in arch.summary.text()
    save_shot(arch, "architecture.png")
    arch.close()

    # Saliency: the predicted digit by default, then any digit.
    teaching.saliency_action.trigger()
    sal = teaching.saliency_dialog
    qtbot.waitUntil(lambda: sal.maps is not None, timeout=60000)
    ig = sal.maps.integrated
    assert ig.attributions.shape == (28, 28) and sal.maps.occlusion.shape == (28, 28)
    assert sal.maps.target == w.last_result.digit
    # Integrated gradients add up to the score change, and the view says by how much.
    assert ig.completeness_gap < 0.02 and not ig.below_noise
    said = numbers_in(sal.completeness.text())
    assert "add up to the score change" in sal.completeness.text()
    assert said[0] == pytest.approx(ig.attribution_sum, abs=1e-3) and said[1] == pytest.approx(ig.score_change, abs=1e-3)
    assert "drop" in sal.occlusion_view.title.text and "rise" in sal.occlusion_view.title.text
    save_shot(sal, "saliency.png")
    qtbot.mouseClick(sal.class_buttons.button(7), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sal.maps.target == 7, timeout=60000)
    assert "Explaining 7" in sal.probability.text()
    save_shot(sal, "saliency_other_digit.png")
    # A new drawing refreshes the open view (after a short pause), for the new predicted digit.
    qtbot.mouseClick(sal.follow_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sal.maps.target == w.last_result.digit, timeout=60000)
    draw_digit(w, qtbot, stroke_fixtures, label=7)
    qtbot.waitUntil(lambda: w.last_result.digit == 7 and sal.maps.target == 7, timeout=60000)
    sal.close()


# --- the playground on its own --------------------------------------------------------------------


@pytest.fixture
def playground(qtbot):
    from gui.learn.playground import PlaygroundWindow

    p = PlaygroundWindow()
    qtbot.addWidget(p)
    p.resize(1100, 760)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.close()


def test_lesson_preset_reproduces_the_lessons_numbers(playground, qtbot):
    from model.teaching.playground import LESSON_EXAMPLE

    p = playground
    p.load_preset("vertical edge demo")
    p.load_preset("lesson example")
    np.testing.assert_array_equal(p.output(), [[4, 3, 4], [2, 4, 3], [2, 3, 4]])
    assert "(5 + 2·0 − 3) / 1 + 1 = 3" in p.findChild(type(p.size_formula), "size_formula").text()
    # What the student reads in the output grid.
    shown = [[p.output_table.item(r, c).text() for c in range(3)] for r in range(3)]
    assert shown == [["4", "3", "4"], ["2", "4", "3"], ["2", "3", "4"]]
    np.testing.assert_array_equal(p.input(), LESSON_EXAMPLE.image)
    p.step()
    text = p.findChild(type(p.step_text), "step_text").text()
    assert "= 4" in text and "1·1 + 1·0 + 1·1" in text
    # The first window is framed on the input grid; later output cells are not revealed yet.
    assert p.input_table.item(0, 0).font().bold() and not p.input_table.item(0, 3).font().bold()
    assert p.output_table.item(0, 1).text() == ""
    save_shot(p, "playground.png")
    p.step()
    p.step()
    p.step()
    assert "= 2" in p.step_text.text()  # output cell (1, 0)
    # 2x2 pooling of the 3x3 output keeps its top-left 2x2 block.
    assert p.max_pool.text_values() == [["4"]]
    assert p.avg_pool.text_values() == [["3.25"]]
    p.reset()
    assert p.state.step_index == -1 and p.output_table.item(2, 2).text() == "4"


def test_playground_editing_cells_and_friendly_errors(playground, qtbot):
    p = playground
    p.load_preset("lesson example")
    # The student types a number into the top-left input cell: 1 -> 3 adds 2·1 to the first output.
    p.input_table.item(0, 0).setText("3")
    qtbot.waitUntil(lambda: p.output()[0, 0] == 6, timeout=2000)
    # A kernel weight typed with a fraction.
    p.kernel_table.item(1, 1).setText("1/2")
    qtbot.waitUntil(lambda: abs(p.kernel()[1, 1] - 0.5) < 1e-12 and p.preset_combo.currentText() == "custom filter", timeout=2000)
    # Not a number: the cell goes back and the student is told why.
    p.kernel_table.item(0, 0).setText("abc")
    assert p.kernel_table.item(0, 0).text() == "1" and "not a number" in p.problem_label.text()
    # A filter bigger than the padded image: a message, no crash.
    p.set_input(np.ones((3, 3)))
    p.set_kernel(np.ones((5, 5)))
    assert p.output().size == 0 and "does not fit" in p.size_formula.text()
    p.step()  # nothing to step through
    # "Use my drawing" asks whoever owns the window for the drawing.
    with qtbot.waitSignal(p.drawing_requested, timeout=1000):
        qtbot.mouseClick(p.drawing_button, Qt.MouseButton.LeftButton)
    # Custom padding from the controls, and the formula follows.
    p.load_preset("lesson example")
    p.padding_combo.setCurrentText("custom")
    p.pad_spin.setValue(1)
    assert "(5 + 2·1 − 3) / 1 + 1 = 5" in p.size_formula.text()
    assert p.output().shape == (5, 5)
    p.stride_spin.setValue(2)
    assert "(5 + 2·1 − 3) / 2 + 1 = 3" in p.size_formula.text()


def test_padding_controls_say_what_the_padding_is_for_every_stride(playground, qtbot):
    p = playground
    p.load_preset("lesson example")
    assert p.preset_note.text().startswith("A 5x5 binary image")
    p.padding_combo.setCurrentText("same")
    # "same" pads a 3x3 filter by 1: the window says so (no "p = 0" next to it).
    assert p.pad_value.isVisible() and p.pad_value.text() == "p = 1" and not p.pad_spin.isVisible()
    assert "keeps the input's size" in p.padding_combo.toolTip() and p.output().shape == (5, 5)
    # The lesson's worked numbers no longer apply, so its note is gone.
    assert not p.preset_note.text().startswith("A 5x5 binary image")
    p.stride_spin.setValue(2)
    assert p.output().shape == (3, 3)
    for text in (p.padding_combo.toolTip(), p.size_formula.text()):
        assert "keeps" not in text and "kept" not in text
    assert "⌈5 / 2⌉ = 3" in p.size_formula.text()
    p.padding_combo.setCurrentText("custom")
    assert p.pad_spin.isVisible() and not p.pad_value.isVisible()
    p.padding_combo.setCurrentText("valid")
    assert p.pad_value.text() == "p = 0"


def test_the_drawing_replaces_the_grid_size_with_its_own_size(playground, qtbot):
    p = playground
    p.set_input(np.random.default_rng(0).random((28, 28)))
    assert not p.size_spin.isVisible() and p.size_label.text() == "Your drawing, 28×28"
    assert p.input_stack.currentWidget() is p.input_image and p.grid_button.isVisible()
    qtbot.mouseClick(p.grid_button, Qt.MouseButton.LeftButton)
    assert p.size_spin.isVisible() and p.input().shape == (5, 5) and p.size_label.text() == "Grid size"


def test_the_explanation_says_same_number_only_when_the_model_agrees(qtbot):
    """Guards the "the model computed the same number" check: a stale value must be flagged."""
    from test_teaching import conv

    from gui.learn.explain import ExplanationPanel

    rng = np.random.default_rng(1)
    b = conv(rng.random((3, 3, 4)).astype(np.float32), rng.normal(0, 0.5, (3, 3, 4)).astype(np.float32), 0.05)
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.show()
    image = rng.random((28, 28)).astype(np.float32)
    panel.show_conv(b, image, model_value=b.output)
    check = panel.findChild(type(panel.check_label), "explanation_check")
    assert check.text().startswith("✓ The model computed") and "the same number" in check.text()
    panel.show_conv(b, image, model_value=b.output + 0.3)
    assert check.text().startswith("⚠") and "same number" not in check.text() and "✓" not in panel.summary_text()
    # What the panel writes adds up: the written channel sum is the sum of the written products.
    line = next(t for t in panel.summary_text().splitlines() if t.startswith(f"Channel {panel.input_channel}:"))
    *terms, total = numbers_in(line)
    assert sum(terms) == pytest.approx(total, abs=1e-9)
    assert panel.products_grid.text_values()[0][0] == f"{b.products[0, 0, panel.input_channel]:.4f}".replace("-", MINUS)


SCREENS = {"1024x768": (1024, 768, 1), "1366x768": (1366, 768, 1), "2560x1600@2x": (2560, 1600, 2)}
FIT_SCRIPT = """
import json, sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui.learn.architecture import ArchitectureDialog
from gui.learn.filters import FiltersDialog
from gui.learn.playground import PlaygroundWindow
from gui.learn.saliency import SaliencyDialog
area = app.primaryScreen().availableGeometry()
out = {"area": [area.width(), area.height()]}
for cls in (PlaygroundWindow, FiltersDialog, ArchitectureDialog, SaliencyDialog):
    w = cls()
    w.show()
    app.processEvents()
    out[cls.__name__] = [w.x(), w.y(), w.width(), w.height(), w.minimumSizeHint().width(), w.minimumSizeHint().height()]
print(json.dumps(out))
"""


@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_learn_window_opens_inside_the_screen(screen, tmp_path):
    """First launch on 1024x768, 1366x768 and a 2560x1600 screen at 2x: each window fits the available area."""
    import json
    import os
    import subprocess
    import sys

    width, height, dpr = SCREENS[screen]
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {"screens": [{"name": "s", "x": 0, "y": 0, "width": width, "height": height, "logicalDpiX": 96, "logicalDpiY": 96}]}
        )
    )
    # A 2x screen offers half its pixels as logical pixels, which is what windows are sized in.
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "QT_SCALE_FACTOR": str(dpr)}
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-c", FIT_SCRIPT], env=env, cwd=root, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    sizes = json.loads(run.stdout.strip().splitlines()[-1])
    area_w, area_h = sizes.pop("area")
    assert (area_w, area_h) == (width // dpr, height // dpr)
    for name, (x, y, w, h, min_w, min_h) in sizes.items():
        assert 0 <= x and 0 <= y and x + w <= area_w and y + h <= area_h, (name, x, y, w, h, area_w, area_h)
        assert min_w <= area_w and min_h <= area_h, (name, min_w, min_h)


def saliency_maps(attributions: np.ndarray, occlusion: np.ndarray, p_target: float, target: int = 3):
    from model.teaching.explain import IntegratedGradients
    from model.teaching.explain import signal_below_noise as below
    from model.teaching.jobs import SaliencyMaps

    probabilities = np.full(10, (1 - p_target) / 9, np.float32)
    probabilities[target] = p_target
    score = 30.0
    ig = IntegratedGradients(attributions.astype(np.float32), target, score, score - float(attributions.sum()), 64)
    image = np.zeros((28, 28), np.float32)
    return SaliencyMaps(target, ig, occlusion.astype(np.float32), below(occlusion, p_target), probabilities, image)


def test_the_saliency_view_draws_signal_and_says_when_a_map_is_only_noise(qtbot):
    from gui.learn.saliency import SaliencyDialog

    dialog = SaliencyDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    rng = np.random.default_rng(0)
    signal = rng.normal(0, 0.5, (28, 28))
    blanked = np.zeros((28, 28))
    blanked[10:14, 10:14], blanked[0:4, 0:4] = 0.2, -0.05
    dialog.show_maps(saliency_maps(signal, blanked, 0.9))
    assert dialog.integrated_view.shape == (28, 28) and dialog.occlusion_view.shape == (28, 28)
    occlusion_title = dialog.occlusion_view.title.text
    assert "largest drop 20 points" in occlusion_title and "largest rise 5 points" in occlusion_title
    assert dialog.class_buttons.checkedId() == 3 and "Explaining 3: probability 90.0%" in dialog.probability.text()
    # Near p = 1 the occlusion changes are float32 rounding, and tiny attributions are no signal either:
    # the view says so and draws nothing rather than noise at full contrast.
    dialog.show_maps(saliency_maps(signal * 1e-12, blanked * 1e-9, 0.99999))
    assert dialog.integrated_view.shape == (0, 0) and "below numerical noise" in dialog.integrated_view.title.text
    assert dialog.occlusion_view.shape == (0, 0) and "below numerical noise" in dialog.occlusion_view.title.text
    assert "float32 rounding" in dialog.message.text()


def test_a_pooling_tie_is_framed_on_every_tied_cell(qtbot):
    from test_teaching import pool

    from gui.learn.explain import ExplanationPanel

    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_pool(pool(np.zeros((2, 2), np.float32)), np.zeros((28, 28), np.float32), model_value=0.0)
    assert panel.window_grid.highlight == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert "tie" in panel.summary_text() and "row 0, col 0 of the window" not in panel.summary_text()
