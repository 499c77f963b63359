"""A network written as one line: ``conv 8 5 same, pool 2, conv 16 5 same, pool 3``.

The grammar of the layer editor and of ``main.py train --layers``; comma-separated items:

* ``conv FILTERS KERNEL [stride N] [same|valid]``: a square ReLU convolution (stride 1, valid);
* ``pool SIZE [max|avg]``: square pooling, stride = size (max);
* ``dense UNITS``: a ReLU dense layer (a 3-D input is flattened first);
* ``dropout RATE``: rate in [0, 1);
* ``gap``: global average pooling.

A final dense softmax over the classes is always added. :func:`plan` does every layer's shape and
parameter arithmetic in plain Python, with the lesson's formula ``floor((n + 2p - f) / s) + 1``
("same" padding keeps ``ceil(n / s)``, as Keras does), and counts parameters exactly as Keras counts
the same layers; :func:`build_model` makes the ``keras.Sequential`` (Keras imported there only).
Anything impossible or malformed raises :class:`SpecError`, one line naming the item. One refusal
is stricter than Keras: a kernel larger than its input is refused with "same" padding too (Keras
accepts it, but such a kernel mostly looks at padding zeros).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)
MAX_COUNT = 4096  # filters or units in one layer: far beyond what trains on a laptop, still a sane bound
MAX_ITEMS = 64
MAX_PARAMS = 50_000_000

PRESETS: dict[str, str] = {
    "Lesson's MLP (784-128-10)": "dense 128",
    "ConvNetJS-sized (5,994 parameters)": "conv 8 5 same, pool 2, conv 16 5 same, pool 3",
    # model/architecture.py's CNN as shipped; it is *trained* with batch normalisation after each
    # convolution (folded away when saved), which the grammar has no word for: same shapes and
    # parameters as the shipped file, trained without batch normalisation here.
    "Bundled CNN (without batch norm)": "conv 16 3 same, conv 32 3 same, pool 2, conv 32 3 same, "
    "conv 48 3 valid, pool 2, conv 64 3 valid, gap, dropout 0.1",
}


class SpecError(ValueError):
    """A spec that cannot be a network; the message names the item and the arithmetic."""


@dataclass(frozen=True)
class Layer:
    """One parsed item. ``size``: filters, pool size or units; ``rate`` only for dropout."""

    kind: str  # conv | pool | dense | dropout | gap
    text: str  # the item as typed, for messages
    size: int = 0
    kernel: int = 0
    stride: int = 1
    padding: str = "valid"
    pooling: str = "max"
    rate: float = 0.0


@dataclass(frozen=True)
class Row:
    """One layer of the built network: what :func:`plan` shows for it.

    ``shape``: output shape without the batch axis; ``shape_math`` / ``params_math``: how they follow.
    """

    name: str  # the Keras layer name build_model gives it
    kind: str  # conv | pool | dense | dropout | gap | flatten | softmax
    text: str  # the item as typed ("(added)" for flatten / the final softmax)
    shape: tuple[int, ...]
    params: int
    shape_math: str
    params_math: str


def _fmt(shape: tuple[int, ...]) -> str:
    return "×".join(str(v) for v in shape)


def _int(word: str | None, what: str, item: str, index: int) -> int:
    where = f"item {index} {item!r}"
    if word is None:
        raise SpecError(f"{where}: missing {what} (a whole number)")
    try:
        value = int(word)
    except ValueError:
        raise SpecError(f"{where}: {what} {word!r} is not a whole number") from None
    if value < 1:
        raise SpecError(f"{where}: {what} {value} must be at least 1")
    if value > MAX_COUNT:
        raise SpecError(f"{where}: {what} {value} is more than {MAX_COUNT}")
    return value


USAGE = "conv FILTERS KERNEL [stride N] [same|valid], pool SIZE [max|avg], dense UNITS, dropout RATE, gap"


def parse_item(item: str, index: int) -> Layer:
    """One comma-separated item (``index`` counts from 1, for messages)."""
    words = item.lower().split()
    where = f"item {index} {item.strip()!r}"
    kind, rest = words[0], words[1:]
    if kind in ("conv", "convolution", "conv2d"):
        filters = _int(rest[0] if rest else None, "filters", item.strip(), index)
        kernel = _int(rest[1] if len(rest) > 1 else None, "kernel size", item.strip(), index)
        stride, padding, i = 1, "valid", 2
        while i < len(rest):
            w = rest[i]
            if w == "stride":
                stride = _int(rest[i + 1] if i + 1 < len(rest) else None, "stride", item.strip(), index)
                i += 2
            elif w in ("same", "valid"):
                padding = w
                i += 1
            else:
                raise SpecError(f"{where}: unexpected {w!r}; a convolution is 'conv FILTERS KERNEL [stride N] [same|valid]'")
        return Layer("conv", item.strip(), size=filters, kernel=kernel, stride=stride, padding=padding)
    if kind in ("pool", "maxpool", "avgpool"):
        size = _int(rest[0] if rest else None, "pool size", item.strip(), index)
        pooling = "avg" if kind == "avgpool" else "max"
        for w in rest[1:]:
            if w in ("max", "avg", "average"):
                pooling = "avg" if w != "max" else "max"
            else:
                raise SpecError(f"{where}: unexpected {w!r}; pooling is 'pool SIZE [max|avg]'")
        return Layer("pool", item.strip(), size=size, stride=size, pooling=pooling)
    if kind == "dense":
        units = _int(rest[0] if rest else None, "units", item.strip(), index)
        if len(rest) > 1:
            raise SpecError(f"{where}: unexpected {rest[1]!r}; a dense layer is 'dense UNITS'")
        return Layer("dense", item.strip(), size=units)
    if kind == "dropout":
        if not rest:
            raise SpecError(f"{where}: missing rate (a number in [0, 1), e.g. dropout 0.25)")
        try:
            rate = float(rest[0])
        except ValueError:
            raise SpecError(f"{where}: rate {rest[0]!r} is not a number") from None
        if not (0.0 <= rate < 1.0):  # also refuses nan
            raise SpecError(f"{where}: rate {rest[0]} must be in [0, 1) (0.25 drops a quarter of the values)")
        if len(rest) > 1:
            raise SpecError(f"{where}: unexpected {rest[1]!r}; dropout is 'dropout RATE'")
        return Layer("dropout", item.strip(), rate=rate)
    if kind in ("gap", "globalavgpool"):
        if rest:
            raise SpecError(f"{where}: unexpected {rest[0]!r}; global average pooling is just 'gap'")
        return Layer("gap", item.strip())
    raise SpecError(f"{where}: unknown layer {kind!r}; use {USAGE}")


def parse_spec(spec: str) -> list[Layer]:
    """``"conv 8 5 same, pool 2"`` -> layers; raises :class:`SpecError`. An empty spec is an error."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"empty spec: write layers like 'conv 8 5 same, pool 2, dense 64' ({USAGE})")
    items = spec.split(",")
    if len(items) > MAX_ITEMS:
        raise SpecError(f"{len(items)} items; at most {MAX_ITEMS} layers")
    layers = []
    for i, item in enumerate(items, 1):
        if not item.strip():
            raise SpecError(f"item {i} is empty (two commas in a row, or a comma at the end?)")
        layers.append(parse_item(item, i))
    return layers


def _spatial(n: int, f: int, s: int, padding: str) -> tuple[int, str]:
    """Output size and the arithmetic behind it, for one spatial axis."""
    if padding == "same":
        out = math.ceil(n / s)
        if s == 1 and f % 2 == 1:
            return out, f"({n} + 2·{(f - 1) // 2} − {f})/1 + 1 = {out}"
        return out, f"same padding: ⌈{n}/{s}⌉ = {out}"
    out = (n - f) // s + 1
    if s == 1:
        return out, f"({n} + 2·0 − {f})/1 + 1 = {out}"
    return out, f"⌊({n} + 2·0 − {f})/{s}⌋ + 1 = {out}"


def plan(spec: str | list[Layer], input_shape: tuple[int, ...] = INPUT_SHAPE, num_classes: int = NUM_CLASSES) -> list[Row]:
    """Every layer of the network ``spec`` builds, with output shapes and parameter counts.

    Includes the flatten layers the builder adds and the final softmax. Raises :class:`SpecError`.
    """
    layers = parse_spec(spec) if isinstance(spec, str) else spec
    shape = tuple(input_shape)
    rows: list[Row] = []
    counts = {"conv": 0, "pool": 0, "dense": 0, "dropout": 0, "gap": 0, "flatten": 0}

    def name(kind: str) -> str:
        counts[kind] += 1
        return kind if kind == "gap" and counts[kind] == 1 else f"{kind}{counts[kind]}"

    def flatten(text: str) -> None:
        nonlocal shape
        n = math.prod(shape)
        rows.append(Row(name("flatten"), "flatten", text, (n,), 0, f"{' · '.join(map(str, shape))} = {n}", "0"))
        shape = (n,)

    for index, layer in enumerate(layers, 1):
        where = f"item {index} {layer.text!r}"
        if layer.kind in ("conv", "pool", "gap") and len(shape) != 3:
            raise SpecError(
                f"{where}: needs a 3-D input (height×width×channels), but the layer before gives {_fmt(shape)}; "
                "put convolutions and pooling before dense layers and gap"
            )
        if layer.kind == "conv":
            h, w, c = shape
            f, s = layer.kernel, layer.stride
            if f > h or f > w:  # Keras refuses it for valid padding; for same it would see mostly padding
                n = min(h, w)
                raise SpecError(
                    f"{where}: kernel {f}×{f} is larger than its {h}×{w} input: "
                    f"({n} + 2·0 − {f})/{s} + 1 = {(n - f) // s + 1} < 1"
                )
            oh, math_h = _spatial(h, f, s, layer.padding)
            ow, _ = _spatial(w, f, s, layer.padding)
            params = f * f * c * layer.size + layer.size
            shape = (oh, ow, layer.size)
            rows.append(
                Row(
                    name("conv"),
                    "conv",
                    layer.text,
                    shape,
                    params,
                    math_h,
                    f"{f}·{f}·{c}·{layer.size} + {layer.size} = {params:,}",
                )
            )
        elif layer.kind == "pool":
            h, w, c = shape
            p = layer.size
            if p > h or p > w:
                raise SpecError(
                    f"{where}: pool {p}×{p} is larger than its {h}×{w} input: ⌊({h} − {p})/{p}⌋ + 1 = {(h - p) // p + 1} < 1"
                )
            oh, math_h = _spatial(h, p, p, "valid")
            ow, _ = _spatial(w, p, p, "valid")
            shape = (oh, ow, c)
            rows.append(Row(name("pool"), "pool", layer.text, shape, 0, math_h, "0 (no weights)"))
        elif layer.kind == "gap":
            shape = (shape[2],)
            rows.append(Row(name("gap"), "gap", layer.text, shape, 0, f"mean of each of {shape[0]} maps", "0 (no weights)"))
        elif layer.kind == "dense":
            if len(shape) != 1:
                flatten("(added)")
            n = shape[0]
            params = n * layer.size + layer.size
            shape = (layer.size,)
            rows.append(
                Row(
                    name("dense"),
                    "dense",
                    layer.text,
                    shape,
                    params,
                    f"{layer.size} units",
                    f"{n}·{layer.size} + {layer.size} = {params:,}",
                )
            )
        elif layer.kind == "dropout":
            rows.append(Row(name("dropout"), "dropout", layer.text, shape, 0, "same shape", "0 (no weights)"))
    if len(shape) != 1:
        flatten("(added)")
    n = shape[0]
    params = n * num_classes + num_classes
    rows.append(
        Row(
            "probabilities",
            "softmax",
            "(added)",
            (num_classes,),
            params,
            f"{num_classes} classes",
            f"{n}·{num_classes} + {num_classes} = {params:,}",
        )
    )
    total = sum(r.params for r in rows)
    if total > MAX_PARAMS:
        raise SpecError(
            f"{total:,} parameters is more than {MAX_PARAMS:,}; use fewer filters or units, or pool before dense layers"
        )
    return rows


def total_params(rows: list[Row]) -> int:
    return sum(r.params for r in rows)


def normalise(spec: str) -> str:
    """The spec as the card records it: items separated by ', ', words by one space, lower case."""
    return ", ".join(" ".join(item.lower().split()) for item in spec.split(","))


def build_model(spec: str, input_shape: tuple[int, ...] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, seed: int | None = None):
    """The ``keras.Sequential`` for ``spec``: ``(None, *input_shape)`` float32 in [0, 1] -> ``(None, num_classes)`` softmax.

    Layer names are those of :func:`plan` (``conv1``, ``pool1``, ``dense1``, ``probabilities``...).
    Raises :class:`SpecError` before importing Keras.
    """
    layers_ = parse_spec(spec)
    rows = plan(layers_, input_shape, num_classes)
    import keras
    from keras import layers

    by_name = iter(layers_)
    out = [keras.Input(shape=input_shape, name="image")]
    for row in rows:
        if row.kind == "flatten":
            out.append(layers.Flatten(name=row.name))
            continue
        if row.kind == "softmax":
            out.append(layers.Dense(num_classes, activation="softmax", name=row.name))
            continue
        layer = next(by_name)
        if layer.kind == "conv":
            out.append(
                layers.Conv2D(
                    layer.size, layer.kernel, strides=layer.stride, padding=layer.padding, activation="relu", name=row.name
                )
            )
        elif layer.kind == "pool":
            cls = layers.MaxPooling2D if layer.pooling == "max" else layers.AveragePooling2D
            out.append(cls(layer.size, name=row.name))
        elif layer.kind == "gap":
            out.append(layers.GlobalAveragePooling2D(name=row.name))
        elif layer.kind == "dense":
            out.append(layers.Dense(layer.size, activation="relu", name=row.name))
        elif layer.kind == "dropout":
            out.append(layers.Dropout(layer.rate, seed=seed, name=row.name))
    return keras.Sequential(out, name="digit_net")
