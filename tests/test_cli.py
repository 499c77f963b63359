"""`main.py predict` and `main.py evaluate`, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


@pytest.fixture(scope="module")
def inputs(fixtures, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    blank = tmp / "blank.json"
    blank.write_text(json.dumps({"strokes": []}))
    broken = tmp / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    bad_json = tmp / "bad.json"
    bad_json.write_text("{\"strokes\": [[1, 2, 3]]}")
    images = sorted((fixtures / "images").glob("*"))
    strokes = sorted((fixtures / "strokes").glob("*.json"))
    return images, strokes, blank, broken, bad_json


def test_predict_prints_one_line_per_input_and_reports_failures(inputs):
    images, strokes, blank, broken, bad_json = inputs
    paths = [str(p) for p in images + strokes] + [str(blank), str(broken), str(bad_json), "missing.png"]
    proc = run("predict", *paths)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(images) + len(strokes) + 1  # every readable input, the blank one included
    rows = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert rows[str(blank)][1:] == ["-", "0.0000"]
    correct = 0
    for p in images + strokes:
        path, digit, confidence = rows[str(p)]
        assert 0.0 <= float(confidence) <= 1.0
        correct += digit == p.name[0]
    assert correct >= 0.9 * (len(images) + len(strokes))
    for bad in (broken, bad_json):
        assert str(bad) in proc.stderr
    assert "missing.png" in proc.stderr


def test_predict_json(inputs):
    images, strokes, *_ = inputs
    proc = run("predict", "--json", str(strokes[0]), str(images[0]))
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["path"] for d in docs] == [str(strokes[0]), str(images[0])]
    for d in docs:
        assert set(d) == {"path", "digit", "confidence", "probabilities"}
        assert len(d["probabilities"]) == 10 and abs(sum(d["probabilities"]) - 1) < 1e-3
        assert d["digit"] == max(range(10), key=d["probabilities"].__getitem__)


def test_evaluate_on_mnist_files_and_stroke_folder(fixtures):
    proc = run("evaluate", "--json", "--data", str(fixtures / "mnist"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["n"] == 300 and doc["accuracy"] >= 0.97
    proc = run("evaluate", "--data", str(fixtures / "strokes"))
    assert proc.returncode == 0, proc.stderr
    assert "accuracy" in proc.stdout and "confusion" in proc.stdout


def test_help_explains_each_command():
    for cmd in ("predict", "evaluate", "train"):
        proc = run(cmd, "--help")
        assert proc.returncode == 0 and "usage: main.py " + cmd in proc.stdout
