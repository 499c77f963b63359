"""The answer explained: the last Dense layer's terms add up to the class scores, and the probabilities
are the model's own, for every kind of head a user brings (softmax, logits, GAP, global max, Flatten,
nested, 32x32, legacy .h5) and for the bundled models."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from model.data.paths import BUNDLED_MLP, BUNDLED_MODEL  # noqa: E402
from model.nets.inference import Predictor  # noqa: E402
from model.teaching.explain import answer_breakdown  # noqa: E402

SUM_TOLERANCE = 1e-4
PROBABILITY_TOLERANCE = 1e-5


def randomise(model, seed: int):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0.0, 0.3, w.shape).astype(np.float32) for w in weights])
    return model


def convs(x, n: int = 2):
    for i in range(n):
        x = layers.Conv2D(4 + 2 * i, 3, padding="same" if i == 0 else "valid", activation="relu")(x)
    return x


def gap_softmax(size: int = 28):
    inputs = keras.Input((size, size, 1))
    x = layers.GlobalAveragePooling2D()(convs(inputs))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def gap_logits():
    inputs = keras.Input((28, 28, 1))
    x = layers.GlobalAveragePooling2D()(convs(inputs))
    return keras.Model(inputs, layers.Dense(10)(x))


def gmp_separate_softmax():
    inputs = keras.Input((28, 28, 1))
    x = layers.GlobalMaxPooling2D()(convs(inputs))
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Softmax()(layers.Dense(10)(x)))


def flatten_activation():
    inputs = keras.Input((28, 28, 1))
    x = layers.Flatten()(layers.MaxPooling2D()(convs(inputs)))
    return keras.Model(inputs, layers.Activation("softmax")(layers.Dense(10)(x)))


def lenet_32():
    inputs = keras.Input((32, 32, 1))
    x = layers.Conv2D(6, 5, activation="tanh")(inputs)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Conv2D(16, 5, activation="tanh")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="tanh")(x)
    x = layers.Dense(84, activation="tanh")(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


def nested():
    features = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"), layers.Conv2D(6, 3)], name="features"
    )
    head = keras.Sequential(
        [keras.Input((24, 24, 6)), layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")], name="head"
    )
    inputs = keras.Input((28, 28, 1))
    return keras.Model(inputs, head(features(inputs)))


def sequential_mlp():
    return keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dense(10)])


BUILDERS = {
    "gap_softmax": gap_softmax,
    "gap_logits": gap_logits,
    "gmp_separate_softmax": gmp_separate_softmax,
    "flatten_activation": flatten_activation,
    "lenet_32": lenet_32,
    "nested": nested,
    "sequential_mlp": sequential_mlp,
}
POOLING = {
    "gap_softmax": "global average",
    "gap_logits": "global average",
    "gmp_separate_softmax": "global max",
    "flatten_activation": "flatten",
    "lenet_32": "none",
    "nested": "global average",
    "sequential_mlp": "none",
}


@pytest.fixture(scope="module")
def drawing(fixtures):
    from model.data import load_mnist_test

    x, _ = load_mnist_test(fixtures / "mnist")
    return x[:3].astype(np.float32) / 255.0


def assert_adds_up(b, model_output: np.ndarray, logits_model: bool) -> None:
    classes = len(model_output)
    assert b.logits.shape == (classes,) and b.bias.shape == (classes,) and b.probabilities.shape == (classes,)
    assert b.contributions.shape == (classes, b.inputs.shape[0])
    assert np.abs(b.contributions.sum(axis=1) + b.bias - b.logits).max() < SUM_TOLERANCE
    expected = model_output
    if logits_model:
        z = np.exp(model_output - model_output.max())
        expected = z / z.sum()
        assert np.abs(b.logits - model_output).max() < SUM_TOLERANCE  # the scores are the model's own
    assert np.abs(b.probabilities - expected).max() < PROBABILITY_TOLERANCE
    assert np.abs(b.softmax() - expected).max() < PROBABILITY_TOLERANCE  # softmax of the sums is the answer


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_terms_add_up_and_probabilities_are_the_models(kind, tmp_path, drawing):
    model = randomise(BUILDERS[kind](), seed=len(kind))
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    predictor = Predictor(path)
    for image in drawing:
        x = predictor.prepare(image)
        b = answer_breakdown(predictor.model, x)
        out = np.asarray(predictor.model(x, training=False))[0].astype(np.float64)
        assert_adds_up(b, out, logits_model=kind in {"gap_logits", "sequential_mlp"})
        assert b.pooling == POOLING[kind]
        if b.pooling == "global average":
            assert np.allclose(b.channel_means, b.inputs, atol=1e-5)
        if b.pooling == "global max":
            assert np.allclose(b.maps.max(axis=(0, 1)), b.inputs, atol=1e-6)
        if b.pooling == "flatten":
            assert np.allclose(b.maps.reshape(-1), b.inputs, atol=1e-6)
            per_channel = b.contributions[0].reshape(b.maps.shape).sum(axis=(0, 1))  # Keras flattens (h, w, c) row-major
            assert np.allclose(b.channel_contributions(0), per_channel)


def test_legacy_h5(tmp_path, drawing):
    model = randomise(gap_logits(), seed=5)
    path = tmp_path / "old.h5"
    model.save(path)
    predictor = Predictor(path)
    x = predictor.prepare(drawing[0])
    out = np.asarray(predictor.model(x, training=False))[0].astype(np.float64)
    assert_adds_up(answer_breakdown(predictor.model, x), out, logits_model=True)


@pytest.mark.parametrize("path", [BUNDLED_MODEL, BUNDLED_MLP], ids=lambda p: p.name)
def test_bundled_models(path, predictor, drawing):
    p = predictor if path == BUNDLED_MODEL else Predictor(path)
    for image in drawing:
        x = p.prepare(image)
        b = answer_breakdown(p.model, x, p.class_names)
        out = np.asarray(p.model(x, training=False))[0].astype(np.float64)
        assert_adds_up(b, out, logits_model=False)
        assert np.abs(b.probabilities - p.predict(image).raw_probabilities).max() < PROBABILITY_TOLERANCE
    if path == BUNDLED_MODEL:
        assert b.pooling == "global average" and b.maps.shape[-1] == b.inputs.shape[0]
        assert b.maps_name == p.layers[-1].name  # the maps pooled are the last map layer's, linked by name
    else:
        assert b.pooling == "none"


def test_a_model_without_a_dense_head_is_refused_with_its_last_layer(tmp_path):
    inputs = keras.Input((28, 28, 1))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(10, 3)(inputs))
    model = keras.Model(inputs, layers.Softmax()(x))
    with pytest.raises(ValueError, match="Dense"):
        answer_breakdown(model, np.zeros((28, 28), np.float32))
