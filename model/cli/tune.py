"""``main.py tune``: fine-tune a model on a folder of your own labelled drawings."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from model.data.paths import default_mnist_dir, is_bundled, models_dir
from model.training.tune import REPLAY_FILE, TuneConfig, TuneError, describe, tune


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(
        prog="main.py tune",
        description='Fine-tune a copy of a model on your own labelled drawings (stroke .json files with a "label" key, '
        "or in folders named 0-9), mixed with a replay sample of MNIST. Every 5th drawing of each digit is held out "
        "and reported before/after; MNIST test too when the MNIST files are found. The bundled model is never overwritten.",
    )
    p.add_argument("--data", required=True, type=Path, help="folder of labelled stroke .json files (any names)")
    p.add_argument("--out", type=Path, help=f"where to write the tuned .keras model (default: a new file in {models_dir()})")
    p.add_argument("--model", type=Path, help="the model to start from (default: the bundled one)")
    p.add_argument("--epochs", type=int, default=TuneConfig.epochs, help="passes over the data (default: %(default)s)")
    p.add_argument(
        "--mnist",
        type=Path,
        help="MNIST IDX folder for replay digits and the MNIST test figure "
        "(default: $DIGIT_RECOGNIZER_MNIST or ../shared/data/mnist beside the project, as train finds it, "
        f"else the {REPLAY_FILE.name} shipped with the app)",
    )
    p.add_argument("--no-holdout", action="store_true", help="tune on every drawing (no held-out before/after figure)")
    p.add_argument("--seed", type=int, default=TuneConfig.seed)
    p.add_argument("--force", action="store_true", help="allow --out to replace an existing file (never the bundled model)")
    args = p.parse_args(argv)

    from model.data.handwriting import read_labelled_folder
    from model.data.readers import DataError
    from model.nets.inference import DEFAULT_MODEL, ModelError

    if args.epochs < 1:
        p.error(f"--epochs must be at least 1; got {args.epochs}")
    base = args.model or DEFAULT_MODEL
    out = args.out or models_dir() / f"personal-{time.strftime('%Y%m%d-%H%M%S')}.keras"
    if is_bundled(out):
        p.error(f"--out {out} is the bundled model, which is never overwritten; choose another file")
    if out.suffix != ".keras":
        p.error(f"--out must end in .keras; got {out}")
    if out.exists() and not args.force:
        p.error(f"--out {out} exists; add --force to replace it")
    mnist = args.mnist if args.mnist is not None else default_mnist_dir()
    try:
        drawings, problems = read_labelled_folder(args.data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    cfg = TuneConfig(epochs=args.epochs, holdout=not args.no_holdout, seed=args.seed)
    command = "uv run main.py tune " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[2:]))
    print(f"{len(drawings)} labelled drawings in {args.data}; starting from {base}", flush=True)
    try:
        card = tune(base, drawings, out, cfg, mnist_dir=mnist, command=command)
    except (TuneError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(describe(card))
    print(f"saved {out} (card: {out.with_suffix('.json')})")
    return 0
