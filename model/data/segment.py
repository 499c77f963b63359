"""A written number -> its digits: strokes grouped as a person would, then read by the network.

Qt-free and NumPy-only (the network is passed in as a function), so the canvas, the command line,
the bench and the tests share one rule. Strokes are ``(n, 2)`` arrays in any units, y down, in the
order they were drawn.

**The rule** (:func:`segment_strokes`, in ``model/data/grouping.py``): strokes grouped into digits
as a person writes them, left to right, with the splits it is unsure of kept as candidates; a
picture's ink blobs (``model/data/blobs.py``) are grouped by the same rule.

**Reading** (:func:`read_number`): every digit of every candidate grouping is rendered through
``strokes_to_input`` (each distinct group once) and classified in one batch; the grouping kept is
the one with the largest sum of log confidences plus ``PRIOR_WEIGHT`` times the log prior of its
uncertain decisions (a dynamic programme over the writing order, so many uncertain splits cost
no more than a few); a candidate lower than ``FLAT`` of the digit height (a flag or a bar on its
own) scores ``FLAT_PRIOR`` less. One group holding every stroke is read exactly as a single digit always was:
``strokes_to_input`` on all the strokes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .blobs import MAX_LABEL_SIDE, label_components, picture_ink, segment_picture  # noqa: F401 (re-exported)
from .grouping import (  # noqa: F401 (re-exported: the rule lives in grouping.py)
    EDGE,
    EDGE_PRIOR,
    GAP_SPLIT,
    JOIN_ABOVE,
    MARK_SIZE,
    MAX_STROKES,
    NEAR,
    NEAR_PRIOR,
    RAMP_PRIORS,
    SPLIT_BELOW,
    TALL,
    TOLERANCE,
    Segmentation,
    _box_of,
    group_strokes,
    join_prior,
    segment_boxes,
    segment_strokes,
    split_labelled_number,
)

FLAT = 0.5  # a candidate digit lower than this (digit heights) is a flag or a bar, not a digit ...
FLAT_PRIOR = 0.05  # ... (this factor on its score)
DIGIT_BONUS = 0.0  # added per digit to a grouping's score (> 0 favours more, smaller digits)
PRIOR_WEIGHT = 1.0  # weight of the rule's prior against the network's log confidences


@dataclass
class DigitReading:
    """One digit of a number: its strokes, box ``(x0, y0, x1, y1)`` in the strokes' units, input and answer."""

    strokes: list[int]
    box: tuple[float, float, float, float]
    input: np.ndarray | None  # (28, 28) float32, as strokes_to_input made it
    probabilities: np.ndarray | None  # (classes,)

    @property
    def class_index(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return 0.0 if self.probabilities is None else float(np.max(self.probabilities))


@dataclass
class NumberReading:
    """A number as read: its digits left to right and the rule's :class:`Segmentation`."""

    digits: list[DigitReading]
    segmentation: Segmentation | None = None

    def text(self, class_names: Sequence[str] | None = None) -> str:
        names = class_names or [str(i) for i in range(10)]
        return "".join(names[d.class_index] for d in self.digits if d.class_index is not None)

    @property
    def confidence(self) -> float:
        """The product of the digits' confidences (0 without digits)."""
        return float(np.prod([d.confidence for d in self.digits])) if self.digits else 0.0

    @property
    def groups(self) -> list[list[int]]:
        return [d.strokes for d in self.digits]


def read_number(
    strokes: Sequence,
    classify: Callable[[np.ndarray], np.ndarray],
    segmentation: Segmentation | None = None,
    cache: dict | None = None,
) -> NumberReading:
    """Read a written number: group the strokes, render and classify every candidate digit, keep the surest grouping.

    ``strokes``: ``(n, 2)`` arrays in writing order (any units, y down). ``classify``: ``(n, 28, 28)``
    float32 inputs -> ``(n, classes)`` probabilities (e.g. ``Predictor.predict_probabilities``),
    called once. One group of every stroke is ``strokes_to_input`` on all of them, as for one digit.
    ``cache``: see :func:`read_segmentation` (its keys are stroke indices, so it is only valid
    while the strokes it was filled from stay as they were).
    """
    from .preprocess import strokes_to_input

    seg = segmentation or segment_strokes(strokes)
    return read_segmentation(
        seg,
        lambda members: strokes_to_input([strokes[i] for i in members]),
        classify,
        lambda members: _box_of(strokes, members),
        cache=cache,
    )


def read_segmentation(
    seg: Segmentation,
    render: Callable[[list[int]], np.ndarray | None],
    classify: Callable[[np.ndarray], np.ndarray],
    box_of: Callable[[list[int]], tuple[float, float, float, float]],
    max_uncertain: int = 4,
    cache: dict | None = None,
) -> NumberReading:
    """Keep the grouping, among the rule's candidates, that the network is surest of.

    ``render(members)``: the ``(28, 28)`` input of one candidate digit (``None``: nothing to read);
    ``classify``: a batch of inputs -> probabilities (called once, for every distinct candidate
    digit); ``box_of(members)``: its box. The grouping kept maximises the sum of its digits' log
    confidences plus ``PRIOR_WEIGHT`` times the log prior of the rule's uncertain decisions: a
    dynamic programme over the writing order, whose candidate digits are the runs with no certain
    split inside, no certain join at either end and at most ``max_uncertain`` uncertain splits
    inside. A candidate holding nothing to read (a dot) counts as a confident nothing and is left
    out of the answer. ``cache``: members (a tuple of ids) -> ``(input, probabilities)`` already
    known, filled in with what this call computes (the window keeps one while a number is written:
    only the digits a new stroke touches are rendered again).
    """
    n = len(seg.order)
    if n == 0:
        return NumberReading([], seg)
    join = seg.join
    runs: list[tuple[int, int]] = []
    for a in range(n):
        if a > 0 and join[a] >= 1.0:
            continue
        inside = 0
        for b in range(a + 1, n + 1):
            if b - 1 > a:
                if join[b - 1] <= 0.0:
                    break
                if join[b - 1] < 1.0:
                    inside += 1
                    if inside > max_uncertain:
                        break
            if b < n and join[b] >= 1.0:
                continue
            runs.append((a, b))
    members = {r: seg.run_members(*r) for r in runs}
    cache = {} if cache is None else cache
    todo = [r for r in runs if tuple(members[r]) not in cache]
    fresh = {r: render(members[r]) for r in todo}
    ready = [r for r in todo if fresh[r] is not None]
    out = np.asarray(classify(np.stack([fresh[r] for r in ready])), np.float32) if ready else []
    for r in todo:
        cache[tuple(members[r])] = (fresh[r], None)
    for r, row in zip(ready, out):
        cache[tuple(members[r])] = (fresh[r], row)
    inputs = {r: cache[tuple(members[r])][0] for r in runs}
    probs = {r: cache[tuple(members[r])][1] for r in runs if cache[tuple(members[r])][1] is not None}

    # A candidate much lower than the digits around (a flag, a bar on its own) is hardly a digit.
    flat = set()
    if seg.height > 0:
        for r in probs:
            x0, y0, x1, y1 = box_of(members[r])
            if y1 - y0 < FLAT * seg.height:
                flat.add(r)

    def log_prior(k: int, joined: bool) -> float:
        p = join[k] if joined else 1.0 - join[k]
        return -math.inf if p <= 0.0 else math.log(p)

    # best[b]: the best score of order[:b] cut into digits; back[b]: where its last digit starts.
    best = [-math.inf] * (n + 1)
    back = [-1] * (n + 1)
    best[0] = 0.0
    for a, b in runs:  # sorted by a: every best[a] is final before it is used
        if best[a] == -math.inf:
            continue
        score = best[a] + PRIOR_WEIGHT * sum(log_prior(k, True) for k in range(a + 1, b))
        if b < n:
            score += PRIOR_WEIGHT * log_prior(b, False)
        p = probs.get((a, b))
        if p is not None:
            score += math.log(max(float(p.max()), 1e-12)) + DIGIT_BONUS
            if seg.height > 0 and (a, b) in flat:
                score += math.log(FLAT_PRIOR)
        if score > best[b]:
            best[b], back[b] = score, a
    cuts, b = [], n
    while b > 0 and back[b] >= 0:
        cuts.append((back[b], b))
        b = back[b]
    digits = [
        DigitReading(members[r], box_of(members[r]), inputs[r], np.asarray(probs[r], np.float32)) for r in cuts if r in probs
    ]
    digits.sort(key=lambda d: (d.box[0] + d.box[2]) / 2)
    return NumberReading(digits, seg)


def read_picture(picture: np.ndarray, classify: Callable[[np.ndarray], np.ndarray]) -> NumberReading:
    """Read a picture of a number: blobs grouped into digits, each digit's ink through the MNIST-style centring.

    A picture of one digit is read exactly as :func:`model.pictures.image_to_input` reads it (the
    whole picture); with several, each digit is its own blobs' ink on black. Boxes are in pixels.
    """
    from .pictures import image_to_input, images_to_inputs

    ink, labels, seg = segment_picture(picture)

    def crop(members: list[int]) -> np.ndarray:
        x0, y0, x1, y1 = box_of(members)
        part = labels[y0:y1, x0:x1]
        keep = np.isin(part, np.asarray(members) + 1)
        out = np.zeros((y1 - y0 + 4, x1 - x0 + 4), np.float32)  # a black border: light ink on dark
        out[2:-2, 2:-2] = np.where(keep, ink[y0:y1, x0:x1], 0.0)
        return out

    def box_of(members: list[int]) -> tuple[int, int, int, int]:
        ys, xs = np.nonzero(np.isin(labels, np.asarray(members) + 1))
        return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1

    def picture_box(members: list[int]) -> tuple[float, float, float, float]:
        # In the picture's own pixels (a very large picture's ink was read from a reduced copy).
        fy, fx = np.shape(picture)[0] / ink.shape[0], np.shape(picture)[1] / ink.shape[1]
        x0, y0, x1, y1 = box_of(members)
        return x0 * fx, y0 * fy, x1 * fx, y1 * fy

    single = len(seg.groups) <= 1 and seg.uncertain == 0
    if single:
        x = image_to_input(picture)
        if x is None or not seg.groups:
            return NumberReading([], seg)
        probs = np.asarray(classify(x[None]), np.float32)[0]
        members = seg.groups[0]
        return NumberReading([DigitReading(members, picture_box(members), x, probs)], seg)
    reading = read_segmentation(seg, lambda members: images_to_inputs([crop(members)])[0], classify, box_of)
    for d in reading.digits:
        d.box = picture_box(d.strokes)
    return reading


def read_number_file(path: str, predictor) -> NumberReading:
    """One input file -> its :class:`model.data.segment.NumberReading` (raises what stops reading it)."""
    from .pictures import read_input

    kind, value = read_input(path)
    classify = predictor.predict_probabilities
    return read_number(value, classify) if kind == "strokes" else read_picture(value, classify)
