"""``main.py predict``: one line per input (``PATH<TAB>CLASS<TAB>CONFIDENCE``, or JSON with the status),
streamed in input order."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.cli import common
from model.cli.common import EXIT_USAGE, _error


def _tsv(text: str) -> str:
    """A field of a PATH<TAB>CLASS<TAB>CONFIDENCE line: backslash, tab and line breaks escaped (``\\t``, ``\\n``)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="main.py predict",
        description='Classify images (PNG, JPEG, GIF, BMP) and stroke files ({"strokes": [[[x, y], ...], ...]}, y down, '
        "any units). A folder means every such file inside it, recursively, sorted; '-' reads one image or stroke "
        "document from standard input. Prints PATH<TAB>CLASS<TAB>CONFIDENCE per input ('-' when it holds nothing to "
        "read), each line as soon as its batch is done, in input order. Unreadable inputs are reported on stderr as "
        "'error: PATH: ...'; the others still run; exit code 1 if any failed.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image or stroke file, folder, or - for standard input")
    p.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per line: path, class, confidence, probabilities, status ("digit", "unsure" or '
        '"not a digit"; unsure answers add unsure_between: the top two classes)',
    )
    p.add_argument("--model", type=Path, help="a .keras model (default: the bundled one)")
    p.add_argument("--batch-size", type=int, default=256, help="inputs per model call (default: %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's start-up messages")
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error(f"--batch-size must be at least 1; got {args.batch_size}")

    import numpy as np

    from model.data.pictures import describe_failure, inputs_from_files, read_ahead

    started = common.inputs_and_model(p, args)
    if started is None:
        return EXIT_USAGE
    paths, failed, predictor = started
    names = list(predictor.class_names)
    out = sys.stdout

    def answer(path: str, probs, verdict=None) -> None:
        if args.json:
            import json

            # "status": "digit" | "unsure" | "not a digit" (model/confidence.py); nothing to read is not a digit
            status = "not a digit" if probs is None else (verdict.status if verdict is not None else None)
            line = {
                "path": path,
                "class": None if probs is None else names[int(probs.argmax())],
                "confidence": 0.0 if probs is None else round(float(probs.max()), 6),
                "probabilities": None if probs is None else {n: round(float(v), 6) for n, v in zip(names, probs)},
                "status": status,
            }
            if status == "unsure":
                line["unsure_between"] = [names[i] for i in verdict.classes]
            out.write(json.dumps(line) + "\n")
        else:
            label = "-" if probs is None else _tsv(names[int(probs.argmax())])
            out.write(f"{_tsv(path)}\t{label}\t{0.0 if probs is None else float(probs.max()):.4f}\n")

    chunks = [paths[i : i + args.batch_size] for i in range(0, len(paths), args.batch_size)]
    for chunk, results in zip(chunks, read_ahead(chunks, inputs_from_files)):
        ready = [i for i, r in enumerate(results) if isinstance(r, np.ndarray)]
        probs: dict[int, object] = {}
        verdicts: dict[int, object] = {}
        if ready:
            try:
                batch, answers = _answers(predictor, np.stack([results[i] for i in ready]))
                if not np.isfinite(batch).all():
                    raise ValueError("non-finite output in the batch")
                probs, verdicts = dict(zip(ready, batch)), dict(zip(ready, answers))
            except Exception:  # noqa: BLE001 - one input may poison the batch: find it
                for i in ready:
                    try:
                        rows, answers = _answers(predictor, results[i][None])
                        row = rows[0]
                        if not np.isfinite(row).all():
                            raise ValueError("the model's output for this input is NaN or infinite")
                        probs[i], verdicts[i] = row, answers[0]
                    except Exception as exc:  # noqa: BLE001
                        results[i] = exc
        for i, (path, result) in enumerate(zip(chunk, results)):
            if isinstance(result, BaseException):
                failed = True
                out.flush()
                _error(describe_failure(path, result))
            else:
                answer(path, probs.get(i), verdicts.get(i))
        out.flush()
    return 1 if failed else 0


def _answers(predictor, images):
    """Probabilities and verdicts (model/confidence.py); a predictor without ``predict_answers`` is judged
    from its probabilities alone, as an uncalibrated model is."""
    if hasattr(predictor, "predict_answers"):
        return predictor.predict_answers(images)
    import numpy as np

    from model.nets.confidence import Calibration, judge_batch, logits_from_probabilities

    probs = predictor.predict_probabilities(images)
    if not np.isfinite(probs).all():
        return probs, [None] * len(probs)
    return probs, judge_batch(Calibration(), logits_from_probabilities(probs), None, list(predictor.class_names))
