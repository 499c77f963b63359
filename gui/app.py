"""Start the desktop app: a QApplication, the main window, the event loop."""

from __future__ import annotations

import sys
from pathlib import Path

from model.data.paths import DATA_FOLDER, RESOURCES


def make_app():
    """The QApplication, created once, with the app's name (QSettings), icon and high-DPI policy."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        # Fractional scale factors (125%, 150%) kept exact rather than rounded: sharp on high-DPI.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
    # No organisation and a folder-friendly name: Qt's AppDataLocation is then ".../digit-recognizer",
    # the folder model.data.paths.user_data_dir() names (QSettings get their names explicitly).
    # The GUI thread and the inference worker share one interpreter lock. Python hands it over only
    # every switch interval (5 ms by default) when both want it, so each hand-over could add 5 ms to
    # an answer; 1 ms keeps the pen's answer and the paint close behind each other.
    sys.setswitchinterval(0.001)
    app.setApplicationName(DATA_FOLDER)
    app.setOrganizationName("")
    app.setApplicationDisplayName("Digit Recognizer")
    app.setDesktopFileName("digit-recognizer")
    icon = RESOURCES / "icons" / "digit-recognizer.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def quit_on_ctrl_c(window) -> None:
    """Ctrl+C in the terminal closes ``window`` the normal way (settings saved, worker stopped).

    Python runs signal handlers only between bytecodes, and Qt's event loop is C++: a timer that
    wakes the interpreter every 200 ms lets the handler run while the loop is otherwise idle.
    """
    import signal

    from PySide6.QtCore import QTimer

    def on_sigint(_signum, _frame) -> None:
        window.close()
        from PySide6.QtWidgets import QApplication

        QApplication.quit()

    try:
        signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread (embedded use): leave the default
        return
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)


def run(model_path: Path | None = None, quit_after: float | None = None, startup_timing: bool = False) -> int:
    app = make_app()
    from PySide6.QtCore import QTimer

    from .main_window import MainWindow

    window = MainWindow(model_path)
    window.show()
    quit_on_ctrl_c(window)
    if startup_timing:
        import json
        import time

        def report(event: str) -> None:
            info = window.model_info
            extra = {"import_tensorflow_s": info.import_seconds, "load_model_s": info.load_seconds} if info else {}
            print(json.dumps({"event": event, "time": time.time(), **extra}), flush=True)

        # The first turn of the event loop: the window is painted and strokes are accepted.
        QTimer.singleShot(0, lambda: report("window_shown"))
        window.model_ready.connect(lambda: (report("model_ready"), window.close()))
        window.worker.model_failed.connect(lambda *_: (report("model_failed"), window.close()))
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), window.close)
    code = app.exec()
    window.shutdown()
    return code
