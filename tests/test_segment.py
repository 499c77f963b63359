"""Grouping strokes into digits (model/segment.py): as a person would, without the network."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.preprocess import strokes_to_input
from model.data.segment import (
    group_strokes,
    label_components,
    read_number,
    read_picture,
    segment_picture,
    segment_strokes,
)


def line(*points, n: int = 12) -> np.ndarray:
    """A polyline through ``points`` (x, y; y down), sampled like a pen (``n`` points per segment)."""
    out = []
    for a, b in zip(points, points[1:]):
        t = np.linspace(0, 1, n, endpoint=False)[:, None]
        out.append(np.asarray(a) + t * (np.asarray(b) - np.asarray(a)))
    out.append(np.asarray(points[-1])[None])
    return np.concatenate(out).astype(float)


def ellipse(cx: float, cy: float, rx: float = 0.3, ry: float = 0.5) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 40)
    return np.stack([cx + rx * np.sin(t), cy - ry * np.cos(t)], axis=1)


# Digits one unit tall, their left edge at x (strokes in the order a person draws them).
def four(x: float) -> list[np.ndarray]:
    return [line((x + 0.45, 0), (x, 0.65), (x + 0.65, 0.65)), line((x + 0.4, 0.2), (x + 0.4, 1.0))]


def seven_late_bar(x: float) -> list[np.ndarray]:
    return [line((x, 0), (x + 0.6, 0), (x + 0.2, 1.0)), line((x + 0.15, 0.5), (x + 0.55, 0.5))]


def five_with_flag(x: float) -> list[np.ndarray]:
    body = line((x + 0.1, 0.05), (x + 0.05, 0.45), (x + 0.45, 0.5), (x + 0.55, 0.75), (x + 0.35, 1.0), (x, 0.95))
    return [body, line((x + 0.1, 0.05), (x + 0.6, 0.0))]


def zero(x: float) -> list[np.ndarray]:
    return [ellipse(x + 0.3, 0.5)]


def one(x: float) -> list[np.ndarray]:
    return [line((x, 0.1), (x + 0.1, 0), (x + 0.1, 1.0))]


def two(x: float) -> list[np.ndarray]:
    return [line((x, 0.2), (x + 0.3, 0), (x + 0.55, 0.25), (x, 1.0), (x + 0.6, 1.0))]


def test_a_four_in_two_strokes_a_seven_with_a_late_crossbar_and_a_flagged_five_stay_whole():
    strokes = four(0) + seven_late_bar(1.0) + five_with_flag(2.0)
    assert group_strokes(strokes) == [[0, 1], [2, 3], [4, 5]]


def test_digits_that_touch_or_overlap_a_little_are_split():
    # each 0.6 wide, placed 0.5 apart: the boxes overlap by 0.1 (a sixth of a digit)
    strokes = zero(0) + zero(0.5) + two(1.0) + zero(1.5)
    assert group_strokes(strokes) == [[0], [1], [2], [3]]


def test_a_wide_gap_is_only_a_gap():
    strokes = one(0) + one(3.0) + two(3.5)
    assert group_strokes(strokes) == [[0], [1], [2]]


def test_twelve_digits_in_order_left_to_right_whatever_their_size():
    strokes, expected, x = [], [], 0.0
    makers = [four, zero, seven_late_bar, two, five_with_flag, one] * 2
    for k, make in enumerate(makers):
        scale = 1.0 + 0.1 * (k % 3)
        digit = [s * scale + [x, 0] for s in make(0)]
        expected.append(list(range(len(strokes), len(strokes) + len(digit))))
        strokes += digit
        x += 0.9 * scale
    assert group_strokes(strokes) == expected


def test_going_back_to_cross_a_seven_after_the_next_digit():
    seven = seven_late_bar(0)
    strokes = [seven[0]] + one(1.0) + [seven[1]]
    assert group_strokes(strokes) == [[0, 2], [1]]


def test_a_tap_beside_a_digit_is_no_digit_and_the_digit_reads_as_today():
    strokes = four(0) + [np.array([[1.6, 0.5]])]
    seg = segment_strokes(strokes)
    assert seg.groups == [[0, 1, 2]]
    seen = []
    reading = read_number(strokes, lambda x: seen.append(x) or np.eye(10)[[4] * len(x)])
    assert len(reading.digits) == 1
    np.testing.assert_array_equal(reading.digits[0].input, strokes_to_input(strokes))


def test_one_pen_digit_is_one_group_or_may_be_one(stroke_fixtures):
    for path, strokes, _label in stroke_fixtures:
        seg = segment_strokes(strokes)
        whole = [list(range(len(strokes)))]
        assert seg.groups == whole or whole in seg.candidates(), path.name


@pytest.mark.slow
def test_one_digit_reads_exactly_as_today(stroke_fixtures, predictor):
    """Each pen digit: one digit, its input strokes_to_input of all its strokes, the answer predict's."""
    for path, strokes, _label in stroke_fixtures:
        reading = read_number(strokes, predictor.predict_probabilities)
        assert len(reading.digits) == 1, path.name
        x = strokes_to_input(strokes)
        np.testing.assert_array_equal(reading.digits[0].input, x)
        np.testing.assert_allclose(reading.digits[0].probabilities, predictor.predict(x).probabilities, atol=1e-6)


def test_empty_and_degenerate_drawings():
    assert group_strokes([]) == []
    assert group_strokes([np.zeros((0, 2))]) == []
    assert group_strokes([np.zeros((0, 2)), line((0, 0), (0, 1))]) == [[1]]
    reading = read_number([], lambda x: np.zeros((len(x), 10)))
    assert reading.digits == [] and reading.confidence == 0.0


def test_an_uncertain_split_is_settled_by_the_network():
    # A full-height stroke at the right edge of a 7: a 4-like stem, or a 1 written close?
    strokes = [line((0, 0), (0.6, 0), (0.25, 1.0)), line((0.58, 0.0), (0.58, 1.0))]
    seg = segment_strokes(strokes)
    assert seg.uncertain == 1
    assert sorted(map(str, seg.candidates())) == sorted(map(str, [[[0, 1]], [[0], [1]]]))
    whole = strokes_to_input(strokes)

    def sure_of_two(x):  # the network is sure only when the strokes are read apart
        return np.array([np.eye(10)[7] * 0.2 + 0.08 if np.array_equal(im, whole) else np.eye(10)[1] for im in x])

    assert read_number(strokes, sure_of_two).groups == [[0], [1]]

    def sure_of_one(x):
        return np.array([np.eye(10)[7] if np.array_equal(im, whole) else np.full(10, 0.1) for im in x])

    reading = read_number(strokes, sure_of_one)
    assert reading.groups == [[0, 1]] and reading.text() == "7"


def test_numbers_from_pen_digits_are_grouped_as_they_were_written(stroke_fixtures):
    """The rule alone gets most right; where it is unsure, the right grouping is always a candidate."""
    rng = np.random.default_rng(3)
    right = 0
    for _ in range(20):
        picks = [stroke_fixtures[i] for i in rng.choice(len(stroke_fixtures), 5, replace=False)]
        strokes, expected, x = [], [], 0.0
        for _p, digit, _label in picks:
            pts = np.concatenate(digit)
            lo, hi = pts.min(0), pts.max(0)
            scale = 1.0 / (hi[1] - lo[1])
            expected.append(list(range(len(strokes), len(strokes) + len(digit))))
            strokes += [(s - lo) * scale + [x, rng.normal(0, 0.03)] for s in digit]
            x += (hi[0] - lo[0]) * scale + rng.uniform(0.1, 0.6)
        seg = segment_strokes(strokes)
        right += seg.groups == expected
        assert expected in seg.candidates(limit=4096)
    assert right >= 14  # the network settles the rest (bench/number_reading.py)


def test_connected_components_eight_connected():
    mask = np.zeros((6, 10), bool)
    mask[0:3, 0:2] = True
    mask[3, 2] = True  # diagonal neighbour: same blob
    mask[0:5, 6] = True
    mask[5, 9] = True
    labels, count = label_components(mask)
    assert count == 3
    assert labels[3, 2] == labels[0, 0] != labels[0, 6]
    assert (labels > 0).sum() == mask.sum()


def number_picture(*digits: np.ndarray, gap: int = 6) -> np.ndarray:
    """MNIST digits (white on black, 28x28) side by side as dark ink on white paper, cropped to their ink."""
    crops = []
    for d in digits:
        cols = np.flatnonzero(d.max(0) > 0)
        crops.append(d[:, cols[0] : cols[-1] + 1])
    parts = []
    for c in crops:
        parts += [c, np.zeros((28, gap), d.dtype)]
    ink = np.concatenate([np.zeros((28, 8), digits[0].dtype)] + parts + [np.zeros((28, 8), digits[0].dtype)], axis=1)
    return (255 - ink).astype(np.uint8)


def test_a_picture_of_a_number_is_split_into_its_digits(fixtures):
    from model.data import load_mnist_test

    x, y = load_mnist_test(fixtures / "mnist")
    picks = [i for i in range(len(y)) if y[i] in (2, 0, 6)][:3]
    picture = number_picture(*[x[i] for i in picks])
    _ink, _labels, seg = segment_picture(picture)
    assert len(seg.groups) == 3
    reading = read_picture(picture, lambda im: np.eye(10)[[3] * len(im)])
    boxes = [d.box for d in reading.digits]
    assert len(boxes) == 3 and all(a[2] <= b[0] for a, b in zip(boxes, boxes[1:]))  # left to right, apart


def test_a_picture_of_one_digit_is_read_as_predict_reads_it(fixtures):
    from model.data import load_mnist_test
    from model.data.pictures import image_to_input

    x, _ = load_mnist_test(fixtures / "mnist")
    picture = 255 - x[0]
    reading = read_picture(picture, lambda im: np.eye(10)[[5] * len(im)])
    assert len(reading.digits) == 1
    np.testing.assert_array_equal(reading.digits[0].input, image_to_input(picture))


@pytest.mark.parametrize("n", [1, 12])
def test_candidates_hold_the_rules_grouping(n):
    strokes = []
    for k in range(n):
        strokes += four(k * 0.9)
    seg = segment_strokes(strokes)
    assert seg.groups in seg.candidates()


def test_a_number_labelled_for_tuning_is_split_into_labelled_digits(tmp_path):
    import json

    from model.data import write_strokes
    from model.data.handwriting import read_labelled_folder

    strokes = four(0) + seven_late_bar(1.0) + zero(2.0)
    write_strokes(tmp_path / "n.json", strokes)
    doc = json.loads((tmp_path / "n.json").read_text())
    doc["label"] = "470"
    (tmp_path / "n.json").write_text(json.dumps(doc))
    doc["label"] = "4700"  # more digits than the strokes hold
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    drawings, problems = read_labelled_folder(tmp_path)
    assert [d.label for d in drawings] == [4, 7, 0]
    assert [len(d.strokes) for d in drawings] == [2, 2, 1]
    assert len(problems) == 1 and "bad.json" in problems[0]
