"""How well whole numbers are read: numbers composed from pen digits, grouped and read by the bundled model.

Each number is written by one pendigits writer (default: writers 25-30, whom the model never saw):
that writer's own digits, stroke by stroke as they drew them, scaled to one height (with the small
size changes of real writing), placed left to right with gaps from a slight overlap to a wide space
and a small vertical jitter. They are grouped by ``model.data.segment`` and read through
``model.inference.Predictor`` exactly as ``main.py read`` does. A number counts as right only when
every digit is; a wrong number is a *segmentation error* when its strokes were grouped differently
from the digits they came from, else a *misreading*.

    uv run python bench/number_reading.py                        # 2 to 10 digits, 300 numbers of each length
    uv run python bench/number_reading.py --writers 1-24 -n 200  # the writers the model was trained on (tuning)
    uv run python bench/number_reading.py --json

Also times the grouping of 12-digit numbers (the rule alone, no network).
"""

from __future__ import annotations

import sys
from pathlib import Path

# (Not bench/numbers.py: as a script in bench/, that name would shadow the standard library's
# ``numbers``, which NumPy imports, for every other script there.)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from model.data import read_pendigits  # noqa: E402
from model.data.segment import read_number, segment_strokes  # noqa: E402

PENDIGITS = ROOT.parent / "shared" / "data" / "pendigits" / "pendigits-orig.tra"

SIZE_JITTER = 0.08  # each digit's height varies by up to +-8% around the writer's height
JITTER_Y = 0.04  # vertical jitter of each digit (standard deviation, in digit heights)
# Gaps between neighbouring digits' boxes, in digit heights: (share, low, high)
GAPS = ((0.2, -0.15, 0.0), (0.6, 0.0, 0.35), (0.2, 0.35, 1.2))


def compose(digits: list, rng: np.random.Generator) -> tuple[list[np.ndarray], list[list[int]], str]:
    """Pen digits (``PenDigit``) -> the strokes of one written number, the true groups, the label."""
    strokes, groups = [], []
    x = 0.0
    shares = np.array([g[0] for g in GAPS])
    for k, d in enumerate(digits):
        pts = np.concatenate(d.strokes)
        lo, hi = pts.min(0), pts.max(0)
        h = max(float(hi[1] - lo[1]), 1e-6)
        scale = (1.0 + rng.uniform(-SIZE_JITTER, SIZE_JITTER)) / h
        if k > 0:
            _, a, b = GAPS[rng.choice(len(GAPS), p=shares / shares.sum())]
            x += rng.uniform(a, b)
        dy = rng.normal(0, JITTER_Y)
        group = []
        for s in d.strokes:
            placed = (np.asarray(s, np.float64) - lo) * scale + np.array([x, dy])
            group.append(len(strokes))
            strokes.append(placed)
        groups.append(group)
        x += (hi[0] - lo[0]) * scale
    return strokes, groups, "".join(str(d.label) for d in digits)


def make_numbers(samples: list, lengths: list[int], per_length: int, seed: int) -> list[tuple[int, list, list, str]]:
    rng = np.random.default_rng(seed)
    by_writer: dict[int, dict[int, list]] = {}
    for d in samples:
        by_writer.setdefault(d.writer, {}).setdefault(d.label, []).append(d)
    writers = sorted(by_writer)
    out = []
    for n in lengths:
        for _ in range(per_length):
            w = writers[rng.integers(len(writers))]
            labels = rng.integers(0, 10, n)
            chosen = []
            for lab in labels:
                pool = by_writer[w].get(int(lab)) or [d for ds in by_writer[w].values() for d in ds]
                chosen.append(pool[rng.integers(len(pool))])
            strokes, groups, label = compose(chosen, rng)
            out.append((n, strokes, groups, label))
    return out


def parse_span(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=PENDIGITS)
    p.add_argument("--writers", default="25-30")
    p.add_argument("--lengths", default="2-10")
    p.add_argument("-n", "--per-length", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", type=Path)
    p.add_argument("--json", action="store_true")
    p.add_argument("--show-errors", type=int, default=0, help="print this many wrong numbers")
    args = p.parse_args(argv)

    writers = set(parse_span(args.writers))
    samples = [d for d in read_pendigits(args.data) if d.writer in writers]
    numbers = make_numbers(samples, parse_span(args.lengths), args.per_length, args.seed)

    from model.nets.inference import Predictor

    predictor = Predictor(args.model, feature_maps=False)
    names = predictor.class_names

    rows: dict[int, dict[str, int]] = {}
    shown = 0
    for n, strokes, groups, label in numbers:
        reading = read_number(strokes, predictor.predict_probabilities)
        got = reading.text(names)
        row = rows.setdefault(n, {"numbers": 0, "right": 0, "segmentation": 0, "misread": 0, "digits": 0, "digits_right": 0})
        row["numbers"] += 1
        row["digits"] += n
        truth = sorted(sorted(g) for g in groups)
        if sorted(reading.groups) != truth:
            row["segmentation"] += int(got != label)
            kind = "segmentation"
        else:
            row["misread"] += int(got != label)
            row["digits_right"] += sum(a == b for a, b in zip(got, label))
            kind = "misread"
        row["right"] += int(got == label)
        if got != label and shown < args.show_errors:
            shown += 1
            seg = reading.segmentation
            join = [round(j, 2) for j in seg.join] if seg else None
            print(f"{kind}: {label} read {got}  rule={seg.groups if seg else None} truth={groups} join={join}")

    # The rule alone on 12-digit numbers (no network): median of many runs.
    twelve = make_numbers(samples, [12], 50, args.seed + 1)
    times = []
    for _, strokes, _, _ in twelve:
        t0 = time.perf_counter()
        segment_strokes(strokes)
        times.append(time.perf_counter() - t0)
    ms = 1000 * float(np.median(times))
    ms_max = 1000 * float(np.max(times))

    if args.json:
        print(json.dumps({"writers": args.writers, "per_length": args.per_length, "rows": rows, "group_12_ms": ms}))
        return 0
    print(f"writers {args.writers}, {args.per_length} numbers per length, seed {args.seed}, model {predictor.name}")
    print("digits  numbers  entirely right  segmentation errors  misreadings")
    for n in sorted(rows):
        r = rows[n]
        print(
            f"{n:>6}  {r['numbers']:>7}  {100 * r['right'] / r['numbers']:>13.1f}%  {r['segmentation']:>19}  {r['misread']:>11}"
        )
    total = {k: sum(r[k] for r in rows.values()) for k in next(iter(rows.values()))}
    print(
        f"   all  {total['numbers']:>7}  {100 * total['right'] / total['numbers']:>13.1f}%  "
        f"{total['segmentation']:>19}  {total['misread']:>11}"
    )
    print(f"grouping a 12-digit number: median {ms:.2f} ms, worst {ms_max:.2f} ms (the rule alone, {len(times)} numbers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
