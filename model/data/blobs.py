"""A picture of a number -> its ink blobs (connected components), grouped into digits by the strokes' rule.

Qt-free and NumPy-only: the ink read as :func:`model.data.pictures.image_to_input` reads it, blobs
labelled by union-find over the runs of each row, and their boxes, left to right, given to
:func:`model.data.grouping.segment_boxes`. ``model/data/segment.py`` reads the digits.
"""

from __future__ import annotations

import numpy as np

from .grouping import Segmentation, segment_boxes

MAX_LABEL_SIDE = 600  # pictures are labelled at most this tall (bigger ones: on a reduced copy)


def picture_ink(picture: np.ndarray) -> np.ndarray:
    """Any picture (grey/RGB/RGBA, dark ink on light or light on dark) -> ``(h, w)`` float32 ink in [0, 1].

    The same reading of ink as :func:`model.pictures.image_to_input` (background from the border,
    contrast stretched, faint texture below 0.15 dropped); an all-blank picture gives zeros.
    """
    from .pictures import _box_downsample, _check_picture, _to_grey

    arr = _check_picture(picture)
    factor = int(max(arr.shape[:2]) // 1024)
    if factor > 1:
        arr = _box_downsample(arr, factor)
    grey = _to_grey(arr[None])[0]
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = 1.0 - grey if background > 0.5 else grey.copy()
    floor = 1.0 - background if background > 0.5 else background
    peak = float(ink.max())
    if peak - floor < 0.1:
        return np.zeros_like(ink)
    ink = np.clip((ink - floor) / (peak - floor), 0.0, 1.0)
    ink[ink < 0.15] = 0.0
    return ink.astype(np.float32)


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of a boolean ``(h, w)`` mask -> ``(labels (h, w) int32, count)``; 0 is background.

    Union-find over the runs of each row, so the work grows with the number of runs, not pixels.
    """
    h, w = mask.shape
    parent: list[int] = [0]
    runs: list[tuple[int, int, int, int]] = []  # row, start, stop, id
    prev: list[tuple[int, int, int]] = []

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    for y in range(h):
        starts = np.flatnonzero(edges[y] == 1)
        stops = np.flatnonzero(edges[y] == -1)
        cur = []
        j = 0
        for s0, s1 in zip(starts.tolist(), stops.tolist()):
            rid = len(parent)
            parent.append(rid)
            # 8-connectivity: a run [s0, s1) touches the previous row's runs from s0 - 1 to s1
            while j < len(prev) and prev[j][1] < s0:
                j += 1
            k = j
            while k < len(prev) and prev[k][0] <= s1:
                ra, rb = find(rid), find(prev[k][2])
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
                k += 1
            cur.append((s0, s1, rid))
            runs.append((y, s0, s1, rid))
        prev = cur
    roots = {}
    labels = np.zeros((h, w), np.int32)
    for y, s0, s1, rid in runs:
        r = find(rid)
        labels[y, s0:s1] = roots.setdefault(r, len(roots) + 1)
    return labels, len(roots)


def segment_picture(picture: np.ndarray) -> tuple[np.ndarray, np.ndarray, Segmentation]:
    """Split a picture of a number into digits: ink blobs (connected components) grouped by the rule.

    Returns the ink ``(h, w)``, the blob labels ``(h, w)`` (blob ``k`` is label ``k + 1``) and the
    :class:`Segmentation` of the blobs, taken left to right (a person's writing order); a digit
    of several blobs (a broken stroke, a 5's flag) stays one, as for strokes.
    """
    ink = picture_ink(picture)
    mask = ink > 0
    step = max(1, int(np.ceil(max(mask.shape) / MAX_LABEL_SIDE)))
    small = mask[::step, ::step] if step == 1 else _any_pool(mask, step)
    labels, count = label_components(small)
    if step > 1:
        labels = np.kron(labels, np.ones((step, step), np.int32))[: mask.shape[0], : mask.shape[1]] * mask
    boxes = np.zeros((count, 4))
    for k in range(count):
        ys, xs = np.nonzero(labels == k + 1)
        if xs.size == 0:
            boxes[k] = (np.nan,) * 4
            continue
        boxes[k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    good = np.flatnonzero(np.isfinite(boxes[:, 0]))
    order = good[np.argsort((boxes[good, 0] + boxes[good, 2]) / 2, kind="stable")]
    return ink, labels, segment_boxes(boxes[order], order.tolist())


def _any_pool(mask: np.ndarray, step: int) -> np.ndarray:
    h, w = mask.shape
    hp, wp = -(-h // step) * step, -(-w // step) * step
    padded = np.zeros((hp, wp), bool)
    padded[:h, :w] = mask
    return padded.reshape(hp // step, step, wp // step, step).any(axis=(1, 3))
