"""`main.py read`: whole numbers from stroke files and pictures; `evaluate` on number files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.cli import common as cli_common
from model.cli import evaluate as evaluate_cli
from model.cli import predict as predict_cli
from model.cli import read as read_cli
from model.data import load_mnist_test, png_bytes, write_strokes

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def number_strokes(stroke_fixtures, digits: str, gap: float = 0.3) -> list[np.ndarray]:
    """Fixture pen digits written left to right (each one unit tall, ``gap`` apart), in the tablet's units."""
    first = {}
    for _path, strokes, label in stroke_fixtures:
        first.setdefault(str(label), strokes)
    out, x = [], 0.0
    for d in digits:
        pts = np.concatenate(first[d])
        lo, hi = pts.min(0), pts.max(0)
        scale = 100.0 / (hi[1] - lo[1])
        out += [(s - lo) * scale + [x, 0.0] for s in first[d]]
        x += (hi[0] - lo[0]) * scale + gap * 100
    return out


def number_png(fixtures: Path, digits: str) -> bytes:
    """MNIST fixture digits side by side, dark ink on white, as a PNG."""
    x, y = load_mnist_test(fixtures / "mnist")
    parts = [np.zeros((28, 6), np.uint8)]
    for d in digits:
        img = x[int(np.flatnonzero(y == int(d))[0])]
        cols = np.flatnonzero(img.max(0) > 0)
        parts += [img[:, cols[0] : cols[-1] + 1], np.zeros((28, 6), np.uint8)]
    return png_bytes(255 - np.concatenate(parts, axis=1))


@pytest.fixture
def in_process(monkeypatch, predictor):
    """Run read/predict/evaluate in this process with the session's model (no TensorFlow start per call)."""
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: predictor)
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: predictor)


def test_read_numbers_from_stroke_files_and_pictures(tmp_path, stroke_fixtures, fixtures, in_process, capsys):
    write_strokes(tmp_path / "a_number.json", number_strokes(stroke_fixtures, "4071"))
    (tmp_path / "b_picture.png").write_bytes(number_png(fixtures, "350"))
    (tmp_path / "c_broken.json").write_text("{not json")
    code = read_cli.main([str(tmp_path)])
    out, err = capsys.readouterr()
    lines = [line.split("\t") for line in out.splitlines()]
    assert [Path(p).name for p, _, _ in lines] == ["a_number.json", "b_picture.png"]
    assert lines[0][1] == "4071" and lines[1][1] == "350"
    assert all(0.0 < float(c) <= 1.0 for _, _, c in lines)
    assert "error: " in err and "c_broken.json" in err and code == 1


def test_read_json_gives_each_digits_box_and_probabilities(tmp_path, stroke_fixtures, in_process, capsys):
    strokes = number_strokes(stroke_fixtures, "2026")
    write_strokes(tmp_path / "n.json", strokes)
    assert read_cli.main(["--json", str(tmp_path / "n.json")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["digits"] == "2026"
    assert len(doc["boxes"]) == 4 and len(doc["probabilities"]) == 4
    assert [b[0] for b in doc["boxes"]] == sorted(b[0] for b in doc["boxes"])  # left to right
    conf = np.prod([max(p.values()) for p in doc["probabilities"]])
    assert doc["confidence"] == pytest.approx(conf, abs=1e-5)


def test_single_digits_read_exactly_as_predict_reads_them(tmp_path, stroke_fixtures, fixtures, in_process, capsys):
    for path, _strokes, _label in stroke_fixtures[:12]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    for picture in sorted((fixtures / "images").glob("*.png"))[:5]:
        (tmp_path / picture.name).write_bytes(picture.read_bytes())
    assert predict_cli.main([str(tmp_path)]) == 0
    predicted = capsys.readouterr().out
    assert read_cli.main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == predicted


def test_evaluate_reports_whole_number_and_digit_accuracy(tmp_path, stroke_fixtures, in_process, capsys):
    for k, number in enumerate(["4071", "2026", "95"]):
        write_strokes(tmp_path / f"n{k}.json", number_strokes(stroke_fixtures, number))
        doc = json.loads((tmp_path / f"n{k}.json").read_text())
        doc["label"] = number
        (tmp_path / f"n{k}.json").write_text(json.dumps(doc))
    wrong = json.loads((tmp_path / "n0.json").read_text())
    wrong["label"] = "4077"  # one digit of four wrong
    (tmp_path / "n3.json").write_text(json.dumps(wrong))
    assert evaluate_cli.main(["--data", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    numbers = doc["numbers"]
    assert numbers["n"] == 4 and numbers["accuracy"] == pytest.approx(0.75)
    assert numbers["digit_accuracy"] == pytest.approx(13 / 14, abs=1e-4)
    assert evaluate_cli.main(["--data", str(tmp_path)]) == 0
    assert "read entirely right: 75.00%" in capsys.readouterr().out


def test_read_from_standard_input_end_to_end(stroke_fixtures):
    doc = {"strokes": [s.tolist() for s in number_strokes(stroke_fixtures, "18")]}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "read", "-", "missing.json"],
        input=json.dumps(doc).encode(),
        capture_output=True,
        timeout=300,
    )
    out = proc.stdout.decode()
    assert out.split("\t")[:2] == ["-", "18"], out
    assert "error: missing.json" in proc.stderr.decode() and proc.returncode == 1
