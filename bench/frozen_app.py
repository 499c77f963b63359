"""Measure the stand-alone app: the size of its folder, its self-test and how fast it starts.

    uv run pyinstaller --noconfirm packaging/digit_recognizer.spec    (build it first)
    uv run bench/frozen_app.py [--dist dist/digit-recognizer] [--runs 5] [--json]

It builds nothing. It reports:

* the folder's total size, its ten biggest entries (inside ``_internal/``) and its biggest files;
* ``--self-test``: exit code and wall time from process start to exit;
* start-up: seconds from launch to the window shown and to the model ready, median over runs.
  On Linux with Xvfb installed, the app runs in a real X window on a private Xvfb server (the xcb
  platform a user gets); elsewhere offscreen. The app's hidden ``--startup-timing`` flag prints
  both moments and quits. A build from before that flag is timed from outside instead, by polling
  ``xwininfo`` for the window and for the model's name in its title (needs x11-utils).

``bench/startup.py --command frozen`` measures start-up offscreen only; this one also sizes the
folder and times the self-test, which is what packaging/README.md reports. The first launch after
a build reads ~900 MB from disk, so it is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "digit-recognizer"
TITLE = "Digit Recognizer"
TIMEOUT = 120.0  # seconds for one launch


# --- size ---------------------------------------------------------------------------------------


def folder_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (symlinks count as nothing, as they cost nothing)."""
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            p = Path(root) / name
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def size_report(dist: Path, top: int = 10) -> dict:
    inner = dist / "_internal" if (dist / "_internal").is_dir() else dist
    entries = sorted(((folder_size(p), p) for p in inner.iterdir()), key=lambda e: -e[0])
    files = []
    for root, _, names in os.walk(dist):
        for name in names:
            p = Path(root) / name
            if not p.is_symlink():
                files.append((p.stat().st_size, p))
    files.sort(key=lambda e: -e[0])
    return {
        "dist": str(dist),
        "total_mb": round(sum(s for s, _ in files) / 1e6, 1),
        "files": len(files),
        "biggest_entries": [{"path": str(p.relative_to(dist)), "mb": round(s / 1e6, 1)} for s, p in entries[:top]],
        "biggest_files": [{"path": str(p.relative_to(dist)), "mb": round(s / 1e6, 1)} for s, p in files[:5]],
    }


# --- self-test ----------------------------------------------------------------------------------


def time_self_test(exe: Path) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), "--self-test"], env=env, capture_output=True, text=True, timeout=TIMEOUT * 3)
    wall = time.perf_counter() - t0
    summary = re.search(r"Self-test passed: (\d+) checks in ([\d.]+) s", proc.stdout)
    tf_import = re.search(r"OK\s+tensorflow import\s.*\(([\d.]+) s\)", proc.stdout)
    return {
        "exit_code": proc.returncode,
        "wall_s": round(wall, 2),
        "checks": int(summary.group(1)) if summary else None,
        "tensorflow_import_s": float(tf_import.group(1)) if tf_import else None,
        "summary": (proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or [""])[-1],
    }


# --- start-up -----------------------------------------------------------------------------------


class Xvfb:
    """A private X server on a free display number, for one measurement session."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.display = ""

    def __enter__(self) -> Xvfb:
        for n in range(90, 140):
            socket = Path(f"/tmp/.X11-unix/X{n}")
            if socket.exists() or Path(f"/tmp/.X{n}-lock").exists():
                continue
            self.proc = subprocess.Popen(
                ["Xvfb", f":{n}", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.display = f":{n}"
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                if socket.exists():
                    time.sleep(0.2)  # the socket appears just before the server accepts connections
                    return self
                time.sleep(0.05)
            self.__exit__()
        raise RuntimeError("could not start Xvfb on any display :90-:139")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


def _main_windows(display: str) -> list[tuple[str, str]]:
    """``(id, title)`` of the app's windows bigger than 100x100 (Qt also makes tiny helper windows)."""
    out = subprocess.run(["xwininfo", "-root", "-tree", "-display", display], capture_output=True, text=True).stdout
    return [
        (wid, title)
        for wid, title, w, h in re.findall(r'(0x[0-9a-f]+) "([^"]*)":.*?\s(\d+)x(\d+)\+', out)
        if title.startswith(TITLE) and int(w) > 100 and int(h) > 100
    ]


def _viewable(display: str, window_id: str) -> bool:
    out = subprocess.run(["xwininfo", "-id", window_id, "-display", display], capture_output=True, text=True).stdout
    return "IsViewable" in out


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _why_not_ready(exit_code: int | None, stderr: str) -> str:
    what = f"no window/model within {TIMEOUT:.0f} s" if exit_code is None else f"the app exited with {exit_code}"
    if "could not connect to display" in stderr:
        return f"{what}: could not connect to display"
    lines = [line for line in stderr.splitlines() if line.strip() and "I0000" not in line and "absl" not in line]
    return f"{what}; stderr: {' | '.join(lines[-4:])}" if lines else what


def _launch_once(exe: Path, display: str | None, method: str) -> dict:
    """Launch the app once; ``method`` is ``--startup-timing`` (the app reports) or ``xwininfo`` (polled)."""
    home = tempfile.mkdtemp(prefix="digit-recognizer-bench-")
    # A fresh settings folder: every run starts with the default window size, like a first start.
    env = {**os.environ, "XDG_CONFIG_HOME": home}
    env.pop("WAYLAND_DISPLAY", None)
    if display:
        env["DISPLAY"] = display
        env.pop("QT_QPA_PLATFORM", None)
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    args = ["--startup-timing"] if method == "--startup-timing" else []
    out_path, err_path = Path(home) / "stdout.txt", Path(home) / "stderr.txt"
    shown = ready = None
    extra: dict = {}
    try:
        with open(out_path, "w") as out, open(err_path, "w") as err:
            t0_wall, t0 = time.time(), time.perf_counter()
            proc = subprocess.Popen([str(exe), *args, "--quit-after", str(TIMEOUT)], env=env, stdout=out, stderr=err, cwd=home)
            try:
                while time.perf_counter() - t0 < TIMEOUT and ready is None:
                    exited = proc.poll() is not None
                    if method == "--startup-timing":
                        for line in out_path.read_text().splitlines():
                            if not line.startswith("{"):
                                continue
                            doc = json.loads(line)
                            if doc.get("event") == "window_shown":
                                shown = doc["time"] - t0_wall
                            elif doc.get("event") == "model_ready":
                                ready = doc["time"] - t0_wall
                                extra = {k: round(doc[k], 2) for k in ("import_tensorflow_s", "load_model_s") if k in doc}
                    else:
                        now = time.perf_counter() - t0
                        windows = _main_windows(display)
                        if shown is None and windows and _viewable(display, windows[0][0]):
                            shown = now
                        # The window puts the model's file name in its title once the model is loaded.
                        if shown is not None and any(".keras" in title for _, title in windows):
                            ready = now
                    if exited:
                        break
                    time.sleep(0.03)
            finally:
                _stop(proc)
        result = {
            "window_s": None if shown is None else round(shown, 2),
            "model_ready_s": None if ready is None else round(ready, 2),
            "method": method,
            **extra,
        }
        if ready is None:
            stderr = err_path.read_text(errors="replace")
            if "unrecognized arguments: --startup-timing" in stderr:
                result["unsupported"] = True
            result["problem"] = _why_not_ready(proc.returncode, stderr)
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


def time_startup(exe: Path, display: str | None, method: str, attempts: int = 3) -> dict:
    """One measured launch. Xvfb now and then refuses a connection ("could not connect to display";
    a plain ``QApplication([])`` shows the same), so such launches are retried."""
    for attempt in range(1, attempts + 1):  # noqa: B007 (read after the loop)
        result = _launch_once(exe, display, method)
        if "could not connect to display" not in result.get("problem", ""):
            break
    if attempt > 1:
        result["attempts"] = attempt
    return result


def measure_startup(exe: Path, runs: int) -> dict:
    use_x = sys.platform.startswith("linux") and shutil.which("Xvfb") is not None
    with Xvfb() if use_x else _NoDisplay() as x:
        platform = "xcb (Xvfb)" if use_x else "offscreen"
        method = "--startup-timing"
        first = time_startup(exe, x.display, method)  # warms the disk cache; not counted
        if first.get("unsupported"):
            if not (use_x and shutil.which("xwininfo")):
                return {
                    "skipped": "this build has no --startup-timing; polling instead needs Xvfb and xwininfo "
                    "(apt-get install xvfb x11-utils)",
                    "runs": [],
                }
            method = "xwininfo"
        result: dict = {
            "platform": platform,
            "method": method,
            "runs": [time_startup(exe, x.display, method) for _ in range(runs)],
        }
    for key in ("window_s", "model_ready_s", "import_tensorflow_s", "load_model_s"):
        values = [r[key] for r in result["runs"] if r.get(key) is not None]
        result[f"median_{key}"] = round(statistics.median(values), 2) if values else None
    return result


class _NoDisplay:
    display = None

    def __enter__(self) -> _NoDisplay:
        return self

    def __exit__(self, *exc) -> None:
        pass


# --- report -------------------------------------------------------------------------------------


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_report(result: dict) -> None:
    size = result["size"]
    print(f"{size['dist']}: {size['total_mb']:.0f} MB in {size['files']} files\n")
    print(f"{'biggest entries':<52}{'MB':>8}")
    for e in size["biggest_entries"]:
        print(f"{e['path']:<52}{e['mb']:>8.1f}")
    print(f"\n{'biggest files':<64}{'MB':>8}")
    for e in size["biggest_files"]:
        print(f"{e['path']:<64}{e['mb']:>8.1f}")
    st = result["self_test"]
    print(f"\n--self-test: exit code {st['exit_code']}, {st['wall_s']:.1f} s from start to exit; {st['summary']}")
    startup = result["startup"]
    if "skipped" in startup:
        print(f"\nstart-up: not measured: {startup['skipped']}")
        return
    print(f"\nstart-up on {startup['platform']}, measured via {startup['method']} (seconds from launch):")
    print(f"{'run':<8}{'window':>10}{'model ready':>14}{'TF import':>12}{'model load':>12}")
    rows = [(str(i), r) for i, r in enumerate(startup["runs"], 1)]
    rows.append(("median", {k[len("median_") :]: v for k, v in startup.items() if k.startswith("median_")}))
    for name, r in rows:
        note = f"  ({r['problem']})" if r.get("problem") else ""
        note += f"  [{r['attempts']} attempts: Xvfb refused a connection]" if r.get("attempts") else ""
        print(
            f"{name:<8}{_fmt(r.get('window_s')):>10}{_fmt(r.get('model_ready_s')):>14}"
            f"{_fmt(r.get('import_tensorflow_s')):>12}{_fmt(r.get('load_model_s')):>12}{note}"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dist", type=Path, default=ROOT / "dist" / APP_NAME, help="the built folder (default: %(default)s)")
    p.add_argument("--runs", type=int, default=5, help="start-up runs (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up timing (size and self-test only)")
    args = p.parse_args(argv)

    dist = args.dist.resolve()
    exe = dist / (APP_NAME + (".exe" if sys.platform == "win32" else ""))
    if not exe.is_file():
        print(
            f"error: no built app at {exe}; build it with: uv run pyinstaller --noconfirm "
            "packaging/digit_recognizer.spec (or pass --dist)",
            file=sys.stderr,
        )
        return 2

    result = {
        "size": size_report(dist),
        "self_test": time_self_test(exe),
        "startup": {"skipped": "--no-startup", "runs": []} if args.no_startup else measure_startup(exe, args.runs),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    return 0 if result["self_test"]["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
