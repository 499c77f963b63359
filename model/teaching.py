"""The questions the teaching ("Learn") views ask the model, as jobs for the inference worker.

Each ``*_job`` is a plain callable taking the ``Predictor`` (``model.inference.Predictor``) and
returning a small dataclass of NumPy arrays; the GUI's worker runs it on its thread, so Keras and
TensorFlow are imported here, inside the functions, and never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .explain import ConvBreakdown, ParameterComparison, PoolBreakdown
from .preprocess import INPUT_SIZE

JobFn = Callable[[object], object]  # predictor -> result, run on the worker thread


@dataclass
class Explanation:
    """A breakdown and what is needed to draw it. ``previous``: ``(h, w, c)`` map the window is taken from."""

    breakdown: ConvBreakdown | PoolBreakdown
    image: np.ndarray  # (INPUT_SIZE, INPUT_SIZE) model input
    previous: np.ndarray | None
    model_value: float | None


@dataclass
class ConvKernels:
    """One ``Conv2D`` layer's weights: ``kernel`` ``(kh, kw, c_in, filters)``, ``bias`` ``(filters,)``."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    activation: str


@dataclass
class SaliencyMaps:
    """Which pixels matter for class ``target``; maps are ``(INPUT_SIZE, INPUT_SIZE)`` float32."""

    target: int
    saliency: np.ndarray  # gradient x input
    occlusion: np.ndarray  # probability drop when blanked
    probabilities: np.ndarray  # (10,)
    image: np.ndarray



def explain_job(layer: str, channel: int, row: int, col: int, image: np.ndarray,
                activations: dict[str, np.ndarray], model_value: float | None) -> JobFn:
    """A job: the breakdown of ``(row, col, channel)`` of ``layer`` for ``image``."""

    def fn(predictor) -> Explanation:
        import keras

        from model.explain import conv_breakdown, pool_breakdown

        model = predictor.model
        try:
            target = model.get_layer(layer)
        except ValueError:
            raise ValueError(f"The loaded model has no layer named {layer!r}; click a map of the current model.") from None
        if isinstance(target, keras.layers.Conv2D):
            breakdown = conv_breakdown(model, image, layer, row, col, channel)
        elif isinstance(target, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            breakdown = pool_breakdown(model, image, layer, row, col, channel)
        else:
            raise ValueError(f"{layer} is a {type(target).__name__} layer: the step-by-step arithmetic is shown for "
                             f"Conv2D and pooling layers. Click a map of one of those.")
        source = breakdown.input_layer_name
        if source == "input":
            previous = np.asarray(image, np.float32).reshape(INPUT_SIZE, INPUT_SIZE, -1)
        elif source in activations:
            previous = activations[source]
        else:  # the layer before is not one of the maps on screen (e.g. a normalisation layer)
            sub = keras.Model(model.inputs[0], model.get_layer(source).output)
            previous = keras.ops.convert_to_numpy(sub(np.asarray(image, np.float32).reshape(1, INPUT_SIZE, INPUT_SIZE, 1)))[0]
        return Explanation(breakdown, image, previous, model_value)

    return fn


def kernels_job(predictor) -> list[ConvKernels]:
    """Every ``Conv2D`` layer's kernel and bias, in model order."""
    import keras

    out = []
    for layer in predictor.model.layers:
        if isinstance(layer, keras.layers.Conv2D) and type(layer).__name__ == "Conv2D":
            weights = layer.get_weights()
            kernel = np.asarray(weights[0], np.float32)
            bias = np.asarray(weights[1], np.float32) if len(weights) > 1 else np.zeros(kernel.shape[-1], np.float32)
            activation = getattr(layer.activation, "__name__", type(layer.activation).__name__)
            out.append(ConvKernels(layer.name, kernel, bias, activation))
    return out


def architecture_job(predictor) -> tuple[tuple[int, ...], ParameterComparison]:
    """The model's input shape and its parameters per layer (``model.explain.parameter_comparison``)."""
    from model.explain import parameter_comparison

    shape = tuple(int(d) for d in predictor.model.inputs[0].shape[1:])
    return shape, parameter_comparison(predictor.model)


def saliency_job(image: np.ndarray, target: int) -> JobFn:
    """A job: the saliency and occlusion maps of ``image`` for class ``target``."""
    def fn(predictor) -> SaliencyMaps:
        from model.explain import occlusion, saliency

        probabilities = predictor.predict_probabilities(np.asarray(image, np.float32)[None])[0]
        return SaliencyMaps(target, saliency(predictor.model, image, target), occlusion(predictor.model, image, target),
                            probabilities, image)

    return fn


