"""The training data: MNIST training digits and, optionally, pen digits of chosen writers, with a validation split."""

from __future__ import annotations

import time

import numpy as np

from .augment import render_drawings
from .config import TrainConfig


def _split(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(n)
    n_val = int(round(n * fraction))
    return order[n_val:], order[:n_val]


def load_training_data(data_dir, cfg: TrainConfig, pendigits=None, writers=None, log=print):
    """``(x_train, y_train), (x_val, y_val), sources``: images ``(n, 28, 28, 1)`` float32 in [0, 1]."""
    from model.data.readers import load_mnist, read_pendigits

    rng = np.random.default_rng(cfg.seed)
    (x, y), _ = load_mnist(data_dir)
    if cfg.limit is not None:
        keep = rng.permutation(len(x))[: cfg.limit]
        x, y = x[keep], y[keep]
    x = x.astype(np.float32) / 255.0
    y = y.astype(np.int64)
    tr, va = _split(len(x), cfg.validation_fraction, rng)
    xs_tr, ys_tr, xs_va, ys_va = [x[tr]], [y[tr]], [x[va]], [y[va]]
    sources: dict = {"mnist_train": {"train": int(len(tr)), "validation": int(len(va))}}
    if pendigits and writers:
        t0 = time.time()
        wanted = set(writers)
        digits = [d for d in read_pendigits(pendigits) if d.writer in wanted]
        if cfg.limit is not None:
            digits = [digits[i] for i in sorted(rng.permutation(len(digits))[: max(1, cfg.limit // 10)])]
        tr, va = _split(len(digits), cfg.validation_fraction, rng)
        from model.data.preprocess import strokes_to_input

        px, py = render_drawings(digits, tr, cfg.pen_variants, rng, cfg.augmentation)
        clean = [strokes_to_input(digits[i].strokes) for i in va]
        vx = [x for x in clean if x is not None]
        vy = [digits[i].label for i, x in zip(va, clean) if x is not None]
        xs_tr.append(np.asarray(px, np.float32).reshape(-1, 28, 28))
        ys_tr.append(np.asarray(py, np.int64))
        xs_va.append(np.asarray(vx, np.float32).reshape(-1, 28, 28))
        ys_va.append(np.asarray(vy, np.int64))
        sources["pendigits"] = {
            "writers": f"{writers[0]}-{writers[-1]}" if writers == list(range(writers[0], writers[-1] + 1)) else writers,
            "digits": len(digits),
            "train_images": len(px),
            "validation": len(vx),
            "variants_per_digit": cfg.pen_variants,
        }
        log(f"rendered {len(px)} pen-digit images ({len(tr)} digits + warped variants) in {time.time() - t0:.0f}s")
    x_train = np.concatenate(xs_tr)[..., None]
    y_train = np.concatenate(ys_tr)
    x_val = np.concatenate(xs_va)[..., None]
    y_val = np.concatenate(ys_va)
    return (x_train, y_train), (x_val, y_val), sources
