"""Any Keras model a user brings is fed the way it was trained and explained exactly.

Every model is built here, tiny, with seeded weights: no training. The two that must *work*
(rescaling-first, LeNet-style 32x32) are nearest-centroid classifiers made from the fixture digits,
so feeding them the wrong way shows up as lost accuracy, as it did for users.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from model.data.readers import load_mnist_test  # noqa: E402
from model.nets.card import read_card, write_card_fields  # noqa: E402
from model.nets.inference import ModelError, Predictor  # noqa: E402
from model.teaching.explain import breakdown, conv_breakdown, pool_breakdown, receptive_field  # noqa: E402


def randomise(model, seed: int):
    """Random weights; batch-norm variances positive, so every step matters and stays finite."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if type(layer).__name__ == "BatchNormalization":
            layer.set_weights([rng.uniform(0.5, 2.0, w.shape).astype(np.float32) for w in weights])
        elif weights:
            layer.set_weights([rng.normal(0.0, 0.5, w.shape).astype(np.float32) for w in weights])
    return model


def centroid_head(centroids: np.ndarray, name: str = "probabilities"):
    """A Dense softmax layer that picks the nearest centroid: logits ``x . mu - |mu|^2 / 2``."""
    flat = centroids.reshape(len(centroids), -1).astype(np.float32)
    dense = layers.Dense(len(centroids), activation="softmax", name=name)
    return dense, [flat.T, -0.5 * (flat**2).sum(axis=1)]


@pytest.fixture(scope="module")
def digits(fixtures):
    x, y = load_mnist_test(fixtures / "mnist")
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, digits):
    """name -> (keras model, saved path); each kind a user brought."""
    folder = tmp_path_factory.mktemp("zoo")
    x, y = digits
    mu = np.stack([x[y == k].mean(axis=0) for k in range(10)])
    models = {}

    inputs = keras.Input((28, 28, 1))
    dense, weights = centroid_head(mu)
    outputs = dense(layers.Flatten()(layers.Rescaling(1 / 255, name="rescale")(inputs)))
    dense.set_weights(weights)
    models["rescaling"] = keras.Model(inputs, outputs)

    inputs = keras.Input((32, 32, 1))
    crop = layers.Conv2D(1, 5, name="c1")  # a 5x5 kernel with only its centre set: 32x32 -> the 28x28 digit back
    x32 = crop(inputs)
    dense, weights = centroid_head(mu)
    outputs = dense(layers.Flatten()(x32))
    kernel = np.zeros((5, 5, 1, 1), np.float32)
    kernel[2, 2] = 1.0
    crop.set_weights([kernel, np.zeros(1, np.float32)])
    dense.set_weights(weights)
    models["lenet"] = keras.Model(inputs, outputs)

    inputs = keras.Input((28, 28, 1))
    h = layers.MaxPooling2D(2, name="pool")(layers.Conv2D(4, 3, activation="relu", name="conv")(inputs))
    models["logits"] = randomise(keras.Model(inputs, layers.Dense(10, name="logits")(layers.Flatten()(h))), 1)

    inputs = keras.Input((28, 28, 1))
    h = layers.Dense(16, activation="relu", name="hidden")(layers.Flatten()(inputs))
    models["dense_only"] = randomise(keras.Model(inputs, layers.Dense(10, activation="softmax", name="probabilities")(h)), 2)

    inputs = keras.Input((28, 28))
    h = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(layers.Reshape((28, 28, 1))(inputs))
    h = layers.MaxPooling2D(2, name="pool")(h)
    models["no_channel"] = randomise(keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(h))), 3)

    block = keras.Sequential(
        [layers.Conv2D(3, 3, padding="same", activation="relu", name="inner_conv"), layers.MaxPooling2D(2, name="inner_pool")],
        name="block",
    )
    sub_in = keras.Input((14, 14, 3))
    sub = keras.Model(sub_in, layers.Conv2D(4, 3, strides=2, name="deep_conv")(sub_in), name="sub")
    inputs = keras.Input((28, 28, 1))
    h = sub(block(inputs))
    models["nested"] = randomise(keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(h))), 4)
    for model in (block, sub):
        randomise(model, 5)

    inputs = keras.Input((28, 28, 1))
    h = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(inputs)
    h = layers.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", activation="relu", name="dw")(h)
    h = layers.SeparableConv2D(5, 3, depth_multiplier=2, activation="tanh", name="sep")(h)
    h = layers.GlobalAveragePooling2D()(h)
    models["separable"] = randomise(keras.Model(inputs, layers.Dense(10, activation="softmax")(h)), 6)

    inputs = keras.Input((28, 28, 1))
    h = layers.Conv2D(4, 3, name="conv")(inputs)
    h = layers.ReLU(name="relu")(layers.BatchNormalization(name="bn")(h))
    h = layers.MaxPooling2D(2, name="pool")(h)
    models["conv_bn"] = randomise(keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(h))), 7)

    paths = {}
    for name, model in models.items():
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])
    paths["h5"] = folder / "legacy.h5"
    models["h5"] = models["logits"]
    models["logits"].save(paths["h5"])
    return {name: (models[name], paths[name]) for name in models}


_LOADED: dict = {}


@pytest.fixture(scope="module")
def load(zoo):
    """name -> Predictor, each loaded once."""
    _LOADED.clear()

    def get(name: str) -> Predictor:
        if name not in _LOADED:
            _LOADED[name] = Predictor(zoo[name][1])
        return _LOADED[name]

    return get


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((28, 28), dtype=np.float32)


def maps_of(model, x) -> dict[str, np.ndarray]:
    """Every 4-D layer's map for the batch ``x``, straight from Keras."""
    from model.nets.graph import flat_model

    flat = flat_model(model)
    wanted = [layer for layer in flat.layers if len(layer.output.shape) == 4 and type(layer).__name__ != "InputLayer"]
    outs = keras.Model(flat.inputs[0], [layer.output for layer in wanted])(x)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return {layer.name: keras.ops.convert_to_numpy(out)[0] for layer, out in zip(wanted, outs, strict=True)}


# --- the cases under "Why" ----------------------------------------------------------------------


def test_rescaling_first_model_gets_raw_pixels_and_keeps_its_accuracy(load, zoo, digits):
    model = zoo["rescaling"][0]
    p = load("rescaling")
    x, y = digits
    assert p.input_range == (0.0, 255.0) and "Rescaling" in p.input_note
    assert p.layers == [], "a rescaled copy of the input is not a feature map"
    assert p.prepare(np.ones((28, 28), np.float32)).max() == 255.0
    keras_way = keras.ops.convert_to_numpy(model(x[..., None] * 255.0)).argmax(1)  # fed as it was trained
    ours = p.predict_probabilities(x).argmax(1)
    assert (ours == y).mean() == pytest.approx((keras_way == y).mean(), abs=0.03)
    assert (ours == y).mean() > 0.6
    old_way = keras.ops.convert_to_numpy(model(x[..., None])).argmax(1)  # [0, 1] pixels: the 11% of the report
    assert (old_way == y).mean() < 0.3


def test_logits_are_shown_as_probabilities(load, zoo):
    p = load("logits")
    assert p.output_kind == "logits" and "softmax" in p.output_note
    x = image(1)
    result = p.predict(x)
    logits = keras.ops.convert_to_numpy(zoo["logits"][0](x[None, ..., None])).astype(np.float64)[0]
    want = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(result.probabilities, want, atol=1e-6)
    assert 0.0 <= result.confidence <= 1.0 and result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    many = p.predict_probabilities(np.stack([image(s) for s in range(5)]))
    assert (many >= 0).all() and (many <= 1).all()
    np.testing.assert_allclose(many.sum(1), 1.0, atol=1e-5)


def test_dense_only_model_predicts_with_dense_activations_and_no_maps(load):
    p = load("dense_only")
    assert p.layers == [] and not p.has_conv_layers
    assert [(i.name, i.shape) for i in p.dense_layers] == [("hidden", (16,)), ("probabilities", (10,))]
    result = p.predict(image(2))
    assert result.activations == {} and result.probabilities.shape == (10,)
    assert {k: v.shape for k, v in result.dense_activations.items()} == {"hidden": (16,), "probabilities": (10,)}
    np.testing.assert_allclose(result.dense_activations["probabilities"], result.probabilities, atol=1e-6)


def test_input_without_channel_axis_is_served_and_explained(load, zoo):
    model = zoo["no_channel"][0]
    p = load("no_channel")
    x = image(3)
    batch = p.prepare(x)
    assert batch.shape == (1, 28, 28) and batch.dtype == np.float32
    result = p.predict(x)
    np.testing.assert_allclose(result.probabilities, keras.ops.convert_to_numpy(model(batch))[0], atol=1e-6)
    assert list(result.activations) == ["conv", "pool"]
    for model_input in (batch, x):
        b = conv_breakdown(model, model_input, "conv", 0, 5, 2)
        assert b.output == pytest.approx(float(result.activations["conv"][0, 5, 2]), abs=1e-5)
    assert receptive_field(model, "pool", 0, 0) == (0, 3, 0, 3)


def test_lenet_32x32_gets_the_drawing_padded_by_two(load, zoo, digits):
    model = zoo["lenet"][0]
    p = load("lenet")
    x, y = digits
    batch = p.prepare(x[0])
    assert batch.shape == (1, 32, 32, 1)
    np.testing.assert_array_equal(batch[0, 2:30, 2:30, 0], x[0])
    assert not batch[0, :2].any() and not batch[0, 30:].any() and not batch[0, :, :2].any() and not batch[0, :, 30:].any()
    keras_way = keras.ops.convert_to_numpy(model(np.pad(x, ((0, 0), (2, 2), (2, 2)))[..., None])).argmax(1)
    ours = p.predict_probabilities(x).argmax(1)
    assert (ours == y).mean() == pytest.approx((keras_way == y).mean(), abs=0.03) and (ours == y).mean() > 0.6
    b = conv_breakdown(model, batch, "c1", 13, 14, 0)
    assert b.output == pytest.approx(float(x[0][13, 14]), abs=1e-6)  # the centre tap reads drawing pixel (13, 14)
    assert b.receptive_field == (13, 18, 14, 19)
    assert p.drawing_window(b.receptive_field) == (11, 16, 12, 17)  # where the GUI outlines it on the drawing
    assert p.drawing_window((0, 2, 0, 32)) == (0, 0, 0, 0)  # only padding


def test_attributions_of_a_32x32_model_map_back_onto_the_drawing(load, zoo, digits):
    from model.teaching.explain import integrated_gradients_result

    p = load("lenet")
    digit = digits[0][0]
    target = p.predict(digit).class_index
    result = integrated_gradients_result(zoo["lenet"][0], p.prepare(digit), target, baseline=p.prepare(np.zeros_like(digit)))
    assert result.attributions.shape == (32, 32) and result.completeness_gap <= 0.02
    on_drawing = p.to_drawing(result.attributions)
    assert on_drawing.shape == (28, 28)
    assert on_drawing.sum() == pytest.approx(result.attribution_sum, rel=1e-5)  # the padding holds no attribution


def test_other_sizes_resample_the_drawing(tmp_path):
    import tensorflow as tf

    inputs = keras.Input((20, 20, 1))
    path = tmp_path / "small.keras"
    keras.Model(inputs, layers.Dense(3)(layers.Flatten()(inputs))).save(path)
    p = Predictor(path)
    x = image(4)
    want = tf.image.resize(x[None, ..., None], (20, 20), method="bilinear").numpy()
    np.testing.assert_allclose(p.prepare(x), want, atol=1e-6)
    assert "20x20" in p.input_note and "resampled" in p.input_note
    assert p.class_names == ["0", "1", "2"] and p.predict(x).probabilities.shape == (3,)
    np.testing.assert_allclose(p.to_drawing(np.ones((20, 20))), 1.0, atol=1e-6)
    assert p.drawing_window((0, 20, 0, 20)) == (0, 28, 0, 28) and p.drawing_window((5, 6, 5, 6)) == (7, 9, 7, 9)


def test_legacy_h5_loads_and_predicts_like_keras(load, zoo):
    p = load("h5")
    x = image(5)
    logits = keras.ops.convert_to_numpy(zoo["logits"][0](x[None, ..., None]))[0]
    np.testing.assert_allclose(p.predict(x).probabilities, load("logits").predict(x).probabilities, atol=1e-6)
    assert int(np.argmax(logits)) == p.predict(x).class_index


def test_legacy_h5_with_a_lambda_is_refused_before_its_code_runs(tmp_path):
    marker = tmp_path / "lambda-ran"
    fn = eval(f"lambda t: __import__('pathlib').Path({str(marker)!r}).touch() or t")  # noqa: S307 - the test's own code
    inputs = keras.Input((28, 28, 1))
    path = tmp_path / "lambda.h5"
    keras.Model(inputs, layers.Dense(10)(layers.Flatten()(layers.Lambda(fn)(inputs)))).save(path)
    marker.unlink(missing_ok=True)  # building the model above ran it once
    with pytest.raises(ModelError, match=r"Lambda layer .*refused"):
        Predictor(path)
    assert not marker.exists(), "the Lambda's code ran while loading"


def test_keras_file_naming_a_custom_module_is_refused(tmp_path, zoo):
    source = zoo["dense_only"][1]
    path = tmp_path / "custom.keras"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][-1]["module"] = "evil_package.layers"
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    with pytest.raises(ModelError, match=r"custom class .*evil_package"):
        Predictor(path)


def test_savedmodel_folder_is_refused_saying_how_to_convert(tmp_path):
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ModelError, match=r"SavedModel.*TFSMLayer.*\.keras"):
        Predictor(folder)


def test_nested_sub_models_appear_flat_and_are_explained(load, zoo):
    model = zoo["nested"][0]
    p = load("nested")
    x = image(6)
    result = p.predict(x)
    assert list(result.activations) == ["inner_conv", "inner_pool", "deep_conv"]
    np.testing.assert_allclose(result.probabilities, keras.ops.convert_to_numpy(model(x[None, ..., None]))[0], atol=1e-6)
    b = conv_breakdown(model, p.prepare(x), "deep_conv", 4, 5, 3)
    assert b.input_layer_name == "inner_pool"
    assert b.output == pytest.approx(float(result.activations["deep_conv"][4, 5, 3]), abs=1e-5)
    pool = pool_breakdown(model, x, "inner_pool", 3, 4, 1)
    assert pool.output == pytest.approx(float(result.activations["inner_pool"][3, 4, 1]), abs=1e-6)
    # deep_conv (4, 5), stride 2: inner_pool rows 8..10, cols 10..12 -> inner_conv 16..21 / 20..25 -> input 15..22 / 19..26.
    assert receptive_field(model, "deep_conv", 4, 5) == (15, 23, 19, 27)
    assert [layer.name for layer in model.layers][1:3] == ["block", "sub"], "the loaded model itself is left as it was"


@pytest.mark.parametrize("layer_name", ["dw", "sep", "conv"])
def test_depthwise_and_separable_breakdowns_equal_the_model(load, zoo, layer_name):
    model = zoo["separable"][0]
    batch = load("separable").prepare(image(7))
    real = maps_of(model, batch)[layer_name]
    rng = np.random.default_rng(0)
    h, w, c = real.shape
    cells = [(0, 0), (h - 1, w - 1), (0, w - 1)] + [(int(rng.integers(h)), int(rng.integers(w))) for _ in range(5)]
    for row, col in cells:
        channel = int(rng.integers(c))
        b = conv_breakdown(model, batch, layer_name, row, col, channel)
        assert b.output == pytest.approx(float(real[row, col, channel]), abs=1e-4), (layer_name, row, col, channel)
        assert b.pre_activation == pytest.approx(float(b.products.sum()) + b.bias, abs=1e-4)
        assert b.patch.shape == b.kernel.shape and b.padded.shape == b.patch.shape[:2]
    kinds = [s.kind for s in b.stages]
    assert kinds == {"dw": ["depthwise"], "sep": ["depthwise", "pointwise"], "conv": ["convolution"]}[layer_name]
    if layer_name == "sep":  # step 2 sums the step-1 channels
        depthwise, pointwise = b.stages
        np.testing.assert_allclose(pointwise.patch.ravel(), depthwise.values, rtol=1e-5, atol=1e-6)
        assert pointwise.values[0] == pytest.approx(b.pre_activation, abs=1e-5)
        assert depthwise.values.shape == (3 * 2 * 2,)  # 6 input channels x depth multiplier 2


@pytest.mark.parametrize("layer_name", ["conv", "bn", "relu"])
def test_batch_norm_after_a_conv_is_explained_exactly(load, zoo, layer_name):
    model = zoo["conv_bn"][0]
    batch = load("conv_bn").prepare(image(8))
    real = maps_of(model, batch)[layer_name]
    for row, col, channel in [(0, 0, 0), (13, 7, 2), (25, 25, 3), (4, 19, 1)]:
        b = breakdown(model, batch, layer_name, row, col, channel)
        assert b.output == pytest.approx(float(real[row, col, channel]), abs=1e-4), (layer_name, row, col, channel)
        assert b.pre_activation == pytest.approx(float(b.products.sum()) + b.bias, abs=1e-4)
    assert [s.kind for s in b.stages] == (["convolution"] if layer_name == "conv" else ["convolution", "batch_norm"])
    assert b.activation == ("relu" if layer_name == "relu" else "linear")


def test_every_conv_and_pool_map_is_in_activations(load, zoo):
    for name in ("logits", "no_channel", "nested", "separable", "conv_bn", "lenet"):
        p = load(name)
        x = image(9)
        want = maps_of(zoo[name][0], p.prepare(x))
        got = p.predict(x).activations
        assert set(want) - {"reshape"} == set(got), name
        for key in got:
            np.testing.assert_allclose(got[key], want[key], atol=1e-5, err_msg=f"{name}/{key}")


# --- cards, refusals, errors --------------------------------------------------------------------


def test_card_names_classes_and_overrides_the_input(tmp_path, zoo):
    path = tmp_path / "letters.keras"
    path.write_bytes(zoo["dense_only"][1].read_bytes())
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    write_card_fields(path, input_range=(-1, 1), class_names=names, invert=True)
    p = Predictor(path)
    assert p.class_names == names and p.invert and p.input_range == (-1.0, 1.0)
    assert "card" in p.input_note and "invert" in p.input_note
    np.testing.assert_allclose(p.prepare(np.zeros((28, 28), np.float32)), 1.0)  # no ink -> white -> +1
    np.testing.assert_allclose(p.prepare(np.ones((28, 28), np.float32)), -1.0)


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[1, 2]",
        '{"class_names": ["a", "b"], "input_range": "wide", "invert": "yes"}',
        '{"class_names": ["a", "a", "b", "c", "d", "e", "f", "g", "h", "i"]}',
    ],
)
def test_a_broken_card_never_breaks_the_model(tmp_path, zoo, text):
    path = tmp_path / "model.keras"
    path.write_bytes(zoo["dense_only"][1].read_bytes())
    path.with_suffix(".json").write_text(text)
    p = Predictor(path)
    assert p.class_names == [str(i) for i in range(10)] and p.input_range == (0.0, 1.0) and not p.invert
    assert p.card_problems and all(isinstance(s, str) for s in p.card_problems)
    assert p.predict(image(10)).probabilities.shape == (10,)


def test_writing_the_card_keeps_its_other_keys(tmp_path):
    model = tmp_path / "m.keras"
    card = {"name": "m", "training": {"epochs": 3}, "evaluation": {"accuracy": 0.99}, "invert": True}
    model.with_suffix(".json").write_text(json.dumps(card))
    write_card_fields(model, input_range=None, class_names=None, invert=True)  # the same feeding: nothing measured changes
    assert json.loads(model.with_suffix(".json").read_text()) == card
    write_card_fields(model, input_range=(0, 255), class_names=None, invert=None)
    raw = json.loads(model.with_suffix(".json").read_text())
    # fed another way now: the accuracy measured the old way is no longer the model's (tune would report it)
    assert raw == {"name": "m", "training": {"epochs": 3}, "input_range": [0.0, 255.0]}
    assert read_card(model).input_range == (0.0, 255.0)
    with pytest.raises(ValueError, match="input_range"):
        write_card_fields(model, input_range=(5, 1))


def test_normalization_adapted_on_raw_or_unit_pixels_is_read_right(tmp_path, digits):
    x = digits[0][:50, ..., None]
    for scale, want in ((255.0, (0.0, 255.0)), (1.0, (0.0, 1.0))):
        norm = layers.Normalization()
        norm.adapt(x * scale)
        inner = keras.Sequential([keras.Input((28, 28, 1)), norm, layers.Flatten()], name="front")  # nested, too
        inputs = keras.Input((28, 28, 1))
        path = tmp_path / f"norm{int(scale)}.keras"
        keras.Model(inputs, layers.Dense(10)(inner(inputs))).save(path)
        assert Predictor(path).input_range == want, scale


def test_models_the_app_cannot_feed_are_refused_naming_the_shape(tmp_path):
    cases = {
        "rgb": (keras.Input((32, 32, 3)), 10, r"expects input .*32, 32, 3.*grey"),
        "tiny": (keras.Input((6, 6, 1)), 10, r"h, w >= 8"),
        "single": (keras.Input((28, 28, 1)), 1, r"at least 2 classes"),
    }
    for name, (inputs, classes, message) in cases.items():
        path = tmp_path / f"{name}.keras"
        keras.Model(inputs, layers.Dense(classes)(layers.Flatten()(inputs))).save(path)
        with pytest.raises(ModelError, match=message):
            Predictor(path)


def test_nan_outputs_raise_a_clear_error(tmp_path):
    inputs = keras.Input((28, 28, 1))
    dense = layers.Dense(10)
    model = keras.Model(inputs, dense(layers.Flatten()(inputs)))
    dense.set_weights([np.full((784, 10), np.nan, np.float32), np.zeros(10, np.float32)])
    path = tmp_path / "nan.keras"
    model.save(path)
    with pytest.raises(ModelError, match="NaN or infinite"):
        Predictor(path)


def test_a_refused_model_leaves_a_loaded_one_untouched(load, tmp_path):
    p = load("logits")
    before = p.predict(image(11)).probabilities
    with pytest.raises(ModelError):
        Predictor(tmp_path / "missing.keras")
    np.testing.assert_array_equal(p.predict(image(11)).probabilities, before)


def test_unknown_input_size_gets_the_drawing_as_is(tmp_path):
    inputs = keras.Input((None, None, 1))
    h = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, name="conv")(inputs))
    path = tmp_path / "any_size.keras"
    keras.Model(inputs, layers.Dense(10)(h)).save(path)
    p = Predictor(path)
    assert p.input_size == (28, 28) and [(i.name, i.shape) for i in p.layers] == [("conv", (26, 26, 4))]
    assert p.predict(image(12)).probabilities.sum() == pytest.approx(1.0, abs=1e-5)
