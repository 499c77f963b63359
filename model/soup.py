"""Average the weights of models fine-tuned from the same start: a "model soup" (Wortsman et al., 2022).

Models fine-tuned from one saved model with different seeds or data mixes stay in one basin of the
loss, so the average of their weights is itself a good model, often better than each of them, at
the cost of one model at run time (an ensemble would cost one per member). ``main.py train
--average A.keras B.keras --out C.keras`` writes the average with a card that lists each
ingredient's own training command, so the whole recipe can be rerun.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np


class SoupError(ValueError):
    """Models that cannot be averaged (different layers or shapes)."""


def average_weights(models: list) -> list[np.ndarray]:
    """The element-wise mean of the models' weights; ``SoupError`` unless every model has the same layers and shapes."""
    first = models[0]
    kinds = [type(layer).__name__ for layer in first.layers]
    shapes = [w.shape for w in first.get_weights()]
    for m in models[1:]:
        if [type(layer).__name__ for layer in m.layers] != kinds or [w.shape for w in m.get_weights()] != shapes:
            raise SoupError(
                f"{m.name} does not have the same layers and weight shapes as {first.name}; only models "
                "fine-tuned from the same start can be averaged"
            )
    return [np.mean([m.get_weights()[i] for m in models], axis=0) for i in range(len(shapes))]


def _ingredient(path: Path) -> dict:
    entry: dict = {"file": str(path)}
    try:
        card = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        training = card.get("training", {})
        entry.update(
            command=training.get("command"),
            continued_from=training.get("continued_from"),
            validation_accuracy=training.get("validation_accuracy"),
            seconds=training.get("seconds"),
            evaluation={k: v.get("accuracy") for k, v in card.get("evaluation", {}).items() if isinstance(v, dict)},
        )
    except (OSError, ValueError, AttributeError):
        entry["card"] = "missing or unreadable"
    return entry


def _validation_accuracy(model, data_dir, pendigits, train_writers, config: dict) -> float | None:
    """Accuracy on the ingredients' own validation split (same seed, fraction and limit: the same digits)."""
    from .train import TrainConfig, load_training_data

    if not data_dir:
        return None
    cfg = TrainConfig(
        seed=int(config.get("seed", 1)),
        validation_fraction=float(config.get("validation_fraction", TrainConfig.validation_fraction)),
        limit=config.get("limit"),
        pen_variants=0,  # the split does not depend on it; no need to render training variants
    )
    _, (x_val, y_val), _ = load_training_data(data_dir, cfg, pendigits, train_writers, log=lambda *_: None)
    return float(np.mean(np.argmax(np.asarray(model.predict(x_val, batch_size=512, verbose=0)), 1) == y_val))


def _config(path: Path) -> dict:
    try:
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["training"]["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def make_soup(paths: list[Path], out: Path, data_dir, pendigits, train_writers, heldout_writers, command: str) -> dict:
    """Average ``paths`` into ``out`` (saved atomically) with its card; returns the card."""
    import keras

    from .inference import load_checked_model
    from .train import evaluate_for_card, layer_table, save_model_atomically, write_card

    if len(paths) < 2:
        raise SoupError("averaging needs at least two models")
    models = [load_checked_model(p) for p in paths]
    soup = models[0]
    soup.set_weights(average_weights(models))
    save_model_atomically(soup, out)
    ingredients = [_ingredient(p) for p in paths]
    try:
        base = json.loads(paths[0].with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        base = {}
    configs = [_config(p) for p in paths]
    if any(c.get("seed") != configs[0].get("seed") or c.get("limit") != configs[0].get("limit") for c in configs):
        print("note: the ingredients were validated on different splits (seed or limit differ); reporting the first's")
    card = {
        "name": soup.name,
        "file": out.name,
        "architecture": base.get("architecture", "cnn"),
        "contract": base.get("contract"),
        "layers": layer_table(soup),
        "total_params": int(soup.count_params()),
        "training": {
            "soup_of": ingredients,
            "method": "element-wise mean of the ingredients' weights (a uniform model soup)",
            "seconds": sum(i.get("seconds") or 0 for i in ingredients),
            "validation_accuracy": _validation_accuracy(
                soup, data_dir, pendigits, train_writers, base.get("training", {}).get("config", {})
            ),
            "command": command,
            "versions": {"keras": keras.__version__, "python": platform.python_version()},
            "date": time.strftime("%Y-%m-%d"),
        },
    }
    card["evaluation"] = evaluate_for_card(out, data_dir, pendigits, heldout_writers)
    write_card(out, card)
    return card
