"""Fine-tune a copy of a model on one person's labelled drawings: ``main.py tune``.

Recipe (why each part is there):

* the person's drawings, each rendered through the canvas's own ``strokes_to_input`` plus
  ``variants`` warped re-renders (:func:`model.augment.pen_variants`: rotation, shear, aspect, pen
  width), so a few dozen drawings teach the style rather than the exact pixels;
* mixed with a *replay* sample of MNIST training digits, so the network does not forget how
  everybody else writes (catastrophic forgetting is what a user-only fine-tune does first);
  taken from the MNIST files when they are available, else from the small sample shipped in
  ``resources/mnist_replay.npz`` (so the frozen app and the tests tune without ``../shared``);
* every batch warped on the fly as in training (:func:`model.augment.random_warp_layer`);
* a low learning rate (Adam, cosine-decayed) for a few epochs: a nudge, not a re-training.

Honest before/after: every fifth drawing of each digit (in the order they were stored) is *held
out* of the tuning. The card reports the base and the tuned model on those held-out drawings, and
on MNIST's official test set when it is available (did it forget?). The tuned model never saw the
held-out drawings, so the "after" figure is what to expect on the person's next digits.

The tuned model and its card are written atomically (temporary file, then rename): a crash or a
Cancel leaves the previous files as they were and no half-written one. The bundled model is never
overwritten.

Beside it: ``tune_data.py`` (the held-out split, the replay digits, the targets) and
``tune_report.py`` (``describe``: the before/after in words); their names still import from here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model.data.paths import is_bundled
from model.nets.memory import MEMORY_REFERENCES

from .tune_data import (  # noqa: F401 (re-exported: the data tuned on lives in tune_data.py)
    HOLDOUT_EVERY,
    MAX_DRAWINGS,
    MIN_DRAWINGS,
    REPLAY_FILE,
    _targets,
    holdout_split,
    load_replay,
    most_recent,
)
from .tune_report import TOO_FEW_HELD_OUT, describe, misread_advice  # noqa: F401 (re-exported)

RENDER_CHUNK = 100  # drawings rendered between two looks at should_stop


@dataclass
class TuneConfig:
    epochs: int = 6
    batch_size: int = 64
    learning_rate: float = 1e-4
    variants: int = 8  # warped re-renders of each drawing, besides the clean one
    replay: int = 4500  # MNIST training digits mixed in (the shipped sample holds 1,200)
    # Replay digits are taught the base model's own softened answers (distillation, "learning without
    # forgetting") rather than their labels: the base reads them confidently, so a hard label gives
    # almost no gradient and the boundaries drift elsewhere; the softened answers hold them in place.
    # None: plain labels.
    distill_temperature: float | None = 2.0
    freeze_first: int = 0  # leading layers with weights kept as they are (0: tune every layer)
    # The saved weights are base + blend * (tuned - base) (weight-space ensembling, "WiSE-FT"): the
    # tuning's last noisy steps cost MNIST digits while adding little for the person. 0.9 with
    # 4,500 replay digits: every target of bench/writer_tuning.py met on writers 25-30 (README).
    blend: float = 0.9
    holdout: bool = True  # hold every HOLDOUT_EVERY-th drawing of each digit out of tuning
    seed: int = 1
    # Tune harder where the base model misreads your tuning drawings, gently where it does not; see
    # model/training/personal.py (False: the fixed recipe above, as before issue 26).
    adaptive: bool = True


class TuneError(ValueError):
    """Tuning cannot start: too few drawings, a bad path, ... The message says what to do."""


class TuneCancelled(Exception):
    """``should_stop`` asked to stop; nothing was written."""


Progress = Callable[[float, str], None]  # fraction done in [0, 1], what is happening


def blend_weights(base: list[np.ndarray], tuned: list[np.ndarray], alpha: float) -> list[np.ndarray]:
    """``base + alpha * (tuned - base)`` for every weight array (``alpha=1``: the tuned weights)."""
    return [(b + alpha * (t - b)).astype(t.dtype) for b, t in zip(base, tuned, strict=True)]


def _render(drawings, indices, variants: int, rng, stop: Callable[[], bool], report: Progress):
    """``render_drawings`` in chunks, looking at ``stop`` between them (thousands of drawings take a while)."""
    from .augment import render_drawings

    xs, ys = [], []
    for start in range(0, len(indices), RENDER_CHUNK):
        if stop():
            raise TuneCancelled()
        report(0.02 + 0.03 * start / max(len(indices), 1), f"preparing your drawings ({start} of {len(indices)})")
        x, y = render_drawings(drawings, indices[start : start + RENDER_CHUNK], variants, rng)
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs) if xs else np.zeros((0, 28, 28), np.float32), np.concatenate(ys) if ys else np.zeros(0, np.int64)


def _readings(model, feeding, x: np.ndarray | None, memory=None) -> np.ndarray | None:
    """The digit (0-9) ``model`` reads in each of ``x``, fed as ``prepare`` does (``None`` for no images);
    with ``memory`` (model/nets/memory.py) its vote included, as the Predictor reads."""
    from .personal import digits_read, read_with_memory

    if x is None or len(x) == 0:
        return None
    return digits_read(feeding, read_with_memory(model, feeding, memory, x))


def _accuracy(model, feeding, x: np.ndarray | None, y: np.ndarray | None, memory=None) -> float | None:
    """The share of ``x`` read as ``y`` (digits 0-9), fed as ``prepare`` does, ``memory``'s vote included."""
    read = _readings(model, feeding, x, memory)
    return None if read is None else float(np.mean(read == np.asarray(y, np.int64)))


def recorded_mnist_test(base: str | Path, n: int | None) -> float | None:
    """The base model's MNIST test accuracy as its card records it (``evaluation.mnist_test``, written by
    train, tune and evaluate, and dropped when the card's feeding keys are changed), so a tune need not read the 10,000
    digits again (about 2 s); ``None`` (measure it) when the card has no such figure over ``n`` digits,
    or when a personal memory lies beside the base (its card's figure includes the memory's vote, which
    the model being tuned does not have)."""
    from model.nets.card import read_card_document
    from model.nets.memory import memory_path

    if n is None or memory_path(base).exists():
        return None
    card = read_card_document(base) or {}
    tuning = card.get("tuning")
    if isinstance(tuning, dict) and tuning.get("memory"):
        return None  # a tuned model measured with the memory it no longer has beside it
    evaluation = card.get("evaluation")
    recorded = evaluation.get("mnist_test") if isinstance(evaluation, dict) else None
    if not isinstance(recorded, dict):
        return None
    accuracy = recorded.get("accuracy")
    if recorded.get("n") != n or isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)):
        return None
    return float(accuracy) if 0.0 <= accuracy <= 1.0 else None


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 5)


def tune(
    base: str | Path,
    drawings: Sequence,
    out: str | Path,
    cfg: TuneConfig | None = None,
    mnist_dir: str | Path | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str = "",
) -> dict:
    """Fine-tune a copy of ``base`` on ``drawings``; save to ``out`` (see :func:`_tune`).

    ``out`` is checked writable (not a folder) before any work, and held for this run only: a
    second tune to the same file while this one runs is refused (``TuneError``), not both saved.
    """
    from .saving import OutputError, check_output, output_lock

    out = Path(out)
    try:
        if out.suffix == ".keras" and not is_bundled(out):
            check_output(out)
        with output_lock(out):
            return _tune(base, drawings, out, cfg, mnist_dir, progress, should_stop, command)
    except OutputError as exc:
        raise TuneError(str(exc)) from exc


def _tune(
    base: str | Path,
    drawings: Sequence,
    out: str | Path,
    cfg: TuneConfig | None = None,
    mnist_dir: str | Path | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    command: str = "",
) -> dict:
    """Fine-tune a copy of ``base`` on ``drawings`` (objects with ``.strokes`` and ``.label``); save to ``out``.

    Returns the card that is written next to ``out`` (``out`` with ``.json``). ``progress(fraction,
    text)`` is called as it goes; when ``should_stop()`` turns true, tuning stops at the next batch
    (data preparation included) and :class:`TuneCancelled` is raised with nothing written. Raises
    :class:`TuneError` if ``out`` is the bundled model or there are fewer than ``MIN_DRAWINGS``
    drawings. At most ``MAX_DRAWINGS`` drawings are used, the most recently stored.

    The base model is fed exactly as ``Predictor.prepare`` feeds it (its card's ``input_range``,
    ``invert`` and ``class_names``, a ``Rescaling`` layer, 32x32 padding: ``model.training.feeding``),
    while tuning and for the before/after figures; the new card carries those feeding keys.
    """
    cfg = cfg or TuneConfig()
    base, out = Path(base), Path(out)
    report = progress or (lambda fraction, text: None)
    stop = should_stop or (lambda: False)
    if is_bundled(out):
        raise TuneError(f"refusing to overwrite the bundled model {out}; choose another --out")
    if out.suffix != ".keras":
        raise TuneError(f"the tuned model must be a .keras file; got {out}")
    if len(drawings) < MIN_DRAWINGS:
        raise TuneError(f"fine-tuning needs at least {MIN_DRAWINGS} labelled drawings; got {len(drawings)}")
    stored_count = len(drawings)
    drawings = most_recent(drawings)

    t_start = time.perf_counter()
    report(0.0, "loading TensorFlow and the model")
    import keras

    from model.nets.card import read_card_document
    from model.nets.inference import load_checked_model

    from .augment import random_warp_layer
    from .feeding import FeedingError, accuracy, digit_feeding, feeding_layers, outputs
    from .saving import layer_table, save_model_and_card

    if stop():  # loading TensorFlow took a while
        raise TuneCancelled()
    keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    try:
        feeding = digit_feeding(base)
    except FeedingError as exc:
        raise TuneError(str(exc)) from exc
    model = load_checked_model(base)  # a fresh copy in memory; the base file is only read
    labels = [int(d.label) for d in drawings]
    tune_idx, held_idx = holdout_split(labels) if cfg.holdout else (np.arange(len(drawings)), np.zeros(0, np.int64))
    if len(tune_idx) == 0:
        raise TuneError("every drawing was held out; store more drawings")

    report(0.02, "preparing your drawings and the replay sample")
    from model.data.preprocess import strokes_to_input

    x_user, y_user = _render(drawings, tune_idx, cfg.variants, rng, stop, report)
    if stop():
        raise TuneCancelled()
    plan = None
    if cfg.adaptive:
        from .personal import adapt

        cfg, x_user, y_user, plan = adapt(model, feeding, drawings, tune_idx, cfg, x_user, y_user, rng)
        if stop():
            raise TuneCancelled()
    held = [(strokes_to_input(drawings[i].strokes), labels[i]) for i in held_idx]
    held = [(x, y) for x, y in held if x is not None]
    x_held = np.asarray([x for x, _ in held], np.float32).reshape(-1, 28, 28)
    y_held = np.asarray([y for _, y in held], np.int64)
    if stop():
        raise TuneCancelled()
    x_rep, y_rep, replay_source = load_replay(cfg.replay, rng, mnist_dir)
    references = (x_rep[:MEMORY_REFERENCES], y_rep[:MEMORY_REFERENCES])  # stored beside your digits in the memory
    x_mnist_test = y_mnist_test = None
    if mnist_dir is not None:
        from model.data.readers import DataError, load_mnist_test

        try:
            xt, yt = load_mnist_test(mnist_dir)
            x_mnist_test, y_mnist_test = xt.astype(np.float32) / 255.0, yt.astype(np.int64)
        except DataError:
            pass

    if stop():
        raise TuneCancelled()
    report(0.05, "measuring the base model")
    before_held = accuracy(model, feeding, x_held, y_held)
    before_mnist = recorded_mnist_test(base, None if y_mnist_test is None else len(y_mnist_test))
    mnist_before_from = "the base model's card" if before_mnist is not None else "measured"
    if before_mnist is None:
        before_mnist = accuracy(model, feeding, x_mnist_test, y_mnist_test)
    if stop():
        raise TuneCancelled()

    x = np.concatenate([x_user, x_rep])[..., None]  # 28x28 drawings: warped, then fed as prepare() does
    del x_user
    index = feeding.label_index
    y, loss = _targets(lambda: outputs(model, feeding, x_rep), index[y_user], index[y_rep], cfg.distill_temperature)
    steps = math.ceil(len(x) / cfg.batch_size)
    frozen = [layer for layer in model.layers if layer.weights][: cfg.freeze_first]
    base_weights = model.get_weights()
    for layer in frozen:
        layer.trainable = False
    head = [keras.layers.Softmax()] if feeding.logits else []  # the loss reads probabilities
    trainer = keras.Sequential(
        [keras.Input((28, 28, 1)), random_warp_layer(seed=cfg.seed), *feeding_layers(feeding), model, *head]
    )
    schedule = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=cfg.epochs * steps, alpha=0.1)
    trainer.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    total_steps = cfg.epochs * steps

    class Watch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.done = 0
            self.cancelled = False

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            epoch = min(self.done // steps + 1, cfg.epochs)
            report(0.1 + 0.8 * self.done / total_steps, f"tuning: epoch {epoch} of {cfg.epochs}")
            if stop():
                self.cancelled = True
                self.model.stop_training = True

    watch = Watch()
    t_fit = time.perf_counter()
    trainer.fit(x, y, batch_size=cfg.batch_size, epochs=cfg.epochs, shuffle=True, callbacks=[watch], verbose=0)
    fit_seconds = time.perf_counter() - t_fit
    for layer in frozen:
        layer.trainable = True  # the saved model is an ordinary one
    from .personal import build_memory, clean_inputs, joined, memory_path, remembered, still_confused

    # What the memory of your digits holds while measuring: the tuned-on drawings only, so the
    # held-out ones stay unseen (personal.py), beside the MNIST references.
    remember = remembered(drawings, tune_idx, references) if cfg.adaptive else None
    memory = None
    if plan is not None and plan["strength"] == "harder" and not (watch.cancelled or stop()):
        from dataclasses import replace

        from .personal import CHECK_DIGITS, check_seed, choose_blend

        report(0.9, "checking it has not forgotten MNIST")
        check = load_replay(CHECK_DIGITS, np.random.default_rng(check_seed(cfg.seed)), mnist_dir)
        blend, memory = choose_blend(model, feeding, base_weights, check, plan, remember)
        cfg = replace(cfg, blend=blend)
    if cfg.blend != 1.0:
        model.set_weights(blend_weights(base_weights, model.get_weights(), cfg.blend))
    if watch.cancelled or stop():
        raise TuneCancelled()

    report(0.92, "measuring the tuned model")
    # The person's own digits as a nearest-neighbour memory; the tuned model is measured with it, as
    # read (choose_blend built it already for these weights).
    if memory is None and remember is not None:
        memory = build_memory(model, feeding, *remember)
    after_read = _readings(model, feeding, x_held, memory)
    after_held = None if after_read is None else float(np.mean(after_read == y_held))
    confused = still_confused(model, feeding, drawings, tune_idx, x_held, y_held, memory)
    after_mnist = _accuracy(model, feeding, x_mnist_test, y_mnist_test, memory)
    if memory is not None and len(held_idx):
        # What is saved remembers every labelled drawing, the held-out ones too: they were only
        # kept back to measure the tune honestly.
        memory = joined(memory, build_memory(model, feeding, *clean_inputs(drawings, held_idx)))
    if stop():
        raise TuneCancelled()

    base_card = read_card_document(base)
    card = {
        "name": model.name,
        "file": out.name,
        "architecture": (base_card or {}).get("architecture", "cnn"),
        "contract": (base_card or {}).get(
            "contract",
            {
                "input": "(None, 28, 28, 1) float32 in [0, 1], white ink on black (MNIST convention)",
                "output": "(None, 10) softmax probabilities for digits 0-9",
            },
        ),
        **feeding.card_keys(),  # fed as the base was: the window and the CLI read these
        "layers": layer_table(model),
        "total_params": int(model.count_params()),
        "tuning": {
            "base_model": str(base),
            "base_model_name": base.name,
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "samples": len(drawings),
            "stored": stored_count,  # more than samples: only the MAX_DRAWINGS most recent were used
            "samples_per_digit": {str(d): labels.count(d) for d in range(10)},
            "tuned_on": int(len(tune_idx)),
            "held_out": int(len(held_idx)),
            "held_out_rule": f"every {HOLDOUT_EVERY}th drawing of each digit, in stored order" if cfg.holdout else "none",
            "training_images": int(len(x)),
            "replay": {"source": replay_source, "images": int(len(x_rep))},
            "config": asdict(cfg),
            "seconds": round(time.perf_counter() - t_start, 1),
            "fit_seconds": round(fit_seconds, 1),
            "command": command,
            "adaptive": plan,
            "still_confused": confused,
            "memory": None
            if memory is None
            else {
                "file": memory_path(out).name,
                "drawings": int(len(memory.labels) - len(references[1])),
                "mnist_references": int(len(references[1])),
            },
        },
        "before_after": {
            "held_out_drawings": {
                "n": int(len(y_held)),
                "before": _round(before_held),
                "after": _round(after_held),
                # [labelled, read as] for each held-out drawing the tuned model still misreads
                "misread_after": [] if after_read is None else [[int(t), int(r)] for t, r in zip(y_held, after_read) if t != r],
            },
            "mnist_test": {
                "n": 10000 if x_mnist_test is None else int(len(y_mnist_test)),
                "before": _round(before_mnist),
                "before_from": mnist_before_from,
                "after": _round(after_mnist),
            }
            if x_mnist_test is not None
            else None,
        },
    }
    if after_mnist is not None:
        # The About box and `evaluate` readers look here.
        card["evaluation"] = {"mnist_test": {"n": int(len(y_mnist_test)), "accuracy": _round(after_mnist)}}
    report(0.96, "saving")
    if stop():
        raise TuneCancelled()
    # The memory first, then the model and card as a pair: a memory is never left beside another
    # tune's model without it, and an older tune's memory must not outlive its model.
    if memory is not None:
        from model.data.readers import write_atomically

        write_atomically(memory_path(out), memory.to_bytes())
    else:
        memory_path(out).unlink(missing_ok=True)
    try:
        save_model_and_card(model, out, card)  # both or neither
    except BaseException:
        if memory is not None:
            memory_path(out).unlink(missing_ok=True)  # not beside whatever model is left there
        raise
    report(1.0, "done")
    return card
