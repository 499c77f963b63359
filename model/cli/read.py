"""``main.py read``: whole numbers from stroke files and pictures, one line per input.

Strokes are grouped into digits by ``model.data.segment`` (writing order, overlap, the digits' median
height; uncertain splits settled by the network); pictures are split into ink blobs grouped the
same way. Inputs, folders, ``-``, streaming and errors follow ``predict`` (``model.cli.predict``). A file
holding one digit is read exactly as ``predict`` reads it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.cli import common
from model.cli.common import EXIT_USAGE, _error
from model.data.segment import read_number_file


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

    from model.data.pictures import describe_failure

    started = common.inputs_and_model(p, args)
    if started is None:
        return EXIT_USAGE
    paths, failed, predictor = started
    names = list(predictor.class_names)
    out = sys.stdout
    for path in paths:
        try:
            reading = read_number_file(path, predictor)
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
