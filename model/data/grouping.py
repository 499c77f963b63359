"""How a person's strokes group into the digits of a written number: the rule, no network.

Qt-free and NumPy-only. Strokes are ``(n, 2)`` arrays in any units, y down, in the order they
were drawn; ``model/data/segment.py`` reads the groups with the network, ``model/data/blobs.py``
gives a picture's ink blobs to the same rule (:func:`segment_boxes`).

**The rule** (:func:`segment_strokes`). People write a number digit by digit, left to right, and
finish a digit before starting the next; a digit's later strokes (a 4's stem, a 5's flag, a 7's
crossbar) are drawn over the ink already there. So, in writing order, each stroke either *joins* the
digit being written or *starts* the next one, and what tells them apart is how much of the new
stroke's width lies over the digit being written (its *cover*, measured on the x axis with a
tolerance of ``TOLERANCE`` of the digit height):

* cover >= ``JOIN_ABOVE``: the stroke is part of that digit (a stem, a flag, a crossbar). Short
  strokes (flags, bars, bases) and the body after a flag drawn first measure their overlap against
  the narrower of the two, so a flag sticking far out still belongs (:func:`join_prior`);
* cover <= ``SPLIT_BELOW`` (a stroke that merely touches or overlaps the digit's edge, or lies to
  its right, more than ``GAP_SPLIT`` away however far): a new digit; a wide gap is only a gap;
* between, where a new full-height stroke lands at the right edge of a digit that is already full
  height (a ``1`` written close after a ``7``, or a 4's stem?), and where a stroke starts within
  ``NEAR`` of the digit's right edge, the split is *uncertain*: both readings are kept as
  candidates, with the priors ``RAMP_PRIORS``, ``EDGE_PRIOR``, ``NEAR_PRIOR`` (measured on numbers
  composed from pendigits writers 1-24), and the network decides (:func:`read_number`).

A stroke that lies over an earlier digit rather than the current one (going back to cross a 7)
joins that digit; a mark too small to be a digit (under ``MARK_SIZE`` of the digit height: a dot, a
tap) joins the nearest digit, where :func:`model.preprocess.strokes_to_input` leaves it out as a
stray mark exactly as it does for one digit. The scale is the *median* height of the digits
(grouped once with the tallest stroke as scale, then again with their median height), so one big
or small digit does not change the rule for the others. Digits are returned left to right by the
centre of their box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

JOIN_ABOVE = 0.7  # cover at or above which a stroke belongs to the digit being written
SPLIT_BELOW = 0.3  # cover at or below which it starts a new digit
RAMP_PRIORS = (0.15, 0.9)  # prior of a join from SPLIT_BELOW to JOIN_ABOVE (linear between)
TOLERANCE = 0.04  # x tolerance of the cover, in digit heights (a stem drawn on a bar's end)
GAP_SPLIT = 0.15  # a stroke starting this far (digit heights) right of the digit is a new one
TALL = 0.6  # strokes and digits at least this tall (digit heights) are "full height"
EDGE = 0.25  # a full-height stroke within this share of a full-height digit's right edge: uncertain
EDGE_PRIOR = 0.5  # prior that such a stroke still joins (a 4's stem drawn at its bar's end)
NEAR = 0.12  # a stroke within this (digit heights) of the digit's right edge may still belong to it
NEAR_PRIOR = 0.15  # prior that it does
MARK_SIZE = 0.25  # groups smaller than this (digit heights, both sides) are marks, not digits
MAX_STROKES = 2_000  # more strokes: read as one drawing (nobody writes a number that way)


@dataclass(frozen=True)
class Segmentation:
    """What the rule found for a drawing; indices refer to the strokes as given.

    ``groups``: the rule's best guess, stroke indices per digit, left to right.
    ``order``: the strokes the candidates are built from, in writing order (marks and strokes
    attached to an earlier digit are left out of it and ride along with ``attached``).
    ``join``: ``join[k]`` is the prior probability that ``order[k]`` continues the digit of
    ``order[k-1]`` (``join[0]`` is 0). Values of 0 or 1 are certain; others are uncertain splits.
    ``attached``: stroke index -> the stroke in ``order`` whose digit it belongs to.
    ``height``: the digit height the rule used (median of the digits, in the strokes' units).
    """

    groups: list[list[int]]
    order: list[int] = field(default_factory=list)
    join: list[float] = field(default_factory=list)
    attached: dict[int, int] = field(default_factory=dict)
    height: float = 0.0
    tall: list[bool] = field(default_factory=list)  # per ``order`` stroke: at least TALL digit heights

    @property
    def uncertain(self) -> int:
        """How many splits the rule leaves to the network."""
        return sum(0.0 < p < 1.0 for p in self.join[1:])

    def candidates(self, limit: int = 64) -> list[list[list[int]]]:
        """Groupings consistent with the rule, most probable first (at most ``limit``)."""
        free = [k for k in range(1, len(self.order)) if 0.0 < self.join[k] < 1.0]
        # Beyond 12 uncertain splits, the surest ones keep the rule's choice (2^12 combinations at most).
        free = sorted(sorted(free, key=lambda k: abs(self.join[k] - 0.5))[:12])
        out = []
        for bits in range(2 ** len(free)):
            joined = {k: self.join[k] >= 0.5 for k in range(1, len(self.order))}  # free ones set below
            logp = 0.0
            for j, k in enumerate(free):
                joined[k] = bool(bits >> j & 1)
                logp += math.log(self.join[k] if joined[k] else 1.0 - self.join[k])
            bounds = [0] + [k for k in range(1, len(self.order)) if not joined[k]] + [len(self.order)]
            out.append((logp, self._groups(list(zip(bounds, bounds[1:])))))
        out.sort(key=lambda t: -t[0])
        return [g for _, g in out[:limit]]

    def run_members(self, start: int, stop: int) -> list[int]:
        """Stroke indices of the digit made of ``order[start:stop]`` and the strokes attached to them."""
        members = set(self.order[start:stop])
        members |= {s for s, host in self.attached.items() if host in members}
        return sorted(members)

    def _groups(self, runs: list[tuple[int, int]]) -> list[list[int]]:
        return [self.run_members(a, b) for a, b in runs]


def _boxes(strokes: Sequence) -> tuple[list[int], np.ndarray]:
    """Indices of the non-empty strokes and their boxes ``(k, 4)``: x0, y0, x1, y1."""
    keep, boxes = [], []
    for i, s in enumerate(strokes):
        arr = np.asarray(s, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 2:
            continue
        xy = arr[:, :2]
        if not np.isfinite(xy).all():
            continue
        keep.append(i)
        boxes.append((*xy.min(0), *xy.max(0)))
    return keep, np.asarray(boxes, np.float64).reshape(-1, 4)


def _cover(x0: float, x1: float, g0: float, g1: float, tol: float) -> float:
    """Share of the x range ``[x0, x1]`` (at least ``2 tol`` wide) that lies over ``[g0 - tol, g1 + tol]``."""
    mid = (x0 + x1) / 2
    a, b = min(x0, mid - tol), max(x1, mid + tol)
    inside = min(b, g1 + tol) - max(a, g0 - tol)
    return max(0.0, inside) / (b - a)


def _ramp(cover: float) -> float:
    if cover >= JOIN_ABOVE:
        return 1.0
    if cover <= SPLIT_BELOW:
        return 0.0
    low, high = RAMP_PRIORS
    return low + (high - low) * (cover - SPLIT_BELOW) / (JOIN_ABOVE - SPLIT_BELOW)


def join_prior(box: np.ndarray, digit: np.ndarray, height: float) -> float:
    """Prior probability that a stroke with ``box`` continues the digit with ``digit`` box (x0, y0, x1, y1).

    See the module docstring; 0 and 1 are certain, anything between is left to the network.
    """
    x0, y0, x1, y1 = box
    g0, gy0, g1, gy1 = digit
    tol = TOLERANCE * height
    gap = x0 - g1  # > 0: the stroke starts right of the digit
    if gap > GAP_SPLIT * height:
        return 0.0
    own = _cover(x0, x1, g0, g1, tol)
    tall_stroke = (y1 - y0) >= TALL * height
    tall_digit = (gy1 - gy0) >= TALL * height
    if tall_stroke and tall_digit:
        cover = own
    else:
        # A flag, a crossbar, a base (short strokes), or the body after a flag drawn first (a digit
        # not yet full height): it belongs to what it crosses, however far it sticks out.
        inside = max(0.0, min(x1, g1) - max(x0, g0)) + 2 * tol
        cover = max(own, inside / max(min(x1 - x0, g1 - g0), MARK_SIZE * height))
    p = _ramp(cover)
    if p >= 1.0 and tall_stroke and tall_digit and (x0 + x1) / 2 >= g1 - EDGE * (g1 - g0):
        return EDGE_PRIOR  # a full-height stroke at a full digit's right edge: a 4's stem, or a 1?
    if p <= 0.0 and gap <= NEAR * height:
        return NEAR_PRIOR  # touching, or just right of it: a 4's stem beside its bar, or the next digit?
    return p


def _pass(boxes: np.ndarray, height: float) -> tuple[list[int], list[float], dict[int, int], list[list[int]]]:
    """One left-to-right pass of the rule over box indices; see :class:`Segmentation`."""
    tol = TOLERANCE * height
    mark = MARK_SIZE * height
    order: list[int] = []
    join: list[float] = []
    attached: dict[int, int] = {}
    groups: list[list[int]] = []  # box indices per digit, in writing order
    gbox: list[np.ndarray] = []
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = box
        small = (x1 - x0) < mark and (y1 - y0) < mark
        if not groups:
            if small:
                attached[i] = -1  # placed once a digit exists
                continue
            order.append(i)
            join.append(0.0)
            groups.append([i])
            gbox.append(box.copy())
            continue
        g = gbox[-1]
        p = join_prior(box, g, height)
        if p < 0.5:
            # Going back to an earlier digit (crossing a 7 after writing the next one)?
            for k in range(len(groups) - 2, -1, -1):
                if _cover(x0, x1, gbox[k][0], gbox[k][2], tol) >= JOIN_ABOVE:
                    attached[i] = groups[k][0]
                    groups[k].append(i)
                    gbox[k] = np.concatenate([np.minimum(gbox[k][:2], box[:2]), np.maximum(gbox[k][2:], box[2:])])
                    break
            else:
                if small:
                    attached[i] = -1
                    continue
                order.append(i)
                join.append(p)
                groups.append([i])
                gbox.append(box.copy())
            continue
        if small:
            attached[i] = groups[-1][0]
            groups[-1].append(i)
            continue
        order.append(i)
        join.append(p)
        groups[-1].append(i)
        gbox[-1] = np.concatenate([np.minimum(g[:2], box[:2]), np.maximum(g[2:], box[2:])])
    # Marks drawn before any digit, or left unplaced: the nearest stroke of the order hosts them.
    for i, host in list(attached.items()):
        if host == -1:
            if not order:
                del attached[i]
                continue
            b = boxes[i]
            ob = boxes[order]
            dx = np.maximum(np.maximum(ob[:, 0] - b[2], b[0] - ob[:, 2]), 0)
            dy = np.maximum(np.maximum(ob[:, 1] - b[3], b[1] - ob[:, 3]), 0)
            host_i = order[int(np.argmin(np.hypot(dx, dy)))]
            attached[i] = host_i
            for grp in groups:
                if host_i in grp:
                    grp.append(i)
                    break
    return order, join, attached, groups


def segment_strokes(strokes: Sequence) -> Segmentation:
    """Group strokes (``(n, 2)`` arrays, any units, y down, in writing order) into digits; see the module docstring.

    Returns a :class:`Segmentation` whose ``groups`` hold stroke indices per digit, left to right.
    Empty strokes belong to no group; a drawing of one stroke (or of more than ``MAX_STROKES``) is
    one group.
    """
    keep, boxes = _boxes(strokes)
    return segment_boxes(boxes, keep)


def segment_boxes(boxes: np.ndarray, ids: Sequence[int] | None = None) -> Segmentation:
    """The rule on boxes ``(k, 4)`` (x0, y0, x1, y1, y down) in writing order; ``ids`` name them (default 0..k-1).

    Strokes give their boxes in the order they were drawn; the ink blobs of a picture give theirs
    left to right, which is the order a person wrote them in.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    keep = list(range(len(boxes))) if ids is None else list(ids)
    if len(keep) <= 1 or len(keep) > MAX_STROKES:
        return Segmentation([keep] if keep else [], list(keep), [0.0] * len(keep), {}, 0.0)
    heights = boxes[:, 3] - boxes[:, 1]
    widths = boxes[:, 2] - boxes[:, 0]
    height = float(max(heights.max(), 1e-3 * max(widths.max(), 1e-12)))
    for _ in range(2):  # first with the tallest stroke as scale, then with the digits' median height
        order, join, attached, groups = _pass(boxes, height)
        digit_heights = np.array([boxes[g, 3].max() - boxes[g, 1].min() for g in groups if g])
        # Flags, bars and dots left apart by a first pass with a wrong scale are not digits.
        digit_heights = digit_heights[digit_heights >= 0.5 * digit_heights.max()] if digit_heights.size else digit_heights
        median = float(np.median(digit_heights)) if digit_heights.size else height
        if median <= 0 or abs(median - height) <= 0.02 * height:
            break
        height = median
    to_index = lambda g: sorted(keep[j] for j in g)  # noqa: E731
    centre = lambda g: (boxes[g, 0].min() + boxes[g, 2].max()) / 2  # noqa: E731
    groups = sorted((g for g in groups if g), key=centre)
    return Segmentation(
        [to_index(g) for g in groups],
        [keep[j] for j in order],
        join,
        {keep[i]: keep[h] for i, h in attached.items()},
        height,
        [bool(heights[j] >= TALL * height) for j in order],
    )


def group_strokes(strokes: Sequence) -> list[list[int]]:
    """The rule's grouping: stroke indices per digit, left to right (see :func:`segment_strokes`)."""
    return segment_strokes(strokes).groups


def split_labelled_number(strokes: Sequence, label: str) -> list[list] | None:
    """A drawing labelled with a whole number -> the strokes of each digit, left to right, or ``None``.

    The label says how many digits there are: the rule's grouping if it has that many, else the
    most probable candidate that does (no network needed); ``None`` if none has.
    """
    seg = segment_strokes(strokes)
    boxes = {i: _box_of(strokes, [i]) for g in seg.groups for i in g}
    centre = lambda g: (min(boxes[i][0] for i in g) + max(boxes[i][2] for i in g)) / 2  # noqa: E731
    for groups in [seg.groups, *seg.candidates(limit=256)]:
        if len(groups) == len(label):
            return [[strokes[i] for i in g] for g in sorted(groups, key=centre)]
    return None


def _box_of(strokes: Sequence, members: list[int]) -> tuple[float, float, float, float]:
    pts = np.concatenate([np.asarray(strokes[i], np.float64)[:, :2] for i in members])
    lo, hi = pts.min(0), pts.max(0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
