"""Knowing when it does not know (issue 24): calibrated confidence and "digit" / "unsure" / "not a digit".

The maths (temperature, ECE, distances, verdicts, the card entry) is checked without TensorFlow;
the bundled model's calibration, the Predictor and the command line with it (slow).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model import confidence as cf
from model.cli import calibrate as calibrate_cli
from model.data.nondigits import LETTERS, SHAPES, letter, synthetic_nondigits
from model.data.preprocess import strokes_to_input

ROOT = Path(__file__).resolve().parent.parent
NAMES = [str(d) for d in range(10)]


def test_temperature_fit_recovers_the_temperature_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (6000, 10))
    true_t = 2.5
    p = cf.softmax(logits, true_t)
    labels = np.array([rng.choice(10, p=row) for row in p])
    assert cf.fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.08)
    # ...and those labels are calibrated at that temperature, overconfident at 1
    assert cf.expected_calibration_error(cf.softmax(logits, true_t), labels) < 0.02
    assert cf.expected_calibration_error(cf.softmax(logits, 1.0), labels) > 0.1


def test_ece_of_a_sure_and_always_right_model_is_zero_and_of_a_wrong_one_is_its_confidence():
    p = np.tile(np.eye(10)[3], (20, 1))
    assert cf.expected_calibration_error(p, np.full(20, 3)) == pytest.approx(0.0)
    assert cf.expected_calibration_error(p, np.full(20, 4)) == pytest.approx(1.0)


def _toy_calibration() -> cf.Calibration:
    """Two classes in 2-D features at (0, 0) and (10, 0); distance = Mahalanobis alone."""
    rng = np.random.default_rng(1)
    feats = np.concatenate([rng.normal(0, 1, (500, 2)), rng.normal([10, 0], 1, (500, 2))])
    labels = np.repeat([0, 1], 500)
    means, precision = cf.class_statistics(feats, labels, 2)
    return cf.Calibration(
        temperature=2.0,
        unsure_below=0.8,
        not_digit_above=3.0,
        components=[{"kind": "maha", "layer": "penultimate", "mean": 2.0, "std": 2.0}],
        means={"penultimate": means},
        precisions={"penultimate": precision},
        calibrated=True,
    )


def test_verdicts_sure_split_and_far():
    cal = _toy_calibration()
    near = {"penultimate": np.array([[0.1, 0.2], [0.1, 0.2], [30.0, 30.0]])}
    logits = np.array([[12.0, 0.0], [1.0, 0.6], [12.0, 0.0]])
    sure, split, far = cf.judge_batch(cal, logits, near, ["4", "9"])
    assert sure.status == cf.DIGIT and sure.classes == (0,) and sure.reason == ""
    assert split.status == cf.UNSURE and split.classes == (0, 1) and split.reason == "not sure: 4 or 9"
    assert far.status == cf.NOT_A_DIGIT and far.reason == "not a digit"
    # the temperature is applied: softmax(12 / 2) is shown, not softmax(12)
    assert sure.confidence == pytest.approx(cf.softmax(np.array([6.0, 0.0]))[0])


def test_without_a_calibration_raw_softmax_and_never_not_a_digit():
    cal = cf.Calibration()
    assert not cal.calibrated and "not calibrated" in cal.note
    v = cf.judge(cal, np.log([0.55, 0.45]), None, ["a", "b"])
    assert v.status == cf.UNSURE and v.confidence == pytest.approx(0.55)
    assert cf.judge(cal, np.log([0.001, 0.999]), None, ["a", "b"]).status == cf.DIGIT


def test_calibration_round_trips_through_card_and_sidecar_keeping_other_keys(tmp_path):
    model = tmp_path / "m.keras"
    (tmp_path / "m.json").write_text(json.dumps({"class_names": ["4", "9"], "name": "mine"}))
    cal = _toy_calibration()
    cal.references = {"penultimate": np.eye(2)}
    cal.components = [*cal.components, {"kind": "knn", "layer": "penultimate", "mean": 0.0, "std": 1.0}]
    cf.write_calibration(model, cal)
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["name"] == "mine" and card["class_names"] == ["4", "9"]
    assert card["confidence"]["features_file"] == "m.confidence.npz"
    back, problems = cf.read_calibration(model, card)
    assert problems == [] and back.calibrated and back.temperature == pytest.approx(2.0)
    feats = {"penultimate": np.array([[0.0, 0.0], [40.0, 0.0]])}
    logits = np.array([[5.0, 0.0], [5.0, 0.0]])
    np.testing.assert_allclose(cf.distance(back, logits, feats), cf.distance(cal, logits, feats), rtol=1e-4)


@pytest.mark.parametrize(
    "entry",
    [
        "hot",
        {"temperature": "warm", "unsure_below": 0.8},
        {"temperature": -1, "unsure_below": 0.8},
        {"temperature": 1.5, "unsure_below": 0.8, "components": [{"kind": "maha", "layer": "x", "mean": 0, "std": 1}]},
    ],
)
def test_a_broken_card_entry_never_raises_and_says_what_was_lost(tmp_path, entry):
    cal, problems = cf.read_calibration(tmp_path / "m.keras", {"confidence": entry})
    assert problems and not cal.has_distance


def test_synthetic_nondigits_render_like_drawings():
    kinds = synthetic_nondigits(3, seed=0)
    assert set(kinds) == {*SHAPES, "letter"}
    rng = np.random.default_rng(0)
    drawings = [s for items in kinds.values() for s in items] + [letter(n, rng) for n in LETTERS]
    images = [strokes_to_input(s) for s in drawings]
    assert all(x is not None and x.shape == (28, 28) and x.max() > 0.5 for x in images)


# --- with the bundled model ---------------------------------------------------------------------------


def _scribbles(n: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [strokes_to_input(SHAPES["scribble"](rng)) for _ in range(n)]


@pytest.mark.slow
def test_bundled_model_is_calibrated_and_reads_clear_digits_as_sure(predictor, stroke_fixtures):
    assert predictor.calibration.calibrated and predictor.calibration.has_distance
    assert predictor.calibration.temperature > 1.0 and "calibrated" in predictor.confidence_note
    images = np.stack([strokes_to_input(s) for _, s, _ in stroke_fixtures])
    labels = np.array([label for _, _, label in stroke_fixtures])
    probs, verdicts = predictor.predict_answers(images)
    statuses = [v.status for v in verdicts]
    assert statuses.count(cf.DIGIT) >= len(statuses) - 1  # writers the model never saw
    assert (probs.argmax(1) == labels).mean() >= 0.95
    # the live path (one traced call with the feature maps) gives the same verdicts and probabilities
    one = predictor.predict(images[0])
    assert one.verdict.status == verdicts[0].status
    np.testing.assert_allclose(one.probabilities, probs[0], atol=1e-5)
    assert one.verdict.distance == pytest.approx(verdicts[0].distance, rel=1e-3, abs=1e-3)
    # shown confidence is softer than the raw softmax (temperature > 1), never a different class
    assert one.confidence <= float(one.raw_probabilities.max()) + 1e-6
    assert one.digit == int(one.raw_probabilities.argmax())


@pytest.mark.slow
def test_bundled_model_flags_scribbles(predictor):
    _, verdicts = predictor.predict_answers(np.stack(_scribbles()))
    assert sum(v.status != cf.DIGIT for v in verdicts) >= 6


@pytest.mark.slow
def test_a_model_without_card_keeps_its_raw_softmax(tmp_path, stroke_fixtures):
    import keras

    from model.nets.inference import Predictor

    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    path = tmp_path / "plain.keras"
    model.save(path)
    p = Predictor(path)
    assert not p.calibration.calibrated and "not calibrated" in p.confidence_note
    image = strokes_to_input(stroke_fixtures[0][1])
    result = p.predict(image)
    reference = model(image[None, ..., None], training=False).numpy()[0]
    np.testing.assert_allclose(result.probabilities, reference, atol=1e-6)
    assert result.verdict.status in (cf.DIGIT, cf.UNSURE)  # never "not a digit": nothing to measure it with


@pytest.mark.slow
def test_predict_json_has_a_status_per_line_and_the_tab_output_is_unchanged(tmp_path, fixtures):
    from model.data import write_strokes

    rng = np.random.default_rng(3)
    scribble = tmp_path / "scribble.json"
    write_strokes(scribble, SHAPES["scribble"](rng))
    digit = fixtures / "strokes" / "0_w29_1.json"
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, str(ROOT / "main.py"), "predict", *a], capture_output=True, text=True, timeout=300
    )
    out = run("--json", str(digit), str(scribble))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0]["status"] == "digit" and lines[0]["class"] == "0"
    assert lines[1]["status"] in ("unsure", "not a digit")
    assert all(set(line) >= {"path", "class", "confidence", "probabilities", "status"} for line in lines)
    tab = run(str(digit))
    path, label, conf = tab.stdout.strip().split("\t")
    assert (path, label) == (str(digit), "0") and 0.5 < float(conf) <= 1.0


@pytest.mark.slow
def test_evaluate_reports_accuracy_on_sure_answers_and_how_many_were_flagged(fixtures):
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, str(ROOT / "main.py"), "evaluate", "--data", str(fixtures / "strokes"), *a],
        capture_output=True,
        text=True,
        timeout=300,
    )
    text = run()
    assert text.returncode == 0, text.stderr
    assert "sure answers:" in text.stdout and "flagged" in text.stdout
    summary = json.loads(run("--json").stdout)["confidence"]
    assert summary["sure"] + summary["unsure"] + summary["not_a_digit"] == 30
    assert summary["accuracy_on_sure"] >= 0.95


@pytest.mark.slow
def test_window_greys_out_a_scribble_with_the_reason_and_shows_a_clear_digit_as_sure(qtbot, stroke_fixtures):
    from PySide6.QtWidgets import QLabel

    from gui.main_window import MainWindow
    from tests.automation import draw_with_mouse

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=90_000)
    digit = w.findChild(QLabel, "predicted_digit")
    reason = w.findChild(QLabel, "confidence")
    assert "not calibrated" not in w.model_status.text()  # the bundled model's card has its calibration

    draw_with_mouse(w.canvas, SHAPES["scribble"](np.random.default_rng(6)))  # far from any digit (seed checked)
    qtbot.waitUntil(lambda: w.requests.settled and w.last_result is not None, timeout=10_000)
    assert w.last_result.verdict.status == cf.NOT_A_DIGIT
    assert reason.text().startswith("Not a digit") and "#9a9a9a" in digit.styleSheet()

    w.canvas.clear()
    strokes, label = next((s, lab) for _, s, lab in stroke_fixtures if lab == 3)
    draw_with_mouse(w.canvas, strokes)
    qtbot.waitUntil(lambda: w.requests.settled and w.last_result is not None, timeout=10_000)
    assert digit.text() == "3" and reason.text().endswith("% sure") and digit.styleSheet() == ""
    w.close()


def test_saliency_view_says_why_the_network_is_unsure(qtbot):
    from gui.learn.saliency import SaliencyDialog
    from model.teaching import SaliencyMaps
    from model.teaching.saliency import IntegratedGradients

    rng = np.random.default_rng(0)
    image = rng.random((28, 28)).astype(np.float32)
    ig = IntegratedGradients(rng.normal(0, 1, (28, 28)).astype(np.float32), 4, 3.0, 0.0, 64)
    p = np.zeros(10, np.float32)
    p[4], p[9] = 0.55, 0.45
    dialog = SaliencyDialog()
    qtbot.addWidget(dialog)
    dialog.show_maps(SaliencyMaps(4, ig, rng.normal(0, 0.1, (28, 28)).astype(np.float32), False, p, image))
    assert "not sure: 4" in dialog.message.text() and "press 9 above" in dialog.message.text()
    p[4], p[9] = 0.97, 0.03
    dialog.show_maps(SaliencyMaps(4, ig, rng.normal(0, 0.1, (28, 28)).astype(np.float32), False, p, image))
    assert "not sure" not in dialog.message.text()


@pytest.mark.slow
def test_calibrate_writes_the_card_and_a_model_then_reads_calibrated(tmp_path, mnist_folder, capsys):
    import shutil

    from model.nets.inference import Predictor

    model = tmp_path / "copy.keras"
    shutil.copy(ROOT / "resources" / "mnist_cnn.keras", model)
    (tmp_path / "copy.json").write_text(json.dumps({"name": "mine"}))
    assert Predictor(model, feature_maps=False).calibration.calibrated is False
    assert calibrate_cli.main(["--model", str(model), "--data", str(mnist_folder)]) == 0
    assert "temperature" in capsys.readouterr().out
    card = json.loads((tmp_path / "copy.json").read_text())
    assert card["name"] == "mine" and card["confidence"]["features_file"] == "copy.confidence.npz"
    assert (tmp_path / "copy.confidence.npz").is_file()
    p = Predictor(model, feature_maps=False)
    assert p.calibration.calibrated and p.calibration.has_distance and p.card_problems == []
    _, verdicts = p.predict_answers(np.stack(_scribbles(2)))
    assert all(v.status in cf.STATUSES for v in verdicts)
