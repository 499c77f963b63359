"""Encoded pictures (PNG, JPEG, GIF, BMP) -> pixel arrays, with the size checked before decoding.

* :func:`image_header` reads format and size from the first bytes, so a 20000x20000 picture is
  refused (:func:`check_image`) before anything is decoded;
* :func:`decode_image` decodes one picture with TensorFlow's decoders (imported lazily, quietly);
* :func:`decode_images` decodes many: small PNGs and JPEGs go through one traced TensorFlow call
  per format instead of one eager call each, which is most of what batch ``predict`` spends on
  reading files. One result or one failure per picture, with the same messages as one by one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

from .preprocess import MAX_IMAGE_PIXELS

BATCH_DECODE_PIXELS = 1 << 20  # larger pictures are decoded one at a time (bounds memory)


def image_header(raw: bytes) -> tuple[str, int, int]:
    """``(format, width, height)`` read from a PNG, JPEG, GIF or BMP header, without decoding.

    Raises ``ValueError`` for any other format or a header that makes no sense.
    """
    import struct

    if raw[:8] == b"\x89PNG\r\n\x1a\n":
        if len(raw) < 24 or raw[12:16] != b"IHDR":
            raise ValueError("PNG header is truncated or has no IHDR chunk")
        w, h = struct.unpack(">II", raw[16:24])
        return "PNG", w, h
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        if len(raw) < 10:
            raise ValueError("GIF header is truncated")
        w, h = struct.unpack("<HH", raw[6:10])
        return "GIF", w, h
    if raw[:2] == b"BM":
        if len(raw) < 26:
            raise ValueError("BMP header is truncated")
        (size,) = struct.unpack("<I", raw[14:18])
        w, h = struct.unpack("<HH", raw[18:22]) if size == 12 else struct.unpack("<ii", raw[18:26])
        return "BMP", abs(w), abs(h)
    if raw[:2] == b"\xff\xd8":
        i = 2
        while i + 4 <= len(raw):
            if raw[i] != 0xFF:
                raise ValueError(f"JPEG marker expected at byte {i}")
            marker = raw[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
                i += 2
                continue
            if marker in (0xD9, 0xDA):
                raise ValueError("JPEG has no frame header (SOF) before its image data")
            (length,) = struct.unpack(">H", raw[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                if i + 9 > len(raw):
                    break
                h, w = struct.unpack(">HH", raw[i + 5 : i + 9])
                return "JPEG", w, h
            if length < 2:
                raise ValueError(f"JPEG segment at byte {i} has length {length}")
            i += 2 + length
        raise ValueError("JPEG header is truncated (no frame header found)")
    head = raw[:8]
    raise ValueError(f"not a PNG, JPEG, GIF or BMP image (it starts with {head!r})")


def gif_frames(raw: bytes) -> tuple[int, int]:
    """``(frames, pixels)`` of a GIF: how many images it holds and their total area, by walking its blocks.

    Stops quietly at the trailer or at anything malformed (the decoder reports that itself).
    """

    def table(packed: int) -> int:
        return 3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0

    def skip_sub_blocks(i: int) -> int:
        while i < len(raw) and raw[i]:
            i += raw[i] + 1
        return i + 1

    if len(raw) < 13:
        return 0, 0
    i = 13 + table(raw[10])
    frames = pixels = 0
    while i < len(raw):
        block = raw[i]
        if block == 0x21:  # extension: label, then data sub-blocks
            i = skip_sub_blocks(i + 2)
        elif block == 0x2C and i + 10 <= len(raw):  # image descriptor
            w, h = int.from_bytes(raw[i + 5 : i + 7], "little"), int.from_bytes(raw[i + 7 : i + 9], "little")
            frames, pixels = frames + 1, pixels + w * h
            i = skip_sub_blocks(i + 10 + table(raw[i + 9]) + 1)
        else:  # 0x3B trailer, or something malformed
            break
    return frames, pixels


def check_image(raw: bytes, source: str = "<image>") -> tuple[str, int, int]:
    """``(format, width, height)`` of encoded picture bytes that may be decoded; ``DataError`` naming ``source`` if not.

    Refuses empty bytes, unknown formats, nonsense headers and pictures over ``MAX_IMAGE_PIXELS``
    (for a GIF, all its frames together), all without decoding.
    """
    from .readers import DataError

    if not raw:
        raise DataError(f"{source} is empty (0 bytes); expected a PNG or JPEG image.")
    try:
        fmt, w, h = image_header(raw)
    except ValueError as exc:
        raise DataError(f"{source}: {exc}") from None
    if w < 1 or h < 1:
        raise DataError(f"{source}: the {fmt} header says {w}x{h} pixels; nothing to read.")
    if w * h > MAX_IMAGE_PIXELS:
        raise DataError(
            f"{source} is a {w}x{h} {fmt} ({w * h / 1e6:.1f} megapixels); the limit is "
            f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels. Scale it down first."
        )
    if fmt == "GIF":
        frames, pixels = gif_frames(raw)
        if pixels > MAX_IMAGE_PIXELS:  # the decoder expands every frame of an animation first
            raise DataError(
                f"{source} is a GIF of {frames} frames holding {pixels / 1e6:.1f} megapixels in all; the limit is "
                f"{MAX_IMAGE_PIXELS / 1e6:g} megapixels."
            )
    return fmt, w, h


def _tf():
    from model.nets.tf_runtime import import_tensorflow

    return import_tensorflow()


def _decoder_message(exc: BaseException) -> str:
    """TensorFlow's error, without its ``{{function_node ...}}`` prefix and ``[Op:DecodePng]`` suffix."""
    message = str(getattr(exc, "message", exc)).splitlines()[0]
    message = message.split("}}", 1)[-1].strip() or message
    return re.sub(r"\s*\[Op:\w+\]$", "", message)


def decode_image(raw: bytes, source: str = "<image>") -> np.ndarray:
    """Decode PNG/JPEG/GIF/BMP bytes into an ``(h, w, c)`` uint8 array.

    The size in the header is checked (:func:`check_image`) before anything is decoded.
    Uses TensorFlow's decoders (imported here, quietly and lazily) so the core needs no imaging
    library. Raises ``model.data.DataError`` naming ``source`` when the bytes cannot be used.
    """
    from .readers import DataError

    fmt, _, _ = check_image(raw, source)
    tf = _tf()
    try:
        if fmt == "PNG":  # the format-specific ops skip decode_image's dispatch (a third of the cost)
            decoded = tf.io.decode_png(raw, channels=0, dtype=tf.uint8)
        elif fmt == "JPEG":
            decoded = tf.io.decode_jpeg(raw, channels=0)
        else:
            decoded = tf.io.decode_image(raw, channels=0, expand_animations=False, dtype=tf.uint8)
    except (tf.errors.OpError, ValueError) as exc:
        raise DataError(f"{source} is not a readable {fmt} image: {_decoder_message(exc)}") from None
    return decoded.numpy()


@functools.cache
def _batch_decoder(fmt: str):
    """A traced function: a 1-D string tensor of ``fmt`` pictures -> (all pixels, flat; ``(n, 3)`` shapes)."""
    tf = _tf()
    decode = (
        (lambda r: tf.io.decode_png(r, channels=0, dtype=tf.uint8))
        if fmt == "PNG"
        else (lambda r: tf.io.decode_jpeg(r, channels=0))
    )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def decode_many(raws):
        n = tf.shape(raws)[0]

        def body(i, flat, shapes):
            picture = decode(raws[i])
            return i + 1, flat.write(i, tf.reshape(picture, [-1])), shapes.write(i, tf.shape(picture))

        _, flat, shapes = tf.while_loop(
            lambda i, *_: i < n,
            body,
            [
                tf.constant(0),
                tf.TensorArray(tf.uint8, size=n, infer_shape=False, element_shape=[None]),
                tf.TensorArray(tf.int32, size=n, element_shape=[3]),
            ],
            parallel_iterations=16,
        )
        return flat.concat(), shapes.stack()

    return decode_many


def _decode_together(fmt: str, raws: list[bytes]) -> list[np.ndarray]:
    flat, shapes = _batch_decoder(fmt)(_tf().constant(raws))
    flat, shapes = flat.numpy(), shapes.numpy()
    ends = np.cumsum(shapes.prod(axis=1))
    return [part.reshape(shape) for part, shape in zip(np.split(flat, ends[:-1]), shapes)]


def decode_images(raws: Sequence[bytes], sources: Sequence[str]) -> list:
    """Many encoded pictures -> one ``(h, w, c)`` uint8 array or one exception per picture, in order.

    Each is checked as :func:`decode_image` does; PNGs and JPEGs of at most ``BATCH_DECODE_PIXELS``
    are decoded together, one TensorFlow call per format. If that call fails (one corrupt file
    spoils it), that format's pictures are decoded one by one, so each failure names its own file.
    """
    results: list = [None] * len(raws)
    together: dict[str, list[int]] = {"PNG": [], "JPEG": []}
    for i, (raw, source) in enumerate(zip(raws, sources)):
        try:
            fmt, w, h = check_image(raw, source)
            if fmt in together and w * h <= BATCH_DECODE_PIXELS:
                together[fmt].append(i)
            else:
                results[i] = decode_image(raw, source)
        except Exception as exc:  # noqa: BLE001 - one picture's failure is its own
            results[i] = exc
    for fmt, members in together.items():
        if not members:
            continue
        try:
            decoded = _decode_together(fmt, [raws[i] for i in members])
        except Exception:  # noqa: BLE001 - find the culprit(s) one by one, with their own messages
            decoded = []
            for i in members:
                try:
                    decoded.append(decode_image(raws[i], sources[i]))
                except Exception as exc:  # noqa: BLE001
                    decoded.append(exc)
        for i, picture in zip(members, decoded):
            results[i] = picture
    return results
