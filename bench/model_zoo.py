"""A zoo of user-style Keras models, trained briefly, served by the app and checked against plain Keras.

    uv run python bench/model_zoo.py [--train 12000] [--epochs 1] [--data ../shared/data/mnist] [--json]

The models people bring from Keras tutorials: a ``Rescaling(1/255)`` first layer trained
on 0-255 pixels, logits without softmax, a dense-only net, a ``(28, 28)`` input without a channel
axis, LeNet-5 at 32x32, a nested ``Sequential`` feature block, ``DepthwiseConv2D`` and
``SeparableConv2D``, conv -> batch norm -> ReLU, a ``Normalization`` adapted on raw pixels, a 20x20
input, a model trained on inverted digits (with a card saying ``invert``) and a legacy ``.h5``.
Each is trained for ``--epochs`` on the first ``--train`` MNIST training digits (seed 0), then on
the 10,000 MNIST test digits:

* ``keras``: accuracy of plain Keras fed exactly the way the model was trained;
* ``app``: accuracy through ``Predictor.predict_probabilities`` on the [0, 1] digits (the app's feed);
* ``cli``: accuracy printed by ``main.py evaluate --model PATH --data MNIST --json`` (a subprocess);
* ``conf``: the range of ``main.py predict --model PATH --json`` confidences on 50 test digits
  written as PNG files (must lie in [0, 1]), and whether its classes equal the Predictor's;
* ``maps``: whether ``Predictor.predict(...).activations`` holds every conv/pool layer of the
  flattened model (nested ones included);
* ``explain``: the largest ``|breakdown(...).output - the model's own value|`` over 4 cells of every
  explainable layer (must be <= 1e-4).

It passes when every ``|app - keras|`` and ``|cli - keras|`` is within 3 points and the other checks
hold; the exit code is 1 otherwise. Takes a few minutes on 2 CPU cores (mostly TensorFlow start-up
of the 26 command-line runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"
MAX_POINTS_OFF = 3.0  # accuracy points the app may lose against plain Keras
EXPLAIN_TOLERANCE = 1e-4
PNG_SAMPLES = 50


def build_zoo(folder: Path, x_train, y_train, epochs: int) -> dict:
    """name -> (path, keras model, feed); ``feed(x_0_255)`` gives the model's training input."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import layers

    from model.nets.card import write_card_fields

    keras.utils.set_random_seed(0)
    zoo: dict = {}

    def conv_tail(x, out_activation: str | None = "softmax"):
        x = layers.MaxPooling2D(2)(layers.Conv2D(8, 3, activation="relu")(x))
        return layers.Dense(10, activation=out_activation)(layers.Flatten()(x))

    def add(name, model, feed, loss="sparse_categorical_crossentropy", invert=False):
        model.compile("adam", loss, metrics=["accuracy"])
        model.fit(feed(x_train), y_train, epochs=epochs, batch_size=128, verbose=0)
        path = folder / f"{name}.keras"
        model.save(path)
        if invert:
            write_card_fields(path, invert=True)
        zoo[name] = (path, model, feed)

    raw = lambda x: x[..., None]  # noqa: E731
    unit = lambda x: (x / 255)[..., None]  # noqa: E731

    i = keras.Input((28, 28, 1))
    add("rescaling", keras.Model(i, conv_tail(layers.Rescaling(1 / 255)(i))), raw)
    i = keras.Input((28, 28, 1))
    add("logits", keras.Model(i, conv_tail(i, None)), unit, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    i = keras.Input((28, 28, 1))
    hidden = layers.Dense(64, activation="relu")(layers.Flatten()(i))
    add("dense_only", keras.Model(i, layers.Dense(10, activation="softmax")(hidden)), unit)
    i = keras.Input((28, 28))
    add("no_channel", keras.Model(i, conv_tail(layers.Reshape((28, 28, 1))(i))), lambda x: x / 255)
    i = keras.Input((32, 32, 1))
    h = layers.AveragePooling2D(2)(layers.Conv2D(6, 5, activation="tanh")(i))
    h = layers.AveragePooling2D(2)(layers.Conv2D(16, 5, activation="tanh")(h))
    h = layers.Dense(84, activation="tanh")(layers.Flatten()(h))
    add(
        "lenet32",
        keras.Model(i, layers.Dense(10, activation="softmax")(h)),
        lambda x: np.pad(x / 255, ((0, 0), (2, 2), (2, 2)))[..., None],
    )
    block = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2)], name="features"
    )
    i = keras.Input((28, 28, 1))
    add("nested", keras.Model(i, layers.Dense(10, activation="softmax")(layers.Flatten()(block(i)))), unit)
    i = keras.Input((28, 28, 1))
    h = layers.DepthwiseConv2D(3, depth_multiplier=4, activation="relu")(i)
    h = layers.SeparableConv2D(16, 3, activation="relu")(layers.MaxPooling2D(2)(h))
    add("separable", keras.Model(i, layers.Dense(10, activation="softmax")(layers.Flatten()(h))), unit)
    i = keras.Input((28, 28, 1))
    h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, use_bias=False)(i)))
    add("conv_bn", keras.Model(i, layers.Dense(10, activation="softmax")(layers.Flatten()(layers.MaxPooling2D(2)(h)))), unit)
    norm = layers.Normalization()
    norm.adapt(x_train[:2000, ..., None])
    i = keras.Input((28, 28, 1))
    add("normalization_raw", keras.Model(i, conv_tail(norm(i))), raw)
    i = keras.Input((20, 20, 1))
    add("resized20", keras.Model(i, conv_tail(i)), lambda x: tf.image.resize((x / 255)[..., None], (20, 20)).numpy())
    i = keras.Input((28, 28, 1))
    add("inverted_card", keras.Model(i, conv_tail(i)), lambda x: (1 - x / 255)[..., None], invert=True)
    legacy = folder / "legacy.h5"
    zoo["logits"][1].save(legacy)
    zoo["legacy_h5"] = (legacy, zoo["logits"][1], unit)
    return zoo


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, env=env, timeout=600)


def check_maps_and_explanations(predictor, image) -> tuple[bool, float | None]:
    """Every conv/pool layer has a map; the largest explanation error over 4 cells per explainable layer."""
    import numpy as np

    from model.nets.graph import flat_model
    from model.teaching.explain import breakdown

    flat = flat_model(predictor.model)
    prediction = predictor.predict(image)
    wanted = [
        layer.name
        for layer in flat.layers
        if ("Conv" in type(layer).__name__ or "Pooling" in type(layer).__name__) and len(layer.output.shape) == 4
    ]
    maps_ok = all(name in prediction.activations for name in wanted)
    model_input = predictor.prepare(image)
    worst = None
    rng = np.random.default_rng(0)
    for name, a in prediction.activations.items():
        for _ in range(4):
            r, c, ch = (int(rng.integers(n)) for n in a.shape)
            try:
                b = breakdown(predictor.model, model_input, name, r, c, ch)
            except ValueError:
                break  # not an explainable layer (e.g. an activation not after batch norm)
            err = abs(b.output - float(a[r, c, ch]))
            worst = err if worst is None else max(worst, err)
    return maps_ok, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST folder (IDX files)")
    parser.add_argument("--train", type=int, default=12000, help="training digits per model (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the rows as one JSON object")
    args = parser.parse_args()

    from model.nets.tf_runtime import import_tensorflow

    import_tensorflow()
    import numpy as np

    from model.data.pictures import inputs_from_files
    from model.data.readers import load_mnist, write_png
    from model.nets.inference import Predictor

    (x_train, y_train), (x_test, y_test) = load_mnist(args.data)
    x_train, y_train = x_train[: args.train].astype(np.float32), y_train[: args.train]
    x_test = x_test.astype(np.float32)
    unit_test = x_test / 255
    folder = Path(tempfile.mkdtemp(prefix="model_zoo_"))
    t0 = time.perf_counter()
    zoo = build_zoo(folder, x_train, y_train, args.epochs)
    print(f"trained {len(zoo) - 1} models (+ a legacy .h5 copy) in {time.perf_counter() - t0:.0f} s under {folder}", flush=True)
    pngs = []
    for k in range(PNG_SAMPLES):
        path = folder / "png" / f"{k:03d}.png"
        path.parent.mkdir(exist_ok=True)
        write_png(path, x_test[k].astype(np.uint8))
        pngs.append(str(path))
    png_inputs = np.stack(inputs_from_files(pngs))

    columns = f"{'model':18} {'keras':>7} {'app':>7} {'cli':>7} {'worst':>6}  {'conf (cli)':>13} {'same':>4} {'maps':>4}"
    print(f"{columns} {'explain':>8}  how the app reads it", flush=True)
    rows, passed = [], True
    for name, (path, model, feed) in zoo.items():
        keras_acc = float((model.predict(feed(x_test), verbose=0, batch_size=1000).argmax(1) == y_test).mean())
        predictor = Predictor(path)
        app_acc = float((predictor.predict_probabilities(unit_test).argmax(1) == y_test).mean())
        evaluated = cli("evaluate", "--model", str(path), "--data", str(args.data), "--json")
        cli_acc = json.loads(evaluated.stdout.strip().splitlines()[-1])["accuracy"] if evaluated.returncode == 0 else None
        predicted = cli("predict", "--model", str(path), "--json", *pngs)
        answers = [json.loads(line) for line in predicted.stdout.splitlines() if line.startswith("{")]
        confidences = [a["confidence"] for a in answers]
        ours = predictor.predict_probabilities(png_inputs).argmax(1)
        same = len(answers) == PNG_SAMPLES and all(
            a["class"] == predictor.class_names[int(k)] for a, k in zip(answers, ours, strict=True)
        )
        maps_ok, explain_err = check_maps_and_explanations(predictor, unit_test[0])
        worst = max(abs(app_acc - keras_acc), abs((cli_acc if cli_acc is not None else -1) - keras_acc)) * 100
        ok = (
            worst <= MAX_POINTS_OFF
            and bool(confidences)
            and 0 <= min(confidences)
            and max(confidences) <= 1
            and same
            and maps_ok
            and (explain_err is None or explain_err <= EXPLAIN_TOLERANCE)
        )
        passed &= ok
        conf = f"[{min(confidences):.3f},{max(confidences):.3f}]" if confidences else "none"
        err = "n/a" if explain_err is None else f"{explain_err:.0e}"
        cli_text = "failed" if cli_acc is None else f"{cli_acc:.2%}"
        print(
            f"{name:18} {keras_acc:7.2%} {app_acc:7.2%} {cli_text:>7} {worst:6.2f}  {conf:>13} {'yes' if same else 'NO':>4} "
            f"{'yes' if maps_ok else 'NO':>4} {err:>8}  {predictor.output_kind}; {predictor.input_note}"
            + ("" if ok else "  <-- FAILS"),
            flush=True,
        )
        rows.append(
            {
                "model": name,
                "keras": keras_acc,
                "app": app_acc,
                "cli": cli_acc,
                "confidence_range": [min(confidences), max(confidences)] if confidences else None,
                "cli_equals_predictor": same,
                "maps": maps_ok,
                "explain_max_error": explain_err,
                "output": predictor.output_kind,
                "input": predictor.input_note,
                "ok": ok,
            }
        )
    verdict = "all within" if passed else "NOT all within"
    print(f"{verdict} {MAX_POINTS_OFF:g} points, confidences in [0, 1], maps and explanations exact")
    if args.json:
        print(json.dumps({"train": args.train, "epochs": args.epochs, "rows": rows}))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
