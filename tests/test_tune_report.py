"""A fine-tune's report says how much its figures rest on, and what to try when misreads survive."""

from __future__ import annotations

from model.training.tune import describe, misread_advice


def card(n: int, before: float | None, after: float | None, misread=()) -> dict:
    return {
        "tuning": {
            "base_model_name": "mnist_cnn.keras",
            "tuned_on": 40,
            "samples": 40 + n,
            "replay": {"images": 4500},
            "seconds": 30,
        },
        "before_after": {
            "held_out_drawings": {"n": n, "before": before, "after": after, "misread_after": [list(p) for p in misread]},
            "mnist_test": None,
        },
    }


def test_two_held_out_drawings_are_too_few_to_judge():
    text = describe(card(2, 0.0, 0.0, [(3, 5), (7, 1)]))
    assert "2 held-out drawings: too few to judge; store at least 5 of each digit" in text
    assert "0.0%" not in text  # no percentage that looks like it means something


def test_enough_held_out_drawings_give_the_before_and_after():
    text = describe(card(12, 0.75, 11 / 12, [(4, 9)]))
    assert "your 12 held-out drawings: 75.0% before -> 91.7% after" in text
    assert "too few" not in text


def test_surviving_misreads_are_named_with_what_to_try():
    text = describe(card(12, 0.5, 0.75, [(4, 9), (4, 9), (7, 1)]))
    assert "still misread after tuning: 4 read as 9 (2×), 7 read as 1" in text
    assert "store more 4s and 7s" in text and "fine-tune again" in text
    assert "misread" not in describe(card(12, 0.5, 1.0))


def test_no_held_out_drawings_says_so():
    assert "no drawings held out: too few to judge" in describe(card(0, None, None))


def test_a_card_written_before_misreads_were_recorded_still_reads():
    c = card(12, 0.5, 0.75)
    del c["before_after"]["held_out_drawings"]["misread_after"]
    assert "your 12 held-out drawings" in describe(c)
    assert misread_advice([(1, 7)]).startswith("still misread after tuning: 1 read as 7.")


def test_the_tune_dialog_says_the_result_rests_on_too_few_drawings(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QLabel

    from gui.main_window import MainWindow

    monkeypatch.setenv("DIGIT_RECOGNIZER_DATA", str(tmp_path))
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    w.handwriting.show_tune_dialog()
    dialog = w.handwriting.tune_dialog
    dialog.blockSignals(True)  # no personal model was really written: do not switch to it
    dialog._finished(card(2, 0.0, 0.5, [(7, 1)]))
    text = dialog.findChild(QLabel, "tune_results").text()
    assert "2 held-out drawings: too few to judge; store at least 5 of each digit" in text
    assert "7 read as 1" in text and "store more 7s" in text
    w.close()


def test_the_request_for_more_drawings_stands_out_and_names_are_escaped():
    from model.training.tune_report import describe_html

    c = card(10, 0.8, 0.9, [(4, 5)])
    c["tuning"]["base_model_name"] = "<mine>.keras"
    c["tuning"]["still_confused"] = [{"digit": 4, "read_as": 5, "count": 1, "of": 5}]
    text = describe_html(c)
    assert "<b>your 4s are read as 5s: draw three more 4s</b>" in text
    assert "&lt;mine&gt;.keras" in text and "<mine>" not in text
    assert text.count("<b>") == 1  # only the one thing to act on
