"""Average the weights of models fine-tuned from the same start: a "model soup" (Wortsman et al., 2022).

Models fine-tuned from one saved model with different seeds or data mixes stay in one basin of the
loss, so the average of their weights is itself a good model, often better than each of them, at
the cost of one model at run time (an ensemble would cost one per member). ``main.py train
--average A.keras B.keras --out C.keras`` writes the average with a card that lists each
ingredient's own training command, so the whole recipe can be rerun.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from model.nets.card import read_card


class SoupError(ValueError):
    """Models that cannot be averaged (different layers or shapes)."""


def average_weights(models: list, names: list[str] | None = None) -> list[np.ndarray]:
    """The element-wise mean of the models' weights; ``SoupError`` unless every model has the same layers and shapes."""
    names = names or [m.name for m in models]
    first = models[0]
    kinds = [type(layer).__name__ for layer in first.layers]
    weights = [m.get_weights() for m in models]
    shapes = [w.shape for w in weights[0]]
    for m, w, name in zip(models[1:], weights[1:], names[1:]):
        if [type(layer).__name__ for layer in m.layers] != kinds or [a.shape for a in w] != shapes:
            raise SoupError(
                f"{name} does not have the same layers and weight shapes as {names[0]}; only models "
                "fine-tuned from the same start can be averaged"
            )
    return [np.mean([w[i] for w in weights], axis=0) for i in range(len(shapes))]


def _ingredient(path: Path) -> dict:
    entry: dict = {"file": str(path)}
    card = read_card(path)
    if not card.raw:
        entry["card"] = "missing or unreadable"
        return entry
    training = card.training
    entry.update(
        command=training.get("command"),
        continued_from=training.get("continued_from"),
        validation_accuracy=training.get("validation_accuracy"),
        seconds=training.get("seconds"),
        evaluation={k: card.accuracy(k) for k in card.evaluation},
    )
    return entry


def _validation(model, data_dir, pendigits, train_writers, configs: list[dict], sources: list[dict]):
    """``(accuracy, note)`` on the ingredients' shared validation split, or ``(None, why not)``.

    The split is drawn from the seed, fraction and limit (and which pen writers): only when these
    are the same for every ingredient is it the same held-out set, never trained on by any of them.
    """
    from .config import TrainConfig, parse_writers
    from .dataset import load_training_data

    keys = ("seed", "validation_fraction", "limit")
    if not configs[0] or any(tuple(c.get(k) for k in keys) != tuple(configs[0].get(k) for k in keys) for c in configs):
        return None, "the ingredients were not validated on one split (seed, fraction or limit differ, or a card is missing)"
    pen = [src.get("pendigits", {}).get("writers") for src in sources]
    if any(w != pen[0] for w in pen):
        return None, "the ingredients were trained on different pen writers"
    if not data_dir:
        return None, "no MNIST data given"
    writers = None
    if pen[0] is not None:
        if not pendigits:
            return None, "the ingredients trained on pen digits; give --pendigits to score their validation split"
        writers = parse_writers(pen[0]) if isinstance(pen[0], str) else [int(w) for w in pen[0]]
    elif pendigits and train_writers:
        return None, "the ingredients trained on MNIST only; leave out --pendigits to score their validation split"
    cfg = TrainConfig(
        seed=int(configs[0].get("seed", 1)),
        validation_fraction=float(configs[0].get("validation_fraction", TrainConfig.validation_fraction)),
        limit=configs[0].get("limit"),
        pen_variants=0,  # the split does not depend on it; no need to render training variants
    )
    _, (x_val, y_val), _ = load_training_data(data_dir, cfg, pendigits, writers, log=lambda *_: None)
    accuracy = float(np.mean(np.argmax(np.asarray(model.predict(x_val, batch_size=512, verbose=0)), 1) == y_val))
    return accuracy, f"the ingredients' shared validation split ({len(y_val)} digits, never trained on)"


def make_soup(paths: list[Path], out: Path, data_dir, pendigits, train_writers, heldout_writers, command: str) -> dict:
    """Average ``paths`` into ``out`` (saved atomically) with its card; returns the card."""
    import keras

    from model.nets.card import read_card_document, write_card
    from model.nets.inference import load_checked_model

    from .saving import evaluate_for_card, layer_table, save_model_atomically

    if len(paths) < 2:
        raise SoupError("averaging needs at least two models")
    models = [load_checked_model(p) for p in paths]
    soup = models[0]
    soup.set_weights(average_weights(models, [str(p) for p in paths]))
    cards = [read_card_document(p) or {} for p in paths]
    training = [c.get("training") if isinstance(c.get("training"), dict) else {} for c in cards]
    configs = [t.get("config") if isinstance(t.get("config"), dict) else {} for t in training]
    sources = [t.get("data") if isinstance(t.get("data"), dict) else {} for t in training]
    # Measured before anything is written: a data problem leaves no half-made model behind.
    val_accuracy, val_note = _validation(soup, data_dir, pendigits, train_writers, configs, sources)
    ingredients = [_ingredient(p) for p in paths]
    save_model_atomically(soup, out)
    has_conv = any("Conv" in type(layer).__name__ for layer in soup.layers)
    card = {
        "name": soup.name,
        "file": out.name,
        "architecture": cards[0].get("architecture", "cnn" if has_conv else "mlp"),
        "contract": cards[0].get("contract"),
        "layers": layer_table(soup),
        "total_params": int(soup.count_params()),
        "training": {
            "soup_of": ingredients,
            "method": "element-wise mean of the ingredients' weights (a uniform model soup)",
            "seconds": sum(i.get("seconds") or 0 for i in ingredients),
            "validation_accuracy": val_accuracy,
            "validation": val_note,
            "command": command,
            "versions": {"keras": keras.__version__, "python": platform.python_version()},
            "date": time.strftime("%Y-%m-%d"),
        },
    }
    card["evaluation"] = evaluate_for_card(out, data_dir, pendigits, heldout_writers)
    write_card(out, card)
    return card
