"""The window's remembered state (QSettings), read defensively.

A settings file is user data that outlives versions of the app and can be edited or corrupted by
hand: every value is checked for its type and shape before use, and a wrong one is ignored (the
default is used, and the next save replaces it). Nothing read here can stop the app starting.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from model.data.paths import APPLICATION, ORGANIZATION  # the one place the app's names are set


class WindowSettings:
    """Typed, fail-safe access to the app's ``QSettings``."""

    def __init__(self) -> None:
        self.qsettings = QSettings(ORGANIZATION, APPLICATION)

    def _value(self, key: str):
        try:
            return self.qsettings.value(key)
        except Exception:  # a value Qt cannot even turn into a Python object
            return None

    def bytes(self, key: str) -> QByteArray | None:
        """A binary blob (``saveGeometry``/``saveState``), or ``None`` if absent or not bytes."""
        value = self._value(key)
        if isinstance(value, QByteArray) and not value.isEmpty():
            return value
        if isinstance(value, (bytes, bytearray)) and value:
            return QByteArray(bytes(value))
        return None

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._value(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        return default

    def directory(self, key: str) -> str:
        """A remembered folder that still exists, else the home folder."""
        value = self._value(f"dirs/{key}")
        if isinstance(value, str) and value:
            try:
                if Path(value).is_dir():
                    return value
            except (OSError, ValueError):
                pass
        return str(Path.home())

    def remember_directory(self, key: str, path: str | Path) -> None:
        self.qsettings.setValue(f"dirs/{key}", str(Path(path).parent))

    def set(self, key: str, value) -> None:
        self.qsettings.setValue(key, value)

    def remove(self, key: str) -> None:
        self.qsettings.remove(key)

    def sync(self) -> None:
        self.qsettings.sync()


def restore_geometry(widget, data: QByteArray | None) -> bool:
    """``widget.restoreGeometry(data)``, where a garbage blob is simply not restored."""
    if data is None:
        return False
    try:
        return bool(widget.restoreGeometry(data))
    except (TypeError, ValueError):
        return False


def restore_state(splitter, data: QByteArray | None) -> bool:
    """``splitter.restoreState(data)``, where a garbage blob is simply not restored."""
    if data is None:
        return False
    try:
        return bool(splitter.restoreState(data))
    except (TypeError, ValueError):
        return False
