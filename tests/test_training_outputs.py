"""Outputs of train and tune (issue 20): checked before the work, written as a pair or neither, one writer at a time.

And ``train --init`` feeds its start model exactly as ``Predictor.prepare`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from model.data.paths import BUNDLED_MODEL
from model.training.saving import OutputError, check_output, output_lock

pytestmark = pytest.mark.slow


def _quick(data, out, *extra):
    return ["--data", str(data), "--limit", "64", "--epochs", "1", "--batch-size", "32", "--out", str(out), *extra]


def _no_training(monkeypatch):
    import model.training.train as train_module

    def refuse(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(train_module, "train", refuse)


def test_an_out_that_is_a_folder_is_refused_before_training(tmp_path, mnist_folder, monkeypatch, capsys):
    from model.cli.train import main

    _no_training(monkeypatch)
    folder = tmp_path / "m.keras"
    folder.mkdir()
    assert main(_quick(mnist_folder, folder, "--force")) == 2
    err = capsys.readouterr().err
    assert "folder" in err and len(err.strip().splitlines()) == 1
    card_folder = tmp_path / "n.json"
    card_folder.mkdir()
    assert main(_quick(mnist_folder, tmp_path / "n.keras")) == 2
    assert "n.json is a folder" in capsys.readouterr().err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_out_folder_is_refused_before_training(tmp_path, mnist_folder, monkeypatch, capsys):
    from model.cli.train import main

    _no_training(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert main(_quick(mnist_folder, locked / "m.keras")) == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_ctrl_c_during_the_card_evaluation_leaves_the_old_pair(tmp_path, mnist_folder, monkeypatch):
    import model.training.train as train_module

    out = tmp_path / "models" / "m.keras"
    out.parent.mkdir()
    out.write_bytes(b"the old model")
    out.with_suffix(".json").write_text('{"name": "the old card"}')

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "evaluate_for_card", interrupted)
    from model.cli.train import main

    with pytest.raises(KeyboardInterrupt):
        main(_quick(mnist_folder, out, "--force"))
    assert out.read_bytes() == b"the old model"
    assert json.loads(out.with_suffix(".json").read_text()) == {"name": "the old card"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.json", "m.keras"]  # no temporary file, no lock


def test_a_second_writer_of_the_same_out_is_refused(tmp_path, fixtures):
    from model.data.handwriting import read_labelled_folder
    from model.training.tune import TuneError, tune

    drawings, _ = read_labelled_folder(fixtures / "writer" / "tune")
    out = tmp_path / "me.keras"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out.with_name(".me.keras.lock").write_text(str(other.pid))  # another tune, still running
        with pytest.raises(TuneError, match="another run"):
            tune(BUNDLED_MODEL, drawings, out)
    finally:
        other.kill()
        other.wait()
    with output_lock(out):  # the same process twice: the window's second Fine-tune
        with pytest.raises(OutputError):
            with output_lock(out):
                pass
    assert not out.exists()
    with output_lock(out):  # a lock left by a process that is gone (kill -9) is taken over
        pass
    assert not out.with_name(".me.keras.lock").exists()


def test_check_output_creates_missing_folders_and_names_a_folder(tmp_path):
    check_output(tmp_path / "a" / "b" / "m.keras")
    assert (tmp_path / "a" / "b").is_dir() and list((tmp_path / "a" / "b").iterdir()) == []
    (tmp_path / "x.keras").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path / "x.keras")


def test_train_init_feeds_the_start_model_as_predict_does_and_keeps_its_feeding_keys(tmp_path, mnist_folder):
    from test_tune import _odd_base

    from model.cli.train import main

    base = _odd_base(tmp_path)
    out = tmp_path / "continued.keras"
    assert main(_quick(mnist_folder, out, "--init", str(base), "--learning-rate", "1e-5")) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["invert"] is True and card["input_range"] == [0.0, 255.0]
    assert card["class_names"] == [str(d) for d in range(1, 10)] + ["0"]
    assert card["training"]["validation_accuracy"] > 0.85  # fed as it reads: the digits, not noise
    assert card["evaluation"]["mnist_test"]["accuracy"] > 0.85


@pytest.mark.parametrize("classes", [3, 12])
def test_train_init_from_a_model_that_is_not_ten_digits_is_one_line(tmp_path, mnist_folder, monkeypatch, capsys, classes):
    import keras

    from model.cli.train import main

    _no_training(monkeypatch)
    net = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(classes, activation="softmax")])
    net.save(tmp_path / "odd.keras")
    assert main(_quick(mnist_folder, tmp_path / "m.keras", "--init", str(tmp_path / "odd.keras"))) == 2
    err = capsys.readouterr().err
    assert f"{classes} outputs" in err and len(err.strip().splitlines()) == 1


def test_temporaries_of_a_killed_run_are_removed_at_the_next_save(tmp_path):
    from model.training.saving import remove_stale_temporaries

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)
    left = [tmp_path / f".m.{dead}.1700000000000.tmp.keras", tmp_path / f".m.{dead}.1700000000000.tmp.json"]
    mine = tmp_path / f".m.{os.getpid()}.1700000000000.tmp.keras"  # a run still going
    for path in [*left, mine]:
        path.write_bytes(b"half")
    assert sorted(remove_stale_temporaries(tmp_path / "m.keras")) == sorted(left)
    assert mine.exists() and not any(p.exists() for p in left)
