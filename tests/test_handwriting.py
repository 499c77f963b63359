"""The store of the user's labelled drawings: files `predict`/`evaluate` read, counts, delete, relabel, import/export."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from model.data.handwriting import HandwritingStore, read_labelled_folder
from model.data.readers import DataError, read_strokes
from model.training.tune import holdout_split

SEVEN = [np.array([[0.2, 0.2], [0.8, 0.2], [0.4, 0.9]])]


def test_default_folder_follows_the_data_override(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))
    assert HandwritingStore().folder == tmp_path / "handwriting"


def test_added_drawing_is_a_labelled_stroke_file(tmp_path):
    store = HandwritingStore(tmp_path)
    path = store.add(SEVEN, 7)
    strokes, label = read_strokes(path)
    assert label == 7
    np.testing.assert_allclose(strokes[0], SEVEN[0])
    assert json.loads(path.read_text())["label"] == 7
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_counts_per_digit(tmp_path):
    store = HandwritingStore(tmp_path)
    for label in (7, 7, 1):
        store.add(SEVEN, label)
    counts = store.counts()
    assert counts[7] == 2 and counts[1] == 1 and sum(counts.values()) == 3
    assert set(counts) == set(range(10))


@pytest.mark.parametrize("label", [-1, 10, 3.0, True, "4"])
def test_refuses_a_label_that_is_not_a_digit(tmp_path, label):
    with pytest.raises(ValueError, match="0-9"):
        HandwritingStore(tmp_path).add(SEVEN, label)


def test_refuses_an_empty_drawing(tmp_path):
    with pytest.raises(ValueError, match="nothing is drawn"):
        HandwritingStore(tmp_path).add([], 3)
    assert not list(tmp_path.iterdir())


def test_delete_and_relabel(tmp_path):
    store = HandwritingStore(tmp_path)
    a, b = store.add(SEVEN, 7), store.add(SEVEN, 1)
    new = store.relabel(b, 4)
    assert read_strokes(new)[1] == 4 and not b.exists()
    store.delete(a)
    assert [d.label for d in store.drawings()] == [4]


def test_will_not_touch_files_outside_its_folder(tmp_path):
    store = HandwritingStore(tmp_path / "hw")
    outside = tmp_path / "precious.json"
    outside.write_text('{"strokes": [], "label": 1}')
    with pytest.raises(ValueError, match="not in the handwriting folder"):
        store.delete(outside)
    assert outside.exists()


def test_export_then_import_round_trip(tmp_path, fixtures):
    store = HandwritingStore(tmp_path / "a")
    count, problems = store.import_folder(fixtures / "strokes")
    assert count == 30 and problems == []
    assert store.counts() == {d: 3 for d in range(10)}
    assert store.export_folder(tmp_path / "out") == 30
    other = HandwritingStore(tmp_path / "b")
    assert other.import_folder(tmp_path / "out")[0] == 30
    assert other.counts() == store.counts()


def test_import_names_the_files_it_skipped(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.json").write_text('{"strokes": [[[0, 0], [1, 1]]], "label": 2}')
    (src / "nolabel.json").write_text('{"strokes": [[[0, 0], [1, 1]]]}')
    (src / "broken.json").write_text("{")
    drawings, problems = read_labelled_folder(src)
    assert [d.label for d in drawings] == [2]
    assert any("nolabel.json" in p and "no label" in p for p in problems)
    assert any("broken.json" in p for p in problems)


def test_holdout_is_every_fifth_drawing_of_each_digit():
    labels = [1] * 10 + [2] * 4
    tune, held = holdout_split(labels)
    assert list(held) == [4, 9]  # the 5th and 10th "1"; the four "2"s are all tuned on
    assert sorted([*tune, *held]) == list(range(14))


# --- nothing lost, nothing silent (issue 20) ----------------------------------------------------


def _unlabelled(path, strokes=SEVEN):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"strokes": [[list(map(float, p)) for p in s] for s in strokes]}))
    return path


def test_delete_in_a_class_folder_works_and_can_be_undone(tmp_path):
    store = HandwritingStore(tmp_path)
    three = _unlabelled(tmp_path / "3" / "a.json")
    assert [d.label for d in store.drawings()] == [3]
    data = store.delete(three)
    assert not three.exists() and store.drawings() == []
    store.restore(three, data)
    assert [d.label for d in store.drawings()] == [3]
    store.delete(three)
    with pytest.raises(FileNotFoundError):
        store.delete(three)  # already gone: said, not silently ignored


def test_relabel_refuses_a_file_changed_on_disk_and_shortens_long_names(tmp_path):
    store = HandwritingStore(tmp_path)
    path = store.add(SEVEN, 7)
    path.write_text("not a drawing any more")
    with pytest.raises(DataError):
        store.relabel(path, 1)
    for length in (246, 250, 255):
        long = _unlabelled(tmp_path / ("x" * (length - 5) + ".json"))
        new = store.relabel(long, 2)
        assert len(os.fsencode(new.name)) <= 255 and read_strokes(new)[1] == 2 and not long.exists()


def test_counts_survive_a_file_deleted_by_another_window(tmp_path, monkeypatch):
    import model.data.handwriting as handwriting

    store = HandwritingStore(tmp_path)
    a, _ = store.add(SEVEN, 7), store.add(SEVEN, 1)
    listed = handwriting.read_labelled_folder

    def then_deleted(folder, **kwargs):
        found = listed(folder, **kwargs)
        a.unlink()  # another window deletes it between the listing and the sort
        return found

    monkeypatch.setattr(handwriting, "read_labelled_folder", then_deleted)
    assert sum(store.counts().values()) == 2


def test_export_writes_one_labelled_file_per_drawing_never_into_the_store(tmp_path):
    store = HandwritingStore(tmp_path / "store")
    _unlabelled(tmp_path / "store" / "3" / "same.json")
    _unlabelled(tmp_path / "store" / "5" / "same.json")
    assert store.export_folder(tmp_path / "out") == 2
    exported = sorted((tmp_path / "out").iterdir())
    assert len(exported) == 2 and sorted(read_strokes(p)[1] for p in exported) == [3, 5]
    for inside in (tmp_path / "store", tmp_path / "store" / "3", tmp_path / "store" / "new"):
        with pytest.raises(ValueError, match="into itself"):
            store.export_folder(inside)
    assert sum(store.counts().values()) == 2


def test_counts_read_each_unchanged_file_once(tmp_path, monkeypatch):
    """A label keystroke recounts the store: at 10,000 drawings that must cost a stat per file, not a parse."""
    import model.data.handwriting as handwriting

    store = HandwritingStore(tmp_path)
    paths = [store.add(SEVEN, d) for d in range(10)]
    read = []
    real = handwriting.read_strokes
    monkeypatch.setattr(handwriting, "read_strokes", lambda path: read.append(path) or real(path))
    assert sum(store.counts().values()) == 10 and len(read) == 10
    assert sum(store.counts().values()) == 10 and len(read) == 10  # nothing read again
    new = store.relabel(paths[3], 8)
    store.delete(paths[0])
    assert store.counts()[8] == 2 and store.counts()[0] == 0
    assert read.count(new) == 1 and len(read) == 10 + 2  # relabel read the old file, the counts the new one, once
