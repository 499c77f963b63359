"""Hard writers: pendigits writers 25-30 redrawn in a consistent personal style, then tuned for.

    uv run python bench/hard_writers.py --base-only            # base accuracy per styled writer (seconds)
    uv run python bench/hard_writers.py [--writers 25-30] [--recipe old|new] [--json FILE]

The bundled model reads writers 25-30 at 98-100%, so ``bench/writer_tuning.py`` never stresses the
tuning recipe. Here every one of those writers gets a *personal style* applied at the stroke level to
all of their digits (a strong slant, crossed 7s, closed 4s, flagged 1s with a base, looped 2s,
straight-stemmed 9s, slashed 0s, a squashed or stretched aspect), chosen so the bundled model
reads 85-92% of their digits. Then, as in ``bench/writer_tuning.py``: tune on the writer's first 50
digits exactly as ``main.py tune`` does (``model.training.tune.tune``; every 5th drawing held out),
read the writer's other digits with the base and the tuned model through the ``Predictor`` (what
``main.py predict --model TUNED`` uses), and report MNIST test of each tuned model and the tune time.

``--recipe old`` tunes with the previous fixed recipe (``TuneConfig(adaptive=False)``), ``new`` with
today's defaults. ``--write DIR`` writes each styled writer's digits as stroke .json files
(``DIR/writerN/tune`` with the first 50, ``DIR/writerN/rest``), to run ``main.py tune`` by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model.training.config import parse_writers  # noqa: E402

TUNE_COUNT = 50


# --- stroke-level style transforms (strokes: list of (n, 2) arrays, y down) --------------------


def _box(strokes):
    pts = np.concatenate(strokes)
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    return x0, y0, x1, y1, max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)


def _line(a, b, n=12):
    t = np.linspace(0, 1, n)[:, None]
    return np.asarray(a, float) * (1 - t) + np.asarray(b, float) * t


def slant(strokes, k):
    """Shear: the top leans right by ``k`` times the height above the centre (negative: left)."""
    _, y0, _, y1, _, _ = _box(strokes)
    yc = (y0 + y1) / 2
    return [np.column_stack([s[:, 0] + k * (yc - s[:, 1]), s[:, 1]]) for s in strokes]


def aspect(strokes, sx):
    """Width times ``sx`` about the centre (squashed < 1 < stretched)."""
    x0, _, x1, _, _, _ = _box(strokes)
    xc = (x0 + x1) / 2
    return [np.column_stack([xc + (s[:, 0] - xc) * sx, s[:, 1]]) for s in strokes]


def cross_seven(strokes):
    """A 7 with a bar across the middle of its stem."""
    x0, y0, x1, y1, w, h = _box(strokes)
    ym = y0 + 0.55 * h
    pts = np.concatenate(strokes)
    xs = pts[np.argmin(np.abs(pts[:, 1] - ym) + 10 * (pts[:, 1] < y0 + 0.2 * h)), 0]
    half = max(0.35 * w, 0.25 * h)
    return [*strokes, _line((xs - half, ym), (xs + half, ym))]


def flag_one(strokes):
    """A 1 with a long flag at the top and a base bar."""
    _, y0, _, y1, _, h = _box(strokes)
    pts = np.concatenate(strokes)
    top, bottom = pts[np.argmin(pts[:, 1])], pts[np.argmax(pts[:, 1])]
    flag = _line((top[0] - 0.5 * h, top[1] + 0.35 * h), top)
    base = _line((bottom[0] - 0.4 * h, bottom[1]), (bottom[0] + 0.4 * h, bottom[1]))
    return [flag, *strokes, base]


def close_four(strokes):
    """A closed 4: the top of the left arm joined to the top of the stem."""
    x0, y0, x1, y1, w, h = _box(strokes)
    pts = np.concatenate(strokes)
    xc = x0 + 0.5 * w
    left, right = pts[pts[:, 0] < xc], pts[pts[:, 0] >= xc]
    if len(left) == 0 or len(right) == 0:
        return strokes
    a, b = left[np.argmin(left[:, 1])], right[np.argmin(right[:, 1])]
    return [*strokes, _line(a, b)]


def loop_two(strokes):
    """A 2 with a loop where the diagonal meets the base."""
    x0, y0, x1, y1, w, h = _box(strokes)
    pts = np.concatenate(strokes)
    corner = pts[np.argmax((pts[:, 1] - y0) / h - (pts[:, 0] - x0) / w)]
    r = 0.2 * h
    t = np.linspace(0, 2 * np.pi, 24)
    loop = np.column_stack([corner[0] + r * np.sin(t), corner[1] - r + r * np.cos(t)])
    return [*strokes, loop]


def straight_nine(strokes):
    """A 9 whose tail is a straight vertical stem under the right side of the loop."""
    x0, y0, x1, y1, w, h = _box(strokes)
    pts = np.concatenate(strokes)
    upper = pts[pts[:, 1] < y0 + 0.4 * h]
    if len(upper) == 0:
        return strokes
    xr = upper[:, 0].max()
    out = []
    for s in strokes:
        s = s.copy()
        f = np.clip((s[:, 1] - (y0 + 0.4 * h)) / (0.15 * h), 0, 1)
        s[:, 0] = s[:, 0] * (1 - f) + xr * f
        out.append(s)
    return out


def hook_one(strokes):
    """A 1 with a long, low up-stroke to its top (the continental 1 that looks like a 7)."""
    _, y0, _, y1, _, h = _box(strokes)
    pts = np.concatenate(strokes)
    top = pts[np.argmin(pts[:, 1])]
    return [_line((top[0] - 0.6 * h, top[1] + 0.22 * h), top), *strokes]


def rotate(strokes, degrees):
    """Turned by ``degrees`` (positive: clockwise on screen) about the centre."""
    x0, y0, x1, y1, _, _ = _box(strokes)
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    a = np.radians(degrees)
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return [(s - c) @ m.T + c for s in strokes]


def slash_zero(strokes):
    """A 0 with a slash through it."""
    x0, y0, x1, y1, w, h = _box(strokes)
    return [*strokes, _line((x1 + 0.1 * w, y0 - 0.05 * h), (x0 - 0.1 * w, y1 + 0.05 * h))]


DIGIT_MARKS = {
    "cross7": (7, cross_seven),
    "flag1": (1, flag_one),
    "close4": (4, close_four),
    "loop2": (2, loop_two),
    "stem9": (9, straight_nine),
    "slash0": (0, slash_zero),
    "hook1": (1, hook_one),
}

# writer -> (slant, aspect, marks). Chosen so the bundled model reads 85-92% of each writer.
STYLES: dict[int, tuple[float, float, tuple[str, ...]]] = {
    25: (0.3, 2.3, ("flag1", "cross7", "close4")),
    26: (0.0, 0.4, ("hook1", "loop2", "slash0")),
    27: (0.0, 2.3, ("slash0", "close4", "flag1")),
    28: (-0.6, 1.0, ("slash0", "hook1", "loop2")),
    29: (0.0, 0.45, ("cross7", "stem9", "slash0", "hook1")),
    30: (0.7, 1.8, ("close4", "stem9", "hook1")),
}


def styled(digit, style):
    """``digit`` (a ``PenDigit``) redrawn in ``style`` = (slant, aspect, marks); a new ``PenDigit``."""
    from model.data.readers import PenDigit

    k, sx, marks = style
    strokes = [np.asarray(s, float) for s in digit.strokes]
    for mark in marks:
        label, fn = DIGIT_MARKS[mark]
        if digit.label == label:
            strokes = fn(strokes)
    if sx != 1.0:
        strokes = aspect(strokes, sx)
    if k:
        strokes = slant(strokes, k)
    return PenDigit(strokes=strokes, label=digit.label, writer=digit.writer)


def hard_writers(pendigits: Path, writers, natural: bool = False) -> dict[int, list]:
    """writer -> that writer's pen digits, in stored order, redrawn in the writer's style
    (``natural``: as they were written, for a base model that never saw these writers)."""
    from model.data.readers import read_pendigits

    digits = read_pendigits(pendigits)
    return {w: [d if natural else styled(d, STYLES[w]) for d in digits if d.writer == w] for w in writers}


def _accuracy(predictor, digits) -> tuple[float, np.ndarray, np.ndarray]:
    from model.data.preprocess import strokes_to_input

    x = np.stack([strokes_to_input(d.strokes) for d in digits])
    y = np.array([d.label for d in digits])
    pred = predictor.predict_probabilities(x).argmax(1)
    return float(np.mean(pred == y)), y, pred


def add_memory(args) -> int:
    """Memory sidecars for kept tuned models, built as ``tune`` builds them; read through the Predictor."""
    from model.data.readers import load_mnist_test, write_atomically
    from model.nets.inference import Predictor, load_checked_model
    from model.training.feeding import digit_feeding
    from model.training.personal import build_memory, memory_path, remembered
    from model.training.tune import TuneConfig, load_replay

    writers = hard_writers(args.pendigits, parse_writers(args.writers), args.natural)
    xt, yt = load_mnist_test(args.mnist)
    xt = xt.astype(np.float32) / 255.0
    rows = []
    for path in sorted(args.add_memory.glob("writer*.keras")):
        w = int(path.stem[6:8])
        if w not in writers:
            continue
        first, rest = writers[w][:TUNE_COUNT], writers[w][TUNE_COUNT:]
        x_rep, y_rep, _ = load_replay(TuneConfig().replay, np.random.default_rng(w), args.mnist)
        # as tune saves it: every labelled drawing, and MNIST references from a replay sample
        remember = remembered(first, range(len(first)), (x_rep, y_rep))
        memory = build_memory(load_checked_model(path), digit_feeding(path), *remember)
        write_atomically(memory_path(path), memory.to_bytes())
        tuned = Predictor(path, feature_maps=False)
        assert tuned.memory is not None
        after, _, _ = _accuracy(tuned, rest)
        mnist = float(np.mean(tuned.predict_probabilities(xt).argmax(1) == yt))
        rows.append(
            {"model": path.name, "writer": w, "test_digits": len(rest), "after_with_memory": after, "mnist_with_memory": mnist}
        )
        print(json.dumps(rows[-1]), flush=True)
    n = sum(r["test_digits"] for r in rows)
    print(f"pooled: {sum(r['after_with_memory'] * r['test_digits'] for r in rows) / n:.4f} over {n} digits")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pendigits", type=Path, default=ROOT.parent / "shared/data/pendigits/pendigits-orig.tra")
    p.add_argument("--mnist", type=Path, default=ROOT.parent / "shared/data/mnist")
    p.add_argument("--writers", default="25-30")
    p.add_argument("--model", type=Path, default=ROOT / "resources" / "mnist_cnn.keras")
    p.add_argument("--recipe", choices=["old", "new"], default="new")
    p.add_argument("--base-only", action="store_true", help="only the base model's accuracy per styled writer")
    p.add_argument(
        "--natural",
        action="store_true",
        help="the writers' digits as written, no style: for a --model trained without them (natural hard writers)",
    )
    p.add_argument("--write", type=Path, help="write each styled writer's digits as stroke .json files here")
    p.add_argument("--epochs", type=int, help="tuning epochs (main.py tune --epochs; default: TuneConfig's)")
    p.add_argument("--variants", type=int, help="warped re-renders per drawing (default: TuneConfig's)")
    p.add_argument("--no-holdout", action="store_true", help="tune on all 50 digits (main.py tune --no-holdout)")
    p.add_argument("--keep", type=Path, help="keep the tuned models in this folder")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument(
        "--add-memory",
        type=Path,
        help="instead of tuning: give the writerN-*.keras models kept in this folder (--keep) the nearest-neighbour "
        "memory tune writes (model/training/personal.py) and read the writers and MNIST test through the Predictor",
    )
    args = p.parse_args()
    if args.add_memory:
        return add_memory(args)

    import tempfile
    from dataclasses import replace

    from model.data.readers import write_strokes
    from model.nets.inference import Predictor
    from model.training.tune import TuneConfig, tune

    writers = hard_writers(args.pendigits, parse_writers(args.writers), args.natural)
    if args.write:
        for w, digits in writers.items():
            for part, chunk, start in (("tune", digits[:TUNE_COUNT], 0), ("rest", digits[TUNE_COUNT:], TUNE_COUNT)):
                folder = args.write / f"writer{w}" / part
                folder.mkdir(parents=True, exist_ok=True)
                for i, d in enumerate(chunk, start):
                    write_strokes(folder / f"{i:03d}.json", d.strokes, d.label)
        print(f"wrote {len(writers)} writers under {args.write}")
    base = Predictor(args.model, feature_maps=False)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hard-writers-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for w, digits in writers.items():
            first, rest = digits[:TUNE_COUNT], digits[TUNE_COUNT:]
            before, y, pred = _accuracy(base, rest)
            confusions = {f"{a}->{b}": int(np.sum((y == a) & (pred == b))) for a in range(10) for b in range(10) if a != b}
            row = {
                "writer": w,
                "style": None if args.natural else STYLES[w],
                "test_digits": len(rest),
                "before": before,
                "base_confusions": {k: v for k, v in confusions.items() if v},
            }
            if not args.base_only:
                cfg = TuneConfig() if args.recipe == "new" else TuneConfig(adaptive=False)
                if args.no_holdout:
                    cfg = replace(cfg, holdout=False)
                if args.epochs:
                    cfg = replace(cfg, epochs=args.epochs)
                if args.variants is not None:
                    cfg = replace(cfg, variants=args.variants)
                out = folder / f"writer{w}-{args.recipe}.keras"
                t0 = time.perf_counter()
                card = tune(args.model, first, out, cfg, mnist_dir=args.mnist)
                row["tune_seconds"] = round(time.perf_counter() - t0, 1)
                tuned = Predictor(out, feature_maps=False)  # the same path as `main.py predict --model`
                row["after"], _, _ = _accuracy(tuned, rest)
                mnist = card["before_after"].get("mnist_test") or {}
                row["mnist_before"], row["mnist_after"] = mnist.get("before"), mnist.get("after")
                row["held_out"] = card["before_after"]["held_out_drawings"]
                row["still_confused"] = card["tuning"].get("still_confused")
            rows.append(row)
            print(json.dumps(row), flush=True)

    def pct(v):
        return "-" if v is None else f"{v * 100:.2f}%"

    n = sum(r["test_digits"] for r in rows)
    pooled = {k: sum(r[k] * r["test_digits"] for r in rows) / n for k in ("before", "after") if k in rows[0]}
    print(f"\nmodel: {args.model.name}; recipe: {args.recipe}; {os.cpu_count()} CPUs visible\n")
    print("| writer | style | digits tested | base model | tuned | MNIST test (tuned) | tune time |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if r["style"] is None:
            style = "as written"
        else:
            k, sx, marks = r["style"]
            style = f"slant {k:+.2f}, aspect {sx:g}, {' '.join(marks)}"
        print(
            f"| {r['writer']} | {style} | {r['test_digits']} | {pct(r['before'])} | **{pct(r.get('after'))}** | "
            f"{pct(r.get('mnist_after'))} | {r.get('tune_seconds', '-')} s |"
        )
    print(f"| all | | {n} | {pct(pooled['before'])} | **{pct(pooled.get('after'))}** | | |")
    if args.json:
        result = {"model": str(args.model), "recipe": args.recipe, "rows": rows, "pooled": pooled}
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
