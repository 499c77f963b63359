"""The networks of the lesson: the small CNN that ships with the app, and the dense network it beats.

The CNN (``digit_cnn``, 56,282 parameters when shipped, 55% of the MLP's) shows every idea of the lesson on the
user's own drawing:

* ``conv1``-``conv3``: 3x3 convolutions with "same" padding (the map keeps its 28x28 / 14x14 size);
* ``pool1``/``pool2``: 2x2 max pooling (half the size, strongest response wins);
* ``conv4``/``conv5``: "valid" padding (each loses a 1-pixel border: 14 -> 12, 6 -> 4);
* ``gap``: global average pooling instead of a big dense layer, so almost all parameters sit in
  convolutions and the network stays smaller than the lesson's 784-128-10 MLP (101,770).

It is *trained* with batch normalisation between each convolution and its ReLU (faster, more
accurate training) and *shipped* with every normalisation folded into the convolution's kernel and
bias (:func:`fold_batch_norm`): the saved model is plain ``Conv2D(activation="relu")`` layers, so
the click-a-cell explanation "window x kernel + bias, then ReLU" is the model's whole computation.
"""

from __future__ import annotations

import numpy as np

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)
MLP_PARAMS = 784 * 128 + 128 + 128 * 10 + 10  # 101,770: the lesson's fully connected network

# (name, filters, padding, pool after) - read top to bottom, it is the whole network.
CNN_BLOCKS: tuple[tuple[str, int, str, str | None], ...] = (
    ("conv1", 16, "same", None),
    ("conv2", 32, "same", "pool1"),
    ("conv3", 32, "same", None),
    ("conv4", 48, "valid", "pool2"),
    ("conv5", 64, "valid", None),
)
ARCHITECTURES = ("cnn", "mlp")


def build_model(batch_norm: bool = False, dropout: float = 0.1):
    """The CNN: ``(None, 28, 28, 1)`` float32 in [0, 1] -> ``(None, 10)`` softmax.

    ``batch_norm=True`` gives the training form (Conv2D without bias -> BatchNormalization ->
    ReLU, layers named ``conv1``, ``conv1_bn``, ``conv1_relu``); ``False`` the shipped form
    (``Conv2D(activation="relu")``). :func:`fold_batch_norm` turns the first into the second.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = inputs
    for name, filters, padding, pool in CNN_BLOCKS:
        if batch_norm:
            x = layers.Conv2D(filters, 3, padding=padding, use_bias=False, name=name)(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
            x = layers.ReLU(name=f"{name}_relu")(x)
        else:
            x = layers.Conv2D(filters, 3, padding=padding, activation="relu", name=name)(x)
        if pool:
            x = layers.MaxPooling2D(2, name=pool)(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digit_cnn")


def fold_batch_norm(trained):
    """The shipped CNN with ``trained``'s batch normalisation folded into each convolution.

    For a convolution ``z = W * x`` followed by ``y = gamma (z - mean) / sqrt(var + eps) + beta``,
    the folded convolution has kernel ``W * s`` and bias ``beta - mean * s`` with
    ``s = gamma / sqrt(var + eps)`` per output channel: the same numbers, one layer fewer.
    """
    folded = build_model(batch_norm=False)
    for name, *_ in CNN_BLOCKS:
        conv = trained.get_layer(name)
        bn = trained.get_layer(f"{name}_bn")
        kernel = np.asarray(conv.get_weights()[0], np.float64)
        gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
        scale = gamma / np.sqrt(var + bn.epsilon)
        bias = beta - mean * scale
        if conv.use_bias:
            bias = bias + np.asarray(conv.get_weights()[1], np.float64) * scale
        folded.get_layer(name).set_weights([(kernel * scale).astype(np.float32), bias.astype(np.float32)])
    folded.get_layer("probabilities").set_weights(trained.get_layer("probabilities").get_weights())
    return folded


def build_mlp():
    """The lesson's fully connected network, 784-128-10 (101,770 parameters), same input and output."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(128, activation="relu", name="hidden")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digit_mlp")
