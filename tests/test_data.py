"""Readers of the data the app and its tools consume: IDX, pendigits, stroke JSON."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from model.data.readers import DataError, load_mnist_test, read_idx, read_pendigits, read_strokes, write_strokes


def test_mnist_fixture_reads(fixtures):
    x, y = load_mnist_test(fixtures / "mnist")
    assert x.shape == (300, 28, 28) and x.dtype == np.uint8
    assert y.shape == (300,) and set(np.unique(y)) <= set(range(10))
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the official test set's first labels


def test_corrupt_idx_names_the_file(tmp_path):
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00\x00\x08\x03" + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 100)
    with pytest.raises(DataError, match="truncated"):
        read_idx(bad)
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello world, not idx")
    with pytest.raises(DataError, match="magic"):
        read_idx(junk)


def test_pendigits_parser_flips_y_and_keeps_writer(tmp_path):
    f = tmp_path / "p.tra"
    f.write_text(
        '.SEGMENT DIGIT    0 ? "7"\n.COMMENT 7 12  3\n.PEN_DOWN\n 10  490\n 20  480\n.PEN_UP\n.PEN_DOWN\n 5 5\n.PEN_UP\n.DT 100\n'
        '.SEGMENT DIGIT    1 ? "1"\n.COMMENT 1 13  4\n.PEN_DOWN\n 1 2\n.PEN_UP\n'
    )
    digits = read_pendigits(f)
    assert [(d.label, d.writer, len(d.strokes)) for d in digits] == [(7, 12, 2), (1, 13, 1)]
    np.testing.assert_array_equal(digits[0].strokes[0], [[10, 10], [20, 20]])


def test_stroke_files_round_trip_and_bad_ones_are_explained(tmp_path):
    good = tmp_path / "a.json"
    write_strokes(good, [np.array([[0, 0], [1, 2.5]])], label=3)
    strokes, label = read_strokes(good)
    assert label == 3 and strokes[0].tolist() == [[0, 0], [1, 2.5]]
    cases = {
        "notjson.json": ("{not json", "not valid JSON"),
        "nokey.json": (json.dumps({"points": []}), "'strokes' key"),
        "flat.json": (json.dumps({"strokes": [[1, 2, 3]]}), "stroke 0"),
        "text.json": (json.dumps({"strokes": [[["a", "b"]]]}), "stroke 0"),
        "label.json": (json.dumps({"strokes": [], "label": 12}), "label"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(DataError, match=message):
            read_strokes(tmp_path / name)
    with pytest.raises(DataError, match="cannot read"):
        read_strokes(tmp_path / "missing.json")
