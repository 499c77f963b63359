"""Knowing when it does not know: calibrated confidence and the three states of an answer.

Every answer is one of

* ``"digit"``: the network is sure (its calibrated top probability is high and the drawing looks
  like the digits it was trained on);
* ``"unsure"``: the evidence is split between two classes ("not sure: 4 or 9");
* ``"not a digit"``: the drawing is far from everything the network was trained on.

Two signals, fitted per model by :func:`fit_calibration` (``main.py calibrate``) and kept with
the model (the card's ``"confidence"`` key + a sidecar ``NAME.confidence.npz``):

* **temperature scaling** (Guo et al., 2017): the logits are divided by one number ``T`` fitted
  on the validation split (minimum negative log-likelihood), so "95% sure" is right 95% of the
  time. The argmax never changes.
* **class-conditional Mahalanobis distance** (Lee et al., 2018) of the globally pooled features
  of several layers: per layer, the distance to the nearest class mean under one shared
  covariance, measured on training digits; each layer's distance is standardised on the
  validation digits and the standardised distances are summed. A scribble can get a confident
  softmax, but its features are far from every digit's. Thresholds are chosen on validation
  digits (and checked on synthetic non-digits, ``model.data.nondigits``), never on test data.

A model without this information (a user's model, no card) keeps its raw softmax (said so in
its status); its answers are judged from the outputs alone: "unsure" below a top probability of
0.6 and never "not a digit", as nothing measures how far a drawing is from that model's training data.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DIGIT, UNSURE, NOT_A_DIGIT = "digit", "unsure", "not a digit"
STATUSES = (DIGIT, UNSURE, NOT_A_DIGIT)
CARD_KEY = "confidence"
RAW_UNSURE_BELOW = 0.6  # without a calibration: the raw top probability under which an answer is unsure
SIDECAR_SUFFIX = ".confidence.npz"
KNN_K = 10  # neighbours for the kNN score


@dataclass(frozen=True)
class Verdict:
    """How sure one answer is.

    ``status``: one of :data:`STATUSES`; ``classes``: the top class index, or the top two when
    unsure; ``confidence``: the (calibrated, where the model has a calibration) top probability;
    ``reason``: what a user reads ("not sure: 4 or 9", "not a digit", "" when sure);
    ``distance``: the standardised feature distance (``nan`` without a calibration).
    """

    status: str
    classes: tuple[int, ...]
    confidence: float
    reason: str = ""
    distance: float = float("nan")


@dataclass
class Calibration:
    """What judging an answer needs; ``Calibration()`` is the uncalibrated fallback.

    ``components``: the scores summed into the "not a digit" distance, each standardised on the
    validation digits: ``{"kind": "maha" | "knn" | "energy", "layer": name, "mean": m, "std": s}``
    (``layer`` ``"penultimate"`` is the input of the final Dense layer). ``means[layer]``:
    ``(classes, d)`` class means, ``precisions[layer]``: ``(d, d)`` inverse shared covariance,
    ``references[layer]``: ``(r, d)`` unit-length training features for the kNN score.
    """

    temperature: float = 1.0
    unsure_below: float = RAW_UNSURE_BELOW
    not_digit_above: float = float("inf")
    components: list[dict] = field(default_factory=list)
    means: dict[str, np.ndarray] = field(default_factory=dict)
    precisions: dict[str, np.ndarray] = field(default_factory=dict)
    references: dict[str, np.ndarray] = field(default_factory=dict)
    calibrated: bool = False
    info: dict = field(default_factory=dict)

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers whose pooled features the distance needs, in order, without repeats."""
        return tuple(dict.fromkeys(c["layer"] for c in self.components if c["kind"] != "energy"))

    @property
    def has_distance(self) -> bool:
        return bool(self.components) and np.isfinite(self.not_digit_above)

    @property
    def note(self) -> str:
        """One sentence for the model's status/tooltip."""
        if not self.calibrated:
            return (
                "Confidence not calibrated: the model's raw softmax is shown (its card has no calibration; "
                "main.py calibrate fits one). 'Not sure' below 60%; 'not a digit' is not detected for this model."
            )
        what = f"Confidence calibrated (temperature {self.temperature:.2f})"
        if self.has_distance:
            what += "; 'not a digit' from how far its features are from the training digits'"
        return what + "."


# --- the maths ------------------------------------------------------------------------------------


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``(n, classes)`` (or ``(classes,)``) logits -> probabilities at ``temperature``, float64."""
    z = np.asarray(logits, np.float64) / float(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def logits_from_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Log-probabilities: logits up to a constant per row, which softmax ignores (tiny values clipped)."""
    return np.log(np.clip(np.asarray(probabilities, np.float64), 1e-30, None))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of ``labels`` (a fine log grid, then refined)."""
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels, np.int64)
    rows = np.arange(len(labels))

    def nll(t: float) -> float:
        z = logits / t
        m = z.max(axis=1)
        return float(np.mean(m + np.log(np.exp(z - m[:, None]).sum(axis=1)) - z[rows, labels]))

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 241))
    best = float(grid[int(np.argmin([nll(t) for t in grid]))])
    fine = best * np.exp(np.linspace(-0.03, 0.03, 61))
    return float(fine[int(np.argmin([nll(t) for t in fine]))])


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the mean gap between confidence and accuracy over ``bins`` equal-width confidence bins,
    weighted by how many answers fall in each (Guo et al., 2017)."""
    p = np.asarray(probabilities, np.float64)
    conf, right = p.max(axis=1), p.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(right[m].mean() - conf[m].mean())
    return float(total)


def pooled(features: np.ndarray) -> np.ndarray:
    """A layer's output -> one vector per input: ``(n, h, w, c)`` or ``(h, w, c)`` averaged over space; vectors as they are."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=(-3, -2)) if f.ndim >= 3 else f


def class_statistics(features: np.ndarray, labels: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class means ``(classes, d)`` and the inverse of the shared within-class covariance ``(d, d)``.

    A small ridge (1e-4 of the mean variance) keeps dead or constant channels invertible.
    """
    f = np.asarray(features, np.float64)
    y = np.asarray(labels, np.int64)
    means = np.stack([f[y == k].mean(axis=0) if (y == k).any() else np.zeros(f.shape[1]) for k in range(classes)])
    r = f - means[y]
    cov = r.T @ r / max(1, len(f))
    ridge = 1e-4 * max(float(np.trace(cov)) / len(cov), 1e-12)
    return means, np.linalg.inv(cov + ridge * np.eye(len(cov)))


def mahalanobis(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """``(n, d)`` features -> ``(n,)`` squared Mahalanobis distance to the nearest class mean."""
    d = np.asarray(features, np.float64)[:, None, :] - means[None]
    return np.einsum("nkd,de,nke->nk", d, precision, d).min(axis=1)


def _whitened_distance(cal: Calibration, layer: str, features: np.ndarray) -> np.ndarray:
    """:func:`mahalanobis`, faster for the live path: with ``precision = L L^T`` it is the squared
    Euclidean distance of ``f L`` to the (cached) ``means L``."""
    cache = cal.info.setdefault("_whitened", {})
    if layer not in cache:
        white = np.linalg.cholesky(cal.precisions[layer]).astype(np.float32)
        cache[layer] = (white, (cal.means[layer] @ white).astype(np.float32))
    white, means = cache[layer]
    f = np.einsum("nd,de->ne", np.asarray(features, np.float32), white)
    return np.einsum("nke,nke->nk", f[:, None, :] - means[None], f[:, None, :] - means[None]).min(axis=1).astype(np.float64)


def knn_distance(features: np.ndarray, references: np.ndarray, k: int = KNN_K) -> np.ndarray:
    """``(n, d)`` features -> ``(n,)`` one minus the cosine similarity to the ``k``-th nearest unit-length reference."""
    # float32: the references are stored in half precision anyway, and a float64 product with
    # thousands of rows costs milliseconds on the live path where float32 costs a fraction of one.
    f = np.asarray(features, np.float32)
    f = f / (np.linalg.norm(f, axis=1, keepdims=True) + np.float32(1e-12))
    # einsum, not @: on the live path one drawing's product is small, and BLAS's threads fight
    # TensorFlow's for the cores (measured: 1-6 ms with @, a fraction of one with einsum).
    sim = np.einsum("rd,nd->nr", np.asarray(references, np.float32), f)
    k = min(k, sim.shape[1])
    return 1.0 - np.partition(sim, sim.shape[1] - k, axis=1)[:, sim.shape[1] - k]


def energy(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The energy score ``-T logsumexp(z / T)`` (Liu et al., 2020): high when no class has strong evidence."""
    z = np.asarray(logits, np.float64) / temperature
    m = z.max(axis=-1)
    return -temperature * (m + np.log(np.exp(z - m[..., None]).sum(axis=-1)))


def component_scores(cal: Calibration, logits: np.ndarray, features: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The raw (unstandardised) score of every component, ``(n,)`` each; high means unlike a digit."""
    out = []
    for c in cal.components:
        if c["kind"] == "energy":
            out.append(energy(logits, cal.temperature))
        elif c["kind"] == "maha":
            out.append(_whitened_distance(cal, c["layer"], features[c["layer"]]))
        else:
            out.append(knn_distance(features[c["layer"]], cal.references[c["layer"]]))
    return out


def distance(cal: Calibration, logits: np.ndarray, features: dict[str, np.ndarray]) -> np.ndarray:
    """``(n,)`` the sum of the components' standardised scores: how far from the training digits."""
    scores = component_scores(cal, logits, features)
    return np.sum([(s - c["mean"]) / c["std"] for s, c in zip(scores, cal.components)], axis=0)


def judge_batch(
    cal: Calibration, logits: np.ndarray, features: dict[str, np.ndarray] | None, class_names: list[str]
) -> list[Verdict]:
    """Verdicts for ``(n, classes)`` logits (and pooled ``features`` per layer, when the calibration uses them)."""
    p = softmax(logits, cal.temperature)
    n = len(p)
    dist = distance(cal, logits, features) if (cal.has_distance and features is not None) else np.full(n, np.nan)
    order = np.argsort(-p, axis=1)
    out = []
    for i in range(n):
        top = int(order[i, 0])
        second = int(order[i, 1]) if p.shape[1] > 1 else top
        conf = float(p[i, top])
        if np.isfinite(dist[i]) and dist[i] > cal.not_digit_above:
            out.append(Verdict(NOT_A_DIGIT, (top,), conf, "not a digit", float(dist[i])))
        elif conf < cal.unsure_below:
            out.append(
                Verdict(UNSURE, (top, second), conf, f"not sure: {class_names[top]} or {class_names[second]}", float(dist[i]))
            )
        else:
            out.append(Verdict(DIGIT, (top,), conf, "", float(dist[i])))
    return out


def judge(cal: Calibration, logits: np.ndarray, features: dict[str, np.ndarray] | None, class_names: list[str]) -> Verdict:
    """The verdict on one answer: ``(classes,)`` logits and ``(d,)`` pooled features per layer."""
    feats = None if features is None else {k: np.asarray(v, np.float64)[None] for k, v in features.items()}
    return judge_batch(cal, np.asarray(logits)[None], feats, class_names)[0]


# --- stored with the model -------------------------------------------------------------------------


def sidecar_path(model_path: str | os.PathLike) -> Path:
    """``digits.keras`` -> ``digits.confidence.npz`` (next to the model and its card)."""
    p = Path(model_path)
    return p.with_name(p.stem + SIDECAR_SUFFIX)


def read_calibration(model_path: str | os.PathLike, card: dict | None) -> tuple[Calibration, list[str]]:
    """The calibration the card describes (and its sidecar), or the uncalibrated fallback; never raises.

    Returns it and the problems found (plain text, like ``model.card``'s).
    """
    entry = (card or {}).get(CARD_KEY) if isinstance(card, dict) else None
    if entry is None:
        return Calibration(), []
    try:
        t, unsure = float(entry["temperature"]), float(entry["unsure_below"])
        if not (0.01 <= t <= 100 and 0 <= unsure <= 1):
            raise ValueError(f"temperature {t} or unsure_below {unsure} out of range")
        cal = Calibration(temperature=t, unsure_below=unsure, calibrated=True, info=dict(entry))
    except (TypeError, KeyError, ValueError) as exc:
        return Calibration(), [f"{CARD_KEY}: unusable ({exc}); confidence not calibrated"]
    if not entry.get("components"):
        return cal, []
    path = Path(model_path).with_name(Path(str(entry.get("features_file", sidecar_path(model_path).name))).name)
    try:
        components = [
            {"kind": str(c["kind"]), "layer": str(c.get("layer", "")), "mean": float(c["mean"]), "std": float(c["std"])}
            for c in entry["components"]
        ]
        if any(c["kind"] not in ("maha", "knn", "energy") or not c["std"] > 0 for c in components):
            raise ValueError("unknown component kind or zero spread")
        probe = Calibration(components=components)
        with np.load(path, allow_pickle=False) as f:
            for c in components:
                if c["kind"] == "maha":
                    cal.means[c["layer"]] = np.asarray(f[f"{c['layer']}/means"], np.float64)
                    cal.precisions[c["layer"]] = np.asarray(f[f"{c['layer']}/precision"], np.float64)
                elif c["kind"] == "knn":
                    cal.references[c["layer"]] = np.asarray(f[f"{c['layer']}/reference"], np.float32)
        cal.components = probe.components
        cal.not_digit_above = float(entry["not_digit_above"])
    except Exception as exc:  # noqa: BLE001 - a missing or broken sidecar only loses "not a digit"
        cal.components, cal.means, cal.precisions, cal.references = [], {}, {}, {}
        return cal, [f"{path.name}: cannot be read ({type(exc).__name__}: {exc}); 'not a digit' is off"]
    return cal, []


def write_calibration(model_path: str | os.PathLike, cal: Calibration) -> Path:
    """Write the card's ``"confidence"`` key (other keys kept) and the sidecar with the feature statistics."""
    import io

    from model.data.readers import write_atomically

    from .card import card_path, read_card

    entry = {"temperature": round(cal.temperature, 5), "unsure_below": round(cal.unsure_below, 5)}
    if cal.has_distance:
        side = sidecar_path(model_path)
        arrays = {}
        for name, m in cal.means.items():
            arrays[f"{name}/means"] = m.astype(np.float32)
            arrays[f"{name}/precision"] = cal.precisions[name].astype(np.float32)
        for name, r in cal.references.items():
            arrays[f"{name}/reference"] = r.astype(np.float16)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        write_atomically(side, buf.getvalue())
        entry.update(
            not_digit_above=round(cal.not_digit_above, 5),
            components=[{**c, "mean": round(c["mean"], 6), "std": round(c["std"], 6)} for c in cal.components],
            features_file=side.name,
        )
    entry.update({k: v for k, v in cal.info.items() if k not in entry and not k.startswith("_")})
    card = dict(read_card(model_path).raw)
    card[CARD_KEY] = entry
    path = card_path(model_path)
    write_atomically(path, (json.dumps(card, indent=2) + "\n").encode())
    return path


# --- fitting -------------------------------------------------------------------------------------------

OOD_FLAG_RATE = 0.025  # of validation digits called "not a digit": the price of catching non-digits
UNSURE_BELOW = 0.8  # calibrated top probability under which the evidence counts as split
REFERENCES_PER_SOURCE = 4000  # training features kept per source for the kNN score (float16, ~0.5 MB each)


def default_layers(predictor) -> list[str]:
    """The layers scored by default: the penultimate features and, for a model with feature maps,
    a deep one two thirds of the way through them (``conv4`` of the bundled CNN)."""
    out = ["penultimate"] if predictor.penultimate_size else []
    if predictor.layers:
        out.append(predictor.layers[len(predictor.layers) * 2 // 3].name)
    return out


def fit_calibration(
    train: tuple[np.ndarray, dict[str, np.ndarray], np.ndarray],
    validation: tuple[np.ndarray, dict[str, np.ndarray], np.ndarray],
    classes: int,
    layers: list[str],
    references: list[np.ndarray] | None = None,
) -> Calibration:
    """A calibration from ``(logits, pooled features per layer, labels)`` of training and validation digits.

    Temperature: minimum NLL on validation. Distance: Mahalanobis (class means + shared covariance
    from training features) on every layer in ``layers``, kNN on the first (against ``references``,
    row indices into the training features, default all), and the energy score; each standardised
    on validation; the "not a digit" threshold flags :data:`OOD_FLAG_RATE` of validation digits.
    """
    t_logits, t_feats, t_labels = train
    v_logits, v_feats, v_labels = validation
    cal = Calibration(temperature=fit_temperature(v_logits, v_labels), unsure_below=UNSURE_BELOW, calibrated=True)
    for name in layers:
        cal.means[name], cal.precisions[name] = class_statistics(t_feats[name], t_labels, classes)
    components = [{"kind": "maha", "layer": name} for name in layers]
    if layers:
        rows = np.concatenate(references) if references else np.arange(len(t_labels))
        ref = np.asarray(t_feats[layers[0]], np.float64)[rows]
        cal.references[layers[0]] = (ref / (np.linalg.norm(ref, axis=1, keepdims=True) + 1e-12)).astype(np.float32)
        components.insert(0, {"kind": "knn", "layer": layers[0]})
    components.append({"kind": "energy", "layer": ""})
    cal.components = [{**c, "mean": 0.0, "std": 1.0} for c in components]
    raw = component_scores(cal, v_logits, v_feats)
    for c, s in zip(cal.components, raw):
        c["mean"], c["std"] = float(np.mean(s)), float(np.std(s) or 1.0)
    cal.not_digit_above = float(np.quantile(distance(cal, v_logits, v_feats), 1.0 - OOD_FLAG_RATE))
    return cal


# --- main.py calibrate ---------------------------------------------------------------------------------

VALIDATION_SEED = 1  # model/train.py's split: the same seed and fraction give the same held-out digits
VALIDATION_FRACTION = 0.08


def _split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(n)  # as model/train.py splits: the validation digits come first
    n_val = int(round(n * VALIDATION_FRACTION))
    return order[n_val:], order[:n_val]


def calibration_data(mnist_dir, pendigits=None, writers=None, limit: int = 20_000, parts=("train", "validation")):
    """Training and validation digits split the way ``model/train.py`` splits them (seed 1, 8%).

    Returns ``{"train": (images, labels, source), "validation": (...)}``: images ``(n, 28, 28)``
    float32 in [0, 1], ``source`` 0 for MNIST, 1 for pen digits (rendered through
    ``strokes_to_input``). At most ``limit`` MNIST training digits are kept (the statistics settle
    long before 55,000).
    """
    from model.data.preprocess import strokes_to_input
    from model.data.readers import load_mnist, read_pendigits

    rng = np.random.default_rng(VALIDATION_SEED)
    (x, y), _ = load_mnist(mnist_dir)
    tr, va = _split(len(x), rng)
    tr = tr[:limit]
    wanted_parts = parts
    parts = {
        "train": [(x[tr] / 255.0, y[tr], np.zeros(len(tr), np.int64))],
        "validation": [(x[va] / 255.0, y[va], np.zeros(len(va), np.int64))],
    }
    if pendigits is not None:
        wanted = set(writers or range(1, 25))
        digits = [d for d in read_pendigits(pendigits) if d.writer in wanted]
        ptr, pva = _split(len(digits), rng)
        for key, rows in (("train", ptr), ("validation", pva)):
            if key not in wanted_parts:
                continue
            images = [(strokes_to_input(digits[i].strokes), digits[i].label) for i in rows]
            images = [(im, label) for im, label in images if im is not None]
            xs = np.asarray([im for im, _ in images], np.float32).reshape(-1, 28, 28)
            parts[key].append((xs, np.asarray([label for _, label in images], np.int64), np.ones(len(xs), np.int64)))
    return {k: tuple(np.concatenate([p[i] for p in v]) for i in range(3)) for k, v in parts.items() if k in wanted_parts}


def nondigit_inputs(seed: int, digits=None, n_per_kind: int = 200) -> dict[str, np.ndarray]:
    """Synthetic non-digits (``model.data.nondigits``) rendered like a drawing: kind -> ``(n, 28, 28)``."""
    from model.data.nondigits import synthetic_nondigits
    from model.data.preprocess import strokes_to_input

    out = {}
    for kind, items in synthetic_nondigits(n_per_kind, seed, digits).items():
        images = [im for im in (strokes_to_input(s) for s in items) if im is not None]
        out[kind] = np.asarray(images, np.float32).reshape(-1, 28, 28)
    return out


def calibrate(predictor, data: dict, layers: list[str] | None = None, log=print) -> Calibration:
    """Fit a calibration for ``predictor`` on :func:`calibration_data`'s digits (none of them test data)."""
    layers = default_layers(predictor) if layers is None else layers
    sets = {}
    for key, (images, labels, _source) in data.items():
        raw, logits, features = [], [], []
        for i in range(0, len(images), 1000):
            r, z, f = predictor.pooled_features(images[i : i + 1000], layers)
            raw.append(r), logits.append(z), features.append(f)
        feats = {name: np.concatenate([f[name] for f in features]) for name in layers}
        sets[key] = (np.concatenate(logits), feats, _class_indices(predictor, labels))
        log(f"{key}: {len(labels)} digits")
    source = data["train"][2]
    refs = [np.flatnonzero(source == s)[:REFERENCES_PER_SOURCE] for s in np.unique(source)]
    cal = fit_calibration(sets["train"], sets["validation"], predictor.num_classes, layers, refs)
    v_logits, v_feats, v_labels = sets["validation"]
    verdicts = judge_batch(cal, v_logits, v_feats, predictor.class_names)
    flagged = {s: float(np.mean([v.status == s for v in verdicts])) for s in (UNSURE, NOT_A_DIGIT)}
    cal.info = {
        "method": "temperature scaling; 'not a digit': kNN + class-conditional Mahalanobis distances of pooled "
        f"features ({', '.join(layers)}) + energy score, each standardised on validation digits, summed",
        "validation": {
            "digits": int(len(v_labels)),
            "ece_raw": round(expected_calibration_error(softmax(v_logits), v_labels), 5),
            "ece_calibrated": round(expected_calibration_error(softmax(v_logits, cal.temperature), v_labels), 5),
            "flagged": {k: round(v, 4) for k, v in flagged.items()},
        },
    }
    return cal


def _class_indices(predictor, labels: np.ndarray) -> np.ndarray:
    from .evaluate import _digit_indices

    return _digit_indices(predictor.class_names, np.asarray(labels, np.int64), "the calibration data")
