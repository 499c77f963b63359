"""Help: getting started, a shortcut table read from the window's actions, the annotated window, About."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QPushButton, QTableWidget

from gui.help import GETTING_STARTED, shortcut_rows
from gui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 760)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def menu_titles(w) -> list[str]:
    return [a.text().replace("&", "") for a in w.menuBar().actions()]


def help_action(w, text: str):
    menu = w.menuBar().actions()[-1].menu()
    return next(a for a in menu.actions() if text in a.text().replace("&", ""))


def test_menus_come_in_the_usual_order_with_help_last(window):
    assert menu_titles(window) == ["File", "Edit", "View", "Learn", "Handwriting", "Help"]


def test_getting_started_lists_the_five_steps(qtbot, window):
    help_action(window, "Getting started").trigger()
    dialog = window.findChild(QDialog, "getting_started_dialog")
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    text = dialog.findChild(QLabel, "getting_started_text").text()
    assert len(GETTING_STARTED) == 5
    for title, _ in GETTING_STARTED:
        assert title in text
    assert "type" in text.lower() and "not sure" in text
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)


def test_shortcut_table_follows_the_actions_it_lists(qtbot, window):
    undo = next(a for a in window.actions() if a.text().replace("&", "") == "Undo stroke")
    undo.setShortcut(QKeySequence("Ctrl+Alt+U"))  # a changed shortcut shows up: the table is never stale
    rows = shortcut_rows(window)
    found = {r.action: r.keys for r in rows}
    assert found["Undo stroke"] == QKeySequence("Ctrl+Alt+U").toString(QKeySequence.SequenceFormat.NativeText)
    assert "Clear" in found and "My handwriting" in found
    help_action(window, "Keyboard shortcuts").trigger()
    dialog = window.findChild(QDialog, "shortcuts_dialog")
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    table = dialog.findChild(QTableWidget, "shortcuts_table")
    shown = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert "Undo stroke" in shown and any("Store the drawing" in s for s in shown)
    dialog.close()


def test_what_am_i_looking_at_numbers_each_panel_where_it_is(qtbot, window):
    help_action(window, "looking at").trigger()
    dialog = window.findChild(QDialog, "what_dialog")
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    names = [m.name for m in dialog.marks]
    for name in ("canvas", "what the network sees", "the answer", "feature maps"):
        assert name in names
    canvas = next(m for m in dialog.marks if m.name == "canvas")
    maps = next(m for m in dialog.marks if m.name == "feature maps")
    assert canvas.rect.right() < maps.rect.left()  # the canvas is left of the maps, as on screen
    assert not dialog.findChild(QLabel, "what_picture").pixmap().isNull()
    legend = dialog.findChild(QLabel, "what_legend").text()
    assert all(n in legend for n in names)
    dialog.close()


@pytest.mark.slow
def test_about_says_version_model_accuracy_and_parameters_with_the_card_one_click_away(qtbot, window):
    from model.cli import version

    qtbot.waitUntil(lambda: window.model_info is not None, timeout=60_000)
    window.show_about()
    dialog = window.findChild(QDialog, "about_dialog")
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    text = dialog.findChild(QLabel, "about_summary").text()
    assert f"Version {version()}" in text
    assert "Parameters:" in text and "Accuracy on the MNIST test set:" in text and "%" in text
    card = dialog.findChild(QPlainTextEdit, "about_card")
    assert not card.isVisible()
    qtbot.mouseClick(dialog.findChild(QPushButton, "about_show_card"), Qt.MouseButton.LeftButton)
    assert card.isVisible() and '"evaluation"' in card.toPlainText()
    dialog.close()


@pytest.mark.slow
def test_the_window_title_names_the_model_and_the_app_once(qtbot, window):
    qtbot.waitUntil(lambda: window.model_info is not None, timeout=60_000)
    assert window.windowTitle() == "mnist_cnn.keras — Digit Recognizer"


@pytest.mark.parametrize("dpr", [1.0, 2.0])  # a HiDPI window's grab has twice the pixels
def test_a_callout_badge_sits_where_it_hides_nothing_not_over_the_title(qtbot, dpr):
    """The number badge of a part must not hide its title or its button: it goes where the frame's
    edge is empty, and to the top left when nothing is in the way."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    from gui.help import _quiet_corner

    image = QImage(round(400 * dpr), round(300 * dpr), QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(dpr)
    image.fill(QColor("white"))
    painter = QPainter(image)  # draws in logical pixels, as on the window
    painter.setPen(QColor("black"))
    painter.drawText(QRectF(4, 4, 300, 30), "Feature maps — every layer, live")  # a title at the top left
    button = QRectF(340, 2, 56, 26)
    painter.drawRect(button)  # a button at the top right
    painter.drawText(button, "Zoom +")
    for y in range(40, 300, 6):  # busy maps everywhere below the title bar
        painter.drawLine(0, y, 400, y + 3)
    painter.end()
    badge = _quiet_corner(image, QRectF(0, 0, 400, 300))
    under = image.copy(QRectF(badge.x() * dpr, badge.y() * dpr, badge.width() * dpr, badge.height() * dpr).toRect())
    hidden = [(x, y) for x in range(under.width()) for y in range(under.height()) if under.pixelColor(x, y) != QColor("white")]
    assert not hidden, f"the badge at {badge} hides {len(hidden)} pixels of title, button or maps"

    blank = QImage(400, 300, QImage.Format.Format_RGB32)
    blank.fill(QColor("white"))
    badge = _quiet_corner(blank, QRectF(0, 0, 400, 300))
    assert badge.left() < 10 and badge.top() < 10  # nothing to avoid: top left, as always
