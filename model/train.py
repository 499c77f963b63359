"""Train the bundled CNN and write ``resources/mnist_cnn.keras`` and its model card.

Training data: the 60,000 MNIST training digits plus (optionally) pen-tablet digits from the
pendigits writers given by ``--pendigits-writers``, rendered through the very function the canvas
uses (:func:`model.preprocess.strokes_to_input`). Every batch is augmented on the fly with one
random affine warp (rotation, shear, scale, shift; ``keras.ops.image.affine_transform``) and a
random change of stroke thickness (grey dilation/erosion), because people draw slanted, small,
off-centre and with pens of every width.
"""

from __future__ import annotations

import json
import math
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .architecture import INPUT_SHAPE, NUM_CLASSES, build_model

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 1
    max_rotation_deg: float = 12.0
    max_shear: float = 0.25
    scale_range: tuple[float, float] = (0.85, 1.1)
    max_shift_px: float = 2.0
    thickness_range: tuple[float, float] = (-0.5, 0.8)  # <0 erodes, >0 dilates (blend weight)
    pendigits_repeat: int = 2  # the pen digits are few; show them this many times per epoch
    extras: dict = field(default_factory=dict)


def parse_writers(spec: str) -> list[int]:
    """``"1-24"`` or ``"1,3,5-7"`` -> sorted writer ids."""
    out: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return sorted(out)


def render_pendigits(path: str | Path, writers: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Pen digits of the given writers through the canvas's strokes-to-input path: ``(n, 28, 28)``, ``(n,)``."""
    from .data import read_pendigits
    from .preprocess import strokes_to_input

    images, labels = [], []
    for d in read_pendigits(path):
        if d.writer in writers:
            x = strokes_to_input(d.strokes)
            if x is not None:
                images.append(x)
                labels.append(d.label)
    return np.asarray(images, np.float32), np.asarray(labels, np.int64)


def _augment_fn(cfg: TrainConfig):
    import keras
    import tensorflow as tf

    def augment(x, y):
        n = tf.shape(x)[0]
        rot = tf.random.uniform([n], -1.0, 1.0) * math.radians(cfg.max_rotation_deg)
        shear = tf.random.uniform([n], -cfg.max_shear, cfg.max_shear)
        scale = tf.random.uniform([n], *cfg.scale_range)
        aspect = tf.random.uniform([n], 0.9, 1.1)
        tx = tf.random.uniform([n], -cfg.max_shift_px, cfg.max_shift_px)
        ty = tf.random.uniform([n], -cfg.max_shift_px, cfg.max_shift_px)
        sx, sy = scale * aspect, scale / aspect
        cos, sin = tf.cos(rot), tf.sin(rot)
        # Forward map M = R @ Shear @ Scale about the centre; affine_transform wants the inverse
        # (output pixel -> input pixel).
        m00 = cos * sx + (-sin) * 0.0
        m01 = cos * shear * sy - sin * sy
        m10 = sin * sx
        m11 = sin * shear * sy + cos * sy
        det = m00 * m11 - m01 * m10
        i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
        c = (INPUT_SHAPE[0] - 1) / 2.0
        ox, oy = c + tx, c + ty
        a2 = c - (i00 * ox + i01 * oy)
        b2 = c - (i10 * ox + i11 * oy)
        zeros = tf.zeros([n])
        transform = tf.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], axis=1)
        x = keras.ops.image.affine_transform(x, transform, interpolation="bilinear", fill_mode="constant")
        # Stroke thickness: blend towards a 3x3 grey dilation (thicker) or erosion (thinner).
        t = tf.random.uniform([n, 1, 1, 1], *cfg.thickness_range)
        dilated = tf.nn.max_pool2d(x, 3, 1, "SAME")
        eroded = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
        x = tf.where(t > 0, x + t * (dilated - x), x + (-t) * (eroded - x))
        return tf.clip_by_value(x, 0.0, 1.0), y

    return augment


def train(
    data_dir: str | None,
    out: Path,
    cfg: TrainConfig,
    pendigits: str | None = None,
    pendigits_writers: list[int] | None = None,
    heldout_writers: list[int] | None = None,
    command: str = "",
) -> dict:
    import keras
    import tensorflow as tf

    from .data import load_mnist

    keras.utils.set_random_seed(cfg.seed)
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir)
    x_train = x_train.astype(np.float32)[..., None] / 255.0
    y_train = y_train.astype(np.int64)
    sources = {"mnist_train": int(len(x_train))}
    if pendigits and pendigits_writers:
        t0 = time.time()
        px, py = render_pendigits(pendigits, pendigits_writers)
        print(f"rendered {len(px)} pen digits of writers {pendigits_writers[0]}-{pendigits_writers[-1]} "
              f"in {time.time() - t0:.0f}s", flush=True)
        sources["pendigits"] = {"writers": pendigits_writers, "digits": int(len(px)), "repeat": cfg.pendigits_repeat}
        x_train = np.concatenate([x_train] + [px[..., None]] * cfg.pendigits_repeat)
        y_train = np.concatenate([y_train] + [py] * cfg.pendigits_repeat)

    steps = math.ceil(len(x_train) / cfg.batch_size)
    ds = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=cfg.seed, reshuffle_each_iteration=True)
        .batch(cfg.batch_size)
        .map(_augment_fn(cfg), num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    x_test_f = x_test.astype(np.float32)[..., None] / 255.0
    model = build_model()
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=cfg.epochs * steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.summary(print_fn=lambda s, **_: print(s, flush=True))
    t0 = time.time()
    history = model.fit(
        ds,
        epochs=cfg.epochs,
        validation_data=(x_test_f, y_test),
        verbose=1 if sys.stdout.isatty() else 2,
    )
    train_seconds = time.time() - t0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(out)
    print(f"saved {out} after {train_seconds / 60:.1f} min", flush=True)

    card = {
        "name": model.name,
        "file": out.name,
        "contract": {
            "input": "(None, 28, 28, 1) float32 in [0, 1], white ink on black (MNIST convention)",
            "output": "(None, 10) softmax probabilities for digits 0-9",
        },
        "layers": [
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": list(layer.output.shape[1:]),
                "params": int(layer.count_params()),
                **({"padding": layer.padding, "strides": list(layer.strides)} if hasattr(layer, "padding") else {}),
            }
            for layer in model.layers
        ],
        "total_params": int(model.count_params()),
        "training": {
            "data": sources,
            "config": asdict(cfg),
            "optimizer": "Adam with cosine-decayed learning rate",
            "loss": "sparse categorical cross-entropy",
            "seconds": round(train_seconds),
            "history": {k: [round(float(v), 5) for v in vals] for k, vals in history.history.items()},
            "command": command,
            "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "python": platform.python_version()},
            "date": time.strftime("%Y-%m-%d"),
        },
    }
    card["evaluation"] = evaluate_for_card(out, data_dir, pendigits, heldout_writers)
    card_path = out.with_suffix(".json")
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["evaluation"], indent=2), flush=True)
    return card


def evaluate_for_card(model_path: Path, data_dir: str | None, pendigits: str | None, writers: list[int] | None) -> dict:
    """The numbers ``main.py evaluate`` reports, recorded in the card with the commands that give them."""
    from .evaluate import evaluate_mnist, evaluate_pendigits
    from .inference import Predictor

    predictor = Predictor(model_path)
    result = {}
    if data_dir:
        r = evaluate_mnist(predictor, data_dir)
        result["mnist_test"] = {**r.summary(), "command": f"uv run main.py evaluate --data {data_dir}"}
    if pendigits and writers:
        r = evaluate_pendigits(predictor, pendigits, writers)
        spec = f"{writers[0]}-{writers[-1]}"
        result["pendigits_heldout_writers"] = {
            **r.summary(),
            "writers": writers,
            "note": "writers never used for training or tuning; rendered through strokes_to_input",
            "command": f"uv run main.py evaluate --data {pendigits} --writers {spec}",
        }
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(
        prog="main.py train",
        description="Train the digit CNN with augmentation and save it with its model card (JSON next to it).",
    )
    p.add_argument("--data", help="folder with the four MNIST IDX files (default: keras.datasets.mnist, which downloads)")
    p.add_argument("--pendigits", help="pendigits-orig.tra file to add pen-drawn digits to the training data")
    p.add_argument("--pendigits-writers", default="1-24", help="writers to train on (default: %(default)s)")
    p.add_argument("--heldout-writers", default="25-30", help="writers reported in the card, never trained on (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--out", type=Path, default=RESOURCES / "mnist_cnn.keras", help="where to save (default: resources/mnist_cnn.keras)")
    args = p.parse_args(argv)
    train_writers = parse_writers(args.pendigits_writers)
    heldout = parse_writers(args.heldout_writers)
    overlap = set(train_writers) & set(heldout)
    if overlap:
        p.error(f"--pendigits-writers and --heldout-writers overlap on {sorted(overlap)}; held-out writers must stay unseen")
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed)
    command = "uv run main.py train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[2:]))
    train(args.data, args.out, cfg, args.pendigits, train_writers, heldout, command)
    return 0
