"""The teaching views, driven like a student would: click a feature map, read the arithmetic; play with
the convolution playground; open the filters, architecture and saliency views from the Learn menu.

The explanation must state the very number the model computed, and the playground must agree with a
plain double loop for every padding and stride. Screenshots for review go to /tmp/shots.
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


def reference_conv(image: np.ndarray, kernel: np.ndarray, padding, stride: int) -> np.ndarray:
    """Zero-pad explicitly (Keras' rule for "same"), then slide the filter with two loops."""
    n, m = image.shape
    f, f2 = kernel.shape
    if padding == "valid":
        top = bottom = left = right = 0
    elif padding == "same":
        rows = max((-(-n // stride) - 1) * stride + f - n, 0)
        cols = max((-(-m // stride) - 1) * stride + f2 - m, 0)
        top, left = rows // 2, cols // 2
        bottom, right = rows - top, cols - left
    else:
        top = bottom = left = right = padding
    padded = np.zeros((n + top + bottom, m + left + right))
    padded[top : top + n, left : left + m] = image
    out = np.zeros(((padded.shape[0] - f) // stride + 1, (padded.shape[1] - f2) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = sum(padded[i * stride + a, j * stride + b] * kernel[a, b] for a in range(f) for b in range(f2))
    return out


# --- the main window with the teaching views ------------------------------------------------------


@pytest.fixture
def window(qtbot):
    from gui.main_window import MainWindow
    from gui.learn import install_teaching

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


def click_map(w, qtbot, layer: str, channel: int, row: int, col: int) -> None:
    fm = w.feature_maps
    qtbot.mouseClick(fm.viewport(), Qt.MouseButton.LeftButton, pos=fm.map_centre(layer, channel, row, col).toPoint())


def wait_for_explanation(w, qtbot, layer: str):
    panel = w.teaching.panel
    qtbot.waitUntil(lambda: panel.breakdown is not None and panel.breakdown.layer_name == layer
                    and (panel.breakdown.row, panel.breakdown.col, panel.breakdown.channel) == w.teaching.target[2:] + w.teaching.target[1:2],
                    timeout=20000)
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
    dialog._select(4)
    assert dialog.detail.values.shape == first.kernel.shape[:2]
    save_shot(dialog, "filters.png")
    dialog.layer_combo.setCurrentIndex(1)
    assert dialog.channel_spin.isEnabled()
    dialog.channel_spin.setValue(2)
    second = dialog.kernels[1]
    np.testing.assert_array_equal(dialog.shown_kernels()[0], second.kernel[:, :, 2, 0])
    dialog.layer_combo.setCurrentIndex(0)
    dialog._select(4)
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
    playground.go_to_step(26 * 10 + 12)
    assert "= " in playground.step_text.text()
    save_shot(playground, "playground_drawing.png")
    playground.close()

    # Architecture: every layer, and the totals with the ratio.
    teaching.architecture_action.trigger()
    arch = teaching.architecture_dialog
    qtbot.waitUntil(lambda: arch.comparison is not None, timeout=20000)
    comparison = arch.comparison
    assert arch.table.rowCount() == len(comparison.rows) + 2
    total_row = arch.table.rowCount() - 1
    assert arch.table.item(total_row, 3).text() == f"{comparison.total_params:,}"
    assert arch.table.item(total_row, 4).text() == f"{comparison.total_dense_params:,}"
    assert comparison.ratio > 10 and f"{comparison.ratio:,.0f} times" in arch.summary.text()
    feature_params = {layer.name: layer.params for layer in w.model_info.layers}
    for i, row in enumerate(comparison.rows, start=1):
        if row.name in feature_params:
            assert arch.table.item(i, 3).text() == f"{feature_params[row.name]:,}"
    save_shot(arch, "architecture.png")
    arch.close()

    # Saliency: the predicted digit by default, then any digit.
    teaching.saliency_action.trigger()
    sal = teaching.saliency_dialog
    qtbot.waitUntil(lambda: sal.saliency_map is not None, timeout=30000)
    assert sal.saliency_map.shape == (28, 28) and sal.occlusion_map.shape == (28, 28)
    assert sal.target == w.last_result.digit
    assert np.abs(sal.saliency_map).max() > 0
    save_shot(sal, "saliency.png")
    qtbot.mouseClick(sal.class_buttons.button(7), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sal.target == 7, timeout=30000)
    assert "Explaining 7" in sal.probability.text()
    save_shot(sal, "saliency_other_digit.png")
    # A new drawing refreshes the open view (after a short pause), for the new predicted digit.
    sal.set_class(None)
    qtbot.waitUntil(lambda: sal.target == w.last_result.digit, timeout=30000)
    draw_digit(w, qtbot, stroke_fixtures, label=7)
    qtbot.waitUntil(lambda: w.last_result.digit == 7 and sal.target == 7, timeout=30000)
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
    from model.playground import LESSON_EXAMPLE

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
    assert p.step_index() == -1 and p.output_table.item(2, 2).text() == "4"


@pytest.mark.parametrize("padding", ["valid", "same", 0, 1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_playground_matches_a_direct_numpy_convolution(playground, padding, stride):
    p = playground
    rng = np.random.default_rng(stride * 10 + (padding if isinstance(padding, int) else len(padding)))
    for n in (5, 6, 7):
        image = rng.integers(-3, 4, (n, n)).astype(float)
        kernel = rng.normal(size=(3, 3)).round(2)
        p.set_input(image)
        p.set_kernel(kernel)
        p.set_padding(padding)
        p.set_stride(stride)
        expected = reference_conv(image, kernel, padding, stride)
        np.testing.assert_allclose(p.output(), expected, atol=1e-9)
        rows = expected.shape[0]
        assert p.size_formula.text().endswith(f"a {rows}×{rows} output") or f"a {rows}×{rows} output" in p.size_formula.text()
        assert p.output_table.rowCount() == rows


def test_playground_editing_cells_and_friendly_errors(playground, qtbot):
    p = playground
    p.load_preset("lesson example")
    # The student types a number into the top-left input cell: 1 -> 3 adds 2·1 to the first output.
    p.input_table.item(0, 0).setText("3")
    qtbot.waitUntil(lambda: p.output()[0, 0] == 6, timeout=2000)
    # A kernel weight typed with a fraction.
    p.kernel_table.item(1, 1).setText("1/2")
    qtbot.waitUntil(lambda: abs(p.kernel()[1, 1] - 0.5) < 1e-12, timeout=2000)
    assert p.preset_combo.currentText() == "custom filter"
    # Not a number: the cell goes back and the student is told why.
    p.kernel_table.item(0, 0).setText("abc")
    assert p.kernel_table.item(0, 0).text() == "1" and "not a number" in p.problem_label.text()
    # A filter bigger than the padded image: a message, no crash.
    p.set_input(np.ones((3, 3)))
    p.set_kernel(np.ones((5, 5)))
    assert p.output().size == 0 and "does not fit" in p.size_formula.text()
    p.step()  # nothing to step through
    # No drawing to use.
    p.use_drawing()
    assert "Draw a digit" in p.problem_label.text()
    # Custom padding from the controls, and the formula follows.
    p.load_preset("lesson example")
    p.padding_combo.setCurrentText("custom")
    p.pad_spin.setValue(1)
    assert "(5 + 2·1 − 3) / 1 + 1 = 5" in p.size_formula.text()
    assert p.output().shape == (5, 5)
    p.stride_spin.setValue(2)
    assert "(5 + 2·1 − 3) / 2 + 1 = 3" in p.size_formula.text()
