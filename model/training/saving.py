"""Saving a trained model: atomically, with the layer table and the evaluation its card records."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from model.data.paths import RESOURCES


def layer_table(model) -> list[dict]:
    """One row per layer: name, Keras class, output shape, parameters (and padding/strides where they apply)."""
    rows = []
    for layer in model.layers:
        try:
            shape = list(layer.output.shape[1:])
        except (AttributeError, ValueError):
            shape = None
        row = {"name": layer.name, "type": type(layer).__name__, "output_shape": shape, "params": int(layer.count_params())}
        if hasattr(layer, "padding") and hasattr(layer, "strides"):
            row.update(padding=layer.padding, strides=list(layer.strides))
        rows.append(row)
    return rows


def save_model_atomically(model, out: Path) -> None:
    """Save to a temporary file next to ``out`` and rename it, so ``out`` is never half-written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{int(time.time() * 1000)}.tmp.keras")
    try:
        model.save(tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _display_path(path: Path) -> str:
    """``path`` relative to the project when it lies inside it (as the card's commands are run from there)."""
    try:
        return str(Path(path).resolve().relative_to(RESOURCES.parent))
    except ValueError:
        return str(path)


def evaluate_for_card(model_path: Path, data_dir: str | None, pendigits: str | None, writers: list[int] | None) -> dict:
    """The numbers ``main.py evaluate`` reports, recorded in the card with the commands that give them."""
    from model.nets.evaluate import evaluate_mnist, evaluate_pendigits
    from model.nets.inference import Predictor

    predictor = Predictor(model_path)
    model_arg = f"--model {shlex.quote(_display_path(model_path))}"
    result = {}
    if data_dir:
        r = evaluate_mnist(predictor, data_dir)
        result["mnist_test"] = {**r.summary(), "command": f"uv run main.py evaluate {model_arg} --data {data_dir}"}
    if pendigits and writers:
        r = evaluate_pendigits(predictor, pendigits, writers)
        spec = f"{writers[0]}-{writers[-1]}"
        per_writer = {}
        for w in writers:
            rw = evaluate_pendigits(predictor, pendigits, [w])
            per_writer[str(w)] = round(rw.accuracy, 5)
        result["pendigits_heldout_writers"] = {
            **r.summary(),
            "writers": writers,
            "per_writer": per_writer,
            "note": "writers never used for training or tuning; rendered through strokes_to_input",
            "command": f"uv run main.py evaluate {model_arg} --data {pendigits} --writers {spec}",
        }
    return result
