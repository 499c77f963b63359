"""Standing fuzz test over every reader: a clear error or a valid result, never anything else.

"Clear error" means ``model.data.DataError`` (a ``ValueError``) with a message; "valid result" is
checked per reader (shapes, finite values, the model input in range). Hypothesis generates
structured near-misses (JSON documents, PNG/IDX headers with mutated fields, pendigits lines) as
well as raw bytes, and shrinks any failure to a minimal input.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.data.decode import decode_image
from model.data.pictures import image_to_input
from model.data.preprocess import strokes_to_input
from model.data.readers import DataError, PenDigit, parse_stroke_bytes, png_bytes, read_idx, read_pendigits

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def clear_error_or(fn, check):
    try:
        result = fn()
    except DataError as exc:
        assert str(exc).strip(), "an error must say what was wrong"
        return
    check(result)


def valid_input(x) -> None:
    assert x is None or (x.shape == (28, 28) and x.dtype == np.float32 and np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1)


# --- stroke JSON -------------------------------------------------------------------------------

numbers = st.one_of(
    st.sampled_from([0, 1, -1, 1e308, -1e308, 1e-308, 2**63, 10**400, True]),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=30,
)
points = st.lists(st.one_of(st.tuples(numbers, numbers).map(list), st.lists(numbers, max_size=3), json_values), max_size=6)
documents = st.one_of(
    st.fixed_dictionaries(
        {"strokes": st.lists(points, max_size=4)}, optional={"label": json_values | st.integers(-3, 12) | st.text(max_size=3)}
    ),
    json_values,
)


def _dump(doc) -> bytes:
    try:
        return json.dumps(doc, allow_nan=True).encode()
    except (ValueError, OverflowError):
        return b"{}"


@FUZZ
@given(st.one_of(documents.map(_dump), st.binary(max_size=200), st.text(max_size=100).map(str.encode)))
def test_stroke_documents(raw):
    def check(result):
        strokes, label = result
        for s in strokes:
            assert s.ndim == 2 and s.shape[1] == 2 and np.isfinite(s).all()
        assert label is None or isinstance(label, (int, str))
        valid_input(strokes_to_input(strokes))

    clear_error_or(lambda: parse_stroke_bytes(raw, "fuzz.json"), check)


# --- images ------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@st.composite
def pngs(draw):
    """Valid PNGs, PNGs with a lying header, truncated or bit-flipped ones."""
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    pixels = np.frombuffer(draw(st.binary(min_size=h * w, max_size=h * w)), np.uint8).reshape(h, w)
    raw = bytearray(png_bytes(pixels))
    how = draw(st.sampled_from(["valid", "header", "truncate", "flip"]))
    if how == "header":
        fw, fh = draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1))
        depth, colour = draw(st.sampled_from([1, 2, 4, 8, 16, 3])), draw(st.sampled_from([0, 2, 3, 4, 6, 5]))
        ihdr = struct.pack(">IIBBBBB", fw, fh, depth, colour, 0, 0, 0)
        raw = bytearray(raw[:8] + _chunk(b"IHDR", ihdr) + raw[33:])
    elif how == "truncate":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 5))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(raw)


magic = st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff\xc0", b"GIF89a", b"BM", b""])


@FUZZ
@given(st.one_of(pngs(), st.tuples(magic, st.binary(max_size=60)).map(lambda t: t[0] + t[1])))
def test_images(raw):
    def check(picture):
        assert picture.ndim == 3 and picture.dtype == np.uint8 and picture.shape[2] in (1, 2, 3, 4)
        valid_input(image_to_input(picture))

    clear_error_or(lambda: decode_image(raw, "fuzz.png"), check)


# --- IDX ---------------------------------------------------------------------------------------


@st.composite
def idx_files(draw):
    magic_number = draw(st.sampled_from([2051, 2049, 2050, 0, 2**32 - 1]))
    dims = draw(st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), min_size=0, max_size=3))
    payload = draw(st.binary(max_size=300))
    raw = struct.pack(">I", magic_number) + b"".join(struct.pack(">I", d) for d in dims) + payload
    if draw(st.booleans()):
        raw = gzip.compress(raw)
        if draw(st.booleans()):
            raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


@FUZZ
@given(st.one_of(idx_files(), st.binary(max_size=64)))
def test_idx(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("idx") / "fuzz-idx"
    path.write_bytes(raw)

    def check(arr):
        assert arr.dtype == np.uint8 and arr.ndim in (1, 3)

    clear_error_or(lambda: read_idx(path), check)


# --- pendigits ---------------------------------------------------------------------------------

lines = st.one_of(
    st.sampled_from(
        [
            ".PEN_DOWN",
            ".PEN_UP",
            ".DT 100",
            "",
            ".LEXICON",
            '.SEGMENT DIGIT 0 ? "7"',
            ".COMMENT 7 12 3",
            '.SEGMENT DIGIT    0 ? "8"',
            ".SEGMENT",
            ".COMMENT",
        ]
    ),
    st.tuples(numbers, numbers).map(lambda p: f" {p[0]} {p[1]}"),
    st.text(max_size=20).filter(lambda s: "\n" not in s and "\r" not in s),
    st.tuples(st.sampled_from([".SEGMENT DIGIT 0 ? ", ".COMMENT 1 "]), st.text(max_size=8)).map("".join),
)


@FUZZ
@given(st.lists(lines, max_size=25))
def test_pendigits(tmp_path_factory, text_lines):
    path = tmp_path_factory.mktemp("pen") / "fuzz.tra"
    path.write_bytes("\n".join(text_lines).encode("utf-8", "surrogatepass"))

    def check(digits):
        for d in digits:
            assert isinstance(d, PenDigit) and d.strokes
            valid_input(strokes_to_input(d.strokes))

    clear_error_or(lambda: read_pendigits(path), check)


# --- model cards and model archives (issue 20) --------------------------------------------------


@FUZZ
@given(st.one_of(st.tuples(numbers, numbers).map(list), json_values, st.text(max_size=12)))
def test_card_input_range_is_refused_or_feeds_finite_values(value):
    from model.nets.card import parse_card

    card = parse_card({"input_range": value})
    if card.input_range is None:
        return
    low, high = card.input_range
    x = np.linspace(0, 1, 11, dtype=np.float32)
    fed = np.float32(low) + np.float32(high - low) * x  # as Predictor.prepare feeds it
    assert np.isfinite(fed).all() and fed[-1] > fed[0]


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["config.json", "metadata.json", "model.weights.h5", "x" * 20, "../evil"]),
        st.one_of(st.binary(max_size=200), json_values.map(_dump), st.integers(0, 3_000_000).map(bytes)),
        max_size=4,
    )
)
def test_keras_archives_give_a_model_error_or_a_config(tmp_path_factory, members):
    import io
    import zipfile

    from model.nets.inference import ModelError, _keras_config

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    path = tmp_path_factory.mktemp("keras") / "m.keras"
    path.write_bytes(buffer.getvalue())
    try:
        config = _keras_config(path)
    except ModelError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return
    assert "config.json" in members and json.loads(members["config.json"]) == config


@pytest.mark.parametrize("config", [b"NaN", b"[1, 2]", b'"a model"', b"null"])
def test_a_keras_config_that_is_not_an_object_is_a_model_error(tmp_path, config):
    """Found by the fuzz test above: config.json holding NaN was returned as the model's config."""
    import zipfile

    from model.nets.inference import ModelError, _keras_config

    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", config)
    with pytest.raises(ModelError, match="config.json holds a"):
        _keras_config(path)
