"""What every sub-command shares: one-line errors, exit codes, loading the model, expanding folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


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


def inputs_and_model(parser, args):
    """What ``predict`` and ``read`` start with: the input paths (folders expanded, each problem said on
    stderr) and the model. Returns ``(paths, any_problem, predictor)``, or ``None`` if the model cannot be
    used (said already). ``args`` needs ``paths``, ``model`` and ``verbose``."""
    if args.paths.count("-") > 1:
        parser.error("'-' (standard input) can be given only once")
    paths, problems = expand_paths(args.paths)
    for problem in problems:
        _error(problem)
    predictor = load_predictor(args.model, args.verbose)
    if predictor is None:
        return None
    return paths, bool(problems), predictor
