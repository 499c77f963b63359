"""Numbers as the Learn views write them: a real minus sign, fixed decimals, sums that add up.

One formatter for the explanation, the playground and the dialogs, so a number reads the same
everywhere (``−0.50``, ``(−0.50)`` inside a sum, ``4`` for the lesson's whole numbers).
"""

from __future__ import annotations

import numpy as np

MINUS = "\u2212"  # a real minus sign: "−0.5" reads better than "-0.5" next to "+" and "×"


def fmt(value: float, decimals: int | None = None, trim: bool = False) -> str:
    """``-0.5`` -> ``"−0.50"``: fixed ``decimals`` and a real minus sign; never ``"−0.00"``.

    ``decimals=None``: whole numbers without decimals (the lesson's ``4``), others with 2.
    ``trim``: drop trailing zeros (``0.5`` rather than ``0.5000``; ``1`` rather than ``1.0000``).
    """
    value = float(value)
    if decimals is None:
        decimals = 0 if abs(value - round(value)) < 1e-9 else 2
    text = f"{value:.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def fmt_term(value: float, decimals: int | None = None, trim: bool = False) -> str:
    """A number inside a sum or product: negative ones get brackets, ``(−0.50)``."""
    text = fmt(value, decimals, trim)
    return f"({text})" if text.startswith(MINUS) else text


def parse_number(text: str) -> float:
    """What a student typed -> float; accepts ``−``, a decimal comma and fractions (``1/9``).

    Raises ``ValueError`` (with the text) for anything else, including infinities and NaN.
    """
    cleaned = text.strip().replace(MINUS, "-").replace(",", ".")
    try:
        if "/" in cleaned:
            top, bottom = cleaned.split("/", 1)
            value = float(top) / float(bottom)
        else:
            value = float(cleaned)
    except ZeroDivisionError:
        raise ValueError(f"{text!r} divides by zero") from None
    if not np.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def rounded(values, decimals: int) -> np.ndarray:
    """``values`` rounded as ``fmt(value, decimals)`` shows them, float64.

    Sums of these are what a student gets adding the numbers on screen by hand, so every written
    sum in the Learn views is the sum of its shown terms (never of unrounded ones).
    """
    return np.round(np.asarray(values, dtype=np.float64), decimals)
