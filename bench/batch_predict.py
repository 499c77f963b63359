"""Batch `main.py predict` against a plain Keras script on the same PNG files, in one run.

Writes MNIST's test digits as PNG files into a temporary folder (10,000 by default), then times,
end to end as a user would run them (start the interpreter, import TensorFlow, load the model,
read every file, print one line per file):

* ``plain``: the keras-io way: decode every PNG with ``tf.io.decode_png``, scale to [0, 1],
  ``model.predict(x, batch_size=256)``, print the answers. No re-centring, all answers at the end.
* ``cli``: ``main.py predict FOLDER`` (every image re-centred MNIST-style, answers streamed).

The two are run alternately ``--repeats`` times; the best time of each is compared (the least
disturbed by other work on the machine), as wall-clock and as CPU time (user + system, all
threads; steadier than wall-clock on a shared machine). Prints both, the ratio cli/plain (<= 1.0: the command
line is at least as fast) and how often the two agree on the answer.

    uv run python bench/batch_predict.py [--data ../shared/data/mnist] [--n 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLAIN = r"""
import sys
import numpy as np
import tensorflow as tf
import keras

model = keras.saving.load_model(sys.argv[1], compile=False)
folder = sys.argv[2]
import os
paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))
x = np.stack([tf.io.decode_png(open(p, "rb").read(), channels=1).numpy() for p in paths]).astype("float32") / 255.0
probs = model.predict(x, batch_size=256, verbose=0)
sys.stdout.writelines(f"{p}\t{int(q.argmax())}\t{float(q.max()):.4f}\n" for p, q in zip(paths, probs))
"""


def run(cmd: list[str], out_path: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, all threads) of one whole process."""
    import resource

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(out_path, "w") as out:
        subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def answers(path: Path) -> dict[str, str]:
    return {line.split("\t")[0]: line.split("\t")[1] for line in path.read_text().splitlines()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model", default=None, help="default: the bundled model")
    args = p.parse_args()

    from model.data.paths import BUNDLED_MODEL
    from model.data.readers import load_mnist_test, png_bytes

    model = args.model or str(BUNDLED_MODEL)
    x, y = load_mnist_test(args.data)
    with tempfile.TemporaryDirectory(prefix="batch-predict-") as tmp:
        folder = Path(tmp) / "pngs"
        folder.mkdir()
        for i in range(min(args.n, len(x))):
            (folder / f"{i:05d}_{y[i]}.png").write_bytes(png_bytes(x[i]))
        script = Path(tmp) / "plain_keras.py"
        script.write_text(PLAIN)
        plain_out, cli_out = Path(tmp) / "plain.txt", Path(tmp) / "cli.txt"
        plain_cmd = [sys.executable, str(script), model, str(folder)]
        cli_cmd = [sys.executable, str(ROOT / "main.py"), "predict", "--model", model, str(folder)]
        plain_times, cli_times = [], []
        for r in range(args.repeats):
            plain_times.append(run(plain_cmd, plain_out))
            cli_times.append(run(cli_cmd, cli_out))
            print(
                f"run {r + 1}: plain Keras {plain_times[-1][0]:.2f} s wall / {plain_times[-1][1]:.2f} s CPU, "
                f"main.py predict {cli_times[-1][0]:.2f} s wall / {cli_times[-1][1]:.2f} s CPU",
                flush=True,
            )
        a, b = answers(plain_out), answers(cli_out)
        n = len(a)
        agree = sum(a[k] == b.get(k) for k in a)
        truth = {str(folder / f"{i:05d}_{y[i]}.png"): str(y[i]) for i in range(n)}
        plain_acc = sum(a[k] == truth[k] for k in a) / n
        cli_acc = sum(b.get(k) == truth[k] for k in a) / n
    (plain_wall, plain_cpu), (cli_wall, cli_cpu) = (tuple(min(v) for v in zip(*t)) for t in (plain_times, cli_times))
    print(f"{n} PNG files, best of {args.repeats} (whole process: start, import, load, read, print):")
    print(
        f"  plain Keras script (decode_png, /255, model.predict): {plain_wall:.2f} s wall, {plain_cpu:.2f} s CPU, "
        f"accuracy {plain_acc * 100:.2f}%"
    )
    print(
        f"  main.py predict FOLDER (MNIST-style re-centring):      {cli_wall:.2f} s wall, {cli_cpu:.2f} s CPU, "
        f"accuracy {cli_acc * 100:.2f}%"
    )
    print(
        f"  ratio cli/plain: {cli_wall / plain_wall:.2f} wall, {cli_cpu / plain_cpu:.2f} CPU "
        f"(answers agree on {agree / n * 100:.2f}% of files)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
