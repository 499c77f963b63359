"""The Learn views explain any model the app accepts, not just the bundled CNN (issues 10 and 11).

Tiny seeded models of each kind users bring (the builders and the zoo of tests/test_any_model.py,
plus a 32x32 LeNet-style CNN, a Rescaling-first CNN, a 3-class model with a card and an inverted
one) are explained through the Learn jobs (core, no Qt), and loaded into the real window, where a
map cell is clicked and the explanation read as a student reads it: the layer's own steps (depthwise
then pointwise, batch normalisation), inner layer names of nested sub-models, what the model
receives, and the model's own number to 1e-4. A dense-only model says it has no convolution layers.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402
from test_any_model import digits, randomise, zoo  # noqa: E402, F401  (the seeded zoo and its builders)

from model.nets.card import write_card_fields  # noqa: E402
from model.nets.inference import Predictor  # noqa: E402
from model.teaching.jobs import (  # noqa: E402
    architecture_job,
    channel_view,
    conv_arithmetic,
    explain_job,
    kernels_job,
    saliency_job,
)

MINUS = "\u2212"
EXACT = 1e-4


@pytest.fixture(scope="module")
def more(tmp_path_factory):
    """The kinds the shared zoo has no conv layer for: name -> saved path."""
    folder = tmp_path_factory.mktemp("learn_zoo")
    paths = {}

    inputs = keras.Input((32, 32, 1))
    h = layers.AveragePooling2D(2, name="s2")(layers.Conv2D(4, 5, activation="tanh", name="c1")(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(h)))
    paths["lenet"] = randomise(model, 11)

    inputs = keras.Input((28, 28, 1))
    h = layers.Conv2D(3, 3, activation="relu", name="conv")(layers.Rescaling(1 / 255, name="rescale")(inputs))
    h = layers.MaxPooling2D(2, name="pool")(h)
    paths["rescaling_conv"] = randomise(keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(h))), 12)

    inputs = keras.Input((28, 28, 1))
    h = layers.MaxPooling2D(2, name="pool")(layers.Conv2D(2, 3, activation="relu", name="conv")(inputs))
    paths["three_classes"] = randomise(keras.Model(inputs, layers.Dense(3, activation="softmax")(layers.Flatten()(h))), 13)
    paths["inverted"] = randomise(keras.models.clone_model(paths["three_classes"]), 14)

    for name, model in list(paths.items()):
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])
    write_card_fields(paths["three_classes"], class_names=["circle", "square", "star"])
    write_card_fields(paths["inverted"], invert=True)
    return paths


_PREDICTORS: dict = {}


@pytest.fixture(scope="module")
def served(zoo, more):  # noqa: F811
    """name -> Predictor (each loaded once), for the shared zoo's and this module's models."""
    _PREDICTORS.clear()

    def get(name: str) -> Predictor:
        if name not in _PREDICTORS:
            _PREDICTORS[name] = Predictor(more[name] if name in more else zoo[name][1])
        return _PREDICTORS[name]

    return get


def drawing(seed: int = 0) -> np.ndarray:
    """A blurry stroke-like (28, 28) image in [0, 1]."""
    rng = np.random.default_rng(seed)
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0
    image[6:10, 8:20] = 1.0
    return np.clip(image * rng.uniform(0.6, 1.0, image.shape), 0, 1).astype(np.float32)


def explained(p: Predictor, layer: str, channel: int, row: int, col: int, image: np.ndarray):
    value = float(p.predict(image).activations[layer][row, col, channel])
    return explain_job(layer, channel, row, col, image, value)(p), value


# --- the jobs, on every kind (no Qt) ------------------------------------------------------------------


CELLS = [
    ("separable", "dw", 5, 3, 4),
    ("separable", "sep", 4, 2, 3),
    ("conv_bn", "conv", 1, 7, 9),
    ("conv_bn", "bn", 2, 10, 11),
    ("conv_bn", "relu", 3, 12, 4),
    ("nested", "inner_conv", 2, 9, 8),
    ("nested", "inner_pool", 1, 5, 6),
    ("nested", "deep_conv", 3, 3, 2),
    ("no_channel", "conv", 2, 14, 13),
    ("lenet", "c1", 3, 13, 14),
    ("lenet", "s2", 1, 6, 7),
    ("rescaling_conv", "conv", 0, 12, 12),
]


@pytest.mark.parametrize(("kind", "layer", "channel", "row", "col"), CELLS)
def test_every_kind_of_cell_is_explained_with_the_models_own_number(served, kind, layer, channel, row, col):
    p = served(kind)
    image = drawing()
    explanation, value = explained(p, layer, channel, row, col, image)
    b = explanation.breakdown
    assert b.layer_name == layer and abs(b.output - value) <= EXACT
    # What the model receives: its own size, and 0-255 for a Rescaling-first model.
    assert explanation.image.shape == p.input_size
    if kind == "rescaling_conv":
        assert explanation.image.max() > 100 and b.input_map.max() <= 1.0  # the conv reads the rescaled pixels
    if hasattr(b, "kernel"):
        for c in range(channel_view(b, explanation.source_channels).kernel.shape[2]):
            written = conv_arithmetic(b, c, value, explanation.source_channels)
            assert written.agrees is True, written.check


def test_a_depthwise_filter_reads_the_input_channel_it_names(served):
    p = served("separable")  # dw: depth multiplier 2 over conv's 3 channels
    explanation, _ = explained(p, "dw", 5, 3, 4, drawing())
    b = explanation.breakdown
    assert explanation.source_channels == (2,)  # output channel 5 = input channel 2, second kernel
    view = channel_view(b, explanation.source_channels)
    r0 = int(b.input_rows[0])
    c0 = int(b.input_cols[0])
    window = b.input_map[r0 : r0 + 3, c0 : c0 + 3, 2]  # padding sits outside this cell's window
    np.testing.assert_array_equal(view.patch[..., 0], window)
    assert "reads only input channel 2" in " ".join(conv_arithmetic(b, 0, None, explanation.source_channels).lines)


def test_a_separable_cell_is_explained_as_depthwise_then_pointwise(served):
    p = served("separable")  # sep: 6 input channels, depth multiplier 2 -> 12 step-1 channels
    explanation, value = explained(p, "sep", 4, 2, 3, drawing())
    b = explanation.breakdown
    assert [s.kind for s in b.stages] == ["depthwise", "pointwise"]
    view = channel_view(b)
    assert view.separable and view.kernel.shape[2] == 12 and view.source == tuple(k // 2 for k in range(12))
    # The step-1 values times the 1x1 weights, plus the bias, are the layer's pre-activation.
    assert float(view.contributions.sum() + b.stages[1].bias) == pytest.approx(b.pre_activation, abs=EXACT)
    lines = conv_arithmetic(b, 7, value).lines
    assert lines[0].startswith("Step 1 · depthwise") and any(line.startswith("Step 2 · pointwise") for line in lines)


def test_filters_of_depthwise_separable_and_nested_layers_are_listed(served):
    names = {k.name: k for k in kernels_job(served("separable"))}
    assert set(names) == {"conv", "dw", "sep"}
    assert names["dw"].kernel.shape == (3, 3, 1, 6) and "depthwise" in names["dw"].note
    assert names["sep"].kernel.shape == (3, 3, 1, 12) and "1×1" in names["sep"].note
    assert [k.name for k in kernels_job(served("nested"))] == ["inner_conv", "deep_conv"]
    assert kernels_job(served("dense_only")) == []


def test_the_architecture_lists_nested_layers_under_their_own_names(served, zoo):  # noqa: F811
    arch = architecture_job(served("nested"))
    names = [r.name for r in arch.rows]
    assert {"inner_conv", "inner_pool", "deep_conv"} <= set(names) and not {"block", "sub"} & set(names)
    assert arch.total == zoo["nested"][0].count_params()
    assert arch.params_in("convolution") == sum(r.params for r in arch.rows if "Conv" in r.kind) > 0
    assert architecture_job(served("lenet")).input_shape == (32, 32, 1)
    dense = architecture_job(served("dense_only"))
    assert dense.params_in("convolution") == 0 and dense.params_in("dense") == dense.total


def test_saliency_is_computed_on_what_the_model_receives(served):
    image = drawing()
    maps = saliency_job(image, 3)(served("lenet"))
    assert maps.integrated.attributions.shape == (32, 32) and maps.image.shape == (32, 32)
    assert maps.integrated.completeness_gap <= 0.02
    assert np.all(maps.integrated.attributions[:2] == 0)  # the LeNet padding holds no ink: nothing to attribute
    # An inverted model's blank drawing is white: the baseline and the occluding patches are white too.
    p = served("inverted")
    maps = saliency_job(image, 1)(p)
    assert maps.integrated.completeness_gap <= 0.02 and maps.image[0, 0] == 1.0  # white paper, as the model sees it
    assert abs(maps.occlusion[:3, :3]).max() <= 1e-6  # blanking white paper with white changes nothing
    dense = saliency_job(image, 0)(served("dense_only"))
    assert dense.integrated.attributions.shape == (28, 28)


# --- the real window ----------------------------------------------------------------------------------


def number(text: str) -> float:
    return float(re.findall(r"[−-]?\d+\.\d+", text)[-1].replace(MINUS, "-"))


@pytest.fixture
def open_window(qtbot, stroke_fixtures):
    """``open_window(path)``: the main window with that model, a digit drawn, the result on screen."""
    from gui.main_window import MainWindow

    windows = []

    def make(path):
        w = MainWindow(path)
        windows.append(w)
        qtbot.addWidget(w)
        w.resize(1500, 900)
        w.show()
        qtbot.waitExposed(w)
        qtbot.waitUntil(lambda: w.model_info is not None, timeout=60000)
        w.canvas.set_strokes(next(s for _, s, label in stroke_fixtures if label == 3))
        qtbot.waitUntil(lambda: w.last_result is not None and w.last_result.probabilities is not None, timeout=20000)
        return w

    yield make
    for w in windows:
        w.close()


def click_and_read(w, qtbot, layer: str, channel: int, row: int, col: int):
    """Click cell (row, col) of ``channel`` of ``layer``'s map as a user would; wait for its explanation."""
    from PySide6.QtCore import Qt

    fm = w.feature_maps
    qtbot.mouseClick(fm.viewport(), Qt.MouseButton.LeftButton, pos=fm.map_centre(layer, channel, row, col).toPoint())
    panel = w.teaching.panel
    qtbot.waitUntil(
        lambda: (
            panel.breakdown is not None
            and panel.breakdown.layer_name == layer
            and (panel.breakdown.channel, panel.breakdown.row, panel.breakdown.col) == w.teaching.target[1:]
        ),
        timeout=20000,
    )
    b = panel.breakdown
    value = float(w.last_result.activations[layer][b.row, b.col, b.channel])
    assert abs(number(panel.result_label.text()) - value) <= EXACT  # the written result, to its 4 decimals
    assert panel.check_label.text().startswith("✓") and abs(b.output - value) <= EXACT
    return panel


@pytest.mark.slow
def test_separable_and_depthwise_cells_in_the_window(open_window, qtbot, zoo):  # noqa: F811
    w = open_window(zoo["separable"][1])
    panel = click_and_read(w, qtbot, "sep", 4, 2, 3)
    text = panel.summary_text()
    assert "two steps" in panel.intro_label.text()
    assert "Step 1 · depthwise" in text and "Step 2 · pointwise" in text
    assert panel.channel_combo.count() == 12 and panel.kernel_grid.title.startswith("depthwise")
    # Picking a step-1 channel shows the input channel it reads on the previous layer's map.
    index = panel.channel_combo.findData(7)
    panel.channel_combo.setCurrentIndex(index)
    assert "dw ch 3" in panel.previous_map.title_text() and "Step-1 channel 7" in panel.summary_text()

    panel = click_and_read(w, qtbot, "dw", 5, 3, 4)
    assert "reads only channel 2" in panel.intro_label.text() and "conv ch 2" in panel.previous_map.title_text()
    assert not panel.channel_combo.isVisible()

    # Learn ▸ Learned filters lists the depthwise kernels of both layers, saying what they are.
    filters = w.teaching.open_filters()
    qtbot.waitUntil(lambda: filters.layer_combo.count() == 3, timeout=20000)
    filters.layer_combo.setCurrentIndex(filters.layer_combo.findData("sep"))
    assert "separable" in filters.intro.text() and filters.shown_kernels().shape == (12, 3, 3)


@pytest.mark.slow
def test_batch_norm_and_nested_cells_in_the_window(open_window, qtbot, zoo):  # noqa: F811
    w = open_window(zoo["conv_bn"][1])
    panel = click_and_read(w, qtbot, "relu", 2, 10, 11)
    assert "Batch normalisation (bn)" in panel.summary_text() and "batch norm →" in panel.result_label.text()

    w = open_window(zoo["nested"][1])
    for layer, channel, row, col in (("inner_conv", 2, 9, 8), ("inner_pool", 1, 5, 6), ("deep_conv", 3, 3, 2)):
        panel = click_and_read(w, qtbot, layer, channel, row, col)
        assert panel.title_label.text().startswith(layer)


@pytest.mark.slow
def test_other_input_sizes_and_ranges_are_explained_on_what_the_model_receives(open_window, qtbot, more):
    w = open_window(more["lenet"])
    # The preview under the canvas says what it is: the 28x28 drawing, not the model's 32x32 input.
    assert "the model gets it as 32×32" in w.seen_title.text()
    panel = click_and_read(w, qtbot, "c1", 3, 13, 14)
    assert "model input 32×32" in panel.input_map.title_text()
    r0, r1, c0, c1 = panel.breakdown.receptive_field
    assert (r0, r1, c0, c1) == (13, 18, 14, 19)  # a 5x5 kernel on the 32x32 input

    w = open_window(more["rescaling_conv"])
    panel = click_and_read(w, qtbot, "conv", 0, 12, 12)
    assert "rescale's output" in panel.intro_label.text()


@pytest.mark.slow
def test_a_dense_only_model_says_it_has_no_convolution_layers(open_window, qtbot, zoo):  # noqa: F811
    w = open_window(zoo["dense_only"][1])
    teaching = w.teaching
    teaching.explain_action.trigger()  # Learn ▸ Explanation panel
    assert teaching.dock.isVisible() and "no convolution layers" in teaching.panel.summary_text()
    filters = teaching.open_filters()
    qtbot.waitUntil(lambda: "no convolution layers" in filters.message.text(), timeout=20000)
    architecture = teaching.open_architecture()
    qtbot.waitUntil(lambda: architecture.architecture is not None, timeout=20000)
    assert "0 (0.0%)" in architecture.comparison.item(1, 1).text()
    saliency = teaching.open_saliency()
    qtbot.waitUntil(lambda: saliency.maps is not None, timeout=30000)
    assert saliency.maps.integrated.attributions.shape == (28, 28)
    assert teaching.open_playground().isVisible()
    # Another model with convolutions: the dock invites a click again.
    w.load_model(zoo["logits"][1])
    qtbot.waitUntil(lambda: w.model_info.name == "logits.keras", timeout=60000)
    assert "no convolution" not in teaching.panel.summary_text() and "Click any cell" in teaching.panel.summary_text()


@pytest.mark.slow
def test_the_saliency_view_offers_the_models_own_classes(open_window, qtbot, more):
    w = open_window(more["three_classes"])
    saliency = w.teaching.open_saliency()
    qtbot.waitUntil(lambda: saliency.maps is not None, timeout=30000)
    assert [b.text() for b in saliency.class_buttons.buttons()] == ["circle", "square", "star"]
    from PySide6.QtCore import Qt

    qtbot.mouseClick(saliency.class_buttons.button(2), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: saliency.maps.target == 2, timeout=30000)
    assert saliency.probability.text().startswith("Explaining star")
