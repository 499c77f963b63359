"""The latest-request-wins rule (model/requests.py): stale answers are never shown."""

from __future__ import annotations

from model.nets.requests import LatestRequest


def test_ids_increase():
    t = LatestRequest()
    ids = [t.issue() for _ in range(5)]
    assert ids == sorted(set(ids)) and ids[0] >= 1
    assert t.latest == ids[-1]


def test_answers_in_order_are_all_shown():
    t = LatestRequest()
    a, b = t.issue(), t.issue()
    assert t.accept(a) and t.shown == a
    assert not t.settled  # b still on its way
    assert t.accept(b) and t.shown == b
    assert t.settled


def test_an_answer_older_than_the_one_on_screen_is_dropped():
    t = LatestRequest()
    a, b = t.issue(), t.issue()
    assert t.accept(b)
    assert not t.accept(a)
    assert t.shown == b


def test_the_same_answer_twice_is_shown_once():
    t = LatestRequest()
    a = t.issue()
    assert t.accept(a)
    assert not t.accept(a)


def test_answers_asked_before_a_clear_are_stale():
    t = LatestRequest()
    a = t.issue()
    t.invalidate()  # the drawing was cleared
    assert t.settled  # nothing current is outstanding
    assert not t.accept(a)
    c = t.issue()
    assert not t.settled
    assert t.accept(c) and t.settled


def test_invalidate_after_an_answer_keeps_the_next_answer_valid():
    t = LatestRequest()
    t.accept(t.issue())
    t.invalidate()  # the model changed: what is on screen was computed by the old one
    new = t.issue()
    assert t.accept(new)


def test_an_id_never_handed_out_is_refused():
    t = LatestRequest()
    t.issue()
    assert not t.accept(99)
    assert not t.accept(0)
