"""The readers' limits (README, "Command line"): applied before the work they bound, with a message.

Issue 14: special files, huge pictures, deep or huge JSON, runaway drawings, absurd coordinates,
truncated and mismatched data files. Each case must end in a ``DataError`` naming the file (or a
valid, bounded result), quickly, never a hang, a traceback of another kind or a memory blow-up.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import threading
import time

import numpy as np
import pytest

from model.data import readers as data_module
from model.data.decode import decode_image, image_header
from model.data.pictures import image_to_input, images_to_inputs
from model.data.preprocess import (
    MAX_IMAGE_PIXELS,
    MAX_POINTS_PER_DRAWING,
    MAX_POINTS_PER_STROKE,
    MAX_STROKES_PER_DRAWING,
    strokes_to_input,
)
from model.data.readers import (
    MAX_JSON_DEPTH,
    DataError,
    load_mnist_test,
    parse_stroke_bytes,
    png_bytes,
    read_idx,
    read_limited,
    read_pendigits,
    read_strokes,
)


def finishes(fn, seconds: float = 10.0):
    """Run ``fn`` on a thread; fail (instead of hanging the suite) if it takes longer than ``seconds``."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --- only regular files ------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "drawing.json"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="FIFO"):
        finishes(lambda: read_strokes(fifo))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused_without_reading_it():
    with pytest.raises(DataError, match="device"):
        finishes(lambda: read_limited("/dev/zero", 2**30, "image"))


def test_a_folder_and_an_oversized_file_are_refused(tmp_path):
    with pytest.raises(DataError, match="folder"):
        read_limited(tmp_path, 100)
    big = tmp_path / "big.png"
    big.write_bytes(b"x" * 101)
    with pytest.raises(DataError, match="limit"):
        read_limited(big, 100, "image")


# --- pictures ----------------------------------------------------------------------------------


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\x00\x00\x00\x00"


def test_pixel_limit_is_checked_in_the_header_before_decoding():
    assert image_header(_png_header(20000, 20000)) == ("PNG", 20000, 20000)
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="megapixels"):
        decode_image(_png_header(20000, 20000), "huge.png")
    assert time.perf_counter() - t0 < 5.0  # refused from the header at once; decoding 400 MP would take far longer
    side = int(MAX_IMAGE_PIXELS**0.5) + 1
    jpeg = b"\xff\xd8" + b"\xff\xe0\x00\x04ab" + b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", side, side) + b"\x03" + b"\x00" * 9
    assert image_header(jpeg) == ("JPEG", side, side)
    with pytest.raises(DataError, match="megapixels"):
        decode_image(jpeg, "huge.jpg")
    gif = b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00" * 10
    with pytest.raises(DataError, match="megapixels"):
        decode_image(gif, "huge.gif")
    bmp = b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, 60000, -60000) + b"\x00" * 30
    with pytest.raises(DataError, match="megapixels"):
        decode_image(bmp, "huge.bmp")


def test_unknown_formats_and_broken_headers_are_named():
    for raw, message in [
        (b"GIF8", "not a PNG"),
        (b"\x89PNG\r\n\x1a\n", "truncated"),
        (b"\xff\xd8\xff\xda", "no frame"),
        (b"\xff\xd8\x00", "truncated"),
        (b"RIFF....WEBP", "not a PNG"),
    ]:
        with pytest.raises(DataError, match=message):
            decode_image(raw, "x")


@pytest.mark.parametrize("shape", [(1, 5000), (5000, 1), (1, 1), (3000, 7)])
def test_thin_and_tiny_pictures_give_an_answer_or_none(shape):
    img = np.zeros(shape, np.uint8)
    img[shape[0] // 2, : max(1, shape[1] // 3)] = 255
    out = image_to_input(img)
    assert out is None or (out.shape == (28, 28) and np.isfinite(out).all())


def test_batched_preprocessing_equals_one_by_one(fixtures):
    x, _ = load_mnist_test(fixtures / "mnist")
    pictures = [x[i] for i in range(40)] + [255 - x[3], np.zeros((28, 28), np.uint8), np.dstack([x[5]] * 3)]
    batched = images_to_inputs(pictures)
    for picture, got in zip(pictures, batched):
        want = image_to_input(picture)
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, atol=1e-6)


# --- stroke documents --------------------------------------------------------------------------


def test_json_nesting_is_capped_before_parsing():
    deep = b"[" * 1_000_000 + b"]" * 1_000_000
    with pytest.raises(DataError, match="nested"):
        finishes(lambda: parse_stroke_bytes(deep, "deep.json"))
    ok = json.dumps({"strokes": [[[0, 0], [1, 1]]], "note": "[" * 100}).encode()  # brackets in strings don't count
    assert len(parse_stroke_bytes(ok)[0]) == 1
    nested = ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode()
    with pytest.raises(DataError, match=f"{MAX_JSON_DEPTH + 1} levels"):
        parse_stroke_bytes(nested)
    hostile = b'"' + b'\\"' * 200_000  # an unterminated string full of escapes: still a linear scan
    with pytest.raises(DataError):
        finishes(lambda: parse_stroke_bytes(hostile), 5.0)


def test_absurd_numbers_are_refused_with_a_message():
    for doc in [
        b'{"strokes": [[[1' + b"0" * 5000 + b", 2]]]}",
        b'{"strokes": [[[1' + b"0" * 400 + b", 2]]]}",
        b'{"strokes": [[[1e308, 0], [-1e308, 1]]]}',
        b'{"strokes": [[[1e999, 0]]]}',
    ]:
        with pytest.raises(DataError):
            parse_stroke_bytes(doc, "x.json")
    with pytest.raises(ValueError, match="out of range"):
        strokes_to_input([np.array([[-1e308, 0.0], [1e308, 1.0]])])


def test_a_million_point_stroke_is_thinned_keeping_its_shape(tmp_path):
    t = np.linspace(0, 2 * np.pi, 1_000_000)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1) * 100
    path = tmp_path / "circle.json"
    path.write_text(json.dumps({"strokes": [circle.round(4).tolist()]}))
    t0 = time.perf_counter()
    strokes, _ = read_strokes(path)
    assert len(strokes[0]) <= MAX_POINTS_PER_STROKE
    np.testing.assert_allclose(strokes[0][[0, -1]], circle[[0, -1]], atol=1e-3)  # ends kept
    thin = strokes_to_input(strokes)
    reference = strokes_to_input([circle[::1000]])
    assert time.perf_counter() - t0 < 30
    assert np.abs(thin - reference).mean() < 0.02  # the same ring


def test_drawing_caps():
    many = {"strokes": [[[i, 0], [i, 1]] for i in range(MAX_STROKES_PER_DRAWING + 1)]}
    with pytest.raises(DataError, match="strokes"):
        parse_stroke_bytes(json.dumps(many).encode())
    per = MAX_POINTS_PER_DRAWING // 10 + 100
    doc = {"strokes": [[[float(j), float(i)] for j in range(per)] for i in range(15)]}
    strokes, _ = parse_stroke_bytes(json.dumps(doc).encode())
    assert sum(len(s) for s in strokes) <= MAX_POINTS_PER_DRAWING
    assert len(strokes) == 15


def test_a_scribble_of_long_crossing_segments_stays_bounded():
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    out = strokes_to_input([rng.uniform(0, 1, size=(MAX_POINTS_PER_STROKE, 2))])
    assert out is not None and time.perf_counter() - t0 < 20


# --- data sets ---------------------------------------------------------------------------------


def _idx(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


def test_idx_count_mismatch_names_both_files(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(2051, (3, 28, 28), bytes(3 * 784)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(2049, (2,), bytes(2)))
    with pytest.raises(DataError, match="3 images.*2 labels"):
        load_mnist_test(tmp_path)


def test_truncated_gz_and_gz_bombs_are_refused(tmp_path, monkeypatch):
    whole = gzip.compress(_idx(2049, (1000,), bytes(1000)))
    cut = tmp_path / "t10k-labels-idx1-ubyte.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="truncated"):
        read_idx(cut)
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(_idx(2049, (10**6,), bytes(10**6))))
    monkeypatch.setattr(data_module, "MAX_IDX_BYTES", 10_000)
    with pytest.raises(DataError, match="more than"):
        read_idx(bomb)
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">II", 2051, 5) + b"\x00\x00")  # image magic, no rows/cols
    with pytest.raises(DataError, match="header"):
        read_idx(short)


@pytest.mark.parametrize(
    "text, line",
    [
        ('.SEGMENT DIGIT 0 ? "7"\n.COMMENT 7 12 3\n.PEN_DOWN\n 10 x\n.PEN_UP\n', 4),
        (".SEGMENT DIGIT 0 ? 7\n", 1),
        ('.SEGMENT DIGIT 0 ? "7"\n.COMMENT\n', 2),
        ('.SEGMENT DIGIT 0 ? "7"\n.COMMENT 7 abc 3\n', 2),
        ('.SEGMENT DIGIT 0 ? "7"\n.COMMENT 7 1 3\n.PEN_DOWN\n 10\n', 4),
        ('.SEGMENT DIGIT 0 ? "7"\n.COMMENT 7 1 3\n.PEN_DOWN\n nan 3\n', 4),
    ],
)
def test_bad_pendigits_lines_name_file_and_line(tmp_path, text, line):
    path = tmp_path / "p.tra"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"p\.tra:{line}: expected"):
        read_pendigits(path)


def test_png_writer_round_trips_through_the_decoder():
    img = (np.arange(28 * 28) % 256).astype(np.uint8).reshape(28, 28)
    decoded = decode_image(png_bytes(img), "x.png")
    np.testing.assert_array_equal(decoded[..., 0], img)


# --- model files: every archive member and every input bounded before work (issue 20) ----------


def _keras_zip(path, members: dict, compression=None):
    import zipfile

    with zipfile.ZipFile(path, "w", compression or zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_config_that_inflates_past_the_limit_is_refused_without_reading_it(tmp_path, monkeypatch):
    import tracemalloc

    from model.nets import loading

    monkeypatch.setattr(loading, "MAX_CONFIG_BYTES", 1_000_000)
    huge = b'{"class_name": "Sequential", "pad": "' + b"x" * 6_000_000 + b'"}'
    path = _keras_zip(tmp_path / "bomb.keras", {"config.json": huge, "metadata.json": b"{}"})
    assert path.stat().st_size < 100_000  # a small file...
    tracemalloc.start()
    with pytest.raises(loading.ModelError, match="config.json") as caught:
        loading._keras_config(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3_000_000  # ...never inflated to its 6 MB
    assert "\n" not in str(caught.value) and "refused" in str(caught.value)


def test_a_member_lying_about_its_size_is_read_only_to_the_limit(tmp_path, monkeypatch):
    import zipfile

    from model.nets import loading

    monkeypatch.setattr(loading, "MAX_CONFIG_BYTES", 1_000)
    path = _keras_zip(tmp_path / "liar.keras", {"config.json": b'{"a": "' + b"y" * 5000 + b'"}'})
    raw = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("config.json")
    # Patch the declared uncompressed size to 10 bytes, in the local header and the central directory.
    raw[info.header_offset + 22 : info.header_offset + 26] = struct.pack("<I", 10)
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = struct.pack("<I", 10)
    path.write_bytes(bytes(raw))
    with pytest.raises(loading.ModelError):
        loading._keras_config(path)


def test_a_high_ratio_member_and_a_huge_total_are_refused_before_unpacking(tmp_path, monkeypatch):
    from model.nets import loading

    config = json.dumps({"class_name": "Sequential", "config": {}}).encode()
    bomb = _keras_zip(tmp_path / "zeros.keras", {"config.json": config, "model.weights.h5": bytes(30_000_000)})
    with pytest.raises(loading.ModelError, match="zip bomb"):
        finishes(lambda: loading._keras_config(bomb))
    monkeypatch.setattr(loading, "MAX_ARCHIVE_BYTES", 1_000_000)
    rng = np.random.default_rng(0)
    big = _keras_zip(
        tmp_path / "big.keras",
        {"config.json": config, "a.bin": rng.bytes(600_000), "b.bin": rng.bytes(600_000)},
    )
    with pytest.raises(loading.ModelError, match="MiB"):
        loading._keras_config(big)


def test_an_h5_config_over_the_limit_is_refused(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    from model.nets import loading

    monkeypatch.setattr(loading, "MAX_CONFIG_BYTES", 100_000)
    for kind in ("fixed", "variable"):
        path = tmp_path / f"{kind}.h5"
        text = json.dumps({"class_name": "Sequential", "pad": "z" * 300_000})
        with h5py.File(path, "w", libver="latest") as f:
            f.attrs["model_config"] = np.bytes_(text) if kind == "fixed" else text
        with pytest.raises(loading.ModelError, match="model_config"):
            loading._h5_config(path)
    monkeypatch.setattr(loading, "MAX_ARCHIVE_BYTES", 10_000)
    with pytest.raises(loading.ModelError, match="MiB"):
        loading._h5_config(path)


@pytest.mark.slow
def test_a_model_input_over_1024_pixels_a_side_is_refused_at_load_naming_its_shape(tmp_path):
    import keras

    from model.nets.inference import MAX_INPUT_SIDE, ModelError, load_checked_model

    big = MAX_INPUT_SIDE * 2
    net = keras.Sequential([keras.Input((big, 16, 1)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    net.save(tmp_path / "wide.keras")
    with pytest.raises(ModelError, match=f"{big}, 16, 1"):
        load_checked_model(tmp_path / "wide.keras")


@pytest.mark.slow
def test_batch_memory_is_bounded_by_bytes_not_count(tmp_path):
    import keras

    from model.nets.inference import MAX_BATCH_BYTES, Predictor

    net = keras.Sequential(
        [
            keras.Input((512, 512, 1)),
            keras.layers.Conv2D(8, 3, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    net.save(tmp_path / "big_input.keras")
    predictor = Predictor(tmp_path / "big_input.keras", feature_maps=False)
    per_input = 4 * 512 * 512 * (1 + 8)
    assert predictor.rows_per_batch * per_input <= MAX_BATCH_BYTES
    seen = []
    prepare = predictor.prepare
    predictor.prepare = lambda x: seen.append(len(x)) or prepare(x)
    probs = predictor.predict_probabilities(np.zeros((40, 28, 28), np.float32), batch_size=256)
    assert probs.shape == (40, 10) and max(seen) * per_input <= MAX_BATCH_BYTES


@pytest.mark.parametrize("value", [[0, 1e300], [-1e300, 1e300], [0, 1e-9], [1e7, 1e7 + 1], "0-1e300"])
def test_an_overflowing_or_absurd_card_input_range_is_refused_with_a_message(tmp_path, value):
    from model.nets.card import parse_card, write_card_fields

    card = parse_card({"input_range": value})
    assert card.input_range is None and "input_range" in card.problems[0]
    if isinstance(value, list):
        with pytest.raises(ValueError, match="input_range"):
            write_card_fields(tmp_path / "m.keras", input_range=tuple(value))
