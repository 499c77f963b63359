"""How hard to tune for one person, and what to ask them for next (issue 26).

``main.py tune``'s fixed recipe (blend 0.9, a small learning rate, every drawing weighted alike)
protects MNIST but leaves a hard writer's systematic errors in place: a writer whose 1s the base
model reads as 7s gets four 1s among thousands of replay digits. :func:`adapt` looks at what the
base model makes of the person's *tuning* drawings (never the held-out ones, so the before/after
figure stays honest) and

* where it reads them all, keeps the gentle recipe (there is nothing to fix; tuning harder would
  only cost MNIST digits);
* where it misreads some, tunes harder (no weight blend, a larger learning rate) and weights the
  digits it confuses: the drawings of a misread digit, and of the digit it is read as (so the
  person's real 7s stay 7s when their 1s move away from 7), get extra warped re-renders.

After tuning, :func:`still_confused` lists what the tuned model still misreads (held-out and tuning
drawings), which the card stores, and :func:`ask_for_more` turns that into the sentence the app and
``main.py tune`` show: "your 4s are read as 5s: draw three more 4s".

No TensorFlow import here: the functions take the Keras model they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

# the memory lives in model/nets (the Predictor reads it); re-exported for tune and the bench
from model.nets.memory import (  # noqa: F401
    MEMORY_K,
    MEMORY_REFERENCES,
    MEMORY_SUFFIX,
    MEMORY_THRESHOLD,
    MEMORY_WEIGHT,
    Memory,
    memory_path,
    read_memory,
)

# Extra warped re-renders, per drawing, in multiples of TuneConfig.variants: for a digit the base
# misreads, and for a digit it reads others as.
CONFUSED_EXTRA = 3
READ_AS_EXTRA = 1
HARDER_LEARNING_RATE = 2.0  # times TuneConfig.learning_rate when the base misreads tuning drawings
# Harder tuning is pulled back towards the base (TuneConfig.blend) until it loses at most this
# fraction of a check sample of MNIST training digits the base model read right (net of the ones it
# now reads right): the narrowest writers otherwise cost MNIST test 0.4 points (bench/hard_writers.py).
BLENDS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4)
MNIST_BUDGET = 0.0008
CHECK_DIGITS = 5000
MORE_TO_DRAW = 3  # drawings asked for per digit still confused
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def clean_inputs(drawings: Sequence, indices) -> tuple[np.ndarray, np.ndarray]:
    """The drawings at ``indices`` through ``strokes_to_input``: ``(n, 28, 28)`` float32 and labels."""
    from model.data.preprocess import strokes_to_input

    pairs = [(strokes_to_input(drawings[i].strokes), int(drawings[i].label)) for i in indices]
    pairs = [(x, y) for x, y in pairs if x is not None]
    x = np.asarray([x for x, _ in pairs], np.float32).reshape(-1, 28, 28)
    return x, np.asarray([y for _, y in pairs], np.int64)


def digits_read(feeding, probs: np.ndarray) -> np.ndarray:
    """``(n, classes)`` outputs in the model's class order -> the digit (0-9) read in each."""
    index = np.asarray(feeding.label_index, np.int64)  # digit -> the model's output
    digit_of = np.full(int(index.max()) + 1, -1, np.int64)
    digit_of[index] = np.arange(len(index))
    return digit_of[np.asarray(probs).argmax(1)] if len(probs) else np.zeros(0, np.int64)


def _read(model, feeding, x: np.ndarray) -> np.ndarray:
    """The digit ``model`` reads in each of ``x`` ``(n, 28, 28)``, fed as ``Predictor.prepare`` does."""
    from .feeding import outputs

    if len(x) == 0:
        return np.zeros(0, np.int64)
    return digits_read(feeding, outputs(model, feeding, np.asarray(x, np.float32)))


def confusion_pairs(y: np.ndarray, pred: np.ndarray) -> list[dict]:
    """``[{"digit", "read_as", "count", "of"}]`` for every (true, read) pair that occurs, most frequent first.

    ``of`` is how many drawings of ``digit`` were read.
    """
    y, pred = np.asarray(y, np.int64), np.asarray(pred, np.int64)
    rows = []
    for digit in np.unique(y):
        of = int(np.sum(y == digit))
        wrong = pred[(y == digit) & (pred != digit)]
        for read_as, count in zip(*np.unique(wrong, return_counts=True), strict=True):
            rows.append({"digit": int(digit), "read_as": int(read_as), "count": int(count), "of": of})
    return sorted(rows, key=lambda r: (-r["count"] / r["of"], -r["count"], r["digit"]))


def adapt(model, feeding, drawings: Sequence, tune_idx, cfg, x_user: np.ndarray, y_user: np.ndarray, rng: np.random.Generator):
    """The tuning strength and data for this person: ``(cfg, x_user, y_user, plan)``.

    ``model`` is the base model, fed through ``feeding`` (model/training/feeding.py) as the Predictor
    feeds it; ``tune_idx`` the drawings tuned on (the held-out ones are never
    looked at), ``x_user``/``y_user`` their renders so far. ``plan`` is a JSON-able record for the card.
    """
    from .augment import render_drawings

    x, y = clean_inputs(drawings, tune_idx)
    pred = _read(model, feeding, x)
    pairs = confusion_pairs(y, pred)
    plan = {
        "base_on_tuning_drawings": None if len(y) == 0 else round(float(np.mean(pred == y)), 5),
        "base_confusions": pairs,
        "strength": "gentle",
    }
    if not pairs:
        return cfg, x_user, y_user, plan
    confused = {p["digit"] for p in pairs}
    read_as = {p["read_as"] for p in pairs} - confused
    labels = np.asarray([int(drawings[i].label) for i in tune_idx])
    tune_idx = np.asarray(tune_idx)
    xs, ys = [x_user], [y_user]
    for digits, extra in ((confused, CONFUSED_EXTRA), (read_as, READ_AS_EXTRA)):
        idx = tune_idx[np.isin(labels, sorted(digits))]
        if len(idx) and extra:
            xe, ye = render_drawings(drawings, idx, cfg.variants * extra, rng)
            xs.append(xe)
            ys.append(ye)
    harder = replace(cfg, blend=1.0, learning_rate=cfg.learning_rate * HARDER_LEARNING_RATE)
    plan.update(strength="harder", weighted_digits=sorted(confused), read_as_digits=sorted(read_as))
    return harder, np.concatenate(xs), np.concatenate(ys), plan


def check_seed(seed: int) -> int:
    """The seed of the check sample: MNIST *training* digits drawn with another seed than the replay
    (``tune.load_replay(CHECK_DIGITS, default_rng(check_seed(seed)), mnist_dir)``), so they overlap it
    little; never the test set, which stays the honest figure on the card."""
    return seed + 7919


def choose_blend(
    model, feeding, base_weights: list, check: tuple[np.ndarray, np.ndarray, str], plan: dict, remember=None
) -> tuple[float, Memory | None]:
    """The largest of :data:`BLENDS` whose blended weights cost at most :data:`MNIST_BUDGET` of ``check``,
    and the memory of ``remember`` built with those weights (``None`` without ``remember``).

    ``model`` holds the tuned weights and still does when this returns; ``plan`` gets the record.
    ``remember``: the drawings ``(x, y)`` of the memory the saved model will carry, so the check
    reads as the Predictor will (the memory's vote included).
    """
    x, y, source = check
    tuned = model.get_weights()
    model.set_weights(base_weights)
    base_right = _read(model, feeding, x) == y
    lost = {}
    chosen = BLENDS[-1]
    for alpha in BLENDS:
        # tune.blend_weights (not imported: tune imports this module)
        blended = (
            tuned if alpha == 1.0 else [(b + alpha * (t - b)).astype(t.dtype) for b, t in zip(base_weights, tuned, strict=True)]
        )
        model.set_weights(blended)
        memory = build_memory(model, feeding, *remember) if remember is not None else None
        right = digits_read(feeding, read_with_memory(model, feeding, memory, x)) == y
        lost[str(alpha)] = round(float(np.mean(base_right & ~right) - np.mean(~base_right & right)), 5)
        if lost[str(alpha)] <= MNIST_BUDGET:
            chosen = alpha
            break
    model.set_weights(tuned)
    plan["blend_check"] = {"source": source, "n": int(len(y)), "budget": MNIST_BUDGET, "lost": lost, "chosen": chosen}
    return chosen, memory  # the loop's last weights are the chosen blend's


def still_confused(
    model, feeding, drawings: Sequence, tune_idx, x_held: np.ndarray, y_held: np.ndarray, memory=None
) -> list[dict]:
    """What the (tuned) ``model`` misreads among the person's held-out and tuning drawings; see :func:`confusion_pairs`."""
    x, y = clean_inputs(drawings, tune_idx)
    x = np.concatenate([x, np.asarray(x_held, np.float32).reshape(-1, 28, 28)])
    y = np.concatenate([y, np.asarray(y_held, np.int64)])
    pred = digits_read(feeding, read_with_memory(model, feeding, memory, x))
    return confusion_pairs(y, pred)


def ask_for_more(confused: Sequence[dict] | None, most: int = 2) -> str | None:
    """The sentence asking for the drawings that would help most, or ``None`` when nothing is confused.

    ``[{"digit": 4, "read_as": 5, ...}]`` -> "your 4s are read as 5s: draw three more 4s".
    """
    if not confused:
        return None
    seen: list[dict] = []
    for row in confused:
        if row["digit"] not in {r["digit"] for r in seen}:
            seen.append(row)
    seen = seen[:most]
    n = _WORDS.get(MORE_TO_DRAW, str(MORE_TO_DRAW))
    parts = [f"your {r['digit']}s are read as {r['read_as']}s" for r in seen]
    what = f"{seen[0]['digit']}s" if len(seen) == 1 else "of each"
    return f"{' and '.join(parts)}: draw {n} more {what}"


def digits_to_practise(card: dict | None) -> list[int]:
    """The digits a tuned model's card says are still confused (for the My handwriting view's filter)."""
    rows = ((card or {}).get("tuning") or {}).get("still_confused") or []
    return sorted({int(r["digit"]) for r in rows})


# --- the person's own digits as a nearest-neighbour memory (model/nets/memory.py) ----------------


def feature_model(model):
    """A Keras model giving ``[last hidden features (n, d), outputs (n, classes)]`` of ``model``."""
    import keras

    return keras.Model(model.inputs[0], [model.layers[-1].input, model.outputs[0]])


def _features_and_outputs(model, feeding, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 28, 28)`` drawings -> last hidden features ``(n, d)`` and probabilities ``(n, classes)``,
    fed as ``Predictor.prepare`` does (``feeding.prepare``), in bounded batches."""
    fm = feature_model(model)
    feats, probs = [], []
    step = max(1, feeding.rows_per_batch)
    for i in range(0, len(x), step):
        f, raw = fm(feeding.prepare(np.asarray(x[i : i + step], np.float32)), training=False)
        raw = np.asarray(raw, np.float64)
        if feeding.logits:
            raw = np.exp(raw - raw.max(axis=1, keepdims=True))
            raw /= raw.sum(axis=1, keepdims=True)
        feats.append(np.asarray(f, np.float64).reshape(len(raw), -1))
        probs.append(raw)
    return np.concatenate(feats), np.concatenate(probs)


def remembered(drawings: Sequence, indices, references: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """What a memory holds: the drawings at ``indices`` (through ``strokes_to_input``) and the first
    :data:`MEMORY_REFERENCES` of ``references`` ``(x (n, 28, 28), digits (n,))``, MNIST digits from
    the replay sample; ``(x, digits)``."""
    x, y = clean_inputs(drawings, indices)
    x_ref, y_ref = references
    x_ref = np.asarray(x_ref, np.float32).reshape(-1, 28, 28)[:MEMORY_REFERENCES]
    y_ref = np.asarray(y_ref, np.int64)[:MEMORY_REFERENCES]
    return np.concatenate([x, x_ref]), np.concatenate([y, y_ref])


def joined(memory: Memory, more: Memory) -> Memory:
    """``memory`` with ``more``'s drawings added (both in the same model's feature space)."""
    if len(more.labels) == 0:
        return memory
    return replace(
        memory,
        features=np.concatenate([memory.features, more.features]).astype(np.float32),
        labels=np.concatenate([memory.labels, more.labels]),
    )


def build_memory(model, feeding, x: np.ndarray, y: np.ndarray) -> Memory:
    """The memory of drawings ``x`` ``(n, 28, 28)`` of digits ``y``, in ``model``'s feature space
    (fed through ``feeding``); its labels are the model's outputs for those digits (``feeding.label_index``)."""
    x = np.asarray(x, np.float32).reshape(-1, 28, 28)
    if len(x) == 0:
        return Memory(np.zeros((0, 0), np.float32), np.zeros(0, np.int64))
    feats, _ = _features_and_outputs(model, feeding, x)
    feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(feeding.label_index, np.int64)[np.asarray(y, np.int64)]
    return Memory(feats.astype(np.float32), labels)


def read_with_memory(model, feeding, memory: Memory | None, x: np.ndarray) -> np.ndarray:
    """``(n, classes)`` probabilities (the model's class order) of ``model`` on ``x`` ``(n, 28, 28)``,
    fed as ``Predictor.prepare`` does, with ``memory``'s vote when given (as the Predictor adds it)."""
    from .feeding import outputs

    x = np.asarray(x, np.float32).reshape(-1, 28, 28)
    if memory is None or len(x) == 0:
        return outputs(model, feeding, x)
    feats, probs = _features_and_outputs(model, feeding, x)
    return memory.combine(feats, probs)
