"""`main.py tune`: a loadable personal model that reads its writer better, honest figures, atomic, cancellable."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from model.data.handwriting import read_labelled_folder
from model.data.paths import BUNDLED_MODEL
from model.training.tune import TuneCancelled, TuneConfig, TuneError, tune

pytestmark = pytest.mark.slow
ROOT = BUNDLED_MODEL.parent.parent


def accuracy(predictor, folder) -> float:
    from model.data.preprocess import strokes_to_input

    drawings, _ = read_labelled_folder(folder)
    x = np.stack([strokes_to_input(d.strokes) for d in drawings])
    y = np.array([d.label for d in drawings])
    return float(np.mean(predictor.predict_probabilities(x).argmax(1) == y))


def test_tune_reads_the_writer_better_and_writes_a_card(tmp_path, fixtures, predictor, capsys):
    """Writer 28 (never trained on): tune on their first 50 digits, read their other 200."""
    from model.cli.tune import main
    from model.nets.inference import Predictor

    out = tmp_path / "me.keras"
    # tests/fixtures/mnist has no training files: the replay comes from the sample the app ships,
    # and its 300 test digits give the MNIST before/after figure.
    code = main(["--data", str(fixtures / "writer" / "tune"), "--out", str(out), "--mnist", str(fixtures / "mnist")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "held-out drawings" in printed and "MNIST test" in printed

    tuned = Predictor(out)  # loadable through the app's checks
    before, after = accuracy(predictor, fixtures / "writer" / "test"), accuracy(tuned, fixtures / "writer" / "test")
    assert after > before, f"writer 28 read {before:.1%} before tuning and {after:.1%} after"

    card = json.loads(out.with_suffix(".json").read_text())
    t = card["tuning"]
    assert t["base_model"] == str(BUNDLED_MODEL) and t["samples"] == 50 and t["date"]
    assert t["tuned_on"] + t["held_out"] == 50 and t["held_out"] > 0
    assert "mnist_replay.npz" in t["replay"]["source"]
    held = card["before_after"]["held_out_drawings"]
    assert held["n"] == t["held_out"] and held["before"] is not None and held["after"] is not None
    assert all(label != read for label, read in held["misread_after"])  # what still misreads, for the advice
    assert len(held["misread_after"]) == round((1 - held["after"]) * held["n"])
    assert card["before_after"]["mnist_test"]["n"] == 300
    # no temporary files left; the memory of the person's digits beside the model (model/training/personal.py)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.json", "me.keras", "me.personal.npz"]
    assert tuned.memory is not None and t["memory"]["file"] == "me.personal.npz"
    # it remembers all 50 labelled drawings (the held-out ones too, once measured) beside MNIST references
    assert t["memory"]["drawings"] == 50 and t["memory"]["mnist_references"] > 0
    assert len(tuned.memory.labels) == 50 + t["memory"]["mnist_references"]
    assert t["adaptive"]["strength"] in ("gentle", "harder") and isinstance(t["still_confused"], list)


def test_cancel_leaves_nothing_half_written(tmp_path, fixtures):
    drawings, _ = read_labelled_folder(fixtures / "writer" / "tune")
    out = tmp_path / "personal.keras"
    out.write_bytes(b"the previous personal model")
    calls = []

    def stop_once_training() -> bool:
        calls.append(1)
        return len(calls) > 3  # a few batches in

    with pytest.raises(TuneCancelled):
        tune(BUNDLED_MODEL, drawings, out, TuneConfig(epochs=2), should_stop=stop_once_training)
    assert out.read_bytes() == b"the previous personal model"
    assert [p.name for p in tmp_path.iterdir()] == ["personal.keras"]  # no temporary or card file


def test_refuses_to_overwrite_the_bundled_model(fixtures):
    drawings, _ = read_labelled_folder(fixtures / "writer" / "tune")
    before = BUNDLED_MODEL.stat().st_mtime_ns
    with pytest.raises(TuneError, match="bundled"):
        tune(BUNDLED_MODEL, drawings, BUNDLED_MODEL)
    assert BUNDLED_MODEL.stat().st_mtime_ns == before


def test_cli_refuses_the_bundled_model_and_too_few_drawings(tmp_path, fixtures):
    run = [sys.executable, str(ROOT / "main.py"), "tune"]
    r = subprocess.run(
        run + ["--data", str(fixtures / "writer" / "tune"), "--out", str(BUNDLED_MODEL)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 2 and "bundled" in r.stderr
    few = tmp_path / "few"
    few.mkdir()
    (few / "a.json").write_text('{"strokes": [[[0, 0], [1, 1]]], "label": 1}')
    r = subprocess.run(
        run + ["--data", str(few), "--out", str(tmp_path / "x.keras")], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert r.returncode == 2 and "at least 5" in r.stderr
    assert not (tmp_path / "x.keras").exists()


# --- fed as Predictor.prepare feeds it (issue 20) -----------------------------------------------


def _odd_base(folder):
    """The bundled CNN behind a 32x32, raw 0-255, dark-ink-on-white front, with outputs in the order 1..9, 0.

    Its card says ``invert`` and names the classes; fed as ``Predictor.prepare`` feeds it, it reads
    exactly what the bundled model reads. Fed anything else, it reads noise.
    """
    import keras

    from model.nets.card import write_card

    bundled = keras.saving.load_model(BUNDLED_MODEL, compile=False)
    names = [str(d) for d in range(1, 10)] + ["0"]
    order = np.zeros((10, 10), np.float32)
    for i, name in enumerate(names):
        order[int(name), i] = 1.0  # output i is the digit names[i]
    permute = keras.layers.Dense(10, use_bias=False, trainable=False, name="class_order")
    net = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Cropping2D(2),
            keras.layers.Rescaling(-1.0, 1.0),  # dark ink on white -> what the bundled model reads
            bundled,
            permute,
        ]
    )
    permute.set_weights([order])
    path = folder / "odd.keras"
    net.save(path)
    write_card(path, {"invert": True, "class_names": names})
    return path


def test_tune_feeds_the_base_as_predict_does_and_the_figures_are_true(tmp_path, fixtures):
    from model.nets.inference import Predictor
    from model.training.tune import holdout_split

    base = _odd_base(tmp_path)
    reference = Predictor(BUNDLED_MODEL, feature_maps=False)
    odd = Predictor(base, feature_maps=False)
    assert odd.input_range == (0.0, 255.0) and odd.invert and odd.input_size == (32, 32)
    test_folder = fixtures / "writer" / "test"
    assert accuracy_by_name(odd, test_folder) == pytest.approx(accuracy(reference, test_folder))

    drawings, _ = read_labelled_folder(fixtures / "writer" / "tune")
    out = tmp_path / "tuned.keras"
    card = tune(base, drawings, out, TuneConfig(epochs=1, replay=300, variants=1), mnist_dir=fixtures / "mnist")

    _, held = holdout_split([d.label for d in drawings])
    from model.data.preprocess import strokes_to_input

    x_held = np.stack([strokes_to_input(drawings[i].strokes) for i in held])
    y_held = np.array([drawings[i].label for i in held])
    true_before = float(np.mean(reference.predict_probabilities(x_held).argmax(1) == y_held))
    figures = card["before_after"]
    assert figures["held_out_drawings"]["before"] == pytest.approx(true_before, abs=1e-4)
    assert figures["mnist_test"]["before"] > 0.9  # the bundled model's figure, not noise
    assert figures["mnist_test"]["after"] > 0.85

    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["invert"] is True and saved["input_range"] == [0.0, 255.0]
    assert saved["class_names"] == [str(d) for d in range(1, 10)] + ["0"]
    tuned = Predictor(out, feature_maps=False)
    assert accuracy_by_name(tuned, test_folder) > accuracy(reference, test_folder) - 0.05  # still reads digits


def accuracy_by_name(predictor, folder) -> float:
    from model.data.preprocess import strokes_to_input

    drawings, _ = read_labelled_folder(folder)
    x = np.stack([strokes_to_input(d.strokes) for d in drawings])
    names = np.array(predictor.class_names)
    read = names[predictor.predict_probabilities(x).argmax(1)]
    return float(np.mean(read == np.array([str(d.label) for d in drawings])))


def test_feeding_layers_compute_exactly_what_prepare_does(tmp_path):
    import keras

    from model.training.feeding import digit_feeding, feeding_layers

    feeding = digit_feeding(_odd_base(tmp_path))
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    front = keras.Sequential([keras.Input((28, 28, 1)), *feeding_layers(feeding)])
    np.testing.assert_allclose(np.asarray(front(x[..., None])), feeding.prepare(x), atol=1e-4)


@pytest.mark.parametrize("classes", [3, 11])
def test_a_base_that_is_not_ten_digits_is_one_line_and_exit_2(tmp_path, fixtures, capsys, classes):
    import keras

    from model.cli.tune import main

    net = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(classes, activation="softmax")])
    net.save(tmp_path / "odd.keras")
    out = tmp_path / "me.keras"
    code = main(["--data", str(fixtures / "writer" / "tune"), "--out", str(out), "--model", str(tmp_path / "odd.keras")])
    err = capsys.readouterr().err
    assert code == 2 and f"{classes} outputs" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_cancel_stops_while_the_drawings_are_being_prepared(tmp_path, fixtures):
    """Closing the window during the preparation of thousands of drawings stops within a chunk of them."""
    from model.training.tune import MAX_DRAWINGS, RENDER_CHUNK

    stored, _ = read_labelled_folder(fixtures / "writer" / "tune")
    rendered = []

    class Counted:
        def __init__(self, d):
            self.label, self._strokes = d.label, d.strokes

        @property
        def strokes(self):
            rendered.append(1)
            return self._strokes

    drawings = [Counted(stored[i % len(stored)]) for i in range(2000)]
    asked = []

    def stop_when_preparing() -> bool:
        asked.append(1)
        return len(rendered) > 0  # the window closes once preparation has begun

    with pytest.raises(TuneCancelled):
        tune(BUNDLED_MODEL, drawings, tmp_path / "me.keras", should_stop=stop_when_preparing)
    assert 0 < len(rendered) <= 2 * RENDER_CHUNK < min(len(drawings), MAX_DRAWINGS)
    assert list(tmp_path.iterdir()) == []


def test_tune_uses_at_most_the_cap_most_recent_drawings(tmp_path, fixtures):
    import os
    import shutil

    from model.training.tune import most_recent

    shutil.copytree(fixtures / "writer" / "tune", tmp_path / "store")
    stored, _ = read_labelled_folder(tmp_path / "store")
    for age, d in enumerate(stored):  # file times: the first stored is the oldest
        os.utime(d.path, (1_000_000 + age, 1_000_000 + age))
    kept = most_recent(stored, limit=10)
    assert [d.path for d in kept] == [d.path for d in stored[-10:]]
    assert most_recent(stored, limit=100) == stored


@pytest.mark.parametrize(
    ("card", "memory", "expected"),
    [
        ({"evaluation": {"mnist_test": {"n": 10000, "accuracy": 0.9961}}}, False, 0.9961),
        ({"evaluation": {"mnist_test": {"n": 10000, "accuracy": 0.9961}}}, True, None),  # its figure had a memory's vote
        ({"evaluation": {"mnist_test": {"n": 5000, "accuracy": 0.99}}}, False, None),  # another test set
        ({"evaluation": {"mnist_test": {"n": 10000, "accuracy": "0.99"}}}, False, None),
        ({"evaluation": {"mnist_test": {"n": 10000, "accuracy": float("nan")}}}, False, None),
        ({"evaluation": {"mnist_test": {"n": 10000, "accuracy": True}}}, False, None),
        ({"evaluation": {"mnist_test": [0.99]}}, False, None),
        ({"evaluation": [0.99]}, False, None),
        ({"evaluation": {"mnist_test": {"n": 10000, "accuracy": 0.99}}, "tuning": {"memory": {"file": "x"}}}, False, None),
        ({}, False, None),
    ],
)
def test_the_base_models_mnist_figure_comes_from_its_card_only_when_it_is_the_same_measurement(tmp_path, card, memory, expected):
    """A tune reports the base's MNIST test accuracy from the base's card (saving ~2 s) only when the card
    holds that very figure: the same number of test digits, a real fraction, and no memory vote in it."""
    import json

    from model.nets.memory import memory_path
    from model.training.tune import recorded_mnist_test

    base = tmp_path / "base.keras"
    base.write_bytes(b"")
    base.with_suffix(".json").write_text(json.dumps(card))
    if memory:
        memory_path(base).write_bytes(b"")
    assert recorded_mnist_test(base, 10000) == expected
    assert recorded_mnist_test(base, None) is None  # no MNIST test to compare with: nothing to report
