"""A model's card: the JSON file next to it (``digits.keras`` -> ``digits.json``). The one owner.

Every card is read and written here and nowhere else: :func:`read_card` (the parsed
:class:`ModelCard`), :func:`read_card_document` (the JSON object as written, for the
training code that copies parts of it), :func:`write_card` (atomic) and
:func:`write_card_fields` (the feeding keys a user sets in the window).

The card records how a model was made (``train``, ``tune`` and ``train --average`` write one:
``name``, ``file``, ``architecture``, ``layers``, ``total_params``, ``training`` with the command,
configuration and seconds, ``evaluation`` with one entry per test set, each with ``accuracy`` and
the command that measures it) and, for any model a user brings, how to feed it and name its
outputs. Only three keys matter to inference:

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

from model.data.readers import write_atomically

MAX_CARD_BYTES = 1_000_000  # a card is a few kilobytes; anything bigger is not one
MAX_NAME_LENGTH = 40
# input_range: pixel values a model may be fed, each within +-MAX_INPUT_VALUE (16-bit pixels are
# 0-65535), with a span of at least MIN_INPUT_SPAN; beyond that float32 inputs overflow or collapse.
MAX_INPUT_VALUE = 1e6
MIN_INPUT_SPAN = 1e-3


def card_path(model_path: str | os.PathLike) -> Path:
    """Where the card of ``model_path`` lives: the same name with ``.json``."""
    return Path(model_path).with_suffix(".json")


# The test sets a card's ``evaluation`` may hold, as the window names them.
ACCURACIES = (("MNIST test set", "mnist_test"), ("pen digits of unseen writers", "pendigits_heldout_writers"))


@dataclass(frozen=True)
class ModelCard:
    """What a card says about a model; ``None`` where it says nothing usable.

    Feeding: ``input_range``, ``class_names``, ``invert``. How it was made: ``name``,
    ``architecture``, ``total_params``, ``training`` and ``evaluation`` (the JSON objects as
    written). ``raw``: the whole card as read (``{}`` if none), ``problems``: what was ignored and why.
    """

    input_range: tuple[float, float] | None = None
    class_names: tuple[str, ...] | None = None
    invert: bool | None = None
    raw: dict = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def name(self) -> str | None:
        value = self.raw.get("name")
        return value if isinstance(value, str) else None

    @property
    def architecture(self) -> str | None:
        value = self.raw.get("architecture")
        return value if isinstance(value, str) else None

    @property
    def total_params(self) -> int | None:
        value = self.raw.get("total_params")
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    @property
    def training(self) -> dict:
        value = self.raw.get("training")
        return value if isinstance(value, dict) else {}

    @property
    def evaluation(self) -> dict:
        value = self.raw.get("evaluation")
        return value if isinstance(value, dict) else {}

    def accuracy(self, test_set: str) -> float | None:
        """The recorded accuracy on ``test_set`` (a key of ``evaluation``), in [0, 1]; else ``None``."""
        entry = self.evaluation.get(test_set)
        value = entry.get("accuracy") if isinstance(entry, dict) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 else None

    def accuracies(self) -> dict[str, float | None]:
        """``{label: accuracy}`` for each test set in ``ACCURACIES``; ``None`` where the card lacks it."""
        return {label: self.accuracy(key) for label, key in ACCURACIES}


def _parse_range(value) -> tuple[float, float] | str:
    if isinstance(value, str):  # "0-255", "0..1"
        parts = value.replace("..", "-").split("-") if not value.startswith("-") else None
        value = parts if parts and len(parts) == 2 else value
    if isinstance(value, (list, tuple)) and len(value) == 2:
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError, OverflowError):  # 10**400 in JSON is an int too large for a float
            low = high = math.nan
        if math.isfinite(low) and math.isfinite(high) and low < high and not isinstance(value[0], bool):
            if max(abs(low), abs(high)) > MAX_INPUT_VALUE or high - low < MIN_INPUT_SPAN:
                return (
                    f"input_range {value!r} is outside what a model can be fed (values within "
                    f"+-{MAX_INPUT_VALUE:g}, high - low at least {MIN_INPUT_SPAN:g}; e.g. [0, 255]); ignored"
                )
            return low, high
    shown = repr(value)
    shown = shown[:80] + ("..." if len(shown) > 80 else "")
    return f"input_range {shown} is not [low, high] with low < high (e.g. [0, 255]); ignored"


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


def _load(path: Path):
    """The decoded JSON at ``path``: ``(value, None)``, or ``(None, why)`` when there is none to use."""
    try:
        if not path.is_file():
            return None, ""
        if path.stat().st_size > MAX_CARD_BYTES:
            return None, f"{path.name} is larger than {MAX_CARD_BYTES:,} bytes; ignored"
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, ValueError, RecursionError) as exc:
        return None, f"{path.name} cannot be read as JSON ({type(exc).__name__}); ignored"


def read_card(model_path: str | os.PathLike) -> ModelCard:
    """The card next to ``model_path`` (an empty ``ModelCard`` if there is none); never raises."""
    raw, why = _load(card_path(model_path))
    if why is not None:
        return ModelCard(problems=(why,) if why else ())
    return parse_card(raw)


def card_accuracies(document: dict | None) -> dict[str, float | None]:
    """``{label: accuracy}`` for each test set in ``ACCURACIES`` of a card's JSON object (``None``: no card)."""
    return parse_card(document if isinstance(document, dict) else {}).accuracies()


def read_card_document(model_path: str | os.PathLike) -> dict | None:
    """The card next to ``model_path`` as the JSON object it holds; ``None`` if missing, unreadable or not an object."""
    raw, _ = _load(card_path(model_path))
    return raw if isinstance(raw, dict) else None


def write_card(model_path: str | os.PathLike, card: dict) -> Path:
    """Write ``card`` next to ``model_path`` atomically (a reader sees the old card or the new one)."""
    path = card_path(model_path)
    write_atomically(path, (json.dumps(card, indent=2) + "\n").encode())
    return path


def write_card_fields(
    model_path: str | os.PathLike,
    *,
    input_range: tuple[float, float] | None = None,
    class_names: list[str] | tuple[str, ...] | None = None,
    invert: bool | None = None,
) -> Path:
    """Set the feeding keys of ``model_path``'s card, keeping every other key; written atomically.

    ``None`` removes a key (back to what the app detects). A change of how the model is fed drops the
    card's ``evaluation`` (it was measured the old way). Raises ``ValueError`` (naming the
    value) for values a reader would ignore, ``OSError`` if the folder is not writable.
    """
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
    if any(card.get(key) != current.raw.get(key) for key in ("input_range", "class_names", "invert")):
        # measured with the model fed the old way: no longer this model's figure (tune would report it)
        card.pop("evaluation", None)
    return write_card(model_path, card)
