"""The bundled CNN embodies the lesson: fewer parameters than the dense network, every step explainable.

Issue 8: at most 101,770 parameters (the lesson's 784-128-10 MLP), at least three convolutions and
one pooling layer whose maps the panel shows, batch normalisation folded so the click-a-cell
explanation is the model's whole computation, and the MLP baseline built with exactly 101,770.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.data.paths import BUNDLED_MODEL, RESOURCES
from model.nets.architecture import CNN_BLOCKS, MLP_PARAMS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keras_model(predictor):
    return predictor.model


def test_architecture_is_smaller_than_the_lessons_dense_network():
    from model.nets.architecture import build_mlp, build_model

    cnn = build_model()
    assert cnn.count_params() <= MLP_PARAMS
    assert MLP_PARAMS == 101_770 == build_mlp().count_params()
    kinds = [type(layer).__name__ for layer in cnn.layers]
    assert kinds.count("Conv2D") >= 3 and kinds.count("MaxPooling2D") >= 1
    # Both kinds of padding stay visible in the app.
    assert {padding for _, _, padding, _ in CNN_BLOCKS} == {"same", "valid"}


def test_bundled_file_is_the_small_cnn(keras_model):
    assert keras_model.count_params() <= MLP_PARAMS
    convs = [layer for layer in keras_model.layers if type(layer).__name__ == "Conv2D"]
    assert len(convs) >= 3
    # Shipped folded: no normalisation layer between a convolution and the arithmetic shown for it.
    assert not any(type(layer).__name__ == "BatchNormalization" for layer in keras_model.layers)


def test_folding_batch_norm_keeps_the_outputs():
    import keras

    from model.nets.architecture import build_model, fold_batch_norm

    keras.utils.set_random_seed(3)
    trained = build_model(batch_norm=True)
    rng = np.random.default_rng(0)
    # Give every normalisation non-trivial statistics, as training would.
    for layer in trained.layers:
        if type(layer).__name__ == "BatchNormalization":
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.3, n), rng.normal(0, 0.5, n), rng.uniform(0.2, 3, n)])
    x = rng.uniform(0, 1, (8, 28, 28, 1)).astype(np.float32)
    folded = fold_batch_norm(trained)
    np.testing.assert_allclose(np.asarray(folded(x)), np.asarray(trained(x, training=False)), atol=1e-5)


def test_every_conv_cell_explanation_equals_the_model(keras_model, predictor, stroke_fixtures):
    from model.data.preprocess import strokes_to_input
    from model.teaching.explain import conv_breakdown

    image = strokes_to_input(stroke_fixtures[0][1])
    maps = predictor.predict(image).activations
    rng = np.random.default_rng(1)
    for layer in keras_model.layers:
        if type(layer).__name__ != "Conv2D":
            continue
        h, w, c = maps[layer.name].shape
        # The strongest cell and a few random ones, borders included.
        peak = np.unravel_index(np.argmax(maps[layer.name]), maps[layer.name].shape)
        cells = [tuple(int(v) for v in peak), (0, 0, 0), (h - 1, w - 1, c - 1)]
        cells += [(int(rng.integers(h)), int(rng.integers(w)), int(rng.integers(c))) for _ in range(3)]
        for row, col, ch in cells:
            b = conv_breakdown(keras_model, image, layer.name, row, col, ch)
            assert abs(b.output - float(maps[layer.name][row, col, ch])) <= 1e-4, (layer.name, row, col, ch)


def test_cards_record_measured_numbers_for_both_models():
    cnn = json.loads((RESOURCES / "mnist_cnn.json").read_text())
    assert cnn["total_params"] <= MLP_PARAMS
    assert "--model" in cnn["evaluation"]["mnist_test"]["command"]
    assert cnn["training"]["command"].startswith("uv run main.py train")
    mlp_card = RESOURCES / "mnist_mlp.json"
    assert mlp_card.exists(), "the MLP baseline's card is missing"
    mlp = json.loads(mlp_card.read_text())
    assert mlp["total_params"] == MLP_PARAMS
    for card in (cnn, mlp):
        assert 0 < card["evaluation"]["mnist_test"]["accuracy"] <= 1
        assert 0 < card["evaluation"]["pendigits_heldout_writers"]["accuracy"] <= 1
        assert card["training"]["validation_accuracy"] > 0.9
    assert BUNDLED_MODEL.exists()


def test_train_refuses_to_overwrite_the_bundled_model_without_force(capsys):
    from model.cli.train import main

    before = BUNDLED_MODEL.read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(["--out", str(BUNDLED_MODEL), "--epochs", "1"])
    assert exc.value.code == 2
    assert "--force" in capsys.readouterr().err
    assert BUNDLED_MODEL.read_bytes() == before


def test_quick_training_run_writes_a_model_and_card_with_a_reproducible_command(tmp_path, fixtures, mnist_folder):
    from model.cli.train import main
    from model.data.readers import load_mnist_test
    from model.nets.inference import Predictor

    x, _ = load_mnist_test(fixtures / "mnist")
    data = mnist_folder
    before = BUNDLED_MODEL.read_bytes()
    out = tmp_path / "models" / "quick.keras"
    args = ["--data", str(data), "--limit", "64", "--epochs", "1", "--batch-size", "32", "--out", str(out)]
    assert main([*args, "--elastic", "1", "--augment-scale", "0.5"]) == 0
    assert BUNDLED_MODEL.read_bytes() == before
    card = json.loads(out.with_suffix(".json").read_text())
    assert "--limit 64" in card["training"]["command"] and "--elastic 1" in card["training"]["command"]
    augmentation = card["training"]["config"]["augmentation"]
    assert augmentation["elastic_px"] == pytest.approx(0.75) and augmentation["pen_elastic"] == pytest.approx(0.04)
    assert augmentation["max_rotation_deg"] == pytest.approx(6.0)  # --augment-scale applies to all of it
    assert card["training"]["data"]["mnist_train"]["validation"] > 0
    assert f"--model {out}" in card["evaluation"]["mnist_test"]["command"]
    assert Predictor(out).predict(x[0].astype(np.float32) / 255).probabilities.shape == (10,)


def test_logdir_writes_tensorboard_event_files(tmp_path, mnist_folder):
    from model.cli.train import main

    pytest.importorskip("tensorboard")
    data = mnist_folder
    logs = tmp_path / "logs"
    args = ["--data", str(data), "--limit", "32", "--epochs", "1", "--out", str(tmp_path / "m.keras"), "--logdir", str(logs)]
    assert main(args) == 0
    assert list((logs / "train").glob("events.out.tfevents.*")) and list((logs / "validation").glob("events.out.tfevents.*"))
