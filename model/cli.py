"""The command line: ``main.py predict | evaluate | train | tune``, without Qt.

``main.py`` hands every sub-command here (:func:`dispatch`); what is not a sub-command (no
argument, a model or drawing to open, ``--self-test``) starts the window instead. Conventions a
shell user relies on:

* answers on stdout, one line each, flushed as soon as known, in input order; every problem on
  stderr as one ``error: PATH: what`` line; exit 0 (all good), 1 (some inputs failed),
  2 (bad usage, unusable model or data), 130 (Ctrl+C), 141 (stdout closed, e.g. ``| head``);
* quiet: TensorFlow's start-up chatter is hidden unless ``-v``;
* TensorFlow is imported only by the sub-commands that need it (``--help``, ``--version`` and
  typos answer at once).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> (one-line description, "module:function" taking argv and returning an exit code)
COMMANDS: dict[str, tuple[str, str]] = {
    "predict": ("classify images and stroke files (folders and - for standard input too)", "model.cli:predict_main"),
    "read": ("read whole numbers (several digits) from stroke files and pictures", "model.read_cli:main"),
    "evaluate": ("accuracy, per-class accuracy and confusion matrix on a labelled set", "model.cli:evaluate_main"),
    "train": ("train a model (by default into a new file in your user folder)", "model.training.train:main"),
    "tune": ("fine-tune a model on your own handwriting", "model.training.tune:main"),
    "calibrate": ("fit calibrated confidence and 'not a digit' for a model (stored in its card)", "model.nets.confidence:main"),
}

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def version() -> str:
    """The project's version from ``pyproject.toml`` (no TensorFlow import), else the installed metadata."""
    try:
        text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
        m = re.search(r'(?ms)^\[project\].*?^version\s*=\s*"([^"]+)"', text)
        if m:
            return m.group(1)
    except OSError:
        pass
    try:
        from importlib.metadata import version as installed_version

        return installed_version("digit-recognizer")
    except Exception:  # noqa: BLE001 - a frozen app without metadata
        return "unknown"


def commands_help() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["sub-commands (each has --help):"]
    lines += [f"  {name:<{width}}  {text}" for name, (text, _) in COMMANDS.items()]
    return "\n".join(lines)


def unknown_command(word: str) -> str:
    """The error for a first word that is neither a sub-command nor an existing file."""
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (
        f"main.py: error: '{word}' is not a sub-command or an existing file.{hint}\n"
        f"Sub-commands: {', '.join(COMMANDS)}. To open a model or drawing, give the path of an existing file."
    )


def is_command_like(word: str) -> bool:
    """True if ``word`` should be read as a (possibly mistyped) sub-command rather than a file to open."""
    return word in COMMANDS or (not word.startswith("-") and not os.path.exists(word))


def _entry(spec: str) -> Callable[[list[str]], int]:
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def dispatch(argv: list[str]) -> int:
    """Run ``argv[0]`` as a sub-command with the rest of ``argv``; exit code as described above."""
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(unknown_command(name), file=sys.stderr)
        return EXIT_USAGE
    _robust_streams()
    try:
        verbose = "-v" in rest or "--verbose" in rest
        if name in ("train", "tune"):
            rest = [a for a in rest if a not in ("-v", "--verbose")]
        if not ({"-h", "--help"} & set(rest)):
            # Import it (quietly) before anything else: measured, importing it later, from inside a
            # sub-command, costs ~0.4 s more system time (many more mmap/munmap calls afterwards).
            _import_tensorflow(verbose)
        code = _entry(COMMANDS[name][1])(rest)
        sys.stdout.flush()
        return int(code or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _robust_streams() -> None:
    # An ASCII-only terminal (LANG=C) must not turn a path with an accent into a traceback.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass


def _silence_stdout() -> None:
    # The reader went away (``| head``): point stdout at /dev/null so the interpreter's final
    # flush does not raise a second BrokenPipeError at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _import_tensorflow(verbose: bool):
    from model.nets.tf_runtime import import_tensorflow

    return import_tensorflow(verbose)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def load_predictor(path: Path | None, verbose: bool):
    """The model to use, or ``None`` after printing why it cannot be used."""
    _import_tensorflow(verbose)
    from model.nets.inference import ModelError, Predictor

    try:
        return Predictor(path, feature_maps=False)  # classification only: no map function to trace
    except ModelError as exc:
        _error(str(exc))
    except Exception as exc:  # noqa: BLE001 - any other failure to load is still one line
        _error(f"{path}: cannot be loaded as a model: {type(exc).__name__}: {exc}")
    return None


# --- predict -----------------------------------------------------------------------------------


def expand_paths(paths: list[str]) -> tuple[list[str], list[str]]:
    """Command-line paths -> input paths (folders expanded to their supported files, sorted) and problems."""
    from model.nets.evaluate import supported_paths

    out, problems = [], []
    for p in paths:
        if p != "-" and os.path.isdir(p):
            unlisted: list[str] = []
            found = supported_paths(p, unlisted)
            problems.extend(unlisted)
            if not found and not unlisted:
                problems.append(f"{p}: no images or stroke files in this folder")
            out.extend(found)
        else:
            out.append(p)
    return out, problems


def _tsv(text: str) -> str:
    """A field of a PATH<TAB>CLASS<TAB>CONFIDENCE line: backslash, tab and line breaks escaped (``\\t``, ``\\n``)."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def predict_main(argv: list[str]) -> int:
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
    if args.paths.count("-") > 1:
        p.error("'-' (standard input) can be given only once")

    import numpy as np

    from model.data.pictures import describe_failure, inputs_from_files, read_ahead

    paths, problems = expand_paths(args.paths)
    failed = bool(problems)
    for problem in problems:
        _error(problem)
    predictor = load_predictor(args.model, args.verbose)
    if predictor is None:
        return EXIT_USAGE
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


# --- evaluate ----------------------------------------------------------------------------------


def evaluate_main(argv: list[str]) -> int:
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
    predictor = load_predictor(args.model, args.verbose)
    if predictor is None:
        return EXIT_USAGE
    problems: list[str] = []
    numbers: list = []  # files labelled with a whole number: read by model.read_cli
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
        from model.read_cli import evaluate_numbers

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
            from model.read_cli import number_report

            print(number_report(number_result))
        if args.errors is not None:
            print(f"misread inputs written to {args.errors}")
    return 0
