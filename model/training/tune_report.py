"""What a tune did, in a few lines a person can read: ``describe`` (the card's before/after) and ``misread_advice``."""

from __future__ import annotations

from collections.abc import Sequence

TOO_FEW_HELD_OUT = 10  # fewer held-out drawings than this and a before/after percentage means nothing


def misread_advice(misread: Sequence[tuple[int, int]]) -> str:
    """What the tuned model still misreads (``(labelled, read as)`` pairs) and what to try about it."""
    from collections import Counter

    pairs = Counter(misread)
    said = ", ".join(f"{t} read as {r}" + (f" ({k}×)" if k > 1 else "") for (t, r), k in sorted(pairs.items()))
    digits = sorted({t for t, _ in misread})
    named = " and ".join(f"{d}s" for d in digits)
    return (
        f"still misread after tuning: {said}. Try: store more {named} written your usual way (10 or more of each), "
        "check in My handwriting that they are labelled right, then fine-tune again"
    )


def describe(card: dict) -> str:
    """A few lines a person can read: what was tuned, and the before/after figures."""
    t, ba = card["tuning"], card["before_after"]
    lines = [
        f"tuned {t['base_model_name']} on {t['tuned_on']} of your {t['samples']} drawings "
        f"(+ {t['replay']['images']} MNIST replay digits) in {t['seconds']:.0f} s"
    ]

    def pct(v, digits=1):
        return "-" if v is None else f"{v * 100:.{digits}f}%"

    h = ba["held_out_drawings"]
    n = h["n"]
    if n >= TOO_FEW_HELD_OUT:
        lines.append(f"your {n} held-out drawings: {pct(h['before'])} before -> {pct(h['after'])} after")
    elif n:
        right = round((h["after"] or 0) * n)
        lines.append(
            f"{n} held-out drawing{'s' if n != 1 else ''}: too few to judge; store at least 5 of each digit "
            f"({right} of {n} read right after tuning)"
        )
    else:
        lines.append("no drawings held out: too few to judge; store at least 5 of each digit")
    misread = [tuple(pair) for pair in h.get("misread_after") or []]
    if misread:
        lines.append(misread_advice(misread))
    if ba.get("mnist_test"):
        m = ba["mnist_test"]
        lines.append(f"MNIST test ({m['n']:,}): {pct(m['before'], 2)} before -> {pct(m['after'], 2)} after")
    from .personal import ask_for_more

    ask = ask_for_more(t.get("still_confused"))
    if ask:
        lines.append(ask)
    return "\n".join(lines)


def describe_html(card: dict) -> str:
    """:func:`describe` for a rich-text label: lines escaped, arrows drawn, and the request for more
    drawings ("your 4s are read as 5s: draw three more 4s") in bold, as the one thing to act on."""
    import html

    from .personal import ask_for_more

    ask = ask_for_more(card["tuning"].get("still_confused"))
    lines = []
    for line in describe(card).splitlines():
        text = html.escape(line.replace("->", "→"))
        lines.append(f"<b>{text}</b>" if line == ask else text)
    return "<br>".join(lines)
