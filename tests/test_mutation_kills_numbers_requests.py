"""Number formatting/parsing and the latest-request rule, on the cases the other tests leave out.

Written to kill mutants that survived ``mutmut run`` over model/numbers.py and model/requests.py
(docs/MUTATION.md); each test states behaviour a student or the window relies on.
"""

from __future__ import annotations

import re

import pytest

from model.nets.requests import LatestRequest
from model.teaching.numbers import MINUS, fmt_term, parse_number


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
