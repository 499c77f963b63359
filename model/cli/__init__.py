"""The command line: ``main.py predict | read | evaluate | train | tune | calibrate``, without Qt.

One module per sub-command (``predict.py``, ``read.py``, ...; each has ``main(argv) -> exit code``),
what they share in ``common.py``, and here the table of sub-commands and :func:`dispatch`.

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

import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from model.cli.common import (  # noqa: F401 (the helpers sub-commands and scripts import from here)
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    _error,
    _import_tensorflow,
    expand_paths,
    load_predictor,
)

ROOT = Path(__file__).resolve().parents[2]

# name -> (one-line description, "module:function" taking argv and returning an exit code)
COMMANDS: dict[str, tuple[str, str]] = {
    "predict": ("classify images and stroke files (folders and - for standard input too)", "model.cli.predict:main"),
    "read": ("read whole numbers (several digits) from stroke files and pictures", "model.cli.read:main"),
    "evaluate": ("accuracy, per-class accuracy and confusion matrix on a labelled set", "model.cli.evaluate:main"),
    "train": ("train a model (by default into a new file in your user folder)", "model.cli.train:main"),
    "tune": ("fine-tune a model on your own handwriting", "model.cli.tune:main"),
    "calibrate": ("fit calibrated confidence and 'not a digit' for a model (stored in its card)", "model.cli.calibrate:main"),
}


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


# --- evaluate ----------------------------------------------------------------------------------
