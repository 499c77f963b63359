"""``main.py calibrate``: fit calibrated confidence and the "not a digit" threshold for a model; written into its card."""

from __future__ import annotations

from pathlib import Path

from model.nets.confidence import NOT_A_DIGIT, UNSURE, calibrate, calibration_data, sidecar_path, write_calibration


def main(argv: list[str]) -> int:
    """``main.py calibrate``: fit a model's confidence calibration and write it into its card."""
    import argparse
    import shlex
    import sys

    p = argparse.ArgumentParser(
        prog="main.py calibrate",
        description="Fit a model's confidence calibration (temperature scaling) and its 'not a digit' distance on "
        "the validation split model/train.py holds out (8%% of MNIST's training digits and of the pen digits, seed "
        "1; never test data), and store them in the model's card (NAME.json) and NAME.confidence.npz. Afterwards "
        "the window, predict and evaluate show calibrated confidence and say 'not sure' / 'not a digit'.",
    )
    p.add_argument("--model", type=Path, help="a .keras model (default: the bundled one)")
    p.add_argument("--data", required=True, type=Path, help="folder with MNIST's IDX files")
    p.add_argument("--pendigits", type=Path, help="pendigits-orig.tra: pen digits rendered like drawings (recommended)")
    p.add_argument("--writers", default="1-24", help="pendigits writers to use (default: %(default)s, the training writers)")
    p.add_argument("--layers", help="comma-separated layers to score (default: 'penultimate' and a deep feature layer)")
    p.add_argument("--limit", type=int, default=20_000, help="MNIST training digits for the statistics (default: %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help="show TensorFlow's start-up messages")
    args = p.parse_args(argv)

    from model.cli import common
    from model.cli.common import EXIT_USAGE, _error
    from model.data.readers import DataError
    from model.training.config import WriterSpecError, parse_writers

    try:
        writers = parse_writers(args.writers)
    except WriterSpecError as exc:
        _error(f"--writers: {exc}")
        return EXIT_USAGE
    predictor = common.load_predictor(args.model, args.verbose)
    if predictor is None:
        return EXIT_USAGE
    layers = None if not args.layers else [s.strip() for s in args.layers.split(",") if s.strip()]
    known = {layer.name for layer in predictor.layers + predictor.dense_layers}
    known |= {"penultimate"} if predictor.penultimate_size else set()
    if layers and set(layers) - known:
        _error(f"--layers: {sorted(set(layers) - known)} not in the model; choose from {sorted(known)}")
        return EXIT_USAGE
    try:
        data = calibration_data(args.data, args.pendigits, writers, args.limit)
    except (DataError, OSError) as exc:
        _error(" ".join(str(exc).split()))
        return EXIT_USAGE
    cal = calibrate(predictor, data, layers, log=lambda m: print(m, flush=True))
    cal.info["command"] = "uv run main.py calibrate " + shlex.join(argv)
    try:
        path = write_calibration(predictor.path, cal)
    except OSError as exc:
        _error(f"{predictor.path}: cannot write its card: {exc.strerror or exc}")
        return EXIT_USAGE
    v = cal.info["validation"]
    print(f"temperature {cal.temperature:.3f}; validation ECE {v['ece_raw'] * 100:.2f}% -> {v['ece_calibrated'] * 100:.2f}%")
    print(
        f"validation digits flagged: {v['flagged'][UNSURE] * 100:.1f}% unsure, {v['flagged'][NOT_A_DIGIT] * 100:.1f}% not a digit"
    )
    print(f"written to {path}" + (f" and {sidecar_path(predictor.path).name}" if cal.has_distance else ""), file=sys.stdout)
    return 0
