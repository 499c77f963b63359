"""Does "Teach it your handwriting" work? Tune on each unseen writer's first 50 digits, test on the rest.

    uv run python bench/writer_tuning.py [--writers 25-30] [--model resources/mnist_cnn.keras]

For every pendigits writer given (25-30 were never used to train the bundled model): the writer's
first 50 digits are tuned on exactly as ``main.py tune`` does (same defaults: every 5th drawing of
each digit held out, MNIST replay, augmentation), and the writer's *other* digits (about 200, never
seen by tuning) are read by the base and by the tuned model. MNIST test accuracy of each tuned model
and the tuning time are reported too. Prints a Markdown table (for README) and writes JSON with
``--json FILE``. The same run, by hand, for one writer::

    uv run main.py tune --data DIR_WITH_50_DIGITS --out /tmp/me.keras
    uv run main.py evaluate --model /tmp/me.keras --data DIR_WITH_THE_REST
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from model.training.config import parse_writers  # noqa: E402
from model.training.tune import TuneConfig  # noqa: E402

TUNE_COUNT = 50


def sweep(base_model, tuned_path: Path, alphas: list[float], x, y, mnist_dir: Path, writer: int) -> None:
    """Writer and MNIST accuracy of base + alpha * (tuned - base), for choosing TuneConfig.blend."""
    from model.data.readers import load_mnist_test
    from model.nets.inference import load_checked_model
    from model.training.tune import blend_weights

    xt, yt = load_mnist_test(mnist_dir)
    xt = xt.astype(np.float32)[..., None] / 255.0
    tuned = load_checked_model(tuned_path)
    tuned_weights = tuned.get_weights()
    for alpha in alphas:
        tuned.set_weights(blend_weights(base_model.get_weights(), tuned_weights, alpha))
        acc = float(np.mean(np.asarray(tuned.predict(x[..., None], verbose=0)).argmax(1) == y))
        macc = float(np.mean(np.asarray(tuned.predict(xt, batch_size=1024, verbose=0)).argmax(1) == yt))
        print(json.dumps({"writer": writer, "blend": alpha, "after": acc, "mnist_after": macc}), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pendigits", type=Path, default=ROOT.parent / "shared/data/pendigits/pendigits-orig.tra")
    p.add_argument("--mnist", type=Path, default=ROOT.parent / "shared/data/mnist")
    p.add_argument("--writers", default="25-30")
    p.add_argument("--model", type=Path, default=ROOT / "resources" / "mnist_cnn.keras")
    p.add_argument("--epochs", type=int, default=TuneConfig.epochs)
    p.add_argument("--learning-rate", type=float, default=TuneConfig.learning_rate)
    p.add_argument("--replay", type=int, default=TuneConfig.replay)
    p.add_argument("--variants", type=int, default=TuneConfig.variants)
    p.add_argument(
        "--distill",
        type=float,
        default=TuneConfig.distill_temperature,
        help="distillation temperature for the replay digits; 0: plain labels (default: %(default)s)",
    )
    p.add_argument("--freeze", type=int, default=TuneConfig.freeze_first, help="leading layers with weights kept fixed")
    p.add_argument("--seed", type=int, default=TuneConfig.seed)
    p.add_argument("--blend", type=float, default=TuneConfig.blend, help="weight blend of the saved model")
    p.add_argument("--sweep-blend", help="also report these blends of base and tuned weights, e.g. 0.5,0.75")
    p.add_argument("--no-holdout", action="store_true")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()

    import tempfile

    from model.data.preprocess import strokes_to_input
    from model.data.readers import read_pendigits
    from model.nets.inference import Predictor
    from model.training.tune import tune

    cfg = TuneConfig(
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        replay=args.replay,
        variants=args.variants,
        distill_temperature=args.distill or None,
        holdout=not args.no_holdout,
        freeze_first=args.freeze,
        seed=args.seed,
        blend=args.blend,
    )
    base = Predictor(args.model)
    all_digits = read_pendigits(args.pendigits)
    rows = []
    with tempfile.TemporaryDirectory(prefix="writer-tuning-") as tmp:
        for w in parse_writers(args.writers):
            digits = [d for d in all_digits if d.writer == w]
            first, rest = digits[:TUNE_COUNT], digits[TUNE_COUNT:]
            x = np.stack([strokes_to_input(d.strokes) for d in rest])
            y = np.array([d.label for d in rest])
            before = float(np.mean(base.predict_probabilities(x).argmax(1) == y))
            out = Path(tmp) / f"writer{w}.keras"
            t0 = time.perf_counter()
            card = tune(args.model, first, out, cfg, mnist_dir=args.mnist)
            seconds = time.perf_counter() - t0
            tuned = Predictor(out)
            after = float(np.mean(tuned.predict_probabilities(x).argmax(1) == y))
            if args.sweep_blend:
                sweep(base.model, out, [float(a) for a in args.sweep_blend.split(",")], x, y, args.mnist, w)
            mnist = card["before_after"].get("mnist_test") or {}
            row = {
                "writer": w,
                "tuned_on": card["tuning"]["tuned_on"],
                "test_digits": len(rest),
                "before": before,
                "after": after,
                "mnist_before": mnist.get("before"),
                "mnist_after": mnist.get("after"),
                "tune_seconds": round(seconds, 1),
                "fit_seconds": card["tuning"]["fit_seconds"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    def pct(v):
        return "–" if v is None else f"{v * 100:.2f}%"

    n = sum(r["test_digits"] for r in rows)
    before_all = sum(r["before"] * r["test_digits"] for r in rows) / n
    after_all = sum(r["after"] * r["test_digits"] for r in rows) / n
    print(f"\nmodel: {args.model.name}; config: {cfg}; {os.cpu_count()} CPUs visible\n")
    print("| writer | digits tested | base model | tuned | MNIST test (tuned) | tune time |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['writer']} | {r['test_digits']} | {pct(r['before'])} | **{pct(r['after'])}** | "
            f"{pct(r['mnist_after'])} | {r['tune_seconds']:.0f} s |"
        )
    print(f"| all | {n} | {pct(before_all)} | **{pct(after_all)}** | base: {pct(rows[0]['mnist_before'])} | |")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"model": str(args.model), "config": str(cfg), "rows": rows, "before_all": before_all, "after_all": after_all},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
