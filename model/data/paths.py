"""Where the app keeps the user's things, without Qt.

``user_data_dir()`` is the folder Qt calls ``QStandardPaths.AppDataLocation`` for this app
(organisation ``digit-recognizer``, application ``Digit Recognizer``), computed the same way so the
command line and the window agree without the core importing Qt (``tests/test_paths.py`` checks
that they do). ``DIGIT_RECOGNIZER_DATA`` overrides it (tests, portable installs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ORGANIZATION = "digit-recognizer"
APPLICATION = "Digit Recognizer"
# resources/ beside model/ (source tree, frozen app); inside the package when installed as a wheel.
RESOURCES = next(
    (
        p
        for p in (Path(__file__).resolve().parents[2] / "resources", Path(__file__).resolve().parents[1] / "resources")
        if p.is_dir()
    ),
    Path(__file__).resolve().parents[2] / "resources",
)
BUNDLED_MODEL = RESOURCES / "mnist_cnn.keras"
BUNDLED_MLP = RESOURCES / "mnist_mlp.keras"


def user_data_dir() -> Path:
    """The app's per-user data folder (not created here)."""
    override = os.environ.get("DIGIT_RECOGNIZER_DATA")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / ORGANIZATION / APPLICATION


def default_mnist_dir() -> Path | None:
    """Where MNIST's IDX files are when no ``--data`` is given: ``$DIGIT_RECOGNIZER_MNIST``, else the
    development layout's ``../shared/data/mnist`` beside the project; ``None`` if neither holds them."""
    candidates = [os.environ.get("DIGIT_RECOGNIZER_MNIST"), RESOURCES.parent.parent / "shared" / "data" / "mnist"]
    for c in candidates:
        if c and any((Path(c) / f"train-labels-idx1-ubyte{ext}").is_file() for ext in ("", ".gz")):
            return Path(c)
    return None


def user_cache_dir() -> Path:
    """The app's per-user cache folder (Qt's ``CacheLocation``; not created here): things that can be recomputed.

    ``DIGIT_RECOGNIZER_CACHE`` overrides it; else beside the data folder's platform convention.
    """
    override = os.environ.get("DIGIT_RECOGNIZER_CACHE")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / ORGANIZATION / APPLICATION / "cache"
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / ORGANIZATION / APPLICATION


def models_dir() -> Path:
    """Where trained and fine-tuned models go by default."""
    return user_data_dir() / "models"


def handwriting_dir() -> Path:
    """Where the user's labelled drawings are stored (stroke JSON files with a ``"label"`` key)."""
    return user_data_dir() / "handwriting"


def is_bundled(path: str | os.PathLike) -> bool:
    """True if ``path`` is one of the models shipped in ``resources/`` (never to be overwritten)."""
    try:
        p = Path(path).resolve()
    except OSError:
        return False
    return p in (BUNDLED_MODEL.resolve(), BUNDLED_MLP.resolve())
