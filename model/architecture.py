"""The CNN that ships with the app: small enough to read on one screen and to show every map of.

Two blocks of two 3x3 convolutions and a 2x2 max-pool: the first block keeps the size ("same"
padding), the second does not ("valid"), so both kinds of padding can be seen in the app.
"""

from __future__ import annotations

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)


def build_model():
    """Return the uncompiled Keras model: ``(None, 28, 28, 1)`` float32 in [0, 1] -> ``(None, 10)`` softmax."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, padding="valid", activation="relu", name="conv3")(x)
    x = layers.Conv2D(64, 3, padding="valid", activation="relu", name="conv4")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.4, name="dropout1")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.4, name="dropout2")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digit_cnn")
