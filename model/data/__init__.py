"""Strokes and files in: readers with limits, image decoding, ``strokes_to_input``, the user's store.

``readers``     MNIST IDX, pendigits, stroke JSON; bounded reads, atomic writes.
``decode``      PNG/JPEG headers checked, then decoded a batch per TensorFlow call.
``pictures``    any image or stroke file -> the network's 28x28 input.
``preprocess``  ``strokes_to_input``: the one pure function from strokes to the input; the limits.
``handwriting`` the user's labelled drawings on disk.
``segment``     a written number's strokes grouped into digits, and the reading the network is surest of.
``nondigits``   synthetic non-digits (scribbles, shapes, letters) as strokes, for thresholds.
``paths``       user folders and bundled resources (no Qt).

The names of ``readers`` are importable from this package too (``from model.data import read_idx``),
the path they had before the rooms.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    readers = importlib.import_module(f"{__name__}.readers")
    try:
        return getattr(readers, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
