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
    from model.nets.inference import Predictor
    from model.training.tune import main

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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.json", "me.keras"]  # no temporary files left


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
