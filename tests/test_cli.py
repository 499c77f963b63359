"""`main.py predict | evaluate | ...` as a user runs them (issues 13 and 14).

End-to-end checks run ``main.py`` in a subprocess (real model, real TensorFlow, real exit codes).
Behaviour that needs a misbehaving model (NaN outputs, a model call that fails, Ctrl+C, a closed
pipe) runs ``model.cli`` in-process with a stand-in predictor, which needs no TensorFlow.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from model import cli
from model.cli import common as cli_common
from model.data.readers import png_bytes, write_strokes

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # quiet must not depend on it


def run(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        env={**ENV, **(env or {})},
    )
    proc.out = proc.stdout.decode("utf-8", "replace")  # type: ignore[attr-defined]
    proc.err = proc.stderr.decode("utf-8", "replace")  # type: ignore[attr-defined]
    return proc


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "oneDNN" not in stderr and "absl" not in stderr and "port.cc" not in stderr, stderr


@pytest.fixture(scope="module")
def mixed(fixtures, tmp_path_factory):
    """Good inputs (a folder of images, stroke files) with bad ones of every kind among them."""
    tmp = tmp_path_factory.mktemp("mixed")
    bad = {}
    bad["broken.png"] = b"\x89PNG\r\n\x1a\n this is not really a png"
    bad["flat.json"] = json.dumps({"strokes": [[1, 2, 3]]}).encode()
    bad["deep.json"] = b"[" * 100_000 + b"]" * 100_000  # RecursionError in json.loads, if it got there
    bad["bignumber.json"] = b'{"strokes": [[[1' + b"7" * 5000 + b", 2], [3, 4]]]}"
    bad["farapart.json"] = json.dumps({"strokes": [[[-1e308, 0], [1e308, 1]]]}).encode()
    bad["huge.png"] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (20000).to_bytes(4, "big") * 2 + b"\x08\x00\x00\x00\x00"
    bad["text.png"] = b"hello"
    for name, data in bad.items():
        (tmp / name).write_bytes(data)
    thin = tmp / "thin.png"  # 1x5000: once crashed the whole run
    thin.write_bytes(png_bytes(np.full((1, 5000), 255, np.uint8)))
    fifo = tmp / "pipe.png"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
    blank = tmp / "blank.json"
    blank.write_text(json.dumps({"strokes": []}))
    accented = tmp / "été_7.json"
    write_strokes(accented, [np.array([[0.0, 0.0], [10.0, 0.0], [3.0, 20.0]])])
    images = fixtures / "images"
    strokes = sorted((fixtures / "strokes").glob("*.json"))[:6]
    # Order on the command line: good, bad, good, ...; answers must come back in this order.
    args = [
        str(strokes[0]),
        str(tmp / "broken.png"),
        str(images),
        str(tmp / "deep.json"),
        str(blank),
        str(tmp / "bignumber.json"),
        str(strokes[1]),
        str(tmp / "farapart.json"),
        str(tmp / "huge.png"),
        str(thin),
        str(tmp / "text.png"),
        str(accented),
        str(tmp / "flat.json"),
        "missing.png",
        str(strokes[2]),
    ]
    if hasattr(os, "mkfifo"):
        args.insert(3, str(fifo))
    if os.path.exists("/dev/zero"):
        args.insert(5, "/dev/zero")
    return args, images, strokes, blank, accented


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
def test_predict_answers_every_good_input_in_order_and_names_each_bad_one(mixed):
    args, images, strokes, blank, accented = mixed
    # An ASCII-only stdout (LANG=C) with a non-ASCII path: no traceback either.
    proc = run("predict", *args, env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C"})
    assert_clean(proc.err)
    assert proc.returncode == 1
    rows = [line.split("\t") for line in proc.out.splitlines()]
    image_files = sorted(str(p) for p in images.rglob("*") if p.is_file())
    expected_order = [str(strokes[0]), *image_files, str(blank), str(strokes[1]), "thin", "accented", str(strokes[2])]
    got = [r[0] for r in rows]
    assert len(got) == len(expected_order), proc.out
    for want, path in zip(expected_order, got):
        if want == "thin":
            assert path.endswith("thin.png")
        elif want == "accented":
            assert path.endswith("_7.json")  # printed with a backslash escape on an ASCII terminal
        else:
            assert path == want
    answers = dict((r[0], r) for r in rows)
    assert answers[str(blank)][1:] == ["-", "0.0000"]
    right = sum(answers[p][1] == Path(p).name[0] for p in image_files)
    assert right >= 0.9 * len(image_files)
    errors = [line for line in proc.err.splitlines() if line.startswith("error: ")]
    bad = [
        a
        for a in args
        if Path(a).name
        in {
            "broken.png",
            "deep.json",
            "bignumber.json",
            "farapart.json",
            "huge.png",
            "text.png",
            "flat.json",
            "missing.png",
            "pipe.png",
            "zero",
        }
    ]
    assert len(errors) == len(bad), proc.err
    for path, line in zip(bad, errors):
        assert line.startswith(f"error: {path}"), (path, line)
    assert "megapixels" in proc.err and "nested" in proc.err and "FIFO" in proc.err.upper()


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
def test_predict_reads_standard_input_and_prints_json(fixtures):
    png = sorted((fixtures / "images").glob("7_*white_on_black.png"))[0].read_bytes()
    proc = run("predict", "--json", "-", stdin=png)
    assert proc.returncode == 0, proc.err
    assert_clean(proc.err)
    (doc,) = [json.loads(line) for line in proc.out.splitlines()]
    assert doc["path"] == "-" and doc["class"] == "7"
    assert set(doc) == {"path", "class", "confidence", "probabilities", "status"}  # + unsure_between when unsure
    assert list(doc["probabilities"]) == [str(d) for d in range(10)]
    assert abs(sum(doc["probabilities"].values()) - 1) < 1e-3
    stroke = sorted((fixtures / "strokes").glob("3_*.json"))[0]
    proc = run("predict", "-", stdin=stroke.read_bytes())
    assert proc.returncode == 0, proc.err
    assert proc.out.split("\t")[:2] == ["-", "3"]


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
def test_a_typo_is_an_error_with_a_suggestion_not_the_window():
    t0 = time.perf_counter()
    proc = run("evalute", "--data", "x", env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": ""})
    assert proc.returncode == 2
    assert "did you mean 'evaluate'?" in proc.err.lower()
    assert time.perf_counter() - t0 < 30  # answered without loading TensorFlow or Qt
    proc = run("tnue")
    assert proc.returncode == 2 and "'tune'" in proc.err


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
def test_help_lists_subcommands_and_version_needs_no_tensorflow():
    proc = run("--help")
    assert proc.returncode == 0
    for cmd in ("predict", "evaluate", "train", "tune"):
        assert cmd in proc.out
    proc = run("--version")
    assert proc.returncode == 0 and proc.out.strip().startswith("digit-recognizer ")
    import re

    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'version = "([^"]+)"', pyproject).group(1) in proc.out
    for cmd in ("predict", "evaluate"):
        proc = run(cmd, "--help")
        assert proc.returncode == 0 and "usage: main.py " + cmd in proc.out


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
def test_evaluate_folder_of_class_subfolders_json_confusion_and_errors_dir(fixtures, tmp_path):
    from model.data.readers import load_mnist_test

    x, y = load_mnist_test(fixtures / "mnist")
    data = tmp_path / "labelled"
    for i in range(60):
        folder = data / str(y[i])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:03d}.png").write_bytes(png_bytes(x[i]))
    # A wrong label on purpose, so at least one input is misread and written out.
    (data / "1").mkdir(exist_ok=True)
    (data / "1" / "really_a_seven.png").write_bytes(png_bytes(x[0]))
    stroke = sorted((fixtures / "strokes").glob("4_*.json"))[0]
    (data / "4" / "pen.json").write_bytes(stroke.read_bytes())
    (data / "unlabelled.png").write_bytes(png_bytes(x[1]))
    (data / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    errors = tmp_path / "misread"
    proc = run("evaluate", "--json", "--data", str(data), "--errors", str(errors))
    assert proc.returncode == 0, proc.err
    assert_clean(proc.err)
    doc = json.loads(proc.out)
    assert doc["n"] == 62
    assert 0.9 <= doc["accuracy"] < 1.0
    confusion = np.array(doc["confusion"])
    assert confusion.shape == (10, 10)
    assert confusion.sum() + sum(doc["no_answer"]) == doc["n"]
    assert confusion[1, 7] >= 1  # the seven filed under 1/
    assert set(doc["per_class"]) <= {str(d) for d in range(10)}
    assert doc["per_class"]["1"] < 1.0
    written = sorted(p.name for p in errors.glob("*.png"))
    assert any(n.startswith("true-1_read-7_") for n in written), written
    assert len(written) == doc["errors"] - sum(doc["no_answer"])
    skipped = [line for line in proc.err.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 2 and any("unlabelled.png" in s for s in skipped) and any("broken.png" in s for s in skipped)


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
def test_evaluate_on_mnist_files_and_stroke_folder(fixtures):
    proc = run("evaluate", "--json", "--data", str(fixtures / "mnist"))
    assert proc.returncode == 0, proc.err
    doc = json.loads(proc.out)
    assert doc["n"] == 300 and doc["accuracy"] >= 0.97
    assert np.array(doc["confusion"]).sum() == 300
    proc = run("evaluate", "--data", str(fixtures / "strokes"))
    assert proc.returncode == 0, proc.err
    assert "accuracy" in proc.out and "confusion" in proc.out


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
@pytest.mark.parametrize("spec", ["abc", "30-25", "0", "1-1000000000"])
def test_bad_writer_ranges_are_one_line_errors(spec, tmp_path):
    t0 = time.perf_counter()
    tra = tmp_path / "p.tra"
    tra.write_text('.SEGMENT DIGIT 0 ? "1"\n.COMMENT 1 3 0\n.PEN_DOWN\n1 2\n3 4\n.PEN_UP\n')
    proc = run("evaluate", "--data", str(tra), "--writers", spec)
    assert proc.returncode == 2
    lines = proc.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --writers"), proc.err
    assert time.perf_counter() - t0 < 60  # refused before any set is built or model loaded


# --- in-process, with a stand-in model -----------------------------------------------------------


class FakePredictor:
    """Answers like a model: class = number of strokes' first x rounded; NaN when asked to."""

    path = Path("fake.keras")
    class_names = ["zero", "one", "two"]

    def __init__(self, nan_for: float | None = None, interrupt: bool = False):
        self.nan_for, self.interrupt, self.calls = nan_for, interrupt, []

    def predict_probabilities(self, images: np.ndarray) -> np.ndarray:
        if self.interrupt:
            raise KeyboardInterrupt
        self.calls.append(len(images))
        out = np.full((len(images), 3), 0.1, np.float32)
        out[:, 1] = 0.8
        if self.nan_for is not None:
            if len(images) > 1 and (images.reshape(len(images), -1).max(axis=1) > 0).any():
                raise ValueError("NaN in the batch")
            out[:] = np.nan
        return out


def _stroke_files(tmp_path: Path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        p = tmp_path / f"{i:02d}.json"
        write_strokes(p, [np.array([[0.0, 0.0], [1.0 + i, 2.0], [0.0, 3.0]])])
        paths.append(str(p))
    return paths


def test_nan_outputs_become_error_lines_never_bare_nan(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: FakePredictor(nan_for=1.0))
    paths = _stroke_files(tmp_path, 3)
    code = cli.dispatch(["predict", "--json", *paths])
    out, err = capsys.readouterr()
    assert code == 1
    assert "NaN" not in out and "nan" not in out.lower()
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 3 and all("NaN or infinite" in line for line in lines)


def test_answers_stream_per_batch_in_order(tmp_path, monkeypatch):
    fake = FakePredictor()
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: fake)
    paths = _stroke_files(tmp_path, 7)
    seen: list[tuple[int, str]] = []

    class Recorder(io.StringIO):
        def write(self, text):
            seen.append((len(fake.calls), text))
            return super().write(text)

    monkeypatch.setattr(sys, "stdout", Recorder())
    assert cli.dispatch(["predict", "--batch-size", "3", *paths]) == 0
    lines = [(calls, text.split("\t")[0]) for calls, text in seen if text.strip()]
    assert [p for _, p in lines] == paths
    # The first batch's answers are written before the model sees the second batch.
    assert [calls for calls, _ in lines] == [1, 1, 1, 2, 2, 2, 3]
    assert all(text.split("\t")[1] == "one" for _, text in seen if text.strip())


def test_ctrl_c_exits_130_quietly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: FakePredictor(interrupt=True))
    assert cli.dispatch(["predict", *_stroke_files(tmp_path, 2)]) == 130
    out, err = capsys.readouterr()
    assert "Traceback" not in err and out == ""


def test_a_closed_pipe_is_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: FakePredictor())

    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return os.open(os.devnull, os.O_WRONLY)

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.dispatch(["predict", *_stroke_files(tmp_path, 2)]) == 141


@pytest.mark.slow  # a subprocess: TensorFlow's import each time
def test_ctrl_c_in_a_real_run(fixtures):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "predict", str(fixtures / "images")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 0), err  # 0 only if it had already finished
    assert b"Traceback" not in err


# --- desktop integration files ------------------------------------------------------


def test_desktop_entry_declares_keras_models_and_validates():
    import shutil
    import xml.etree.ElementTree as ET

    desktop = (ROOT / "packaging" / "digit-recognizer.desktop").read_text()
    assert "MimeType=application/x-keras;" in desktop
    assert "Version=1.5" not in desktop
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.parse(ROOT / "packaging" / "digit-recognizer-mime.xml").getroot()
    (entry,) = mime.findall("m:mime-type", ns)
    assert entry.get("type") == "application/x-keras"
    assert [g.get("pattern") for g in entry.findall("m:glob", ns)] == ["*.keras"]
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils); .ci/run installs it")
    proc = subprocess.run([validator, str(ROOT / "packaging" / "digit-recognizer.desktop")], capture_output=True, text=True)
    assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout


@pytest.mark.parametrize("cores", [2, 8])
def test_read_ahead_keeps_order_and_hands_errors_on(monkeypatch, cores):
    from model.data.pictures import read_ahead

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert list(read_ahead([1, 2, 3], lambda c: c * 10)) == [10, 20, 30]

    def boom(c):
        if c == 2:
            raise RuntimeError("read failed")
        return c

    got = []
    with pytest.raises(RuntimeError, match="read failed"):
        for item in read_ahead([1, 2, 3], boom):
            got.append(item)
    assert got == [1]


@pytest.mark.slow
def test_the_window_starts_quietly_too():
    """The app's worker imports TensorFlow through the same quiet import as the command line."""
    proc = run("--quit-after", "6", env={"QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.err
    assert_clean(proc.err)


# --- lines that stay lines, paths that are never skipped (issue 20) ------------------------------


def test_class_names_and_paths_with_tabs_or_newlines_keep_one_line_per_input(tmp_path, monkeypatch, capsys):
    fake = FakePredictor()
    fake.class_names = ["zero", "one\twith a tab\nand a line", "two"]
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: fake)
    odd = tmp_path / "a\tb\nc.json"
    write_strokes(odd, [np.array([[0.0, 0.0], [1.0, 2.0]])])
    code = cli.dispatch(["predict", str(odd), *_stroke_files(tmp_path, 2)])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 3 for line in lines)
    assert lines[0].split("\t")[:2] == [str(odd).replace("\t", "\\t").replace("\n", "\\n"), "one\\twith a tab\\nand a line"]


def _deep_folder(top: Path, depth: int = 24) -> None:
    """Folders nested past PATH_MAX (4,096 bytes on Linux), with a drawing at the bottom."""
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with os.fdopen(os.open("7.json", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd), "w") as f:
            f.write('{"strokes": [[[0, 0], [1, 2]]]}')
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.mark.skipif(sys.platform != "linux", reason="PATH_MAX is 4,096 bytes on Linux")
def test_a_folder_deeper_than_path_max_is_an_error_not_skipped(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_common, "load_predictor", lambda path, verbose: FakePredictor())
    _deep_folder(tmp_path)
    code = cli.dispatch(["predict", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot be listed" in err and all(len(line) < 400 for line in err.splitlines())
