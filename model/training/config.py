"""What a training run is asked to do: its configuration and the pen writers it uses."""

from __future__ import annotations

from dataclasses import dataclass

from .augment import Augmentation


@dataclass
class TrainConfig:
    arch: str = "cnn"
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 1
    validation_fraction: float = 0.08  # of MNIST's training digits and of the pen digits, held out
    limit: int | None = None  # at most this many MNIST training digits (and a tenth as many pen digits)
    pen_variants: int = 3  # warped re-renders of each training pen digit, besides the clean one
    augmentation: Augmentation = Augmentation()
    init: str | None = None  # continue from this saved model (a second, gentler stage) instead of new weights


class WriterSpecError(ValueError):
    """A ``--writers`` value that is not a list of writer ids or ranges."""


MAX_WRITER_ID = 10_000


def parse_writers(spec: str) -> list[int]:
    """``"1-24"`` or ``"1,3,5-7"`` -> sorted writer ids; refuses reversed, negative or absurd ranges."""
    out: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                a, b = (int(v) for v in part.split("-", 1))
            else:
                a = b = int(part)
        except ValueError:
            raise WriterSpecError(f"writers must look like 25-30 or 1,4,7; got {spec!r}") from None
        if a < 1 or b < 1:
            raise WriterSpecError(f"writer ids start at 1; got {part!r} in {spec!r}")
        if b < a:
            raise WriterSpecError(f"range {part!r} runs backwards; did you mean {b}-{a}?")
        if b > MAX_WRITER_ID:
            raise WriterSpecError(f"writer id {b} in {spec!r} is beyond any data set (at most {MAX_WRITER_ID})")
        out.update(range(a, b + 1))
    if not out:
        raise WriterSpecError(f"no writers in {spec!r}")
    return sorted(out)
