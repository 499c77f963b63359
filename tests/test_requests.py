"""The latest-request-wins rule (model/requests.py): stale answers are never shown."""

from __future__ import annotations

import re

import pytest

from model.nets.requests import LatestRequest
from model.teaching.numbers import MINUS, fmt_term, parse_number


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


# --- cases found by mutation testing (docs/MUTATION.md): behaviour the tests above left unchecked ---


def test_a_term_in_a_sum_can_drop_trailing_zeros_like_a_lone_number():
    assert fmt_term(-0.5, 4, trim=True) == f"({MINUS}0.5)"
    assert fmt_term(0.25, 4, trim=True) == "0.25"
    assert fmt_term(2.0, 4, trim=True) == "2"
    assert fmt_term(-0.5, 4) == f"({MINUS}0.5000)"  # without trim the decimals stay fixed


@pytest.mark.parametrize("text", ["1/0", "inf", "−inf", "nan", "1e999"])
def test_a_number_that_is_not_finite_is_refused_with_the_text_typed(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_number(text)


def test_a_fresh_tracker_waits_for_nothing_and_its_first_request_is_shown():
    t = LatestRequest()
    assert t.latest == 0 and t.shown == 0 and t.settled
    first = t.issue()
    assert not t.settled
    assert t.accept(first) and t.settled


def test_the_newest_request_is_the_one_whose_answer_settles_the_screen():
    t = LatestRequest()
    ids = [t.issue() for _ in range(3)]
    assert t.latest == ids[-1]
    assert t.accept(ids[1]) and not t.settled
    assert t.accept(ids[2]) and t.settled
