"""The data folder is named once, Qt and the core agree on it, and an earlier version's folder moves in."""

from __future__ import annotations

import sys

import pytest

from model.data import paths


@pytest.fixture
def fresh_base(tmp_path, monkeypatch):
    monkeypatch.delenv("DIGIT_RECOGNIZER_DATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path))
    monkeypatch.setattr(paths, "_migrated", set())
    return tmp_path


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS ignores XDG_DATA_HOME; the same rule is checked elsewhere")
def test_the_data_folder_is_named_once_and_qt_agrees(fresh_base):
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    from gui.app import make_app

    app = make_app()
    before = app.applicationName(), app.organizationName()
    try:
        make_app()
        qt = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    finally:
        QCoreApplication.setApplicationName(before[0])
        QCoreApplication.setOrganizationName(before[1])
    assert paths.user_data_dir() == fresh_base / "digit-recognizer"
    assert qt.rstrip("/\\").replace("\\", "/") == str(paths.user_data_dir()).replace("\\", "/")
    assert paths.handwriting_dir() == fresh_base / "digit-recognizer" / "handwriting"


def test_an_earlier_versions_folder_moves_in_and_no_drawing_is_lost(fresh_base):
    old = fresh_base / "digit-recognizer" / "Digit Recognizer"
    (old / "handwriting" / "3").mkdir(parents=True)
    (old / "handwriting" / "3" / "a.json").write_text('{"label": 3}')
    (old / "models").mkdir()
    (old / "models" / "personal.keras").write_bytes(b"model")
    new = paths.user_data_dir()
    assert (new / "handwriting" / "3" / "a.json").read_text() == '{"label": 3}'
    assert (new / "models" / "personal.keras").read_bytes() == b"model"
    assert not old.exists()


def test_a_name_taken_in_the_new_folder_is_merged_never_overwritten(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    (old / "handwriting").mkdir(parents=True)
    (old / "handwriting" / "a.json").write_text("old a")
    (old / "handwriting" / "b.json").write_text("old b")
    (new / "handwriting").mkdir(parents=True)
    (new / "handwriting" / "a.json").write_text("new a")
    moved = paths.migrate_data_dir(old, new)
    assert (new / "handwriting" / "a.json").read_text() == "new a"  # never overwritten
    assert (new / "handwriting" / "b.json").read_text() == "old b"
    assert (old / "handwriting" / "a.json").read_text() == "old a"  # left where it was, not lost
    assert moved == [new / "handwriting" / "b.json"]


def test_the_override_wins_and_moves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path / "portable"))
    assert paths.user_data_dir() == tmp_path / "portable"
