"""model/training/personal.py: tune harder only where the base misreads you, and ask for what helps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from model.training.personal import adapt, ask_for_more, confusion_pairs, digits_to_practise, still_confused
from model.training.tune import TuneConfig, describe


@dataclass
class Drawing:
    strokes: list
    label: int


def drawing(label: int, k: int) -> Drawing:
    """A distinct little zig-zag per label (enough for strokes_to_input and the warps)."""
    t = np.linspace(0, 1, 20)
    return Drawing([np.column_stack([t * 50 + 3 * label, 100 * np.abs(np.sin(t * (label + 1 + 0.5 * (k % 2))))])], label)


@dataclass
class Feeding:
    """As model/training/feeding.py's, for a model fed 28x28x1 drawings as they are."""

    label_index: np.ndarray = field(default_factory=lambda: np.arange(10))
    logits: bool = False
    rows_per_batch: int = 1024

    def prepare(self, x):
        return np.asarray(x, np.float32)[..., None]


FEEDING = Feeding()


class FakeModel:
    """Reads every drawing as its label, except the labels in ``wrong`` (read as ``wrong[label]``)."""

    def __init__(self, labels_by_ink: dict, wrong: dict | None = None):
        self.labels_by_ink, self.wrong = labels_by_ink, wrong or {}

    def __call__(self, x, training=False):
        out = np.zeros((len(x), 10), np.float32)
        for i, image in enumerate(x):
            label = self.labels_by_ink[round(float(image.sum()), 2)]
            out[i, self.wrong.get(label, label)] = 1.0
        return out


def setup(wrong=None):
    from model.data.preprocess import strokes_to_input

    drawings = [drawing(label, k) for k in range(4) for label in range(10)]
    ink = {round(float(strokes_to_input(d.strokes).sum()), 2): d.label for d in drawings}
    return drawings, FakeModel(ink, wrong)


def test_confusion_pairs_most_frequent_first():
    y = np.array([4, 4, 4, 7, 7, 1])
    pred = np.array([5, 5, 4, 2, 7, 1])
    assert confusion_pairs(y, pred) == [
        {"digit": 4, "read_as": 5, "count": 2, "of": 3},
        {"digit": 7, "read_as": 2, "count": 1, "of": 2},
    ]
    assert confusion_pairs(y, y) == []


def test_ask_for_more_names_the_digits():
    assert ask_for_more(None) is None and ask_for_more([]) is None
    assert ask_for_more([{"digit": 4, "read_as": 5, "count": 2, "of": 5}]) == "your 4s are read as 5s: draw three more 4s"
    rows = [
        {"digit": 4, "read_as": 5, "count": 2, "of": 5},
        {"digit": 4, "read_as": 9, "count": 1, "of": 5},
        {"digit": 7, "read_as": 2, "count": 1, "of": 5},
        {"digit": 1, "read_as": 7, "count": 1, "of": 5},
    ]
    assert ask_for_more(rows) == "your 4s are read as 5s and your 7s are read as 2s: draw three more of each"
    assert digits_to_practise({"tuning": {"still_confused": rows}}) == [1, 4, 7]
    assert digits_to_practise(None) == [] and digits_to_practise({"tuning": {}}) == []


def test_adapt_keeps_the_gentle_recipe_when_the_base_reads_everything():
    drawings, model = setup()
    cfg = TuneConfig(variants=1)
    x_user, y_user = np.zeros((3, 28, 28), np.float32), np.zeros(3, np.int64)
    out_cfg, x, y, plan = adapt(model, FEEDING, drawings, np.arange(30), cfg, x_user, y_user, np.random.default_rng(0))
    assert out_cfg == cfg and x is x_user and y is y_user
    assert plan["strength"] == "gentle" and plan["base_on_tuning_drawings"] == 1.0 and plan["base_confusions"] == []


def test_adapt_tunes_harder_and_weights_the_confused_digits():
    drawings, model = setup(wrong={1: 7})
    cfg = TuneConfig(variants=1)
    x_user, y_user = np.zeros((3, 28, 28), np.float32), np.zeros(3, np.int64)
    tune_idx = np.arange(30)  # three drawings of each digit; the held-out ones (30-39) are never looked at
    out_cfg, x, y, plan = adapt(model, FEEDING, drawings, tune_idx, cfg, x_user, y_user, np.random.default_rng(0))
    assert plan["strength"] == "harder" and plan["weighted_digits"] == [1] and plan["read_as_digits"] == [7]
    assert out_cfg.blend == 1.0 and out_cfg.learning_rate > cfg.learning_rate
    assert plan["base_confusions"] == [{"digit": 1, "read_as": 7, "count": 3, "of": 3}]
    # 3 drawings of 1 x (1 clean + 3 variants) and 3 drawings of 7 x (1 clean + 1 variant) added
    assert len(x) == len(y) == 3 + 12 + 6
    assert sorted(np.unique(y[3:])) == [1, 7] and int(np.sum(y[3:] == 1)) == 12


def test_still_confused_reads_tuning_and_held_out_drawings():
    from model.data.preprocess import strokes_to_input

    drawings, model = setup(wrong={4: 5})
    x_held = np.stack([strokes_to_input(d.strokes) for d in drawings[30:]])
    y_held = np.array([d.label for d in drawings[30:]])
    confused = still_confused(model, FEEDING, drawings, np.arange(30), x_held, y_held)
    assert confused == [{"digit": 4, "read_as": 5, "count": 4, "of": 4}]


def test_describe_asks_for_the_digits_still_confused():
    card = {
        "tuning": {
            "base_model_name": "mnist_cnn.keras",
            "tuned_on": 40,
            "samples": 50,
            "replay": {"images": 4500},
            "seconds": 20.0,
            "still_confused": [{"digit": 4, "read_as": 5, "count": 1, "of": 5}],
        },
        "before_after": {"held_out_drawings": {"n": 10, "before": 0.8, "after": 0.9}, "mnist_test": None},
    }
    assert describe(card).splitlines()[-1] == "your 4s are read as 5s: draw three more 4s"
    card["tuning"]["still_confused"] = []
    assert "draw three" not in describe(card)


def test_old_cards_without_the_record_still_describe():
    card = {
        "tuning": {"base_model_name": "m.keras", "tuned_on": 4, "samples": 5, "replay": {"images": 10}, "seconds": 1.0},
        "before_after": {"held_out_drawings": {"n": 0, "before": None, "after": None}},
    }
    assert "draw three" not in describe(card)


class BlendModel:
    """One weight w; reads every digit right, but 0s as 1s once w > 0.25 (tuned too far)."""

    def __init__(self, w: float):
        self.w = [np.array([w])]

    def get_weights(self):
        return [a.copy() for a in self.w]

    def set_weights(self, weights):
        self.w = [np.asarray(a, float) for a in weights]

    def __call__(self, x, training=False):
        labels = x[:, 0, 0, 0].astype(int)
        read = np.where((labels == 0) & (self.w[0][0] > 0.25), 1, labels)
        return np.eye(10)[read]


def test_choose_blend_pulls_back_until_mnist_is_kept():
    from model.training.personal import choose_blend

    y = np.arange(10).repeat(100)
    x = np.zeros((len(y), 28, 28), np.float32)
    x[:, 0, 0] = y
    model = BlendModel(0.5)  # tuned: w = 0.5 forgets the 0s (10% of the check digits) ...
    base = [np.array([0.0])]  # ... the base (w = 0) reads all; blends up to 0.5 keep them
    plan = {}
    alpha, memory = choose_blend(model, FEEDING, base, (x, y, "test"), plan)
    assert memory is None  # no drawings to remember were given
    assert alpha == 0.5 and plan["blend_check"]["lost"]["1.0"] == 0.1 and plan["blend_check"]["lost"]["0.5"] == 0.0
    assert "0.4" not in plan["blend_check"]["lost"]  # the largest blend that keeps them wins
    model = BlendModel(0.5)
    model.set_weights([np.array([0.0])])  # forgets nothing at any blend ...
    base = [np.array([0.0])]
    assert choose_blend(model, FEEDING, base, (x, y, "test"), plan)[0] == 1.0
    assert model.get_weights()[0][0] == 0.0  # left with the tuned weights


def test_memory_votes_only_for_drawings_like_the_stored_ones(tmp_path):
    from model.data.readers import write_atomically
    from model.nets.memory import Memory, memory_path, read_memory

    stored = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    memory = Memory(stored, np.array([7, 1]), threshold=0.85, weight=0.5, k=1)
    probs = np.full((2, 10), 0.1, np.float32)
    probs[:, 7] = 0.2
    probs /= probs.sum(1, keepdims=True)
    out = memory.combine(np.array([[0.0, 2.0], [1.0, 1.0]]), probs)  # like the stored 1; like neither (cos 0.71)
    assert out[0].argmax() == 1 and np.allclose(out.sum(1), 1)
    assert np.allclose(out[1], probs[1])
    path = tmp_path / "me.keras"
    assert memory_path(path).name == "me.personal.npz" and read_memory(path) is None
    write_atomically(memory_path(path), memory.to_bytes())
    back = read_memory(path)
    assert (
        np.array_equal(back.features, stored)
        and back.labels.tolist() == [7, 1]
        and (back.threshold, back.weight, back.k) == (0.85, 0.5, 1)
    )
    memory_path(path).write_bytes(b"not an npz")
    assert read_memory(path) is None


def test_mnist_references_outvote_a_persons_digit_only_where_they_are_nearer():
    """An MNIST-like digit near one of the person's 7s but nearer MNIST 1s is voted a 1; a digit
    nearest the person's 7 is still voted a 7."""
    from model.nets.memory import Memory

    person = np.array([[1.0, 0.0]])
    refs = np.array([[0.85, 0.527], [0.84, 0.543], [0.86, 0.51]])  # MNIST 1s, cos 0.84-0.86 to the 7
    memory = Memory(np.concatenate([person, refs]).astype(np.float32), np.array([7, 1, 1, 1]), threshold=0.8, weight=1.0, k=3)
    flat = np.full((2, 10), 0.1, np.float32)
    out = memory.combine(np.array([[0.85, 0.53], [1.0, 0.02]]), flat)
    assert out[0].argmax() == 1 and out[1].argmax() == 7


def test_remembered_holds_the_drawings_then_at_most_the_reference_count(monkeypatch):
    from model.data.readers import PenDigit
    from model.training import personal

    monkeypatch.setattr(personal, "MEMORY_REFERENCES", 4)
    square = [np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]])]
    drawings = [PenDigit(strokes=square, label=0, writer=1), PenDigit(strokes=square, label=0, writer=1)]
    x_ref, y_ref = np.zeros((6, 28, 28), np.float32), np.arange(6)
    x, y = personal.remembered(drawings, [1], (x_ref, y_ref))
    assert x.shape == (5, 28, 28) and y.tolist() == [0, 0, 1, 2, 3] and x[0].max() > 0


def test_readings_follow_the_models_class_order():
    from model.training.personal import digits_read

    feeding = Feeding(label_index=np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]))  # output k is digit 9 - k
    assert digits_read(feeding, np.eye(10)[[0, 9, 3]]).tolist() == [9, 0, 6]


def test_predictor_applies_the_memory_before_calibration():
    """The vote moves the logits by log(voted / probs): their softmax is the voted probabilities,
    a row no stored digit is near keeps its logits, and without a memory nothing changes."""
    from model.nets.inference import Predictor
    from model.nets.memory import Memory

    p = object.__new__(Predictor)
    p.memory = None
    probs = np.full((2, 10), 0.1, np.float32)
    logits = np.log(probs).astype(np.float64) + 3.0
    assert p._remember(None, probs, logits) == (probs, logits)
    p.memory = Memory(np.array([[1.0, 0.0]], np.float32), np.array([4]), threshold=0.85, weight=0.5, k=1)
    p._memory_fn = lambda x: [np.array([[2.0, 0.0], [0.0, 1.0]], np.float32)]  # like the stored 4; like nothing
    voted, moved = p._remember(None, probs, logits)
    assert voted[0].argmax() == 4 and np.allclose(voted[1], probs[1])
    z = np.exp(moved[0] - moved[0].max())
    assert np.allclose(z / z.sum(), voted[0], atol=1e-6) and np.allclose(moved[1], logits[1])


@pytest.mark.parametrize("k", [3, 40])  # fewer than stored, and more than stored (all of them vote)
def test_memory_vote_is_the_k_most_similar_stored_digits_in_any_chunking(monkeypatch, k):
    """The vote over many drawings at once (MNIST test through a tuned model) is each drawing's own
    k nearest stored digits, however the drawings are split into chunks."""
    import model.nets.memory as memory_module
    from model.nets.memory import Memory

    rng = np.random.default_rng(3)
    stored = rng.normal(size=(30, 8))
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    labels = rng.integers(0, 10, 30)
    feats, probs = rng.normal(size=(25, 8)), rng.dirichlet(np.ones(10), 25)
    memory = Memory(stored.astype(np.float32), labels, threshold=0.1, weight=1.0, k=k)
    monkeypatch.setattr(memory_module, "COMBINE_ROWS", 7)  # chunks of 7, 7, 7, 4
    out = memory.combine(feats, probs)

    expected = probs.copy()
    for i, f in enumerate(feats):
        sim = stored @ (f / np.linalg.norm(f))
        for j in np.argsort(-sim)[: min(k, len(stored))]:
            expected[i, labels[j]] += np.clip((sim[j] - 0.1) / 0.9, 0, 1)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, atol=1e-5)
