"""Start the desktop app: a QApplication, the main window, the event loop."""

from __future__ import annotations

import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


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
    app.setApplicationName("Digit Recognizer")
    app.setOrganizationName("digit-recognizer")
    app.setApplicationDisplayName("Digit Recognizer")
    app.setDesktopFileName("digit-recognizer")
    icon = RESOURCES / "icons" / "digit-recognizer.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run(model_path: Path | None = None, quit_after: float | None = None) -> int:
    app = make_app()
    from PySide6.QtCore import QTimer

    from .main_window import MainWindow

    window = MainWindow(model_path)
    window.show()
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), window.close)
    code = app.exec()
    window.shutdown()
    return code
