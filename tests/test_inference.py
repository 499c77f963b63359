"""The Predictor: probabilities and every feature map in one call, and refusal of unusable models."""

from __future__ import annotations

import numpy as np
import pytest

from model.nets.inference import ModelError, Predictor


def test_bundled_model_keeps_its_contract(predictor):
    model = predictor.model
    assert tuple(model.inputs[0].shape) == (None, 28, 28, 1)
    assert tuple(model.outputs[0].shape) == (None, 10)
    assert predictor.card is not None and predictor.card["total_params"] == model.count_params()


def test_one_call_returns_probabilities_and_all_4d_layers(predictor, stroke_fixtures):
    from model.data.preprocess import strokes_to_input

    x = strokes_to_input(stroke_fixtures[0][1])
    result = predictor.predict(x)
    assert result.probabilities.shape == (10,)
    assert abs(float(result.probabilities.sum()) - 1.0) < 1e-4
    expected = [layer.name for layer in predictor.model.layers if len(layer.output.shape) == 4 and layer.name != "image"]
    assert list(result.activations) == expected
    assert [info.name for info in predictor.layers] == expected
    for info in predictor.layers:
        assert result.activations[info.name].shape == info.shape
    # The same numbers as Keras itself computes (shown after temperature scaling: model/confidence.py).
    reference = predictor.model(x[None, ..., None], training=False).numpy()[0]
    np.testing.assert_allclose(result.raw_probabilities, reference, atol=1e-5)


def test_a_batch_of_digits_gets_the_same_answers_as_one_at_a_time(predictor, stroke_fixtures):
    """A written number's digits are read in one batch (``predict_many``): each digit's maps,
    calibrated probabilities and verdict are what ``predict`` gives for it alone."""
    from model.data.preprocess import strokes_to_input

    images = np.stack([strokes_to_input(s) for _, s, _ in stroke_fixtures[:6]])
    for image, together in zip(images, predictor.predict_many(images), strict=True):
        alone = predictor.predict(image)
        np.testing.assert_allclose(together.probabilities, alone.probabilities, atol=1e-5)
        assert together.verdict.status == alone.verdict.status
        assert together.activations.keys() == alone.activations.keys()
        for name, maps in alone.activations.items():
            np.testing.assert_allclose(together.activations[name], maps, atol=1e-4)


def test_bundled_model_is_fed_as_it_was_trained(predictor):
    x = np.random.default_rng(1).random((28, 28), dtype=np.float32)
    np.testing.assert_array_equal(predictor.prepare(x), x[None, ..., None])
    assert predictor.input_range == (0.0, 1.0) and not predictor.invert
    assert predictor.output_kind == "softmax" and predictor.class_names == [str(i) for i in range(10)]
    assert predictor.has_conv_layers and predictor.card_problems == []
    assert "28x28" in predictor.input_note and "softmax" in predictor.output_note


def test_no_digit_gives_no_prediction(predictor):
    result = predictor.predict(None)
    assert result.digit is None and result.probabilities is None and result.activations == {}


def test_recognises_pen_drawn_fixture_digits(predictor, stroke_fixtures):
    from model.data.preprocess import strokes_to_input

    images = np.stack([strokes_to_input(s) for _, s, _ in stroke_fixtures])
    labels = np.array([label for _, _, label in stroke_fixtures])
    predicted = predictor.predict_probabilities(images).argmax(1)
    assert (predicted == labels).mean() >= 0.9


# --- models the app must refuse ----------------------------------------------------------------


def _save(model, path):
    model.save(path)
    return path


def test_missing_and_corrupt_files_are_refused(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        Predictor(tmp_path / "nope.keras")
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"definitely not a zip")
    with pytest.raises(ModelError, match="corrupt"):
        Predictor(junk)
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"x")
    with pytest.raises(ModelError, match="not an HDF5 file"):
        Predictor(h5)
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    with pytest.raises(ModelError, match=r"not a \.keras .* or \.h5 .*'\.onnx'"):
        Predictor(other)


def test_truncated_model_file_is_refused(tmp_path, predictor):
    data = predictor.path.read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        Predictor(cut)


def test_wrong_shapes_are_refused_naming_what_was_expected(tmp_path):
    import keras

    inp = keras.Input((32, 32, 3))
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inp))
    with pytest.raises(ModelError, match=r"expects input .*32, 32, 3.*28, 28, 1"):
        Predictor(_save(keras.Model(inp, out), tmp_path / "cifar.keras"))


def test_any_number_of_classes_is_served(tmp_path):
    import keras

    inp = keras.Input((28, 28, 1))
    out = keras.layers.Dense(26, activation="softmax")(keras.layers.Flatten()(inp))
    p = Predictor(_save(keras.Model(inp, out), tmp_path / "letters.keras"))
    assert p.class_names == [str(i) for i in range(26)]
    assert p.predict(np.zeros((28, 28), np.float32)).probabilities.shape == (26,)


def test_lambda_layers_are_refused(tmp_path):
    import keras

    inp = keras.Input((28, 28, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inp)
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    with pytest.raises(ModelError, match="(?i)lambda|safe mode"):
        Predictor(_save(keras.Model(inp, out), tmp_path / "lambda.keras"))


def test_any_compatible_model_is_generic(tmp_path):
    import keras
    from keras import layers

    inp = keras.Input((28, 28, 1))
    x = layers.Conv2D(4, 5, strides=2, padding="valid", activation="tanh", name="edges")(inp)
    x = layers.AveragePooling2D(2, name="smooth")(x)
    out = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    p = Predictor(_save(keras.Model(inp, out), tmp_path / "other.keras"))
    assert [(i.name, i.shape) for i in p.layers] == [("edges", (12, 12, 4)), ("smooth", (6, 6, 4))]
    assert set(p.predict(np.zeros((28, 28), np.float32)).activations) == {"edges", "smooth"}


def test_a_classification_only_predictor_gives_the_same_answers_and_maps_on_demand(predictor, stroke_fixtures):
    """The command line skips tracing the feature-map function; the answers must not change."""
    from model.data.preprocess import strokes_to_input
    from model.nets.inference import Predictor

    fast = Predictor(feature_maps=False)
    images = np.stack([strokes_to_input(s) for _, s, _ in stroke_fixtures[:8]])
    np.testing.assert_allclose(fast.predict_probabilities(images), predictor.predict_probabilities(images), atol=1e-6)
    assert [layer.name for layer in fast.layers] == [layer.name for layer in predictor.layers]
    maps = fast.predict(images[0]).activations  # built on first use
    assert set(maps) == set(predictor.predict(images[0]).activations)


def test_switching_models_many_times_prints_no_tensorflow_warnings():
    """A window whose user switches models again and again must not fill the terminal with TF's retracing notices."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from model.nets.tf_runtime import import_tensorflow\n"
        "import_tensorflow()\n"
        "from model.nets.inference import Predictor\n"
        "x = np.zeros((28, 28), np.float32); x[5:20, 12:15] = 1\n"
        "for _ in range(8):\n"
        "    Predictor().predict(x)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "retracing" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr[-2000:]
