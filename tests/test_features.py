"""What each channel looks for: top patches equal brute force; maximize stays in range and reports the model's value."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # every test here builds or loads a Keras model


def _brute_force(keras_model, images, layer_name, channel, k):
    """Every activation of the channel, sorted by (value desc, image, row, col): the first k."""
    import keras

    from model.nets.graph import flat_model

    flat = flat_model(keras_model)
    maps = np.asarray(keras.Model(flat.inputs[0], flat.get_layer(layer_name).output)(images, training=False))
    a = maps[..., channel]
    n, h, w = a.shape
    order = np.lexsort((np.arange(a.size), -a.ravel()))[:k]
    index, rest = np.divmod(order, h * w)
    row, col = np.divmod(rest, w)
    return maps, index, row, col, a.ravel()[order]


@pytest.fixture(scope="module")
def small_model():
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D(name="p1")(x)
    inner = keras.Sequential([keras.Input((8, 8, 4)), keras.layers.Conv2D(3, 3, activation="relu", name="c2")], name="block")
    x = inner(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def small_images():
    rng = np.random.default_rng(1)
    images = rng.random((23, 16, 16, 1), dtype=np.float32)
    images[::3] *= rng.random((8, 16, 16, 1)) > 0.6  # sparse images: some units at exactly 0 (ties)
    return images


@pytest.mark.parametrize(("layer", "channel"), [("c1", 0), ("c1", 3), ("p1", 2), ("c2", 1)])
def test_top_patches_equal_brute_force_on_a_small_model(small_model, small_images, layer, channel):
    from model.teaching.features import top_activations, top_patches

    maps, index, row, col, values = _brute_force(small_model, small_images, layer, channel, 9)
    records = top_patches(small_model, small_images, layer, channel, k=9)
    assert [(r.index, r.row, r.col) for r in records] == list(zip(index, row, col, strict=True))
    np.testing.assert_allclose([r["value"] for r in records], values, rtol=1e-5, atol=1e-6)
    for r in records:  # each value is the model's own number at that unit
        assert r.value == pytest.approx(float(maps[r.index, r.row, r.col, channel]), rel=1e-5, abs=1e-6)
    # Small batches: the running top-k across batches gives the same answer.
    tops = top_activations(small_model, small_images, [layer], k=9, batch_size=4)[layer]
    assert list(tops.index[channel]) == list(index) and list(tops.row[channel]) == list(row)


def test_patches_are_the_receptive_field_crops(small_model, small_images):
    from model.teaching.features import field_grid, top_patches
    from model.teaching.geometry import receptive_field

    grid = field_grid(small_model, "c2")
    assert grid.size == (8, 8)  # 3x3 conv on a 2x2 pool of a 3x3 conv: 3 + 2 + 2*2 - ... = 8 pixels
    for r in top_patches(small_model, small_images, "c2", 0, k=5):
        r0, r1, c0, c1 = receptive_field(small_model, "c2", r.row, r.col)
        assert r.window == (r0, r1, c0, c1)
        assert r.patch.shape == grid.size
        crop = small_images[r.index, r0:r1, c0:c1, 0]
        # The crop sits in the patch where the field is inside the image; padding shows as zeros.
        dr, dc = r0 - int(grid.starts_r[r.row]), c0 - int(grid.starts_c[r.col])
        np.testing.assert_array_equal(r.patch[dr : dr + crop.shape[0], dc : dc + crop.shape[1]], crop)
        assert r.patch.sum() == pytest.approx(float(crop.sum()), rel=1e-6)


def test_top_patches_refuse_a_wrong_layer_or_channel(small_model, small_images):
    from model.teaching.features import top_patches

    with pytest.raises(ValueError, match="no layer named 'nope'"):
        top_patches(small_model, small_images, "nope", 0)
    with pytest.raises(ValueError, match="channel=7"):
        top_patches(small_model, small_images, "c1", 7)
    with pytest.raises(ValueError, match="Expected images of shape"):
        top_patches(small_model, small_images[:, :8], "c1", 0)


def test_maximize_returns_an_in_range_image_and_the_models_value(small_model):
    import keras

    from model.nets.graph import flat_model
    from model.teaching.features import maximize

    for layer, channel in (("c1", 1), ("p1", 0), ("c2", 2)):
        image, value = maximize(small_model, layer, channel, seed=0)
        assert image.shape == (16, 16, 1) and image.dtype == np.float32
        assert image.min() >= 0.0 and image.max() <= 1.0
        flat = flat_model(small_model)
        maps = np.asarray(keras.Model(flat.inputs[0], flat.get_layer(layer).output)(image[None]))
        centre = maps[0, maps.shape[1] // 2, maps.shape[2] // 2, channel]
        assert value == pytest.approx(float(centre), rel=1e-5, abs=1e-6)
        assert value > 0  # the climb reached past the ReLU's dead zone


def test_maximize_respects_a_raw_pixel_range(small_model):
    from model.teaching.features import maximize

    image, _ = maximize(small_model, "c1", 0, row=2, col=3, value_range=(0.0, 255.0))
    assert 0.0 <= image.min() and image.max() <= 255.0 and image.max() > 1.0


@pytest.fixture(scope="module")
def fixture_digits(predictor, fixtures):
    from model.data import load_mnist_test

    x, _ = load_mnist_test(fixtures / "mnist")
    return predictor.prepare(x[:120].astype(np.float32) / 255)


@pytest.mark.parametrize(("layer", "channel"), [("conv1", 5), ("pool1", 7), ("conv4", 11), ("conv5", 40)])
def test_bundled_model_top_patches_equal_brute_force_on_mnist_digits(predictor, fixture_digits, layer, channel):
    from model.teaching.features import top_patches

    _, index, row, col, values = _brute_force(predictor.model, fixture_digits, layer, channel, 9)
    records = top_patches(predictor.model, fixture_digits, layer, channel)
    assert [(r.index, r.row, r.col) for r in records] == list(zip(index, row, col, strict=True))
    np.testing.assert_allclose([r.value for r in records], values, rtol=1e-5)
    assert all(a.value >= b.value for a, b in zip(records, records[1:], strict=False))
    # The predictor (what the window shows) gives the same number for the digit at that unit.
    first = records[0]
    drawing = fixture_digits[first.index, ..., 0]
    assert predictor.predict(drawing).activations[layer][first.row, first.col, channel] == pytest.approx(first.value, rel=1e-5)


def test_bundled_model_maximize_beats_the_digits_and_reports_the_predictors_value(predictor, fixture_digits):
    from model.teaching.features import maximize

    image, value = maximize(predictor.model, "conv3", 4)
    assert image.shape == (28, 28, 1) and 0.0 <= image.min() and image.max() <= 1.0
    shown = predictor.predict(image[..., 0]).activations["conv3"][7, 7, 4]
    assert value == pytest.approx(float(shown), rel=1e-5)
    best = max(predictor.predict(d[..., 0]).activations["conv3"][7, 7, 4] for d in fixture_digits[:40])
    assert value >= best


def test_saved_features_round_trip_and_are_keyed_by_the_model(tmp_path, small_model, small_images):
    from model.teaching.feature_sets import FeatureSet, compute_features, load_features, save_features, used_images

    layers = compute_features(small_model, small_images, k=4)
    assert [f.name for f in layers] == ["c1", "p1", "c2"]
    drawings = {int(i): small_images[int(i), :, :, 0] for i in used_images(layers)}
    path = tmp_path / "f.npz"
    save_features(path, FeatureSet(layers, "test", drawings, model_sha256="abc"))
    loaded = load_features(path, "abc")
    assert loaded.source == "test" and [f.name for f in loaded.layers] == ["c1", "p1", "c2"]
    assert sorted(loaded.drawings) == sorted(drawings)
    for a, b in zip(layers, loaded.layers, strict=True):
        np.testing.assert_array_equal(a.index, b.index)
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_allclose(a.patches, b.patches, atol=0.5 / 255)
        np.testing.assert_allclose(a.optimised, b.optimised, atol=1e-6)  # already on the 8-bit grid
        np.testing.assert_array_equal(a.optimised_values, b.optimised_values)
        assert a.field == b.field
        # Every optimised input reaches at least the best image at the centre unit (from noise or from that image).
        assert (a.optimised_values >= a.best_values).all()
    assert load_features(path, "another model") is None
    assert load_features(tmp_path / "missing.npz") is None


def test_shipped_features_belong_to_the_bundled_model():
    from model.data.paths import BUNDLED_MODEL
    from model.teaching.feature_sets import find_features
    from model.teaching.features import BUNDLED_FEATURES, MNIST_TEST, model_hash

    found = find_features(model_hash(BUNDLED_MODEL))
    assert found is not None and found.source == MNIST_TEST and BUNDLED_FEATURES.stat().st_size < 3e6
    names = [f.name for f in found.layers]
    assert names == ["conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "conv5"]
    for f in found.layers:
        assert f.patches.shape == (f.channels, 9, *f.field) and f.optimised.shape == (f.channels, 28, 28)
        assert np.mean(f.optimised_values >= f.best_values) >= 0.9
        assert all(int(i) in found.drawings for i in f.index.ravel())


def test_the_users_stored_digits_give_patches_with_their_strokes(tmp_path, monkeypatch, stroke_fixtures):
    from model.data.handwriting import HandwritingStore
    from model.data.paths import BUNDLED_MODEL
    from model.teaching.feature_sets import features_for

    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))
    store = HandwritingStore()
    for _, strokes, label in stroke_fixtures[:12]:
        store.add(strokes, label)
    found = features_for(BUNDLED_MODEL, "handwriting")
    assert found.source == "handwriting" and len(found.strokes) == 12
    conv3 = found.layer("conv3")
    assert conv3.index.max() < 12 and conv3.patches.shape == (32, 9, 10, 10)
    assert all(int(i) in found.strokes for i in conv3.index.ravel())  # a click can put the strokes on the canvas
    assert conv3.optimised is not None  # the optimised inputs come from the shipped MNIST results
