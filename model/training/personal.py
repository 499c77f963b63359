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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

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


def _read(model, x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return np.zeros(0, np.int64)
    return np.asarray(model.predict(x[..., None], batch_size=1024, verbose=0)).argmax(1)


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


def adapt(model, drawings: Sequence, tune_idx, cfg, x_user: np.ndarray, y_user: np.ndarray, rng: np.random.Generator):
    """The tuning strength and data for this person: ``(cfg, x_user, y_user, plan)``.

    ``model`` is the base model, ``tune_idx`` the drawings tuned on (the held-out ones are never
    looked at), ``x_user``/``y_user`` their renders so far. ``plan`` is a JSON-able record for the card.
    """
    from .augment import render_drawings

    x, y = clean_inputs(drawings, tune_idx)
    pred = _read(model, x)
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


def check_digits(mnist_dir, seed: int, count: int = CHECK_DIGITS) -> tuple[np.ndarray, np.ndarray, str]:
    """A check sample of MNIST *training* digits, ``(n, 28, 28)`` float32 in [0, 1], labels, source.

    Never the test set: that stays the honest figure on the card. Drawn with another seed than the
    replay, so it overlaps it little (the shipped sample, without the MNIST files: all of it).
    """
    from .tune import load_replay

    return load_replay(count, np.random.default_rng(seed + 7919), mnist_dir)


def choose_blend(model, base_weights: list, check: tuple[np.ndarray, np.ndarray, str], plan: dict, remember=None) -> float:
    """The largest of :data:`BLENDS` whose blended weights cost at most :data:`MNIST_BUDGET` of ``check``.

    ``model`` holds the tuned weights and still does when this returns; ``plan`` gets the record.
    ``remember``: the drawings ``(x, y)`` of the memory the saved model will carry, so the check
    reads as the Predictor will (the memory's vote included).
    """
    from .tune import blend_weights

    x, y, source = check
    tuned = model.get_weights()
    model.set_weights(base_weights)
    base_right = _read(model, x) == y
    lost = {}
    chosen = BLENDS[-1]
    for alpha in BLENDS:
        model.set_weights(blend_weights(base_weights, tuned, alpha))
        memory = build_memory(model, *remember) if remember is not None else None
        right = read_with_memory(model, memory, x).argmax(1) == y
        lost[str(alpha)] = round(float(np.mean(base_right & ~right) - np.mean(~base_right & right)), 5)
        if lost[str(alpha)] <= MNIST_BUDGET:
            chosen = alpha
            break
    model.set_weights(tuned)
    plan["blend_check"] = {"source": source, "n": int(len(y)), "budget": MNIST_BUDGET, "lost": lost, "chosen": chosen}
    return chosen


def still_confused(model, drawings: Sequence, tune_idx, x_held: np.ndarray, y_held: np.ndarray, memory=None) -> list[dict]:
    """What the (tuned) ``model`` misreads among the person's held-out and tuning drawings; see :func:`confusion_pairs`."""
    x, y = clean_inputs(drawings, tune_idx)
    x = np.concatenate([x, np.asarray(x_held, np.float32).reshape(-1, 28, 28)])
    y = np.concatenate([y, np.asarray(y_held, np.int64)])
    pred = read_with_memory(model, memory, x).argmax(1) if len(x) else np.zeros(0, np.int64)
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


# --- the person's own digits as a nearest-neighbour memory --------------------------------------
# The tuned network's last hidden features (the input of its output layer) of the drawings tuned on
# are stored next to the model (``me.keras`` -> ``me.personal.npz``); the Predictor adds to the
# network's probabilities a vote of the (up to) MEMORY_K stored drawings most like the new one, each
# weighted by how far its cosine similarity exceeds MEMORY_THRESHOLD. A digit unlike all of them
# (most of MNIST) is read by the network alone. Measured on bench/hard_writers.py (README).
MEMORY_SUFFIX = ".personal.npz"
MEMORY_K = 3
MEMORY_THRESHOLD = 0.85
MEMORY_WEIGHT = 0.5


def memory_path(model_path) -> Path:
    """``me.keras`` -> ``me.personal.npz`` (the memory sidecar of a tuned model)."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + MEMORY_SUFFIX)


def feature_model(model):
    """A Keras model giving ``[last hidden features (n, d), outputs (n, classes)]`` of ``model``."""
    import keras

    return keras.Model(model.inputs[0], [model.layers[-1].input, model.outputs[0]])


@dataclass
class Memory:
    """Unit-length features ``(m, d)`` of the person's drawings, their labels, and the vote's settings."""

    features: np.ndarray
    labels: np.ndarray
    threshold: float = MEMORY_THRESHOLD
    weight: float = MEMORY_WEIGHT
    k: int = MEMORY_K

    def combine(self, features: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """``(n, classes)`` probabilities with the neighbours' vote added, rows summing to 1."""
        probs = np.asarray(probs, np.float64)
        if len(self.labels) == 0 or len(probs) == 0:
            return probs.astype(np.float32)
        f = np.asarray(features, np.float64).reshape(len(probs), -1)
        f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
        sim = f @ self.features.T
        k = min(self.k, sim.shape[1])
        nearest = np.argsort(-sim, axis=1)[:, :k]
        strength = np.clip((np.take_along_axis(sim, nearest, 1) - self.threshold) / (1 - self.threshold), 0, 1)
        vote = np.zeros_like(probs)
        rows = np.repeat(np.arange(len(probs)), k)
        np.add.at(vote, (rows, self.labels[nearest].ravel()), strength.ravel())
        out = probs + self.weight * vote
        return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)

    def to_bytes(self) -> bytes:
        import io

        buf = io.BytesIO()
        np.savez(
            buf,
            features=self.features.astype(np.float32),
            labels=self.labels.astype(np.int64),
            settings=np.array([self.threshold, self.weight, self.k], np.float64),
        )
        return buf.getvalue()


def build_memory(model, x: np.ndarray, y: np.ndarray) -> Memory:
    """The memory of drawings ``x`` ``(n, 28, 28)`` labelled ``y``, in ``model``'s feature space."""
    feats, _ = feature_model(model).predict(np.asarray(x, np.float32)[..., None], verbose=0)
    feats = np.asarray(feats, np.float64).reshape(len(x), -1)
    feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    return Memory(feats.astype(np.float32), np.asarray(y, np.int64))


def read_memory(model_path) -> Memory | None:
    """The memory next to ``model_path``; ``None`` when there is none or it cannot be read."""
    path = memory_path(model_path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            features, labels, settings = f["features"], f["labels"], f["settings"]
        if features.ndim != 2 or labels.shape != (len(features),) or settings.shape != (3,):
            return None
        return Memory(
            features.astype(np.float32), labels.astype(np.int64), float(settings[0]), float(settings[1]), int(settings[2])
        )
    except (OSError, ValueError, KeyError):
        return None


def read_with_memory(model, memory: Memory | None, x: np.ndarray) -> np.ndarray:
    """``(n, classes)`` probabilities of ``model`` on ``x`` ``(n, 28, 28)``, with ``memory``'s vote when given."""
    if memory is None:
        return np.asarray(model.predict(np.asarray(x)[..., None], batch_size=1024, verbose=0))
    feats, probs = feature_model(model).predict(np.asarray(x)[..., None], batch_size=1024, verbose=0)
    return memory.combine(feats, probs)
