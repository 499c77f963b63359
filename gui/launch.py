"""Digit recognizer's entry point: the window, or a sub-command of the command line.

``main.py`` (``uv run main.py``) and the ``digit-recognizer`` console command
(``uv tool install .`` or ``pipx install .``) both call :func:`main`:

    uv run main.py                      start the app (optionally: a model or drawing to open)
    uv run main.py predict PATH...      classify images, stroke files, folders, - (stdin)
    uv run main.py evaluate --data DIR  accuracy and confusion matrix on a labelled set
    uv run main.py train                train a model (into your user folder by default)
    uv run main.py tune                 fine-tune a model on your own handwriting
    uv run main.py --self-test          check the installation (also in the frozen app)
    uv run main.py --version

The sub-commands live in ``model/cli/`` (Qt-free); this module only decides between them and
the window. Heavy imports (TensorFlow, Qt) happen inside them, so each pays only for what it
uses and the window can appear before TensorFlow has loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter (oneDNN, CPU features) is noise to a user.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_app(argv: list[str]) -> int:
    from model.cli import commands_help, version

    p = argparse.ArgumentParser(
        prog="main.py",
        description="Draw a digit and watch a CNN recognise it, layer by layer.",
        epilog=commands_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", nargs="?", type=Path, help="a .keras model or a drawing to open")
    p.add_argument("--self-test", action="store_true", help="check model, preprocessing and window offscreen, then exit")
    p.add_argument("--version", action="version", version=f"digit-recognizer {version()}")
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
    from model.cli import dispatch, is_command_like

    if argv and is_command_like(argv[0]):
        _quiet_tensorflow()
        code = dispatch(argv)
        # The command is done: its files are closed, and stdout is flushed again at exit as usual.
        # What is left is the interpreter's last garbage collection, which walks every object
        # TensorFlow created (0.6-0.7 s, measured with bench/batch_predict.py); frozen objects are
        # skipped by it and their memory goes back to the system with the process.
        import gc

        gc.freeze()
        return code
    return run_app(argv)
