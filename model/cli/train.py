"""``main.py train``: the command line of training (a new model, ``--init``, ``--average``, ``--layers``)."""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from pathlib import Path

from model.data.paths import default_mnist_dir, is_bundled, models_dir
from model.nets.architecture import ARCHITECTURES
from model.training.augment import Augmentation
from model.training.config import TrainConfig, WriterSpecError, parse_writers
from model.training.train import train


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(
        prog="main.py train",
        description="Train the digit CNN (or the lesson's MLP) with augmentation; save it with its card (JSON next to it). "
        "Validation uses a split of the training data, never MNIST test.",
    )
    p.add_argument(
        "--arch", choices=ARCHITECTURES, default="cnn", help="cnn: the app's CNN; mlp: the lesson's 784-128-10 network"
    )
    p.add_argument(
        "--data",
        help="folder with the MNIST IDX files (default: the copy Keras keeps in ~/.keras/datasets; nothing is downloaded)",
    )
    p.add_argument("--pendigits", help="pendigits-orig.tra file to add pen-drawn digits to the training data")
    p.add_argument("--pendigits-writers", default="1-24", help="writers to train on (default: %(default)s)")
    p.add_argument(
        "--heldout-writers", default="25-30", help="writers reported in the card, never trained on (default: %(default)s)"
    )
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument(
        "--pen-variants",
        type=int,
        default=TrainConfig.pen_variants,
        metavar="N",
        help="warped re-renders of each training pen digit (default: %(default)s)",
    )
    p.add_argument("--init", help="continue training this saved model (a second stage) instead of new weights")
    p.add_argument(
        "--augment-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="strength of every augmentation, times the default (default: %(default)s)",
    )
    p.add_argument(
        "--elastic",
        type=float,
        default=0.0,
        metavar="F",
        help="add elastic warps (images: smooth displacement fields; pen digits: bent strokes, strokes moved "
        "apart) at F times their full size, before --augment-scale (default: %(default)s, none)",
    )
    p.add_argument("--limit", type=int, metavar="N", help="train on at most N MNIST digits (and N/10 pen digits): a quick run")
    p.add_argument(
        "--average",
        nargs="+",
        type=Path,
        metavar="MODEL",
        help="instead of training: average the weights of these models, fine-tuned from the same --init "
        "(a model soup), and save that with its card",
    )
    p.add_argument(
        "--layers",
        metavar="SPEC",
        help="train this network instead of --arch, e.g. 'conv 8 5 same, pool 2, conv 16 5 same, pool 3' "
        "(items: conv FILTERS KERNEL [stride N] [same|valid], pool SIZE [max|avg], dense UNITS, dropout RATE, gap; "
        "a dense softmax over the digits is added); MNIST only, no augmentation",
    )
    p.add_argument(
        "--seconds",
        type=float,
        metavar="S",
        help="with --layers: stop after S seconds of training (graph building and validation not counted), "
        "keeping the weights with the best validation accuracy",
    )
    p.add_argument("--logdir", help="write TensorBoard logs here")
    p.add_argument("--out", type=Path, help="where to save (default: a new file in " + str(models_dir()) + ")")
    p.add_argument("--force", action="store_true", help="allow --out to replace an existing file, the bundled model included")
    args = p.parse_args(argv)
    if args.layers is not None:
        return _train_layers(p, args, argv)
    if args.seconds is not None:
        p.error("--seconds needs --layers (the default networks train for --epochs)")
    try:
        train_writers = parse_writers(args.pendigits_writers)
        heldout = parse_writers(args.heldout_writers)
    except WriterSpecError as exc:
        p.error(str(exc))
    overlap = set(train_writers) & set(heldout)
    if overlap:
        p.error(f"--pendigits-writers and --heldout-writers overlap on {sorted(overlap)}; held-out writers must stay unseen")
    if args.limit is not None and args.limit < 1:
        p.error(f"--limit must be a positive number of digits; got {args.limit}")
    if args.logdir:
        try:
            import tensorboard  # noqa: F401 - only to know it is there before hours of training
        except ImportError:
            p.error("--logdir writes TensorBoard logs, which needs the tensorboard package: uv add tensorboard")
    if args.epochs < 1:
        p.error(f"--epochs must be at least 1; got {args.epochs}")
    if args.data is None and (found := default_mnist_dir()) is not None:
        args.data = str(found)
        print(f"MNIST from {found} (--data chooses another folder)", flush=True)
    out = args.out or models_dir() / f"digit_{args.arch}-{time.strftime('%Y%m%d-%H%M%S')}.keras"
    if out.suffix != ".keras":
        p.error(f"--out must end in .keras; got {out}")
    if out.exists() and not args.force:
        what = "the bundled model" if is_bundled(out) else "an existing file"
        p.error(f"--out {out} is {what}; add --force to replace it")
    command = "uv run main.py train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[2:]))
    if args.average:
        from model.training.soup import SoupError, make_soup

        missing = [str(m) for m in args.average if not m.is_file()]
        if missing:
            p.error(f"--average: no such model file: {', '.join(missing)}")
        print(f"will save to {out}", flush=True)
        from model.data.readers import DataError
        from model.nets.inference import ModelError

        try:
            card = make_soup(args.average, out, args.data, args.pendigits, train_writers, heldout, command)
        except (SoupError, ModelError, DataError) as exc:
            p.error(str(exc))
        print(json.dumps(card["evaluation"], indent=2), flush=True)
        return 0
    cfg = TrainConfig(
        arch=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        limit=args.limit,
        init=args.init,
        pen_variants=args.pen_variants,
        augmentation=Augmentation().with_elastic(args.elastic).scaled(args.augment_scale),
    )
    from model.data.readers import DataError
    from model.nets.inference import ModelError
    from model.training.feeding import FeedingError, digit_feeding
    from model.training.saving import OutputError, check_output, output_lock

    if args.init:
        try:  # before minutes of data preparation: a bad start model is a one-line error now
            digit_feeding(args.init)
        except (ModelError, FeedingError) as exc:
            print(f"main.py train: error: --init: {exc}", file=sys.stderr)
            return 2
    try:  # before the work: a half-hour train must not end in a traceback at the save
        check_output(out)
        if args.logdir:
            check_output(Path(args.logdir) / "events.keras")
    except OutputError as exc:
        print(f"main.py train: error: {exc}", file=sys.stderr)
        return 2
    print(f"will save to {out}", flush=True)
    try:
        with output_lock(out):
            train(args.data, out, cfg, args.pendigits, train_writers, heldout, command, args.logdir)
    except (DataError, OutputError, FeedingError) as exc:
        print(f"main.py train: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _train_layers(p, args, argv) -> int:
    """``train --layers SPEC``: the spec is checked before any data is read; nothing is written if it is wrong."""
    from model.data.readers import DataError
    from model.training.live import TrainSettings, load_spec_data, save_trained, train_spec
    from model.training.spec import SpecError, normalise, plan, total_params

    try:
        rows = plan(args.layers)
    except SpecError as exc:
        print(f"main.py train: error: --layers: {exc}", file=sys.stderr)
        return 2
    if args.seconds is not None and not (args.seconds > 0 and math.isfinite(args.seconds)):
        p.error(f"--seconds must be a positive number of seconds; got {args.seconds}")
    if args.epochs < 1:
        p.error(f"--epochs must be at least 1; got {args.epochs}")
    if args.limit is not None and args.limit < 12:
        p.error(f"--limit must be at least 12 digits (a twelfth is kept for validation); got {args.limit}")
    given = argv if argv is not None else sys.argv[2:]

    def told(flag: str) -> bool:  # the other defaults suit the augmented 30-epoch CNN, not a timed run
        return any(a == flag or a.startswith(flag + "=") for a in given)

    out = args.out or models_dir() / f"digit_net-{time.strftime('%Y%m%d-%H%M%S')}.keras"
    if out.suffix != ".keras":
        p.error(f"--out must end in .keras; got {out}")
    if out.exists() and not args.force:
        what = "the bundled model" if is_bundled(out) else "an existing file"
        p.error(f"--out {out} is {what}; add --force to replace it")
    print(f"{normalise(args.layers)}: {total_params(rows):,} parameters", flush=True)
    settings = TrainSettings(
        seconds=args.seconds,
        epochs=args.epochs if told("--epochs") or args.seconds is None else None,
        batch_size=args.batch_size if told("--batch-size") else TrainSettings.batch_size,
        learning_rate=args.learning_rate if told("--learning-rate") else TrainSettings.learning_rate,
        seed=args.seed,
    )
    command = "uv run main.py train " + " ".join(shlex.quote(a) for a in given)
    try:
        data = load_spec_data(args.data, args.limit, args.seed)
    except DataError as exc:
        print(f"main.py train: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"training on {len(data.x_train)} MNIST digits from {data.source['mnist']}, validating on {len(data.x_val)}", flush=True
    )
    result = train_spec(args.layers, data, settings, log=lambda s: print(s, flush=True))
    card = save_trained(args.layers, result, data, settings, out, command)
    test = card["evaluation"]["mnist_test"]
    print(
        f"saved {out}: {result.epochs:.2f} epochs in {result.seconds:.0f}s of training (+{result.validation_seconds:.0f}s "
        f"validating; stopped by {result.stopped_by}), "
        f"validation accuracy {result.val_accuracy:.4f}, test accuracy {test['accuracy']:.4f} on {test['n']} digits",
        flush=True,
    )
    return 0
