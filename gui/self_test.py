"""``digit-recognizer --self-test``: prove an installation (source or frozen) works, without a display.

It checks, in order, printing one OK/FAIL line with its time for each:

1. the bundled resources are where the code looks for them (model, model card, samples, icon);
2. TensorFlow imports and the bundled model loads through ``Predictor`` with the app's contract;
3. every sample stroke file and every sample picture is recognised as its digit through the real
   preprocessing (``strokes_to_input``; ``load_image`` + ``image_to_input``, TensorFlow's decoders);
4. the main window builds, loads the model on its worker, and shows the right digit for a sample
   drawn on the canvas and for a sample picture opened as a user would.

Exit code 0 only if everything passed. A watchdog ends the process with code 1 if something hangs,
so CI never waits forever on a frozen app.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

WINDOW_TIMEOUT = 60.0  # seconds for the window's worker to load the model / answer
WATCHDOG_SECONDS = 300.0  # the whole self-test; generous for a busy CI machine
# The sample the window is shown: a 7 has no symmetry, so a flipped or rotated input would not pass.
WINDOW_DIGIT = 7


class CheckFailed(Exception):
    """A check whose outcome was wrong; the message says what was expected and what was seen."""


class Report:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []
        self.started = time.perf_counter()

    def check(self, name: str, fn: Callable[[], str]) -> bool:
        """Run ``fn`` (returns a one-line description of what it saw); print OK or FAIL with its time."""
        t0 = time.perf_counter()
        try:
            detail = fn()
        except Exception as exc:  # a self-test reports every failure instead of stopping at the first
            seconds = time.perf_counter() - t0
            text = str(exc) if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {exc}"
            _print(f"  FAIL  {name:<22} {text} ({seconds:.2f} s)")
            if not isinstance(exc, CheckFailed):
                _print("".join("        " + line for line in traceback.format_exc(limit=4).splitlines(True)))
            self.failed.append(name)
            return False
        _print(f"  OK    {name:<22} {detail} ({time.perf_counter() - t0:.2f} s)")
        self.passed.append(name)
        return True

    def skip(self, name: str, reason: str) -> None:
        _print(f"  FAIL  {name:<22} not run: {reason}")
        self.failed.append(name)


def _print(text: str) -> None:
    print(text, flush=True)


def _attach_windows_console() -> None:
    # A windowed (console=False) Windows build has no stdout; write to the console it was started
    # from, if any, so `start /wait digit-recognizer.exe --self-test` shows the report.
    if sys.platform != "win32" or sys.stdout is not None:
        return
    try:
        import ctypes

        if ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
            sys.stdout = open("CONOUT$", "w", encoding="utf-8", errors="replace")  # noqa: SIM115
            sys.stderr = sys.stdout
    except (OSError, AttributeError):
        pass


def choose_platform() -> str:
    """Use the offscreen Qt platform unless one was chosen or a display exists; returns a description."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return f"{os.environ['QT_QPA_PLATFORM']} (QT_QPA_PLATFORM)"
    if sys.platform.startswith("linux") and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "the desktop's (a display is set)"
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return "offscreen"


def _start_watchdog(seconds: float) -> threading.Timer:
    def expire() -> None:
        _print(f"FAIL: the self-test did not finish within {seconds:.0f} s; stopping.")
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


def _label_of(path: Path, label: int | None = None) -> int:
    """A sample's digit: the file's own ``label`` if it has one, else its name (``7.json``, ``7_mnist.png``)."""
    if label is not None:
        return int(label)
    head = path.stem.split("_")[0]
    if not (head.isdigit() and len(head) == 1):
        raise CheckFailed(f"cannot tell which digit {path.name} holds (expected a name like 7.json or 7_mnist.png)")
    return int(head)


def run_self_test() -> int:
    """Run every check; return 0 if all passed, 1 otherwise (see the module docstring)."""
    _attach_windows_console()
    platform = choose_platform()
    watchdog = _start_watchdog(WATCHDOG_SECONDS)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    frozen = bool(getattr(sys, "frozen", False))
    _print(
        f"Digit Recognizer self-test — {'frozen app ' + sys.executable if frozen else 'from source'}, "
        f"Python {sys.version.split()[0]}, Qt platform: {platform}"
    )
    report = Report()
    state: dict[str, object] = {}

    try:
        _check_core(report, state)
        _check_window(report, state)
    finally:
        watchdog.cancel()

    total = time.perf_counter() - report.started
    n = len(report.passed) + len(report.failed)
    if report.failed:
        _print(f"SELF-TEST FAILED: {len(report.failed)} of {n} checks failed in {total:.1f} s: {', '.join(report.failed)}")
        return 1
    _print(f"Self-test passed: {n} checks in {total:.1f} s")
    return 0


# --- the Qt-free part: resources, model, preprocessing -----------------------------------------


def _check_core(report: Report, state: dict) -> None:
    def resources() -> str:
        from model.nets.inference import DEFAULT_MODEL

        from .app import RESOURCES as GUI_RESOURCES

        root = DEFAULT_MODEL.parent
        if GUI_RESOURCES.resolve() != root.resolve():
            raise CheckFailed(f"gui looks in {GUI_RESOURCES} but model looks in {root}")
        missing = [
            p
            for p in (DEFAULT_MODEL, DEFAULT_MODEL.with_suffix(".json"), root / "icons" / "digit-recognizer.png")
            if not p.is_file()
        ]
        if missing:
            raise CheckFailed(f"missing: {', '.join(map(str, missing))}")
        from model.nets.card import card_path, read_card_document

        card = read_card_document(DEFAULT_MODEL)
        if card is None:
            raise CheckFailed(f"model card {card_path(DEFAULT_MODEL)} is not a readable JSON object")
        samples = root / "samples"
        strokes = sorted(samples.glob("*.json"))
        images = sorted(samples.glob("*.png"))
        if not strokes or not images:
            raise CheckFailed(f"no sample strokes (*.json) or pictures (*.png) in {samples}")
        state["strokes"], state["images"], state["model_path"] = strokes, images, DEFAULT_MODEL
        cwd = Path.cwd().resolve()
        where = "the current directory" if cwd == root.parent.resolve() else "not the current directory"
        return f"model, card, icon, {len(strokes)} stroke files, {len(images)} pictures in {root} ({where})"

    def tensorflow() -> str:
        from model.nets.tf_runtime import runtime_versions

        versions = runtime_versions()
        state["tf"] = True
        return versions

    def model() -> str:
        import numpy as np

        from model.nets.architecture import INPUT_SHAPE, NUM_CLASSES
        from model.nets.inference import Predictor

        predictor = Predictor()
        m = predictor.model
        in_shape, out_shape = tuple(m.inputs[0].shape), tuple(m.outputs[0].shape)
        if in_shape[1:] != INPUT_SHAPE or out_shape[1:] != (NUM_CLASSES,):
            raise CheckFailed(f"contract broken: input {in_shape}, output {out_shape}")
        if not predictor.layers:
            raise CheckFailed("the model has no 4-D feature layers to show")
        blank = predictor.predict(np.zeros((28, 28), np.float32))
        if blank.probabilities is None or abs(float(blank.probabilities.sum()) - 1.0) > 1e-3:
            raise CheckFailed(f"probabilities do not sum to 1: {blank.probabilities}")
        if set(blank.activations) != {layer.name for layer in predictor.layers}:
            raise CheckFailed(f"feature maps {sorted(blank.activations)} do not match layers {predictor.layers}")
        state["predictor"] = predictor
        return (
            f"{predictor.path.name}: input {in_shape} -> output {out_shape}, "
            f"{len(predictor.layers)} feature layers ({', '.join(layer.name for layer in predictor.layers)})"
        )

    def recognise(path: Path, label: int, x) -> str:
        import numpy as np

        if x is None:
            raise CheckFailed(f"{path.name}: preprocessing found no digit")
        if x.shape != (28, 28) or x.dtype != np.float32 or not (0.0 <= float(x.min()) and float(x.max()) <= 1.0):
            raise CheckFailed(
                f"{path.name}: model input has shape {x.shape}, dtype {x.dtype}, range "
                f"[{float(x.min()):.2f}, {float(x.max()):.2f}]; expected (28, 28) float32 in [0, 1]"
            )
        prediction = state["predictor"].predict(x)
        if prediction.digit != label:
            raise CheckFailed(f"{path.name}: recognised as {prediction.digit} ({prediction.confidence:.1%}), expected {label}")
        return f"{path.name} -> {prediction.digit} ({prediction.confidence:.1%})"

    def stroke_check(path: Path) -> Callable[[], str]:
        def run() -> str:
            from model.data.preprocess import strokes_to_input
            from model.data.readers import read_strokes

            strokes, label = read_strokes(path)
            label = _label_of(path, label)
            if "window_sample" not in state or label == WINDOW_DIGIT:
                state["window_sample"] = (strokes, label, path)
            return recognise(path, label, strokes_to_input(strokes))

        return run

    def image_check(path: Path) -> Callable[[], str]:
        def run() -> str:
            from model.data.pictures import image_to_input, load_image

            pixels = load_image(path)  # TensorFlow's decoder, as `digit-recognizer predict` uses
            label = _label_of(path)
            if "window_picture" not in state or label == WINDOW_DIGIT:
                state["window_picture"] = (path, label)
            return recognise(path, label, image_to_input(pixels))

        return run

    if not report.check("resources", resources):
        report.skip("model load", "the bundled resources are missing")
        return
    if not report.check("tensorflow import", tensorflow) or not report.check("model load", model):
        report.skip("samples", "no model")
        return
    for path in state["strokes"]:
        report.check(f"strokes {path.name}", stroke_check(path))
    for path in state["images"]:
        report.check(f"picture {path.name}", image_check(path))
    report.check("fine-tune", lambda: _check_tuning(state))


def _check_tuning(state: dict) -> str:
    """``tune`` on the sample drawings (1 epoch, the shipped MNIST replay) gives a model that reads them."""
    from model.data.handwriting import read_labelled_folder
    from model.data.preprocess import strokes_to_input
    from model.nets.inference import Predictor
    from model.training.tune import TuneConfig, tune

    drawings, problems = read_labelled_folder(state["model_path"].parent / "samples")
    if problems or len(drawings) < 5:
        raise CheckFailed(f"{len(drawings)} labelled sample drawings; problems: {problems}")
    with tempfile.TemporaryDirectory(prefix="digit-recognizer-self-test-tune-") as tmp:
        out = Path(tmp) / "personal.keras"
        card = tune(state["model_path"], drawings, out, TuneConfig(epochs=1, variants=2, replay=300))
        tuned = Predictor(out)
        wrong = [d.path.name for d in drawings if tuned.predict(strokes_to_input(d.strokes)).digit != d.label]
        if wrong or not out.with_suffix(".json").is_file():
            raise CheckFailed(f"the tuned model misreads {wrong}" if wrong else "no card was written")
    return (
        f"{len(drawings)} drawings + {card['tuning']['replay']['images']} replay digits, "
        f"{card['tuning']['fit_seconds']:.1f} s of training; the tuned model reads all {len(drawings)}"
    )


# --- the window ---------------------------------------------------------------------------------


def _wait_until(app, condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def _check_window(report: Report, state: dict) -> None:
    if "predictor" not in state:
        report.skip("main window", "the model did not load")
        return
    from PySide6.QtCore import QSettings

    from .app import make_app

    app = make_app()
    # The window saves its geometry on close; keep the user's real settings untouched.
    settings_dir = tempfile.TemporaryDirectory(prefix="digit-recognizer-self-test-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir.name)
    window = None
    try:

        def build() -> str:
            nonlocal window
            from .main_window import MainWindow

            window = MainWindow()
            window.show()
            app.processEvents()
            if app.windowIcon().isNull():
                raise CheckFailed("the application icon did not load")
            return f"{type(window).__name__} shown, {window.width()}x{window.height()} on {app.platformName()}"

        def model_ready() -> str:
            if not _wait_until(app, lambda: window.model_info is not None or window.last_error is not None, WINDOW_TIMEOUT):
                raise CheckFailed(f"the model was not ready within {WINDOW_TIMEOUT:.0f} s")
            if window.model_info is None:
                raise CheckFailed(f"the window could not load the model: {window.last_error}")
            return f"{window.model_info.path.name} loaded on the worker thread"

        def shows(what: str, label: int, act: Callable[[], None]) -> str:
            from PySide6.QtWidgets import QLabel

            window.last_result = None
            act()
            if not _wait_until(app, lambda: window.last_result is not None, WINDOW_TIMEOUT):
                raise CheckFailed(f"no result for {what} within {WINDOW_TIMEOUT:.0f} s ({window.last_error or 'no error'})")
            app.processEvents()
            shown = window.findChild(QLabel, "predicted_digit").text()
            if shown != str(label):
                raise CheckFailed(f"{what}: the window shows {shown!r}, expected {label}")
            return f"{what} -> the window shows {shown}"

        def drawn() -> str:
            strokes, label, path = state["window_sample"]
            return shows(f"{path.name} drawn on the canvas", label, lambda: window.canvas.set_strokes(strokes))

        def opened() -> str:
            path, label = state["window_picture"]
            return shows(f"{path.name} opened", label, lambda: window.open_file(path))

        if not report.check("main window", build):
            return
        if not report.check("window model", model_ready):
            return
        if "window_sample" in state:
            report.check("window drawing", drawn)
        if "window_picture" in state:
            report.check("window picture", opened)
    finally:
        if window is not None:
            t0 = time.perf_counter()
            window.close()  # saves settings and stops the worker thread
            app.processEvents()
            window.shutdown()
            stopped = not window.worker.isRunning()
            _print(
                f"  {'OK  ' if stopped else 'FAIL'}  {'window closed':<22} "
                f"worker thread {'stopped' if stopped else 'still running'} ({time.perf_counter() - t0:.2f} s)"
            )
            (report.passed if stopped else report.failed).append("window closed")
            window.deleteLater()
            app.processEvents()
        settings_dir.cleanup()
