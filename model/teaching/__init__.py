"""What the window explains, as numbers that add up to the model's own.

``explain``    one unit of a convolution or pooling layer: window x kernel, sum, bias, activation.
``geometry``   receptive fields and where a unit's window lies on the input.
``saliency``   integrated gradients, occlusion, parameter counts.
``playground`` the lesson's convolution playground (padding, stride, pooling, the size formula).
``numbers``    how numbers are written for a learner.
``answer``     the last steps: pooling, the dense sum per class, softmax.
``features``   what each channel looks for: top dataset patches, optimised inputs.
``feature_sets`` a whole model's features, computed in the background, saved and cached.
``jobs``       the worker jobs behind the Learn views and the text of their arithmetic.

The names of ``jobs`` are importable from this package too (``from model.teaching import ...``),
the path they had before the rooms.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    jobs = importlib.import_module(f"{__name__}.jobs")
    try:
        return getattr(jobs, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
