"""The Qt-free core of Digit Recognizer, in rooms that show its plan.

``data/``      strokes and files in: readers, image decoding, limits, ``strokes_to_input``, the
               handwriting store, user folders.
``nets/``      networks out: architectures, graph flattening, safe loading, ``Predictor``, the
               model card, evaluation.
``training/``  making networks: ``train``, augmentation, model soups, fine-tuning on a writer.
``teaching/``  what the window explains: convolution arithmetic, receptive fields, saliency,
               the playground, the answer's last steps, what each channel looks for.
``cli``        the command line (``main.py predict | evaluate | train | tune ...``).

Nothing here imports PySide6 or pyqtgraph, and TensorFlow/Keras are imported inside the functions
that need them (``tests/test_architecture_rules.py`` checks both), so importing this package, or
any name below, costs no TensorFlow.

The public entry points are importable from here (``from model import Predictor``); each is
loaded on first use. The flat module paths of earlier versions (``model.inference``,
``model.preprocess``, ...) still import, as aliases of their new homes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

# Public name -> module (under model) that owns it.
_PUBLIC = {
    "strokes_to_input": "data.preprocess",
    "DataError": "data.readers",
    "Predictor": "nets.inference",
    "Prediction": "nets.inference",
    "ModelError": "nets.inference",
    "load_checked_model": "nets.inference",
    "ModelCard": "nets.card",
    "conv_breakdown": "teaching.explain",
    "pool_breakdown": "teaching.explain",
    "breakdown": "teaching.explain",
    "integrated_gradients": "teaching.saliency",
    "answer_breakdown": "teaching.answer",
    "AnswerBreakdown": "teaching.answer",
    "top_patches": "teaching.features",
    "maximize": "teaching.features",
}

# Module paths of earlier versions -> their rooms. Kept so that scripts written against them run.
_MOVED = {
    "data": "data.readers",
    "decode": "data.decode",
    "pictures": "data.pictures",
    "preprocess": "data.preprocess",
    "handwriting": "data.handwriting",
    "paths": "data.paths",
    "architecture": "nets.architecture",
    "graph": "nets.graph",
    "inference": "nets.inference",
    "card": "nets.card",
    "tf_runtime": "nets.tf_runtime",
    "requests": "nets.requests",
    "evaluate": "nets.evaluate",
    "train": "training.train",
    "augment": "training.augment",
    "soup": "training.soup",
    "tune": "training.tune",
    "explain": "teaching.explain",
    "geometry": "teaching.geometry",
    "saliency": "teaching.saliency",
    "playground": "teaching.playground",
    "numbers": "teaching.numbers",
    "features": "teaching.features",  # the contract's documented path: model.features
    "answer": "teaching.answer",
    "segment": "data.segment",
    "netspec": "training.spec",
    "livetrain": "training.live",
    "confidence": "nets.confidence",
    "nondigits": "data.nondigits",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``model.OLD`` as the module object of its new home (one object, so patches apply to both)."""

    def find_spec(self, fullname, path=None, target=None):
        head, _, old = fullname.partition(".")
        if head != __name__ or old not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{_MOVED[spec.name.partition('.')[2]]}")

    def exec_module(self, module):
        pass


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
