"""How well the bundled model knows when it does not know: calibration and "not a digit" signals.

    uv run python bench/confidence.py [--model M] [--data ../shared/data] [--n 300] [--json]

Data: MNIST test and validation (model/train.py's split: 8% of MNIST's training digits, seed 1),
pen digits rendered through ``strokes_to_input`` (validation: the 8% held out of writers 1-24;
unseen: writers 25-30), and synthetic non-digits (``model.data.nondigits``, seed 1, rotated /
overlapping / side-by-side digits made from writers 25-30) drawn as strokes.

Prints (1) ECE (15 bins) raw and calibrated per digit set; (2) the app's verdicts (as
``Predictor.predict_answers`` gives them: flagged = "unsure" or "not a digit") per set; (3) the
alternatives measured, each thresholded to flag the same 2.5% of validation digits: max softmax,
temperature-scaled max softmax, max logit, energy, class-conditional Mahalanobis per layer, kNN,
and the shipped sum. Thresholds come from validation digits only; test sets are only reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE = 0.025  # of validation digits flagged by each alternative (the shipped threshold's rate)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--n", type=int, default=300, help="synthetic non-digits per kind (default: %(default)s)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    from model import confidence as cf
    from model.data import load_mnist_test, read_pendigits
    from model.data.nondigits import LETTERS
    from model.data.preprocess import strokes_to_input
    from model.nets.inference import Predictor

    t0 = time.time()
    predictor = Predictor(args.model, feature_maps=False)
    cal = predictor.calibration
    pen_file = args.data / "pendigits" / "pendigits-orig.tra"
    sets: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    val = cf.calibration_data(args.data / "mnist", pen_file, list(range(1, 25)), parts=("validation",))["validation"]
    sets["MNIST validation"] = (val[0][val[2] == 0], val[1][val[2] == 0])
    sets["pen validation (writers 1-24)"] = (val[0][val[2] == 1], val[1][val[2] == 1])
    xt, yt = load_mnist_test(args.data / "mnist")
    sets["MNIST test"] = (xt / 255.0, yt)
    unseen = [d for d in read_pendigits(pen_file) if d.writer >= 25]
    rendered = [(strokes_to_input(d.strokes), d.label) for d in unseen]
    rendered = [(x, y) for x, y in rendered if x is not None]
    sets["pen, unseen writers 25-30"] = (np.stack([x for x, _ in rendered]), np.array([y for _, y in rendered]))
    negatives = cf.nondigit_inputs(1, unseen, args.n)
    for kind, images in negatives.items():
        sets[f"non-digit: {kind}"] = (images, None)
    letters = negatives["letter"]
    print(f"data ready in {time.time() - t0:.0f} s", file=sys.stderr)

    layers = [info.name for info in predictor.layers] + ["penultimate"]
    out: dict[str, dict] = {}
    scores: dict[str, dict[str, np.ndarray]] = {}
    for name, (images, labels) in sets.items():
        probs, verdicts = predictor.predict_answers(images)
        raw, logits, feats = predictor.pooled_features(images, layers)
        status = np.array([v.status for v in verdicts])
        row = {
            "n": len(images),
            "unsure": float(np.mean(status == cf.UNSURE)),
            "not a digit": float(np.mean(status == cf.NOT_A_DIGIT)),
            "flagged": float(np.mean(status != cf.DIGIT)),
        }
        if labels is not None:
            right = probs.argmax(1) == labels
            sure = status == cf.DIGIT
            row.update(
                accuracy=float(right.mean()),
                accuracy_on_sure=float(right[sure].mean()) if sure.any() else float("nan"),
                errors_flagged=float((~sure[~right]).mean()) if (~right).any() else float("nan"),
                ece_raw=cf.expected_calibration_error(raw, labels),
                ece_calibrated=cf.expected_calibration_error(probs, labels),
            )
        out[name] = row
        s = {
            "max softmax": -cf.softmax(logits).max(1),
            "max softmax, T": -cf.softmax(logits, cal.temperature).max(1),
            "max logit": -logits.max(1),
            "energy": cf.energy(logits, cal.temperature),
        }
        if cal.has_distance:
            for layer in layers:
                if layer in cal.means:
                    s[f"Mahalanobis {layer}"] = cf.mahalanobis(feats[layer], cal.means[layer], cal.precisions[layer])
            for layer, ref in cal.references.items():
                s[f"kNN {layer}"] = cf.knn_distance(feats[layer], ref)
            s["shipped sum"] = cf.distance(cal, logits, {k: feats[k] for k in cal.layers})
        scores[name] = s
    if cal.has_distance:  # Mahalanobis of every layer, statistics from the training split, for the comparison
        train = cf.calibration_data(args.data / "mnist", None, None, 10_000, parts=("train",))["train"]
        _, _, tf = predictor.pooled_features(train[0], layers)
        stats = {layer: cf.class_statistics(tf[layer], train[1], predictor.num_classes) for layer in layers}
        for name, (images, _) in sets.items():
            _, _, feats = predictor.pooled_features(images, layers)
            for layer in layers:
                if layer not in cal.means:
                    scores[name][f"Mahalanobis {layer} (MNIST stats)"] = cf.mahalanobis(feats[layer], *stats[layer])

    validation = ["MNIST validation", "pen validation (writers 1-24)"]
    alternatives = {}
    for method in scores[validation[0]]:
        ref = np.concatenate([scores[v][method] for v in validation])
        threshold = np.quantile(ref, 1 - RATE)
        alternatives[method] = {name: float(np.mean(scores[name][method] > threshold)) for name in sets}

    per_letter = {}
    names = sorted(LETTERS)
    _, verdicts = predictor.predict_answers(letters)
    for i, v in enumerate(verdicts):
        per_letter.setdefault(names[i % len(names)], []).append(v.status != cf.DIGIT)
    per_letter = {k: float(np.mean(v)) for k, v in per_letter.items()}

    if args.json:
        print(json.dumps({"temperature": cal.temperature, "sets": out, "alternatives": alternatives, "letters": per_letter}))
        return
    print(f"model: {predictor.path}  temperature {cal.temperature:.3f}  ({predictor.confidence_note})")
    head = ["acc", "acc sure", "ECE raw", "ECE cal", "unsure", "not dig", "flagged"]
    print(f"\n{'set':<34} {'n':>6} " + " ".join(f"{h:>8}" for h in head))
    for name, r in out.items():
        acc = lambda k, r=r: f"{r[k] * 100:7.2f}%" if k in r else " " * 8  # noqa: E731
        print(
            f"{name:<34} {r['n']:>6} {acc('accuracy')} {acc('accuracy_on_sure')} {acc('ece_raw')} {acc('ece_calibrated')} "
            f"{r['unsure'] * 100:6.1f}% {r['not a digit'] * 100:6.1f}% {r['flagged'] * 100:6.1f}%"
        )
    short = {n: n.replace("non-digit: ", "").replace("pen, unseen writers 25-30", "pen 25-30")[:10] for n in sets}
    print(f"\nflagged by each signal alone, threshold at {RATE:.1%} of validation digits:")
    print(f"{'signal':<36}" + "".join(f"{short[n]:>11}" for n in sets))
    for method, rates in alternatives.items():
        print(f"{method:<36}" + "".join(f"{rates[n] * 100:10.1f}%" for n in sets))
    print("\nletters flagged by the app, per letter: " + "  ".join(f"{k} {v * 100:.0f}%" for k, v in per_letter.items()))
    print(f"({time.time() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
