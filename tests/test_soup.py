"""``main.py train --average``: a model soup is the mean of its ingredients' weights, with a card."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.data.paths import BUNDLED_MODEL


def _tiny(seed: int, width: int = 8):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(width, 3, activation="relu", name="conv1"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="tiny",
    )


def test_average_writes_the_mean_of_the_weights_with_a_card(tmp_path, mnist_folder):
    from model.cli.train import main
    from model.nets.inference import load_checked_model

    data = mnist_folder
    paths = []
    for seed in (1, 2, 3):
        path = tmp_path / f"ingredient{seed}.keras"
        _tiny(seed).save(path)
        paths.append(path)
    config = {"seed": 1, "validation_fraction": 0.08, "limit": None}
    for seed in (1, 2):  # the third ingredient has no card
        card = {"training": {"command": f"uv run main.py train --seed {seed}", "seconds": 5, "config": config, "data": {}}}
        (tmp_path / f"ingredient{seed}.json").write_text(json.dumps(card))
    out = tmp_path / "soup.keras"
    before = BUNDLED_MODEL.read_bytes()
    assert main(["--average", *map(str, paths), "--data", str(data), "--out", str(out)]) == 0
    assert BUNDLED_MODEL.read_bytes() == before
    soup = load_checked_model(out).get_weights()
    parts = [load_checked_model(p).get_weights() for p in paths]
    for i, w in enumerate(soup):
        assert np.allclose(w, np.mean([p[i] for p in parts], axis=0), atol=1e-7)
    card = json.loads(out.with_suffix(".json").read_text())
    assert [i["file"] for i in card["training"]["soup_of"]] == [str(p) for p in paths]
    assert card["training"]["soup_of"][0]["command"] == "uv run main.py train --seed 1"
    assert card["training"]["soup_of"][2]["card"] == "missing or unreadable"
    assert "--average" in card["training"]["command"]
    # One ingredient's split is unknown, so no validation number is claimed, and the card says why.
    assert card["training"]["validation_accuracy"] is None and "split" in card["training"]["validation"]
    assert 0 <= card["evaluation"]["mnist_test"]["accuracy"] <= 1

    # With the same split recorded for every ingredient, the soup is scored on it.
    (tmp_path / "ingredient3.json").write_text((tmp_path / "ingredient1.json").read_text())
    assert main(["--average", *map(str, paths), "--data", str(data), "--out", str(out), "--force"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert 0 <= card["training"]["validation_accuracy"] <= 1 and "never trained on" in card["training"]["validation"]

    # Different seeds mean different splits: no number.
    (tmp_path / "ingredient3.json").write_text(json.dumps({"training": {"config": {**config, "seed": 2}, "data": {}}}))
    assert main(["--average", *map(str, paths), "--data", str(data), "--out", str(out), "--force"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["training"]["validation_accuracy"] is None


def test_models_of_different_shapes_are_refused(tmp_path, capsys):
    from model.cli.train import main

    a, b = tmp_path / "a.keras", tmp_path / "b.keras"
    _tiny(1, width=8).save(a)
    _tiny(2, width=16).save(b)
    with pytest.raises(SystemExit) as exc:
        main(["--average", str(a), str(b), "--out", str(tmp_path / "soup.keras")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "same layers and weight shapes" in err and str(b) in err and str(a) in err
    assert not (tmp_path / "soup.keras").exists()


def test_a_corrupt_ingredient_or_start_model_is_a_one_line_error(tmp_path, capsys):
    from model.cli.train import main

    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    good = tmp_path / "good.keras"
    _tiny(1).save(good)
    for args in (["--average", str(junk), str(good)], ["--init", str(junk), "--epochs", "1"]):
        try:  # argparse's usage error, or one line and exit 2
            code = main([*args, "--out", str(tmp_path / "out.keras")])
        except SystemExit as exc:
            code = exc.code
        assert code == 2
        err = capsys.readouterr().err
        assert "junk.keras is corrupt or not a Keras model" in err and "Traceback" not in err
    assert not (tmp_path / "out.keras").exists()


def test_training_without_data_never_downloads(tmp_path, monkeypatch, capsys):
    import keras

    from model.cli.train import main

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr("model.cli.train.default_mnist_dir", lambda: None)  # as on a machine without ../shared

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    assert main(["--limit", "10", "--epochs", "1", "--out", str(tmp_path / "m.keras")]) == 2
    err = capsys.readouterr().err
    assert "pass --data DIR" in err and "Nothing is downloaded" in err
    assert not (tmp_path / "m.keras").exists()


def test_training_finds_mnist_named_by_the_environment(tmp_path, mnist_folder, monkeypatch, capsys):
    from model.cli.train import main

    data = mnist_folder
    monkeypatch.setenv("DIGIT_RECOGNIZER_MNIST", str(data))
    out = tmp_path / "m.keras"
    assert main(["--limit", "32", "--epochs", "1", "--out", str(out)]) == 0
    assert f"MNIST from {data}" in capsys.readouterr().out
    card = json.loads(out.with_suffix(".json").read_text())
    assert f"--data {data}" in card["evaluation"]["mnist_test"]["command"]


def test_a_data_problem_leaves_no_half_made_soup(tmp_path, capsys):
    from model.cli.train import main

    paths = []
    for seed in (1, 2):
        path = tmp_path / f"i{seed}.keras"
        _tiny(seed).save(path)
        path.with_suffix(".json").write_text(json.dumps({"training": {"config": {"seed": 1}, "data": {}}}))
        paths.append(path)
    out = tmp_path / "soup.keras"
    with pytest.raises(SystemExit) as exc:
        main(["--average", *map(str, paths), "--data", str(tmp_path / "nowhere"), "--out", str(out)])
    assert exc.value.code == 2
    assert "nowhere" in capsys.readouterr().err
    assert not out.exists()
