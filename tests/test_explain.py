"""The explanation maths reproduces the network's own numbers, on random models of every geometry.

The models are built here with random weights (no training, no model file), so these tests run
anywhere; the bundled model is checked too when ``resources/mnist_cnn.keras`` exists.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from model.teaching.explain import (  # noqa: E402
    ConvBreakdown,
    PoolBreakdown,
    conv_breakdown,
    integrated_gradients,
    integrated_gradients_result,
    occlusion,
    parameter_comparison,
    pool_breakdown,
    receptive_field,
    saliency,
    signal_below_noise,
)

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "resources" / "mnist_cnn.keras"


def randomise(model, seed: int):
    """Random kernels and non-zero biases, so padding, bias and activation all matter."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in weights])
    return model


def build_strided():
    """same/stride 1 -> valid/stride 2 (non-square kernel) -> max pool -> dilated -> same/stride 2 -> avg pool same."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="c_same")(inputs)
    x = layers.Conv2D(6, (3, 4), strides=2, padding="valid", activation="relu", name="c_valid_s2")(x)
    x = layers.MaxPooling2D(2, name="max")(x)
    x = layers.Conv2D(3, 3, padding="same", dilation_rate=2, activation="sigmoid", name="c_dilated")(x)
    x = layers.Conv2D(5, 3, strides=2, padding="same", activation="tanh", name="c_same_s2")(x)
    x = layers.AveragePooling2D(2, padding="same", name="avg_same")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return randomise(keras.Model(inputs, outputs, name="strided"), seed=1)


def build_odd():
    """Even kernel with stride 3 and no bias, padded pools, an activation layer, softmax and grouped convs."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(4, 4, strides=3, padding="same", use_bias=False, name="c_even_s3")(inputs)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="max_same")(x)
    x = layers.Activation("relu", name="act")(x)
    x = layers.AveragePooling2D(3, strides=1, padding="same", name="avg_same_s1")(x)
    x = layers.Conv2D(4, 2, padding="same", activation="softmax", name="c_softmax")(x)
    x = layers.Conv2D(4, 3, groups=2, name="c_groups")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return randomise(keras.Model(inputs, outputs, name="odd"), seed=2)


class Case:
    """A model, an input image and every feature map it produces (computed once)."""

    def __init__(self, model, seed: int):
        self.model = model
        self.image = np.random.default_rng(seed).random((28, 28)).astype(np.float32)
        maps = [
            layer for layer in model.layers if len(layer.output.shape) == 4 and not isinstance(layer, keras.layers.InputLayer)
        ]
        multi = keras.Model(model.inputs[0], [layer.output for layer in maps])
        outputs = multi(self.image[None, ..., None], training=False)
        self.activations = {layer.name: keras.ops.convert_to_numpy(out)[0] for layer, out in zip(maps, outputs, strict=True)}
        self.convs = [layer.name for layer in maps if isinstance(layer, keras.layers.Conv2D)]
        self.pools = [
            layer.name for layer in maps if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))
        ]


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    out = {"strided": Case(build_strided(), seed=3), "odd": Case(build_odd(), seed=4)}
    if BUNDLED.exists():
        from model.nets.inference import load_checked_model

        out["bundled"] = Case(load_checked_model(BUNDLED), seed=5)
    return out


def positions(h: int, w: int, channels: int, seed: int, n_random: int = 6):
    """All four corners, the middle of every border, the centre and some random cells, with channels."""
    rng = np.random.default_rng(seed)
    cells = {
        (0, 0),
        (0, w - 1),
        (h - 1, 0),
        (h - 1, w - 1),
        (0, w // 2),
        (h - 1, w // 2),
        (h // 2, 0),
        (h // 2, w - 1),
        (h // 2, w // 2),
    }
    cells |= {(int(rng.integers(h)), int(rng.integers(w))) for _ in range(n_random)}
    return [(r, c, int(rng.integers(channels))) for r, c in sorted(cells)]


CASE_NAMES = ["strided", "odd", "bundled"]


def get_case(cases, name) -> Case:
    if name not in cases:
        pytest.skip(f"{BUNDLED} not present")
    return cases[name]


@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_conv_breakdown_reproduces_every_conv_activation(cases, case_name):
    case = get_case(cases, case_name)
    assert case.convs
    for name in case.convs:
        real = case.activations[name]
        for row, col, channel in positions(*real.shape, seed=len(name)):
            b = conv_breakdown(case.model, case.image, name, row, col, channel)
            assert isinstance(b, ConvBreakdown)
            where = f"{case_name}/{name} at ({row}, {col}, {channel})"
            assert b.output == pytest.approx(float(real[row, col, channel]), abs=1e-4), where
            assert b.pre_activation == pytest.approx(float(np.sum(b.patch * b.kernel)) + b.bias, abs=1e-5), where
            np.testing.assert_allclose(b.products, b.patch * b.kernel)
            assert b.patch.shape == b.kernel.shape == b.products.shape
            assert b.patch.dtype == np.float32 and b.kernel.dtype == np.float32
            assert b.padded.shape == b.patch.shape[:2]
            assert not b.patch[b.padded].any(), f"padding must read as zeros: {where}"
            assert b.channel_sums.sum() == pytest.approx(b.products.sum(), rel=1e-5, abs=1e-6)


def test_conv_breakdown_geometry_on_a_known_layer(cases):
    case = cases["strided"]
    b = conv_breakdown(case.model, case.image, "c_same", 0, 0, 1)
    assert b.input_layer_name == "input"
    assert b.patch.shape == (3, 3, 1)
    assert b.input_window == (-1, 2, -1, 2)
    np.testing.assert_array_equal(b.padded, [[True, True, True], [True, False, False], [True, False, False]])
    np.testing.assert_array_equal(b.patch[1:, 1:, 0], case.image[:2, :2])
    assert b.receptive_field == (0, 2, 0, 2)
    assert b.activation == "relu" and b.padding == "same" and b.strides == (1, 1)

    b = conv_breakdown(case.model, case.image, "c_valid_s2", 12, 12, 0)
    assert b.input_layer_name == "c_same"
    assert b.patch.shape == (3, 4, 4)
    assert b.input_window == (24, 27, 24, 28)
    assert not b.padded.any()
    np.testing.assert_allclose(b.patch, case.activations["c_same"][24:27, 24:28])

    b = conv_breakdown(case.model, case.image, "c_dilated", 0, 5, 2)
    assert b.dilation_rate == (2, 2) and b.input_size == (6, 6)
    np.testing.assert_array_equal(b.input_rows, [-2, 0, 2])
    np.testing.assert_array_equal(b.input_cols, [3, 5, 7])
    assert b.input_window == (-2, 3, 3, 8)
    assert b.activation == "sigmoid"

    # "same" with an even kernel and stride 3: 28 -> 10 outputs, pad_total = 9*3 + 4 - 28 = 3, 1 on top.
    odd = cases["odd"]
    b = conv_breakdown(odd.model, odd.image, "c_even_s3", 0, 9, 0)
    assert b.bias == 0.0
    assert b.input_window == (-1, 3, 26, 30)
    assert odd.activations["c_even_s3"].shape == (10, 10, 4)
    assert conv_breakdown(odd.model, odd.image, "c_softmax", 1, 1, 0).input_layer_name == "avg_same_s1"


@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_pool_breakdown_reproduces_every_pool_activation(cases, case_name):
    case = get_case(cases, case_name)
    assert case.pools
    for name in case.pools:
        real = case.activations[name]
        for row, col, channel in positions(*real.shape, seed=len(name)):
            b = pool_breakdown(case.model, case.image, name, row, col, channel)
            assert isinstance(b, PoolBreakdown)
            where = f"{case_name}/{name} at ({row}, {col}, {channel})"
            assert b.output == pytest.approx(float(real[row, col, channel]), abs=1e-5), where
            values = b.window[~b.padded]
            assert b.count == values.size > 0
            if b.mode == "max":
                assert b.argmax is not None and not b.padded[b.argmax]
                assert b.window[b.argmax] == values.max() == pytest.approx(b.output)
            else:
                assert b.argmax is None
                assert b.output == pytest.approx(float(values.mean()), abs=1e-6)


def test_pool_breakdown_counts_only_real_values_in_same_padding(cases):
    case = cases["strided"]
    # avg_same: 3x3 input -> 2x2 output, pad_total = 1 row/column, all of it at the bottom/right.
    b = pool_breakdown(case.model, case.image, "avg_same", 1, 1, 3)
    assert b.mode == "average" and b.count == 1
    np.testing.assert_array_equal(b.padded, [[False, True], [True, True]])
    assert b.output == pytest.approx(float(case.activations["c_same_s2"][2, 2, 3]), abs=1e-6)
    b = pool_breakdown(case.model, case.image, "max", 0, 0, 0)
    assert b.input_layer_name == "c_valid_s2" and b.input_window == (0, 2, 0, 2) and b.count == 4
    odd = cases["odd"]
    assert pool_breakdown(odd.model, odd.image, "avg_same_s1", 0, 0, 0).input_layer_name == "act"


def test_errors_name_the_bad_value_and_the_valid_choices(cases):
    case = cases["strided"]
    model, image = case.model, case.image
    with pytest.raises(ValueError, match=r"no layer named 'nope'.*c_same.*c_valid_s2"):
        conv_breakdown(model, image, "nope", 0, 0, 0)
    with pytest.raises(ValueError, match=r"'max' is a MaxPooling2D.*c_same"):
        conv_breakdown(model, image, "max", 0, 0, 0)
    with pytest.raises(ValueError, match=r"'c_same' is a Conv2D.*'max', 'avg_same'"):
        pool_breakdown(model, image, "c_same", 0, 0, 0)
    with pytest.raises(ValueError, match=r"row=28 .* 0 <= row < 28"):
        conv_breakdown(model, image, "c_same", 28, 0, 0)
    with pytest.raises(ValueError, match=r"col=-1"):
        conv_breakdown(model, image, "c_same", 0, -1, 0)
    with pytest.raises(ValueError, match=r"channel=4 .* 0 <= channel < 4"):
        conv_breakdown(model, image, "c_same", 0, 0, 4)
    with pytest.raises(ValueError, match=r"channel=6"):
        pool_breakdown(model, image, "max", 0, 0, 6)
    with pytest.raises(ValueError, match=r"\(28, 28\) image"):
        conv_breakdown(model, np.zeros((14, 14)), "c_same", 0, 0, 0)
    with pytest.raises(ValueError, match="not a feature map"):
        receptive_field(model, "probabilities", 0, 0)
    with pytest.raises(ValueError, match="target_class=10"):
        saliency(model, image, 10)


def test_receptive_field_by_hand(cases):
    model = cases["strided"].model
    assert receptive_field(model, "c_same", 0, 0) == (0, 2, 0, 2)
    assert receptive_field(model, "c_same", 5, 7) == (4, 7, 6, 9)
    assert receptive_field(model, "c_same", 27, 27) == (26, 28, 26, 28)
    # c_valid_s2 (0, 0) reads c_same rows 0..2 and cols 0..3, which see input rows -1..3, cols -1..4.
    assert receptive_field(model, "c_valid_s2", 0, 0) == (0, 4, 0, 5)
    # max (0, 0) reads c_valid_s2 rows/cols 0..1 -> c_same rows 0..4, cols 0..5 -> input 0..5 / 0..6.
    assert receptive_field(model, "max", 0, 0) == (0, 6, 0, 7)
    # Deep enough, the field covers the image, except what the "valid" floors dropped: "max"
    # keeps only c_valid_s2 rows/cols 0..11, which see input rows 0..25 and cols 0..26.
    assert receptive_field(model, "avg_same", 0, 0) == (0, 26, 0, 27)


def build_linear():
    """Linear layers only, so every pixel in a receptive field has a non-zero gradient.

    Same geometry as ``build_strided`` with average pooling, plus a residual branch and
    explicit padding/cropping layers.
    """
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(2, 3, padding="same", name="c_same")(inputs)
    branch = layers.Conv2D(2, 5, padding="same", name="c_wide")(x)
    x = layers.Add(name="add")([x, branch])
    x = layers.Conv2D(2, (3, 4), strides=2, padding="valid", name="c_valid_s2")(x)
    x = layers.ZeroPadding2D(((1, 0), (0, 2)), name="zero_pad")(x)
    x = layers.AveragePooling2D(2, name="avg")(x)
    x = layers.Cropping2D(((1, 0), (0, 1)), name="crop")(x)
    x = layers.Conv2D(2, 3, padding="same", dilation_rate=2, name="c_dilated")(x)
    x = layers.Conv2D(2, 3, strides=2, padding="same", name="c_same_s2")(x)
    x = layers.AveragePooling2D(2, padding="same", name="avg_same")(x)
    return randomise(keras.Model(inputs, x, name="linear"), seed=6)


def test_receptive_field_matches_where_the_gradient_is_non_zero():
    import tensorflow as tf

    model = build_linear()
    names = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    multi = keras.Model(model.inputs[0], [model.get_layer(n).output for n in names])
    x = tf.convert_to_tensor(np.random.default_rng(7).random((1, 28, 28, 1)).astype(np.float32))
    for index, name in enumerate(names):
        h, w = (int(d) for d in model.get_layer(name).output.shape[1:3])
        for row, col, _ in positions(h, w, 1, seed=index, n_random=2):
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = tf.reduce_sum(multi(x, training=False)[index][0, row, col, :])
            touched = np.argwhere(np.abs(tape.gradient(value, x).numpy()[0, ..., 0]) > 0)
            if touched.size == 0:  # a cell made only of explicit zero padding sees nothing
                continue
            want = (touched[:, 0].min(), touched[:, 0].max() + 1, touched[:, 1].min(), touched[:, 1].max() + 1)
            assert receptive_field(model, name, row, col) == tuple(int(v) for v in want), f"{name} at ({row}, {col})"


def test_saliency_is_gradient_times_input(cases):
    case = cases["strided"]
    image = case.image.copy()
    image[:, :10] = 0.0
    result = saliency(case.model, image, 3)
    assert result.shape == (28, 28) and result.dtype == np.float32
    assert np.isfinite(result).all()
    assert not result[:, :10].any(), "blank pixels have no saliency"
    assert result[:, 10:].any()


def test_occlusion_measures_the_probability_drop(cases):
    case = cases["strided"]
    model, image = case.model, case.image
    heat = occlusion(model, image, 7)
    assert heat.shape == (28, 28) and heat.dtype == np.float32 and np.isfinite(heat).all()
    # One patch over the whole image: every pixel gets p(image) - p(blank image).
    probabilities = keras.ops.convert_to_numpy(model(np.stack([image, np.zeros_like(image)])[..., None], training=False))
    whole = occlusion(model, image, 7, patch=28, stride=5)
    np.testing.assert_allclose(whole, probabilities[0, 7] - probabilities[1, 7], atol=1e-6)
    # Blanking a blank image changes nothing.
    np.testing.assert_array_equal(occlusion(model, np.zeros((28, 28), np.float32), 7, patch=5, stride=3), 0.0)


def test_parameter_comparison_on_a_tiny_model():
    inputs = keras.Input((4, 4, 1))
    x = layers.Conv2D(2, 3, padding="same", name="conv")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flat")(x)
    outputs = layers.Dense(3, name="dense")(x)
    result = parameter_comparison(keras.Model(inputs, outputs))
    rows = [(r.name, r.kind, r.output_shape, r.params, r.dense_params) for r in result.rows]
    assert rows == [
        ("conv", "Conv2D", (4, 4, 2), 3 * 3 * 1 * 2 + 2, (16 + 1) * 32),  # 20 vs 544
        ("pool", "MaxPooling2D", (2, 2, 2), 0, 0),
        ("flat", "Flatten", (8,), 0, 0),
        ("dense", "Dense", (3,), 8 * 3 + 3, 27),
    ]
    assert (result.total_params, result.total_dense_params) == (47, 571)
    assert result.ratio == pytest.approx(571 / 47)


def test_parameter_comparison_totals_match_keras(cases):
    case = cases["strided"]
    result = parameter_comparison(case.model)
    assert result.total_params == case.model.count_params()
    assert result.total_dense_params > 10 * result.total_params


@pytest.mark.parametrize(
    "module", ["model.teaching.explain", "model.teaching.playground", "model.nets.inference", "model.nets.card"]
)
def test_module_imports_neither_qt_nor_tensorflow(module):
    code = (
        f"import sys, {module}; bad = [m for m in ('PySide6', 'pyqtgraph', 'keras', 'tensorflow') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --- integrated gradients -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_digits():
    from model.data.readers import load_mnist_test

    x, y = load_mnist_test(ROOT / "tests" / "fixtures" / "mnist")
    return x[:10].astype(np.float32) / 255.0, y[:10].astype(np.int64)


def test_integrated_gradients_add_up_to_the_logit_change_on_mnist_digits(cases, mnist_digits):
    """Completeness within 2% for the predicted class of real digits (the bundled model when present)."""
    case = cases.get("bundled", cases["strided"])
    for digit in mnist_digits[0]:
        target = int(np.argmax(keras.ops.convert_to_numpy(case.model(digit[None, ..., None]))))
        result = integrated_gradients_result(case.model, digit, target)
        assert result.attributions.shape == (28, 28) and result.attributions.dtype == np.float32
        assert result.attribution_sum == pytest.approx(result.score_change, rel=0.02), result.steps
        assert not result.attributions[digit == 0].any(), "no ink, no attribution (black baseline)"
    plain = integrated_gradients(case.model, mnist_digits[0][0], 3, steps=8)
    assert plain.shape == (28, 28)


def test_integrated_gradients_use_the_pre_softmax_score(cases, mnist_digits):
    model = cases["strided"].model
    digit = mnist_digits[0][0]
    result = integrated_gradients_result(model, digit, 4)
    before = keras.Model(model.inputs[0], model.get_layer("flatten").output)
    weights, bias = model.get_layer("probabilities").get_weights()
    logits = keras.ops.convert_to_numpy(before(np.stack([digit, np.zeros_like(digit)])[..., None])) @ weights + bias
    assert result.score == pytest.approx(float(logits[0, 4]), rel=1e-4, abs=1e-4)
    assert result.baseline_score == pytest.approx(float(logits[1, 4]), rel=1e-4, abs=1e-4)
    assert result.completeness_gap <= 0.01


def test_a_saturated_probability_map_is_reported_as_noise():
    """Gradient x input of a probability pinned at 1 is rounding noise; the logit's attributions are not."""
    inputs = keras.Input((28, 28, 1))
    dense = layers.Dense(10, activation="softmax", name="probabilities")
    model = keras.Model(inputs, dense(layers.Flatten()(inputs)))
    weights = np.zeros((784, 10), np.float32)
    weights[:, 3] = 1.0  # class 3's logit is the total ink: hundreds for a full image, so p(3) rounds to 1
    dense.set_weights([weights, np.zeros(10, np.float32)])
    image = np.full((28, 28), 0.8, np.float32)
    probability = float(keras.ops.convert_to_numpy(model(image[None, ..., None]))[0, 3])
    assert probability == 1.0
    assert signal_below_noise(saliency(model, image, 3), probability)
    result = integrated_gradients_result(model, image, 3)
    assert not result.below_noise
    np.testing.assert_allclose(result.attributions, 0.8, rtol=1e-4)  # linear score: attribution = weight x pixel
    assert not signal_below_noise(np.full((28, 28), 1e-3), 1.0) and signal_below_noise(np.full((28, 28), 1e-6), 1.0)
