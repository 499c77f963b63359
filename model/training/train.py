"""Train the app's networks and write a ``.keras`` model with its card (a JSON file next to it).

``main.py train`` reproduces the bundled CNN (``--arch cnn``) and the lesson's dense network
(``--arch mlp``) from the commands recorded in their cards. Training data: MNIST's training digits
plus pen-tablet digits of the pendigits writers given by ``--pendigits-writers``, rendered through
the canvas's own :func:`model.preprocess.strokes_to_input`, each also re-drawn a few times with a
random warp and pen width (:func:`model.augment.pen_variants`). Every batch is augmented on the fly
(:func:`model.augment.augment_batch`). Training is monitored on a validation split carved from the
training data (MNIST training digits and pen digits of the training writers), never on MNIST test.

The CNN trains with batch normalisation and is saved with it folded into the convolutions
(:func:`model.architecture.fold_batch_norm`).
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from model.nets.architecture import build_mlp, build_model, fold_batch_norm

from .augment import random_warp_layer
from .config import MAX_WRITER_ID, TrainConfig, WriterSpecError, parse_writers
from .dataset import load_training_data
from .saving import evaluate_for_card, layer_table, save_model_and_card, save_model_atomically

__all__ = [
    "MAX_WRITER_ID",
    "TrainConfig",
    "WriterSpecError",
    "evaluate_for_card",
    "layer_table",
    "load_training_data",
    "parse_writers",
    "save_model_atomically",
    "train",
]


def train(
    data_dir: str | None,
    out: Path,
    cfg: TrainConfig,
    pendigits: str | None = None,
    pendigits_writers: list[int] | None = None,
    heldout_writers: list[int] | None = None,
    command: str = "",
    logdir: str | None = None,
) -> dict:
    """Train ``cfg.arch`` and save it with its card, as a pair or neither; returns the card.

    With ``cfg.init`` the start model is fed exactly as ``Predictor.prepare`` feeds it (card
    ``input_range``/``invert``/``class_names``, a ``Rescaling`` layer, 32x32 padding:
    ``model.training.feeding``), in training and validation, and the new card carries those keys.
    """
    import keras

    keras.utils.set_random_seed(cfg.seed)
    (x_train, y_train), (x_val, y_val), sources = load_training_data(data_dir, cfg, pendigits, pendigits_writers)
    print(f"training on {len(x_train)} images, validating on {len(x_val)} held-out training images", flush=True)
    steps = math.ceil(len(x_train) / cfg.batch_size)
    feeding = None
    if cfg.init:
        from model.nets.inference import load_checked_model

        from .feeding import digit_feeding, feeding_layers

        feeding = digit_feeding(cfg.init)  # FeedingError: not 10 digit outputs
        net = load_checked_model(cfg.init)
        y_train, y_val = feeding.label_index[y_train], feeding.label_index[y_val]  # digits -> the model's outputs
        fed = [*feeding_layers(feeding), *([keras.layers.Softmax()] if feeding.logits else [])]
    else:
        net = build_model(batch_norm=True) if cfg.arch == "cnn" else build_mlp()
        fed = []
    has_bn = any(type(layer).__name__ == "BatchNormalization" for layer in net.layers)
    trainer = keras.Sequential([keras.Input((28, 28, 1)), random_warp_layer(cfg.augmentation, cfg.seed), *fed, net])
    schedule = keras.optimizers.schedules.CosineDecay(
        cfg.learning_rate * 0.1,
        decay_steps=cfg.epochs * steps,
        alpha=0.01,
        warmup_target=cfg.learning_rate,
        warmup_steps=min(steps, cfg.epochs * steps // 10),
    )
    trainer.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    net.summary(print_fn=lambda s, **_: print(s, flush=True))
    callbacks = []
    if logdir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(logdir)))
    t0 = time.time()
    history = trainer.fit(
        x_train,
        y_train,
        batch_size=cfg.batch_size,
        epochs=cfg.epochs,
        validation_data=(x_val, y_val),
        shuffle=True,
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    train_seconds = time.time() - t0
    shipped = fold_batch_norm(net) if has_bn else net
    if has_bn:
        probe = x_val[:256] if feeding is None else feeding.prepare(x_val[:256])
        gap = float(np.abs(np.asarray(net(probe, training=False)) - np.asarray(shipped(probe))).max())
        print(f"batch normalisation folded into the convolutions (max output change {gap:.1e})", flush=True)
        if gap > 1e-4:
            raise RuntimeError(f"folding batch normalisation changed the outputs by {gap}; not saving")
    if feeding is None:
        val_acc = float(np.mean(np.argmax(np.asarray(shipped.predict(x_val, verbose=0)), 1) == y_val))
    else:
        from .feeding import outputs

        val_acc = float(np.mean(outputs(shipped, feeding, x_val[..., 0]).argmax(1) == y_val))

    versions = {"keras": keras.__version__, "python": platform.python_version(), "backend": keras.backend.backend()}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:
        pass
    card = {
        "name": shipped.name,
        "file": out.name,
        **(feeding.card_keys() if feeding is not None else {}),  # fed as the --init model was
        "architecture": cfg.arch,
        "contract": {
            "input": "(None, 28, 28, 1) float32 in [0, 1], white ink on black (MNIST convention)",
            "output": "(None, 10) softmax probabilities for digits 0-9",
            "input_range": [0, 1],
            "class_names": [str(i) for i in range(10)],
        },
        "layers": layer_table(shipped),
        "total_params": int(shipped.count_params()),
        "training": {
            "data": sources,
            "config": asdict(cfg),
            "optimizer": "AdamW, learning rate warmed up then cosine-decayed",
            "loss": "sparse categorical cross-entropy",
            "batch_norm": "trained with batch normalisation, folded into the convolutions when saved" if has_bn else None,
            "continued_from": cfg.init,
            "seconds": round(train_seconds),
            "machine": f"{platform.machine()}, {_cpu_count()} cores",
            "validation_accuracy": round(val_acc, 5),
            "history": {k: [round(float(v), 5) for v in vals] for k, vals in history.history.items()},
            "command": command,
            "versions": versions,
            "date": time.strftime("%Y-%m-%d"),
        },
    }
    # Model and card as a pair or neither: Ctrl+C during the evaluation leaves the old pair as it was.
    card = save_model_and_card(
        shipped, out, card, evaluate=lambda tmp: evaluate_for_card(tmp, data_dir, pendigits, heldout_writers, shown=out)
    )
    print(f"saved {out} after {train_seconds / 60:.1f} min", flush=True)
    print(json.dumps(card["evaluation"], indent=2), flush=True)
    return card


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
