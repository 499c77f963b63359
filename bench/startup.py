"""Start-up time of the app: launch to window shown (accepting strokes) and to model ready.

    uv run python bench/startup.py [--runs 5] [--command uv|python|frozen]

Launches the real app (offscreen) with the hidden ``--startup-timing`` flag, which prints the
wall-clock time of the first event-loop turn after ``show()`` and of the model being ready, then
quits. Reports medians over runs, including the worker's own split: ``import tensorflow`` and
then loading and tracing the model (the target: ready within 1 s after the import completes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def launch(cmd: list[str]) -> dict[str, float]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180, cwd="/")
    times = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            times[doc["event"]] = doc["time"] - t0
            for key in ("import_tensorflow_s", "load_model_s"):
                if key in doc:
                    times[key] = doc[key]
    times["exit"] = time.time() - t0
    times["returncode"] = proc.returncode
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument(
        "--command",
        choices=["python", "uv", "frozen"],
        default="python",
        help="python: the venv's interpreter on main.py; uv: `uv run main.py`; frozen: dist/digit-recognizer",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.command == "python":
        cmd = [sys.executable, str(ROOT / "main.py")]
    elif args.command == "uv":
        cmd = ["uv", "run", "--project", str(ROOT), str(ROOT / "main.py")]
    else:
        cmd = [str(ROOT / "dist" / "digit-recognizer" / "digit-recognizer")]
    launch(cmd + ["--startup-timing"])  # warm the disk cache
    runs = [launch(cmd + ["--startup-timing"]) for _ in range(args.runs)]
    bad = [r for r in runs if r["returncode"] != 0 or "model_ready" not in r]
    if bad:
        raise SystemExit(f"app did not start cleanly: {bad}")
    result = {
        "command": " ".join(cmd),
        "runs": args.runs,
        "window_shown_s": round(statistics.median(r["window_shown"] for r in runs), 3),
        "model_ready_s": round(statistics.median(r["model_ready"] for r in runs), 3),
        "exit_code": 0,
        # Measured inside the app's worker thread: the import, then loading + tracing the model.
        "import_tensorflow_s": round(statistics.median(r["import_tensorflow_s"] for r in runs), 3),
        "model_ready_after_import_s": round(statistics.median(r["load_model_s"] for r in runs), 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>26}: {v}")


if __name__ == "__main__":
    main()
