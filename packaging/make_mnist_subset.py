"""Write ``resources/mnist_subset.npz``: the MNIST digits the frozen app trains on when no MNIST folder is found.

6,000 training digits (600 per class) and 1,000 test digits (the first 1,000 of MNIST test), uint8,
compressed (about 2 MB). Run once from the project root: ``uv run python packaging/make_mnist_subset.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.data import load_mnist  # noqa: E402
from model.data.paths import default_mnist_dir  # noqa: E402

PER_CLASS = 600
TEST = 1000


def main() -> None:
    (x, y), (xt, yt) = load_mnist(default_mnist_dir())
    rng = np.random.default_rng(22)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == d), PER_CLASS, replace=False) for d in range(10)]))
    out = ROOT / "resources" / "mnist_subset.npz"
    np.savez_compressed(out, x_train=x[keep], y_train=y[keep], x_test=xt[:TEST], y_test=yt[:TEST])
    print(f"{out}: {len(keep)} training and {TEST} test digits, {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
