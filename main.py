"""Digit recognizer: draw a digit and watch a convolutional neural network think.

    uv run main.py                      start the app (optionally: a .keras model to open)
    uv run main.py predict PATH...      classify images and stroke files
    uv run main.py evaluate --data DIR  accuracy on MNIST test files, stroke files or pendigits
    uv run main.py train --data DIR     train the bundled model
    uv run main.py --self-test          check the installation (also in the frozen app)

Heavy imports (TensorFlow, Qt) happen inside the sub-commands, so each pays only for what it uses
and the window can appear before TensorFlow has loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

COMMANDS = ("predict", "evaluate", "train")


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) is noise to a user.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def predict_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="main.py predict",
        description="Classify PNG/JPEG images and stroke files ({\"strokes\": [[[x, y], ...], ...]}, y down, any units). "
        "Prints PATH<TAB>DIGIT<TAB>CONFIDENCE per input ('-' when it holds no digit). "
        "Unreadable inputs are reported on stderr; the others still run; exit code 1 if any failed.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image (.png, .jpg, ...) or stroke (.json) files")
    p.add_argument("--json", action="store_true", help="one JSON object per line: path, digit, confidence, probabilities")
    p.add_argument("--model", type=Path, help="a compatible .keras model (default: the bundled one)")
    p.add_argument("--batch-size", type=int, default=256, help="inputs per model call (default: %(default)s)")
    args = p.parse_args(argv)
    _quiet_tensorflow()

    import json

    import numpy as np

    from model.data import DataError
    from model.inference import ModelError, Predictor
    from model.preprocess import file_to_input

    try:
        predictor = Predictor(args.model)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    failed = False

    def emit(batch: list[tuple[str, np.ndarray | None]]) -> None:
        images = [x for _, x in batch if x is not None]
        probs = iter(predictor.predict_probabilities(np.stack(images)) if images else [])
        for path, x in batch:
            pr = None if x is None else next(probs)
            digit = None if pr is None else int(pr.argmax())
            confidence = 0.0 if pr is None else float(pr.max())
            if args.json:
                print(json.dumps({
                    "path": path,
                    "digit": digit,
                    "confidence": round(confidence, 6),
                    "probabilities": None if pr is None else [round(float(v), 6) for v in pr],
                }))
            else:
                print(f"{path}\t{'-' if digit is None else digit}\t{confidence:.4f}")
        sys.stdout.flush()

    batch: list[tuple[str, np.ndarray | None]] = []
    for path in args.paths:
        try:
            batch.append((path, file_to_input(path)))
        except (DataError, ValueError, OSError) as exc:
            failed = True
            print(f"error: {path}: {exc}", file=sys.stderr)
        if len(batch) >= args.batch_size:
            emit(batch)
            batch = []
    if batch:
        emit(batch)
    return 1 if failed else 0


def evaluate_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="main.py evaluate",
        description="Report a model's accuracy with per-digit figures and a confusion matrix. --data may be: a folder "
        "with the MNIST test IDX files (t10k-*); a pendigits-orig.tra file (pen strokes, rendered like the canvas; "
        "choose writers with --writers); or a folder of labelled stroke .json files (a \"label\" key, a parent folder "
        "named 0-9, or a name starting with the digit and '_').",
    )
    p.add_argument("--data", required=True, type=Path, help="MNIST folder, pendigits .tra file or folder of stroke files")
    p.add_argument("--writers", help="pendigits writers, e.g. 25-30 or 1,4,7 (default: all)")
    p.add_argument("--model", type=Path, help="a compatible .keras model (default: the bundled one)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    _quiet_tensorflow()

    import json

    from model.data import DataError
    from model.evaluate import evaluate_mnist, evaluate_pendigits, evaluate_stroke_folder
    from model.inference import ModelError, Predictor
    from model.train import parse_writers

    data: Path = args.data
    if not data.exists():
        print(f"error: --data {data} does not exist", file=sys.stderr)
        return 2
    try:
        predictor = Predictor(args.model)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problems: list[str] = []
    try:
        if data.is_file():
            result = evaluate_pendigits(predictor, data, parse_writers(args.writers) if args.writers else None)
        elif any(data.glob("t10k-images-idx3-ubyte*")) or any(data.glob("mnist/t10k-images-idx3-ubyte*")):
            result = evaluate_mnist(predictor, data)
        else:
            result, problems = evaluate_stroke_folder(predictor, data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if len(result.labels) == 0:
        print(f"error: no labelled digits found in {data}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"data": str(data), "model": str(predictor.path), **result.summary()}))
    else:
        print(f"model: {predictor.path}")
        print(result.report())
    return 0


def run_app(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="main.py", description="Draw a digit and watch a CNN recognise it, layer by layer.",
                                epilog="Sub-commands: " + ", ".join(COMMANDS) + " (each has --help).")
    p.add_argument("model", nargs="?", type=Path, help="a .keras model to open instead of the bundled one")
    p.add_argument("--self-test", action="store_true", help="check model, preprocessing and window offscreen, then exit")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    # For bench/startup.py: print wall-clock timestamps of "window shown" and "model ready", then quit.
    p.add_argument("--startup-timing", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    _quiet_tensorflow()
    if args.self_test:
        from gui.self_test import run_self_test

        return run_self_test()
    from gui.app import run

    return run(model_path=args.model, quit_after=args.quit_after, startup_timing=args.startup_timing)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "predict":
        return predict_main(argv[1:])
    if argv and argv[0] == "evaluate":
        return evaluate_main(argv[1:])
    if argv and argv[0] == "train":
        _quiet_tensorflow()
        from model.train import main as train_main

        return train_main(argv[1:])
    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
