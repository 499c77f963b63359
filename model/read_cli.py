"""``main.py read``: whole numbers from stroke files and pictures, one line per input.

Strokes are grouped into digits by ``model.data.segment`` (writing order, overlap, the digits' median
height; uncertain splits settled by the network); pictures are split into ink blobs grouped the
same way. Inputs, folders, ``-``, streaming and errors follow ``predict`` (``model.cli``). A file
holding one digit is read exactly as ``predict`` reads it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import EXIT_USAGE, _error, expand_paths, load_predictor


def read_file(path: str, predictor):
    """One input file -> its :class:`model.data.segment.NumberReading` (raises what stops reading it)."""
    from .data.pictures import read_input
    from .data.segment import read_number, read_picture

    kind, value = read_input(path)
    classify = predictor.predict_probabilities
    return read_number(value, classify) if kind == "strokes" else read_picture(value, classify)


def reading_json(path: str, reading, names: list[str]) -> dict:
    """The ``--json`` object of one input: digits, confidence and each digit's box and probabilities."""
    return {
        "path": path,
        "digits": reading.text(names) if reading.digits else None,
        "confidence": round(reading.confidence, 6),
        "boxes": [[round(float(v), 3) for v in d.box] for d in reading.digits],
        "probabilities": [{n: round(float(v), 6) for n, v in zip(names, d.probabilities)} for d in reading.digits],
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="main.py read",
        description="Read whole numbers (several digits written left to right) from stroke files "
        '({"strokes": [[[x, y], ...], ...]}, in the order drawn, y down) and pictures (PNG, JPEG, GIF, BMP). A folder '
        "means every such file inside it, recursively, sorted; '-' reads one from standard input. Prints "
        "PATH<TAB>DIGITS<TAB>CONFIDENCE per input ('-' when it holds nothing to read; CONFIDENCE is the product of the "
        "digits' confidences), each line as soon as it is read, in input order. Unreadable inputs are reported on "
        "stderr as 'error: PATH: ...'; the others still run; exit code 1 if any failed.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="stroke file, picture, folder, or - for standard input")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: path, digits, confidence, and per digit its box (x0, y0, x1, y1 in the "
        "file's units or pixels) and probabilities",
    )
    p.add_argument("--model", type=Path, help="a .keras model (default: the bundled one)")
    p.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's start-up messages")
    args = p.parse_args(argv)
    if args.paths.count("-") > 1:
        p.error("'-' (standard input) can be given only once")

    from .data.pictures import describe_failure

    paths, problems = expand_paths(args.paths)
    failed = bool(problems)
    for problem in problems:
        _error(problem)
    predictor = load_predictor(args.model, args.verbose)
    if predictor is None:
        return EXIT_USAGE
    names = list(predictor.class_names)
    out = sys.stdout
    for path in paths:
        try:
            reading = read_file(path, predictor)
        except Exception as exc:  # noqa: BLE001 - whatever stops one file is that file's alone
            failed = True
            out.flush()
            _error(describe_failure(path, exc))
            continue
        if args.json:
            import json

            out.write(json.dumps(reading_json(path, reading, names)) + "\n")
        elif not reading.digits:
            out.write(f"{path}\t-\t0.0000\n")
        else:
            out.write(f"{path}\t{reading.text(names)}\t{reading.confidence:.4f}\n")
        out.flush()
    return 1 if failed else 0


# --- evaluate: files labelled with whole numbers -----------------------------------------------------


def _common(a: str, b: str) -> int:
    """Length of the longest common subsequence of two digit strings (digits read right, in order)."""
    row = [0] * (len(b) + 1)
    for ca in a:
        prev = 0
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]


def evaluate_numbers(predictor, files: list, on_problem=None) -> dict:
    """Files labelled with whole numbers (``[(path, "4071"), ...]``) -> whole-number and per-digit accuracy.

    ``digit_accuracy``: digits read right (the longest common subsequence of the label and the
    answer, so a missed or extra digit costs one, not the rest) over the labels' digits;
    ``wrong_count``: numbers read with more or fewer digits than their label.
    """
    names = list(predictor.class_names)
    report = on_problem or (lambda message: None)
    n = right = digits = digits_right = wrong_count = 0
    misread = []
    for path, label in files:
        try:
            reading = read_file(str(path), predictor)
        except Exception as exc:  # noqa: BLE001
            from .data.pictures import describe_failure

            report(describe_failure(str(path), exc) + "; skipped")
            continue
        got = reading.text(names)
        n += 1
        right += got == label
        digits += len(label)
        digits_right += _common(label, got)
        wrong_count += len(got) != len(label)
        if got != label:
            misread.append({"path": str(path), "label": label, "read": got})
    return {
        "n": n,
        "accuracy": round(right / n, 5) if n else None,
        "digits": digits,
        "digit_accuracy": round(digits_right / digits, 5) if digits else None,
        "wrong_count": wrong_count,
        "misread": misread[:100],
    }


def number_report(result: dict) -> str:
    """The text ``evaluate`` prints for number files."""
    if not result["n"]:
        return "numbers: none could be read"
    lines = [
        f"numbers: {result['n']}, read entirely right: {100 * result['accuracy']:.2f}%",
        f"digits of those numbers: {result['digits']}, read right: {100 * result['digit_accuracy']:.2f}%"
        f" (numbers read with a wrong digit count: {result['wrong_count']})",
    ]
    lines += [f"  {m['path']}: {m['label']} read as {m['read'] or '-'}" for m in result["misread"][:20]]
    return "\n".join(lines)
