"""A model's card: the JSON file next to it (``digits.keras`` -> ``digits.json``).

The card records how a model was made (the app's trainer writes one) and, for any model a user
brings, how to feed it and name its outputs. Only three keys matter to inference:

* ``input_range``: ``[low, high]``, the pixel values the model was trained on for black and white
  (``[0, 1]``, ``[0, 255]``, ``[-1, 1]``, ...);
* ``class_names``: one name per output, in output order;
* ``invert``: ``true`` if the model was trained on dark ink on a light background.

A card is data from anywhere: reading it never raises. Anything unusable is ignored and listed
in ``problems`` (plain text, to be shown as such), and the model is used with what was detected.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .data import write_atomically

MAX_CARD_BYTES = 1_000_000  # a card is a few kilobytes; anything bigger is not one
MAX_NAME_LENGTH = 40


def card_path(model_path: str | os.PathLike) -> Path:
    """Where the card of ``model_path`` lives: the same name with ``.json``."""
    return Path(model_path).with_suffix(".json")


@dataclass(frozen=True)
class ModelCard:
    """What a card says about feeding a model; ``None`` where it says nothing usable.

    ``raw``: the whole card as read (``{}`` if none), ``problems``: what was ignored and why.
    """

    input_range: tuple[float, float] | None = None
    class_names: tuple[str, ...] | None = None
    invert: bool | None = None
    raw: dict = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def _parse_range(value) -> tuple[float, float] | str:
    if isinstance(value, str):  # "0-255", "0..1"
        parts = value.replace("..", "-").split("-") if not value.startswith("-") else None
        value = parts if parts and len(parts) == 2 else value
    if isinstance(value, (list, tuple)) and len(value) == 2:
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            low = high = math.nan
        if math.isfinite(low) and math.isfinite(high) and low < high and not isinstance(value[0], bool):
            return low, high
    return f"input_range {value!r} is not [low, high] with low < high (e.g. [0, 255]); ignored"


def _parse_names(value) -> tuple[str, ...] | str:
    if isinstance(value, list) and value and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        names = tuple(str(v).strip()[:MAX_NAME_LENGTH] for v in value)
        if all(names) and len(set(names)) == len(names):
            return names
    shown = repr(value)
    return f"class_names {shown[:80] + ('...' if len(shown) > 80 else '')} is not a list of distinct, non-empty names; ignored"


def parse_card(raw) -> ModelCard:
    """A ``ModelCard`` from a decoded JSON value; never raises."""
    if not isinstance(raw, dict):
        return ModelCard(problems=(f"the card is a JSON {type(raw).__name__}, not an object; ignored",))
    problems: list[str] = []
    input_range = class_names = invert = None
    if raw.get("input_range") is not None:
        parsed = _parse_range(raw["input_range"])
        input_range, problems = (parsed, problems) if isinstance(parsed, tuple) else (None, [*problems, parsed])
    if raw.get("class_names") is not None:
        parsed = _parse_names(raw["class_names"])
        class_names, problems = (parsed, problems) if isinstance(parsed, tuple) else (None, [*problems, parsed])
    if raw.get("invert") is not None:
        if isinstance(raw["invert"], bool):
            invert = raw["invert"]
        else:
            problems.append(f"invert {raw['invert']!r} is not true or false; ignored")
    return ModelCard(input_range, class_names, invert, raw, tuple(problems))


def read_card(model_path: str | os.PathLike) -> ModelCard:
    """The card next to ``model_path`` (an empty ``ModelCard`` if there is none); never raises."""
    path = card_path(model_path)
    try:
        if not path.is_file():
            return ModelCard()
        if path.stat().st_size > MAX_CARD_BYTES:
            return ModelCard(problems=(f"{path.name} is larger than {MAX_CARD_BYTES:,} bytes; ignored",))
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        return ModelCard(problems=(f"{path.name} cannot be read as JSON ({type(exc).__name__}); ignored",))
    return parse_card(raw)


def write_card_fields(
    model_path: str | os.PathLike,
    *,
    input_range: tuple[float, float] | None = None,
    class_names: list[str] | tuple[str, ...] | None = None,
    invert: bool | None = None,
) -> Path:
    """Set the feeding keys of ``model_path``'s card, keeping every other key; written atomically.

    ``None`` removes a key (back to what the app detects). Raises ``ValueError`` (naming the
    value) for values a reader would ignore, ``OSError`` if the folder is not writable.
    """
    path = card_path(model_path)
    current = read_card(model_path)
    card = dict(current.raw)
    for key, value, parser in (("input_range", input_range, _parse_range), ("class_names", class_names, _parse_names)):
        if value is None:
            card.pop(key, None)
            continue
        parsed = parser(list(value))
        if isinstance(parsed, str):
            raise ValueError(parsed.replace("; ignored", "."))
        card[key] = list(parsed)
    if invert is None:
        card.pop("invert", None)
    else:
        card["invert"] = bool(invert)
    write_atomically(path, (json.dumps(card, indent=2) + "\n").encode())
    return path
