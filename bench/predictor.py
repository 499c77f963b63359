"""Per-input latency of the Predictor against model.predict and model(x), and batch throughput.

    uv run python bench/predictor.py [--repeats 200] [--json]

All on the bundled model and the same input (a pen-drawn fixture digit through strokes_to_input):
* ``Predictor.predict``: probabilities AND every feature map, one traced tf.function call;
* ``model.predict(x)``: Keras' batch API (builds a data pipeline per call);
* ``model(x)``: an eager call, probabilities only.
Then throughput of the ``main.py predict`` path: ``predict_probabilities`` on 10,000 images, and
``strokes_to_input`` (the preprocessing) per drawing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary(times: list[float]) -> dict:
    times = sorted(times)
    return {
        "median_ms": round(statistics.median(times) * 1000, 3),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    import numpy as np

    from model.data.preprocess import strokes_to_input
    from model.data.readers import read_strokes
    from model.nets.inference import Predictor

    strokes_files = sorted((ROOT / "tests" / "fixtures" / "strokes").glob("*.json"))
    strokes, _ = read_strokes(strokes_files[0])
    x = strokes_to_input(strokes)
    batch = x[None, ..., None]
    predictor = Predictor()
    model = predictor.model

    results = {
        "predictor_predict (probs + all maps)": summary(timed(lambda: predictor.predict(x), args.repeats)),
        "model.predict": summary(timed(lambda: model.predict(batch, verbose=0), max(20, args.repeats // 5))),
        "model(x) eager": summary(timed(lambda: model(batch, training=False), args.repeats)),
    }
    speedup = results["model.predict"]["median_ms"] / results["predictor_predict (probs + all maps)"]["median_ms"]
    all_strokes = [read_strokes(f)[0] for f in strokes_files]
    prep = timed(lambda: [strokes_to_input(s) for s in all_strokes], 5)
    images = np.random.default_rng(0).random((10_000, 28, 28), dtype=np.float32)
    t0 = time.perf_counter()
    predictor.predict_probabilities(images)
    throughput = len(images) / (time.perf_counter() - t0)
    out = {
        "latency": results,
        "speedup_vs_model_predict": round(speedup, 1),
        "batch_throughput_images_per_s": round(throughput),
        "strokes_to_input_ms_per_drawing": round(statistics.median(prep) / len(all_strokes) * 1000, 2),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"{'path':<40}{'median ms':>12}{'p95 ms':>10}")
    for name, r in results.items():
        print(f"{name:<40}{r['median_ms']:>12.2f}{r['p95_ms']:>10.2f}")
    print(f"Predictor is {speedup:.0f}x faster than model.predict (median, one input)")
    print(f"batch throughput (predict_probabilities, 10,000 images): {throughput:,.0f} images/s")
    print(f"strokes_to_input: {out['strokes_to_input_ms_per_drawing']} ms per pen-drawn digit")


if __name__ == "__main__":
    main()
