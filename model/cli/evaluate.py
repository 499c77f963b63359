"""``main.py evaluate``: accuracy, per-class accuracy and the confusion matrix on a labelled set;
whole-number accuracy on number files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.cli import common
from model.cli.common import EXIT_USAGE, _error


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="main.py evaluate",
        description="Report a model's accuracy, per-class accuracy and confusion matrix. --data may be: a folder with "
        "the MNIST test IDX files (t10k-*); a pendigits-orig.tra file (pen strokes, rendered like the canvas; choose "
        "writers with --writers); or a folder of labelled images and stroke files (in class sub-folders 0/ ... 9/ or "
        'named after the model\'s classes, or stroke files with a "label" key, or names starting with the class '
        "and '_').",
    )
    p.add_argument("--data", required=True, type=Path, help="MNIST folder, pendigits .tra file, or folder of labelled files")
    p.add_argument("--writers", help="pendigits writers, e.g. 25-30 or 1,4,7 (default: all)")
    p.add_argument("--model", type=Path, help="a .keras model (default: the bundled one)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: n, accuracy, errors, per_class, classes, confusion (rows: true class), no_answer",
    )
    p.add_argument(
        "--errors",
        type=Path,
        metavar="DIR",
        help="write each misread input, as the model saw it, to DIR as true-T_read-A_NAME.png",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's start-up messages")
    args = p.parse_args(argv)

    import json

    from model.data.readers import DataError
    from model.nets.evaluate import evaluate_folder, evaluate_mnist, evaluate_pendigits
    from model.training.config import WriterSpecError, parse_writers

    data: Path = args.data
    writers = None
    if args.writers:
        try:
            writers = parse_writers(args.writers)
        except WriterSpecError as exc:
            _error(f"--writers: {exc}")
            return EXIT_USAGE
    if not data.exists():
        _error(f"--data {data} does not exist")
        return EXIT_USAGE
    if args.errors is not None:
        try:
            args.errors.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _error(f"--errors {args.errors}: cannot create this folder: {exc.strerror or exc}")
            return EXIT_USAGE
    predictor = common.load_predictor(args.model, args.verbose)
    if predictor is None:
        return EXIT_USAGE
    problems: list[str] = []
    numbers: list = []  # files labelled with a whole number: read as numbers (model.nets.evaluate.evaluate_numbers)
    try:
        if data.is_file():
            result = evaluate_pendigits(predictor, data, writers, args.errors)
        elif any(data.glob("t10k-images-idx3-ubyte*")) or any(data.glob("mnist/t10k-images-idx3-ubyte*")):
            result = evaluate_mnist(predictor, data, args.errors)
        else:
            result = evaluate_folder(predictor, data, args.errors, on_problem=problems.append, numbers=numbers)
    except DataError as exc:
        _error(" ".join(str(exc).split()))
        return EXIT_USAGE
    number_result = None
    if numbers:
        from model.nets.evaluate import evaluate_numbers

        number_result = evaluate_numbers(predictor, numbers, on_problem=problems.append)
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if len(result.labels) == 0 and not numbers:
        _error(f"no labelled inputs found in {data}" + (f" (writers {args.writers})" if args.writers else ""))
        return EXIT_USAGE
    if args.json:
        extra = {"numbers": number_result} if number_result is not None else {}
        print(json.dumps({"data": str(data), "model": str(predictor.path), **result.summary(), **extra}))
    else:
        print(f"model: {predictor.path}")
        if len(result.labels):
            print(result.report())
        if number_result is not None:
            from model.nets.evaluate import number_report

            print(number_report(number_result))
        if args.errors is not None:
            print(f"misread inputs written to {args.errors}")
    return 0
