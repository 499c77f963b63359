"""Where the app keeps the user's things, without Qt.

``user_data_dir()`` is the folder Qt calls ``QStandardPaths.AppDataLocation`` for this app
(application name ``digit-recognizer``, no organisation: the folder is named once, e.g.
``~/.local/share/digit-recognizer``), computed the same way so the command line and the window
agree without the core importing Qt (``tests/test_paths.py`` checks that they do).
``DIGIT_RECOGNIZER_DATA`` overrides it (tests, portable installs).

Earlier versions kept the data one level deeper, in ``digit-recognizer/Digit Recognizer``: the
first call of ``user_data_dir()`` moves what is there up into the new folder (nothing is
overwritten; a name already taken in the new folder is left where it was), so no drawing is lost.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# QSettings' names (the settings file keeps its place); the data folder is DATA_FOLDER.
ORGANIZATION = "digit-recognizer"
APPLICATION = "Digit Recognizer"
DATA_FOLDER = "digit-recognizer"  # = the QApplication's applicationName, with no organisationName
LEGACY_FOLDER = (ORGANIZATION, APPLICATION)  # where earlier versions kept it, below the same base
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


def _data_base() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


_migrated: set[Path] = set()


def user_data_dir() -> Path:
    """The app's per-user data folder (not created here; an earlier version's folder is moved in)."""
    override = os.environ.get("DIGIT_RECOGNIZER_DATA")
    if override:
        return Path(override)
    base = _data_base()
    new = base / DATA_FOLDER
    if new not in _migrated:
        _migrated.add(new)
        migrate_data_dir(base.joinpath(*LEGACY_FOLDER), new)
    return new


def migrate_data_dir(old: Path, new: Path) -> list[Path]:
    """Move everything in ``old`` into ``new`` (which may hold ``old``), never overwriting; returns what moved.

    Folders present in both are merged file by file. Whatever cannot be moved (a name taken, a
    permission) stays in ``old``, which is removed only once empty. Never raises: a failed move
    leaves the data where it was, still readable by hand.
    """
    moved: list[Path] = []
    try:
        if not old.is_dir() or old.resolve() == new.resolve():
            return moved
        new.mkdir(parents=True, exist_ok=True)
        for item in sorted(old.iterdir()):
            target = new / item.name
            if not target.exists():
                os.replace(item, target)  # same file system (a sibling folder): a rename
                moved.append(target)
            elif item.is_dir() and target.is_dir():
                moved.extend(migrate_data_dir(item, target))
        if not any(old.iterdir()):
            old.rmdir()
    except OSError:
        pass
    return moved


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
