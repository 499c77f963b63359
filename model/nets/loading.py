"""Loading a model file safely: its config checked for code and every size bounded before Keras reads it.

``load_checked_model`` refuses, with a ``ModelError`` that says what was found and what to do,
anything the app cannot use or should not open: a file that is not a ``.keras`` (zip) or legacy
``.h5`` model, archive members or configs past the limits below (README, "Limits"), Lambda layers
and classes from outside Keras (they carry Python code), and models that are not one grey-image
input to one score per class. ``Predictor`` (``model/nets/inference.py``) loads through it.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .tf_runtime import import_tensorflow

MIN_SIDE = 8  # smaller inputs cannot hold a recognisable digit
UNSAFE_CLASSES = {"Lambda", "TFOpLambda"}  # they carry Python code in the file
KERAS_PACKAGES = {"keras", "keras_hub", "keras_cv", "keras_nlp"}
# What a model file may hold, checked before any of it is unpacked or parsed (README, "Limits"):
# a digit model is a few megabytes; these bounds are hundreds of times that.
MAX_CONFIG_BYTES = 8 * 1024 * 1024  # config.json (or an .h5's model_config): the bundled one is ~10 KB
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # a .keras file's members, uncompressed, summed (an .h5 file's size)
MAX_ARCHIVE_MEMBERS = 1000
MAX_COMPRESSION_RATIO = 100  # weights barely compress; a member inflating more than this is a zip bomb
RATIO_CHECKED_FROM = 1024 * 1024  # ...when it inflates past a megabyte (small JSON compresses well and is harmless)
MAX_INPUT_SIDE = 1024  # a model's input at most 1024x1024 pixels: a 28x28 drawing holds no more


class ModelError(ValueError):
    """A model the app cannot use; the message says what was found and what to do."""


# --- checking and loading ---------------------------------------------------------------------


def _unsafe_entry(config) -> str | None:
    """The first Lambda layer or non-Keras class in a model config (decoded JSON), described; else ``None``."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = item.get("class_name")
            if name in UNSAFE_CLASSES:
                inner = item.get("config")
                layer = inner.get("name") if isinstance(inner, dict) else None
                return f"a {name} layer ({layer!r}), which runs Python code stored in the file"
            module, registered = item.get("module"), item.get("registered_name")
            if isinstance(module, str) and module and module.split(".")[0] not in KERAS_PACKAGES | {"builtins"}:
                return f"a custom class {name!r} from module {module!r}, whose code is not part of Keras"
            if isinstance(registered, str) and ">" in registered and not registered.startswith("keras"):
                return f"a custom class {registered!r}, whose code is not part of Keras"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _reject_unsafe(config, path: Path) -> None:
    """Refuse code in the model before Keras deserialises anything (the legacy .h5 loader would run it)."""
    found = _unsafe_entry(config)
    if found:
        raise ModelError(
            f"{path} contains {found}; refused, as such a file can run arbitrary code. "
            f"Rebuild the model from built-in Keras layers and save it with model.save('name.keras')."
        )


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MiB"


def _check_members(path: Path, infos: list) -> None:
    """Refuse an archive whose declared sizes exceed the bounds, before any member is unpacked."""
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise ModelError(f"{path} holds {len(infos):,} files; a Keras model holds a few (at most {MAX_ARCHIVE_MEMBERS:,}).")
    total = sum(info.file_size for info in infos)
    if total > MAX_ARCHIVE_BYTES:
        raise ModelError(
            f"{path} unpacks to {_mib(total)}; models larger than {_mib(MAX_ARCHIVE_BYTES)} are refused "
            f"(a digit model is a few MiB)."
        )
    for info in infos:
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise ModelError(
                f"{path}: member {info.filename!r} inflates {info.compress_size:,} bytes to {info.file_size:,} "
                f"(more than {MAX_COMPRESSION_RATIO}x); refused as a zip bomb."
            )
    config = next((info for info in infos if info.filename == "config.json"), None)
    if config is not None and config.file_size > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: config.json is {_mib(config.file_size)}; configs over {_mib(MAX_CONFIG_BYTES)} are refused.")


def _keras_config(path: Path) -> dict:
    """The decoded ``config.json`` of a ``.keras`` archive, every member bounded before any is unpacked."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is corrupt or not a Keras model: a .keras file is a zip archive, this is not.")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {info.filename for info in infos}
            if "config.json" not in names:
                raise ModelError(f"{path} is not a Keras model: it has no config.json (found {sorted(names)[:5]}).")
            _check_members(path, infos)
            # A member can lie about its size: read at most one byte past the limit.
            with zf.open("config.json") as f:
                data = f.read(MAX_CONFIG_BYTES + 1)
            if len(data) > MAX_CONFIG_BYTES:
                raise ModelError(f"{path}: config.json inflates past {_mib(MAX_CONFIG_BYTES)}; refused.")
            bad = zf.testzip()  # after the bounds: it inflates every member (in chunks)
            if bad is not None:
                raise ModelError(f"{path} is corrupt: member {bad!r} fails its checksum.")
            config = json.loads(data)
            if not isinstance(config, dict):
                raise ModelError(f"{path} is corrupt: its config.json holds a {type(config).__name__}, not a model's settings.")
            return config
    except (zipfile.BadZipFile, OSError, ValueError, RecursionError, EOFError, NotImplementedError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path} is corrupt: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc


def _h5_config(path: Path) -> dict:
    """The decoded ``model_config`` of a legacy ``.h5`` file, its size bounded before it is read."""
    import h5py

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from exc
    if size > MAX_ARCHIVE_BYTES:  # an attribute's text lies inside the file: bounded by it
        raise ModelError(f"{path} is {_mib(size)}; models larger than {_mib(MAX_ARCHIVE_BYTES)} are refused.")
    try:
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                text = None
            else:
                attr = f.attrs.get_id("model_config")
                declared = attr.get_storage_size()
                if declared > MAX_CONFIG_BYTES:
                    raise ModelError(
                        f"{path}: its model_config is {_mib(declared)}; configs over {_mib(MAX_CONFIG_BYTES)} are refused."
                    )
                text = f.attrs["model_config"]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{path} is corrupt or not an HDF5 file: {exc}") from exc
    if text is None:
        raise ModelError(f"{path} holds only weights, no model. Save the whole model with model.save('name.keras').")
    if isinstance(text, np.ndarray) and text.size == 1:
        text = text.reshape(()).item()
    if not isinstance(text, (str, bytes)):
        raise ModelError(f"{path} has a model_config that is not text ({type(text).__name__}).")
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: its model_config is {_mib(len(text))}; configs over {_mib(MAX_CONFIG_BYTES)} are refused.")
    try:
        return json.loads(text.decode() if isinstance(text, bytes) else text)
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"{path} has an unreadable model config: {exc}") from exc


def _check_path(path: Path) -> str:
    """``"keras"`` or ``"h5"``; raises ``ModelError`` for anything else, saying what to do."""
    if not path.exists():
        raise ModelError(f"Model file not found: {path}")
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            raise ModelError(
                f"{path} is a TensorFlow SavedModel folder; Keras 3 loads it only as an inference layer "
                f"(keras.layers.TFSMLayer), which the app cannot look inside. Convert it: load it with the Keras/TensorFlow "
                f"version that made it and run model.save('{path.name}.keras'), then open that file."
            )
        raise ModelError(f"{path} is a folder; expected a .keras (or legacy .h5) model file.")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return "keras"
    if suffix in {".h5", ".hdf5"}:
        return "h5"
    raise ModelError(f"{path} is not a .keras (Keras 3) or .h5 (legacy Keras) model file; got suffix {path.suffix!r}.")


def load_checked_model(path: str | os.PathLike):
    """Load a ``.keras`` or legacy ``.h5`` model safely and check it can be fed grey images.

    The config is checked for code before Keras deserialises it; then one input of shape
    ``(h, w)`` or ``(h, w, 1)`` with ``h, w >= 8`` (or unknown), and one output of ``(classes,)``
    with at least 2 classes. Raises ``ModelError`` naming what was found and what to do.
    """
    path = Path(path)
    fmt = _check_path(path)
    _reject_unsafe(_keras_config(path) if fmt == "keras" else _h5_config(path), path)
    import_tensorflow()  # quietly, before Keras imports it (model/tf_runtime.py)
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # corrupt weights, unknown layer classes, ...
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{path} cannot be loaded as a Keras model: {text}") from exc
    if not isinstance(model, keras.Model) or not model.inputs:
        raise ModelError(f"{path} holds a {type(model).__name__}, not a built Keras model with a defined input.")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(f"{path} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; expected one of each.")
    shape = tuple(model.inputs[0].shape[1:])
    grey = len(shape) == 2 or (len(shape) == 3 and shape[2] == 1)
    if not grey or any(d is not None and d < MIN_SIDE for d in shape[:2]):
        raise ModelError(
            f"{path} expects input {('None',) + shape}; this app feeds one grey image: (None, h, w) or "
            f"(None, h, w, 1) with h, w >= {MIN_SIDE}, e.g. (None, 28, 28, 1)."
        )
    if any(d is not None and d > MAX_INPUT_SIDE for d in shape[:2]):
        raise ModelError(
            f"{path} expects input {('None',) + shape}; inputs larger than {MAX_INPUT_SIDE}x{MAX_INPUT_SIDE} pixels "
            f"are refused (a 28x28 drawing holds no more detail); save a model with a smaller input, e.g. (None, 28, 28, 1)."
        )
    out_shape = tuple(model.outputs[0].shape[1:])
    if len(out_shape) != 1 or out_shape[0] is None or out_shape[0] < 2:
        raise ModelError(
            f"{path} outputs {('None',) + out_shape}; expected one score per class, (None, classes) with at "
            f"least 2 classes, e.g. (None, 10) for the digits."
        )
    return model
