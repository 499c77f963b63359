"""What each channel looks for, measured: top patches over MNIST test, and maximize against the best digit.

Runs ``model.teaching.feature_sets.compute_features`` on a model (default: the bundled one) over the 10,000
MNIST test digits and prints the seconds for the top patches of every conv and pooling layer,
and per layer the fraction of channels whose optimised input reaches at least the best test
digit at the same unit (the centre of the map): from noise (what ``maximize`` does) and after
the fallback start from that digit (what is stored). ``--write`` saves the result, keyed by the
model file's sha256 (``--write resources/mnist_cnn.features.npz`` makes the shipped file).

    uv run python bench/channel_features.py [--model M.keras] [--data DIR] [--write OUT.npz] [--no-optimise]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.data import load_mnist_test  # noqa: E402
from model.data.paths import default_mnist_dir  # noqa: E402
from model.teaching.feature_sets import FeatureSet, compute_features, save_features, used_images
from model.teaching.features import MNIST_TEST, model_hash  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=default_mnist_dir())
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--no-optimise", action="store_true")
    args = parser.parse_args(argv)
    if args.data is None:
        print("error: no MNIST folder found; pass --data DIR", file=sys.stderr)
        return 2

    from model.nets.inference import Predictor

    predictor = Predictor(args.model)
    x, _ = load_mnist_test(args.data)
    images = predictor.prepare(x.astype(np.float32) / 255)
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if done == total:
            marks[stage] = time.perf_counter() - t0
            print(f"{stage}: {total} done at {marks[stage]:.1f} s", flush=True)

    layers = compute_features(
        predictor.model, images, optimise=not args.no_optimise, value_range=predictor.input_range, progress=progress
    )
    total = time.perf_counter() - t0
    print(
        f"{predictor.name}: top 9 patches of every channel of {len(layers)} layers over {len(images)} digits: "
        f"{marks.get('patches', total):.1f} s; everything {total:.1f} s"
    )
    if not args.no_optimise:
        print(f"{'layer':8s} {'kind':14s} {'ch':>3s} {'field':>6s}  from noise  stored")
        print("(fraction of channels whose optimised input >= the best test digit at the centre unit)")
        for f in layers:
            noise = float(np.mean(f.extra["from_noise"] >= f.best_values))
            stored = float(np.mean(f.optimised_values >= f.best_values))
            print(f"{f.name:8s} {f.kind:14s} {f.channels:3d} {f.field[0]:>2d}x{f.field[1]:<3d} {noise:10.2f} {stored:7.2f}")
    if args.write is not None:
        drawings = {int(i): x[int(i)].astype(np.float32) / 255 for i in used_images(layers)}
        sha = model_hash(predictor.path)
        save_features(args.write, FeatureSet(layers, MNIST_TEST, drawings, model_sha256=sha, scale=predictor.input_range[1]))
        print(f"wrote {args.write} ({args.write.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
