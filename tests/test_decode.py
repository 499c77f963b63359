"""Decoding many pictures at once gives exactly what decoding them one by one gives, failures included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.data.decode import decode_image, decode_images
from model.data.readers import DataError, png_bytes

IMAGES = Path(__file__).parent / "fixtures" / "images"


def _fixture_bytes() -> list[tuple[str, bytes]]:
    files = sorted(IMAGES.iterdir())
    assert any(f.suffix == ".jpg" for f in files) and any(f.suffix == ".png" for f in files)
    return [(f.name, f.read_bytes()) for f in files]


def test_together_equals_one_by_one_for_every_fixture_format():
    named = _fixture_bytes()
    together = decode_images([raw for _, raw in named], [name for name, _ in named])
    for (name, raw), picture in zip(named, together):
        alone = decode_image(raw, name)
        assert isinstance(picture, np.ndarray), name
        assert picture.shape == alone.shape and picture.dtype == np.uint8, name
        assert np.array_equal(picture, alone), name


def test_one_corrupt_picture_fails_alone_with_its_own_message():
    rng = np.random.default_rng(0)
    good = [png_bytes(rng.integers(0, 256, (28 + i, 20 + 2 * i), dtype=np.uint8)) for i in range(5)]
    truncated = good[2][:60]  # a PNG header, then the data stops
    raws = [good[0], truncated, good[1], b"", b"GIF89a", good[3], b"not an image at all", good[4]]
    names = [f"f{i}.png" for i in range(len(raws))]
    results = decode_images(raws, names)
    assert len(results) == len(raws)
    for i, (raw, result) in enumerate(zip(raws, results)):
        if raw in good:
            assert np.array_equal(result, decode_image(raw, names[i]))
        else:
            assert isinstance(result, DataError), (i, result)
            with pytest.raises(DataError) as alone:
                decode_image(raw, names[i])
            assert str(result) == str(alone.value)
            assert names[i] in str(result)


def test_pictures_of_different_sizes_and_channels_keep_their_shapes():
    from model.nets.tf_runtime import import_tensorflow

    tf = import_tensorflow()
    rgb = np.dstack([np.full((9, 7), v, np.uint8) for v in (10, 20, 30)])
    rgba = np.dstack([rgb, np.full((9, 7), 200, np.uint8)])
    grey = np.arange(12 * 5, dtype=np.uint8).reshape(12, 5, 1)
    raws = [tf.io.encode_png(a).numpy() for a in (rgb, grey, rgba)]
    raws.append(tf.io.encode_jpeg(rgb, quality=100).numpy())
    out = decode_images(raws, ["rgb.png", "grey.png", "rgba.png", "rgb.jpg"])
    assert [o.shape for o in out] == [(9, 7, 3), (12, 5, 1), (9, 7, 4), (9, 7, 3)]
    assert np.array_equal(out[0], rgb) and np.array_equal(out[1], grey) and np.array_equal(out[2], rgba)
    assert np.abs(out[3].astype(int) - rgb).max() <= 2
