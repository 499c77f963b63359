"""``main.py train --layers SPEC``: a bad spec is one line and exit 2 before any data; a good one trains and writes a card."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.cli import train

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("conv 8 5 same, pool 2, conv 16 5 same, pool 3, conv 4 9", "item 5 'conv 4 9': kernel 9×9 is larger than its 4×4 input"),
        ("conv 8 five", "item 1 'conv 8 five': kernel size 'five' is not a whole number"),
        ("dense 10, wobble", "item 2 'wobble': unknown layer 'wobble'"),
        ("", "empty spec"),
    ],
)
def test_a_bad_spec_is_one_stderr_line_exit_2_and_nothing_written(tmp_path, capsys, spec, needle):
    out = tmp_path / "net.keras"
    # --data points nowhere: the spec must be refused before any data is looked for
    code = train.main(["--layers", spec, "--data", str(tmp_path / "no-such-folder"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and needle in err and err.startswith("main.py train: error: --layers: ")
    assert list(tmp_path.iterdir()) == []


def test_seconds_without_layers_is_refused(tmp_path):
    with pytest.raises(SystemExit) as exc:
        train.main(["--seconds", "5", "--out", str(tmp_path / "x.keras")])
    assert exc.value.code == 2


@pytest.mark.slow
def test_a_bad_spec_from_the_command_line_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "train", "--layers", "pool 30", "--out", str(tmp_path / "x.keras")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "main.py train: error: --layers: item 1 'pool 30': pool 30×30 is larger than its 28×28 input: ⌊(28 − 30)/30⌋ + 1 = 0 < 1"
    ]
    assert not (tmp_path / "x.keras").exists()


@pytest.mark.slow
def test_train_layers_writes_a_model_and_a_card_with_spec_data_and_accuracies(tmp_path, mnist_folder):
    out = tmp_path / "net.keras"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "train", "--layers", "conv 4 3,  pool 2", "--epochs", "2"]
        + ["--data", str(mnist_folder), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["layer_spec"] == "conv 4 3, pool 2"
    assert card["total_params"] == 4 * 9 + 4 + 13 * 13 * 4 * 10 + 10
    t = card["training"]
    assert t["epochs"] == pytest.approx(2.0) and t["stopped_by"] == "epochs"
    assert t["data"]["train"] > 0 and t["data"]["validation"] > 0
    assert 0 <= t["validation_accuracy"] <= 1 and t["seconds"] > 0
    assert "--layers" in t["command"]
    assert 0 <= card["evaluation"]["mnist_test"]["accuracy"] <= 1
    from model.nets.inference import Predictor

    p = Predictor(out)  # the app opens it like any model
    assert p is not None


@pytest.mark.slow
def test_a_time_budget_stops_training_and_keeps_the_best_validation_weights(mnist_folder):
    from model.training.live import Control, TrainSettings, load_spec_data, train_spec

    data = load_spec_data(mnist_folder, seed=1)
    seen = []
    settings = TrainSettings(seconds=3, batch_size=32)
    result = train_spec("conv 4 3, pool 2", data, settings, on_progress=seen.append, control=Control())
    assert result.stopped_by == "seconds"
    assert result.epochs > 1  # a few hundred digits: many epochs in the budget
    assert result.val_accuracy == max(result.history["val_accuracy"])
    x = data.x_val
    kept = float(np.mean(np.argmax(np.asarray(result.model(x, training=False)), 1) == data.y_val))
    assert kept == pytest.approx(result.val_accuracy)
    assert seen and all(0 <= p.fraction <= 1 for p in seen) and seen[-1].filters.shape == (3, 3, 1, 4)


@pytest.mark.slow
def test_stop_keeps_the_best_and_cancel_is_reported(mnist_folder):
    from model.training.live import Control, TrainSettings, load_spec_data, train_spec

    data = load_spec_data(mnist_folder, seed=1)
    control = Control()

    def stop_soon(p):
        if p.epoch >= 1:
            control.stopped.set()

    result = train_spec("dense 8", data, TrainSettings(epochs=50, batch_size=16), on_progress=stop_soon, control=control)
    assert result.stopped_by == "user" and not result.cancelled and result.epochs < 50
    control = Control()
    control.cancelled.set()
    assert train_spec("dense 8", data, TrainSettings(epochs=5), control=control).cancelled


def test_without_an_mnist_folder_the_shipped_subset_is_used(monkeypatch):
    from model.training import live as livetrain

    monkeypatch.setattr(livetrain, "default_mnist_dir", lambda: None)
    assert livetrain.find_data() == livetrain.SUBSET
    data = livetrain.load_spec_data(None)
    assert data.source["mnist"].endswith("mnist_subset.npz")
    assert (data.source["train"], data.source["validation"], data.source["test"]) == (5500, 500, 1000)
    assert data.x_train.shape[1:] == (28, 28, 1) and data.x_train.dtype == np.float32 and data.x_train.max() <= 1.0
    assert sorted(set(data.y_test.tolist())) == list(range(10))


@pytest.mark.slow
def test_training_gives_way_to_a_drawing_between_batches_and_the_wait_is_not_training_time(mnist_folder):
    """While ``give_way`` says someone is drawing, training waits between batches (not counted), and still moves on."""
    from model.training.live import MAX_GIVE_WAY_SECONDS, Control, TrainSettings, load_spec_data, train_spec

    data = load_spec_data(mnist_folder, seed=1)
    asked = []
    control = Control(give_way=lambda: asked.append(1) or True)  # a pen that never stops
    settings = TrainSettings(epochs=1, batch_size=8)  # ~40 small batches, each one waiting 0.1 s
    result = train_spec("dense 8", data, settings, control=control)
    batches = -(-len(data.x_train) // settings.batch_size)
    assert result.stopped_by == "epochs" and result.epochs == pytest.approx(1.0)  # slowed, never stopped
    assert len(asked) >= batches
    waited = batches * MAX_GIVE_WAY_SECONDS  # every batch waited its full turn: the pen never stops
    # none of the ~4 s of waiting counted as training: counted, it alone would reach `waited`; the
    # 40 batches of a dense 8 themselves take about a tenth of a second, far below it even when busy
    assert result.seconds < waited

    control = Control(give_way=lambda: True)
    control.stopped.set()  # a stop is heard during the wait
    assert train_spec("dense 8", data, TrainSettings(epochs=3, batch_size=64), control=control).stopped_by == "user"
