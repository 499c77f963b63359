"""Synthetic drawings that are not digits, as strokes, for choosing "not a digit" thresholds.

Each generator returns strokes in the app's convention (a list of ``(n, 2)`` float arrays, x right,
y down, any units) so they go through :func:`model.preprocess.strokes_to_input` exactly as a
drawing on the canvas does. They stand in for what a user draws that is no digit: scribbles,
stray angles and lines, crossed circles, capital letters, rotated, overlapping or side-by-side
digits. None of them is used for training; the bench (``bench/confidence.py``) and
``main.py calibrate`` only use them to check and choose thresholds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Strokes = list[np.ndarray]


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 16) -> list[tuple[float, float]]:
    """Points on an ellipse arc from angle ``a0`` to ``a1`` (degrees, counter-clockwise as seen, y down)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy - ry * np.sin(t)))


# Capital letters as strokes in a unit box (x right, y down). Chosen to be unlike any digit
# (no O, I, G, Q, D, J: they are a 0, 1, 6, 9, 0 and a hook).
LETTERS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "B": [
        [(0, 1), (0, 0)],
        [(0, 0), *_arc(0.55, 0.25, 0.4, 0.25, 90, -90), (0, 0.5)],
        [(0, 0.5), *_arc(0.55, 0.75, 0.45, 0.25, 90, -90), (0, 1)],
    ],
    "C": [_arc(0.5, 0.5, 0.5, 0.5, 50, 310, 24)],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.7, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55)], [(0.3, 0.4), (1, 1)]],
    "L": [[(0, 0), (0, 1), (0.8, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "P": [[(0, 1), (0, 0)], [(0, 0), *_arc(0.5, 0.27, 0.45, 0.27, 90, -90), (0, 0.54)]],
    "R": [[(0, 1), (0, 0)], [(0, 0), *_arc(0.5, 0.27, 0.45, 0.27, 90, -90), (0, 0.54)], [(0.35, 0.54), (1, 1)]],
    "S": [[*_arc(0.5, 0.25, 0.45, 0.25, 30, 270, 14), *_arc(0.5, 0.75, 0.45, 0.25, 90, -150, 14)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0, 0), (0, 0.6), *_arc(0.5, 0.6, 0.5, 0.4, 180, 360), (1, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5)], [(1, 0), (0.5, 0.5), (0.5, 1)]],
    "Z": [[(0, 0), (1, 0), (0, 1), (1, 1)]],
}


def _densify(points: np.ndarray, step: float = 0.03) -> np.ndarray:
    """Points every ``step`` along a polyline, so jitter bends lines the way a hand does."""
    seg = np.diff(points, axis=0)
    length = np.hypot(seg[:, 0], seg[:, 1])
    total = float(length.sum())
    if total <= 0:
        return points
    s = np.concatenate([[0.0], np.cumsum(length)])
    t = np.linspace(0.0, total, max(2, int(total / step)))
    return np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], axis=1)


def _wobble(points: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Smooth random displacement (a hand's tremor), ``amount`` in box units."""
    n = len(points)
    noise = rng.normal(0, amount, (n, 2))
    k = max(1, n // 8)
    kernel = np.ones(k) / k
    smooth = np.stack([np.convolve(noise[:, i], kernel, mode="same") for i in range(2)], axis=1)
    return points + smooth * np.sqrt(k)


def _affine(strokes: Strokes, rng: np.random.Generator, slant: float = 0.25, rotate: float = 10.0) -> Strokes:
    """A random slant, rotation and width, as different hands draw the same shape."""
    a = np.radians(rng.uniform(-rotate, rotate))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    shear = np.array([[1.0, rng.uniform(-slant, slant)], [0.0, 1.0]])
    scale = np.diag([rng.uniform(0.6, 1.1), 1.0])
    m = rot @ shear @ scale
    return [s @ m.T for s in strokes]


def letter(name: str, rng: np.random.Generator) -> Strokes:
    """One jittered, slanted capital ``name`` (a key of ``LETTERS``)."""
    strokes = [_wobble(_densify(np.asarray(s, float)), rng, 0.012) for s in LETTERS[name]]
    return _affine(strokes, rng)


def scribble(rng: np.random.Generator) -> Strokes:
    """A random smooth scrawl: 1-3 strokes of a wandering pen."""
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.integers(40, 160))
        heading = np.cumsum(rng.normal(0, rng.uniform(0.2, 0.8), n)) + rng.uniform(0, 2 * np.pi)
        step = np.stack([np.cos(heading), np.sin(heading)], axis=1) * rng.uniform(0.02, 0.06)
        strokes.append(rng.uniform(0, 1, 2) + np.cumsum(step, axis=0))
    return strokes


def zigzag(rng: np.random.Generator) -> Strokes:
    """A back-and-forth hatch or zigzag, as when crossing something out."""
    n = int(rng.integers(4, 10))
    xs = np.where(np.arange(n) % 2 == 0, 0.0, 1.0) + rng.normal(0, 0.05, n)
    ys = np.linspace(0, rng.uniform(0.3, 1.0), n) + rng.normal(0, 0.03, n)
    pts = _densify(np.stack([xs, ys], axis=1))
    return _affine([_wobble(pts, rng, 0.01)], rng, rotate=90)


def angle(rng: np.random.Generator) -> Strokes:
    """Two or three straight segments at random angles (a stray corner or zigzag line)."""
    k = int(rng.integers(2, 4))
    pts = [rng.uniform(0, 1, 2)]
    for _ in range(k):
        a = rng.uniform(0, 2 * np.pi)
        pts.append(pts[-1] + rng.uniform(0.4, 1.0) * np.array([np.cos(a), np.sin(a)]))
    return [_wobble(_densify(np.asarray(pts)), rng, 0.008)]


def crossed_ellipse(rng: np.random.Generator) -> Strokes:
    """An ellipse with one to three lines through it."""
    rx, ry = rng.uniform(0.25, 0.5, 2)
    ring = np.asarray(_arc(0.5, 0.5, rx, ry, 0, 360 + rng.uniform(0, 40), 40))
    strokes = [_wobble(ring, rng, 0.01)]
    for _ in range(int(rng.integers(1, 4))):
        a = rng.uniform(0, np.pi)
        d = np.array([np.cos(a), np.sin(a)]) * rng.uniform(0.5, 0.8)
        c = 0.5 + rng.normal(0, 0.1, 2)
        strokes.append(_densify(np.stack([c - d, c + d])))
    return _affine(strokes, rng, rotate=30)


def _fit(strokes: Sequence[np.ndarray]) -> Strokes:
    """Strokes moved and scaled into a unit-height box at the origin."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    h = max(float(hi[1] - lo[1]), 1e-9)
    return [(np.asarray(s, float) - lo) / h for s in strokes]


def rotated_digit(strokes: Sequence[np.ndarray], label: int, rng: np.random.Generator) -> Strokes | None:
    """A digit turned by 90, 180 or 270 degrees; ``None`` where the result may read as a digit (0, 1, 8, 6/9)."""
    turns = int(rng.integers(1, 4))
    if label == 0 or (turns == 2 and label in (1, 6, 8, 9)):
        return None
    a = np.pi / 2 * turns + rng.normal(0, 0.1)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return [np.asarray(s, float) @ rot.T for s in strokes]


def side_by_side(first: Sequence[np.ndarray], second: Sequence[np.ndarray], rng: np.random.Generator) -> Strokes:
    """Two digits next to each other, as a number is written."""
    a, b = _fit(first), _fit(second)
    width = float(np.concatenate(a)[:, 0].max())
    gap = rng.uniform(0.05, 0.3)
    return a + [s + np.array([width + gap, rng.normal(0, 0.05)]) for s in b]


def overlapping(first: Sequence[np.ndarray], second: Sequence[np.ndarray], rng: np.random.Generator) -> Strokes:
    """Two digits drawn over each other (a correction without erasing)."""
    a, b = _fit(first), _fit(second)
    return a + [s + rng.normal(0, 0.1, 2) for s in b]


SHAPES: dict[str, Callable[[np.random.Generator], Strokes]] = {
    "scribble": scribble,
    "zigzag": zigzag,
    "angle": angle,
    "crossed ellipse": crossed_ellipse,
}


def synthetic_nondigits(n_per_kind: int, seed: int, digits: Sequence | None = None) -> dict[str, list[Strokes]]:
    """``kind -> list of strokes``: scribbles, zigzags, angles, crossed ellipses, letters (``n_per_kind``
    over all of them), and, given pen ``digits`` (objects with ``strokes`` and ``label``), rotated,
    overlapping and side-by-side digits. The same ``seed`` gives the same drawings."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[Strokes]] = {kind: [make(rng) for _ in range(n_per_kind)] for kind, make in SHAPES.items()}
    names = sorted(LETTERS)
    out["letter"] = [letter(names[i % len(names)], rng) for i in range(n_per_kind)]
    if digits:
        pick = lambda: digits[int(rng.integers(len(digits)))]  # noqa: E731
        rotated: list[Strokes] = []
        while len(rotated) < n_per_kind:
            d = pick()
            r = rotated_digit(d.strokes, d.label, rng)
            if r is not None:
                rotated.append(r)
        out["rotated digit"] = rotated
        pairs = []
        for _ in range(n_per_kind):
            a, b = pick(), pick()
            while b.label == a.label:
                b = pick()
            pairs.append((a, b))
        out["overlapping digits"] = [overlapping(a.strokes, b.strokes, rng) for a, b in pairs]
        out["two digits"] = [side_by_side(a.strokes, b.strokes, rng) for a, b in pairs]
    return out
