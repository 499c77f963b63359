"""A Keras model's feature maps, for the teaching code: which layers have them, and a traced call that returns them.

``map_layers`` lists the conv and pooling layers (nested sub-models inlined by
``model.nets.graph.flat_model``), ``input_shape``/``input_range`` say what the model is fed,
``_as_batch`` checks images against that, and ``_maps_function`` is one traced call returning the
named layers' outputs. Shared by ``features.py`` (top patches) and ``maximisation.py``; Keras is
imported inside the functions.
"""

from __future__ import annotations

import numpy as np

from model.nets.graph import expects_raw_pixels, first_computing_layer, flat_model


class Cancelled(Exception):
    """Raised inside a computation when its ``cancelled()`` callback answers True."""


def _layer(flat, layer_name: str):
    try:
        layer = flat.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in map_layers(flat)]
        raise ValueError(
            f"Model {flat.name!r} has no layer named {layer_name!r}; its conv and pooling layers are {names}."
        ) from None
    shape = tuple(layer.output.shape)
    if len(shape) != 4:
        raise ValueError(f"Layer {layer_name!r} has output shape {shape}, not a feature map (batch, h, w, c).")
    return layer


def map_layers(keras_model) -> list:
    """The conv and pooling layers of a model (nested ones inlined) with a 4-D output, in order."""
    out = []
    for layer in flat_model(keras_model).layers:
        kind = type(layer).__name__
        if "Conv" not in kind and "Pool" not in kind:
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue  # a layer used twice has no single output
        if len(shape) == 4:
            out.append(layer)
    return out


def input_shape(keras_model) -> tuple[int, ...]:
    """The model's input shape without the batch axis, unknown sizes taken as 28."""
    shape = tuple(flat_model(keras_model).inputs[0].shape[1:])
    return tuple(28 if d is None else int(d) for d in shape)


def input_range(keras_model) -> tuple[float, float]:
    """``(0, 255)`` if the model starts by rescaling raw pixels, else ``(0, 1)``: what ``Predictor`` detects.

    A model card's ``input_range`` (read by ``Predictor``) overrides this; pass it to :func:`maximize`.
    """
    raw, _ = expects_raw_pixels(first_computing_layer(flat_model(keras_model)))
    return (0.0, 255.0) if raw else (0.0, 1.0)


def _maps_function(keras_model, layer_names: list[str]):
    """A traced ``x -> [layer outputs]`` for ``layer_names`` of the flat model."""
    import keras
    import tensorflow as tf

    flat = flat_model(keras_model)
    outputs = [_layer(flat, name).output for name in layer_names]
    multi = keras.Model(flat.inputs[0], outputs)
    spec = [tf.TensorSpec([None, *input_shape(keras_model)], tf.float32)]  # one trace for every batch size
    fn = tf.function(lambda x: multi(x, training=False), input_signature=spec, autograph=False)
    return lambda x: [o.numpy() for o in keras.tree.flatten(fn(x))]


def _as_batch(keras_model, images) -> np.ndarray:
    """``images`` as ``(n, *input_shape)`` float32 (a missing or extra channel axis of 1 is fixed)."""
    shape = input_shape(keras_model)
    x = np.asarray(images, np.float32)
    if x.ndim < 3 or x.shape[1:3] != shape[:2] or x[0].size != int(np.prod(shape)):
        raise ValueError(
            f"Expected images of shape (n, {', '.join(map(str, shape))}) for model {keras_model.name!r}; got {x.shape}. "
            f"Use Predictor.prepare(images) to make them from (n, 28, 28) drawings."
        )
    return x.reshape((len(x), *shape))
