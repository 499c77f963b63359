"""The window's menus and the file dialogs they open (the window does the work they ask for)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from . import help as help_views


def add_action(window, text, slot, shortcut=None, tip=None, menu=None, name: str = "") -> QAction:
    """A menu action owned by ``window``: its shortcut works even with the menu bar hidden.

    ``shortcut``: a ``QKeySequence``, a standard key, a string or a list of them; ``tip``: the status
    and tool tip; ``name``: the object name tests and the tour find it by.
    """
    a = QAction(text, window)
    if name:
        a.setObjectName(name)
    a.triggered.connect(slot)
    if shortcut:
        keys = shortcut if isinstance(shortcut, list) else [shortcut]
        a.setShortcuts([QKeySequence(k) if isinstance(k, str) else k for k in keys])
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(tip)
    if menu is not None:
        menu.addAction(a)
    window.addAction(a)
    return a


def menu_before_help(window, title: str, name: str = ""):
    """A new menu in ``window``'s bar, placed before Help (where people look for Help: last)."""
    bar = window.menuBar()
    menu = bar.addMenu(title)
    if name:
        menu.setObjectName(name)
    help_action = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
    if help_action is not None:
        bar.removeAction(menu.menuAction())
        bar.insertMenu(help_action, menu)
    return menu


def build_menus(window) -> None:
    """File, Edit, View and Help, with their shortcuts (added to the window too, so they work without the menu bar)."""

    def action(text, slot, shortcut=None, tip=None, menu=None):
        return add_action(window, text, slot, shortcut, tip, menu)

    file_menu = window.menuBar().addMenu("&File")
    action(
        "Open &model…",
        lambda: open_model_dialog(window),
        QKeySequence.StandardKey.Open,
        "Load another Keras image classifier (.keras or .h5)",
        file_menu,
    )
    action(
        "Open &image…",
        lambda: open_image_dialog(window),
        QKeySequence("Ctrl+I"),
        "Recognise PNG/JPEG pictures of digits, or load stroke .json files",
        file_menu,
    )
    action(
        "Model &input…",
        lambda: open_model_input_dialog(window),
        None,
        "How the drawing is fed to this model (size, value range, class names)",
        file_menu,
    )
    action(
        "&Save drawing…",
        lambda: save_drawing_dialog(window),
        QKeySequence.StandardKey.Save,
        "Save the drawing as PNG or as stroke JSON",
        file_menu,
    )
    action(
        "&Export feature maps…",
        lambda: export_maps_dialog(window),
        QKeySequence("Ctrl+E"),
        "Save the feature-map panel as a PNG",
        file_menu,
    )
    file_menu.addSeparator()
    action("&Quit", window.close, QKeySequence.StandardKey.Quit, None, file_menu)

    edit_menu = window.menuBar().addMenu("&Edit")
    action("&Undo stroke", window.canvas.undo, [QKeySequence("Ctrl+Z")], "Undo the last stroke", edit_menu)
    action(
        "&Redo stroke",
        window.canvas.redo,
        [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")],
        "Redo the stroke you undid",
        edit_menu,
    )
    action(
        "&Clear",
        window.clear,
        [QKeySequence(Qt.Key.Key_Escape), QKeySequence("Ctrl+Backspace")],
        "Clear the canvas (undo brings it back)",
        edit_menu,
    )
    view_menu = window.menuBar().addMenu("&View")
    action(
        "&Enlarge maps",
        lambda: window.maps_area.zoom(+1),
        QKeySequence.StandardKey.ZoomIn,
        "Bigger feature-map cells (the maps stay in their panel)",
        view_menu,
    )
    action(
        "&Shrink maps",
        lambda: window.maps_area.zoom(-1),
        QKeySequence.StandardKey.ZoomOut,
        "Smaller feature-map cells, more maps per row",
        view_menu,
    )

    help_menu = window.menuBar().addMenu("&Help")
    help_menu.setObjectName("help_menu")
    action(
        "&Getting started…",
        lambda: help_views.show_getting_started(window),
        QKeySequence.StandardKey.HelpContents,
        "Five steps: draw, watch the maps, click a cell, store a digit, open the Learn views",
        help_menu,
    )
    action(
        "What am I &looking at?…",
        lambda: help_views.show_what_am_i_looking_at(window),
        None,
        "This window with each panel numbered and named",
        help_menu,
    )
    action(
        "&Keyboard shortcuts…",
        lambda: help_views.show_shortcuts(window),
        QKeySequence("Ctrl+/"),
        "Every shortcut of this window",
        help_menu,
    )
    action("Show the &tour", lambda: window.hints.start(), None, "The first-run hints again", help_menu)
    help_menu.addSeparator()
    action("&About…", window.show_about, None, "The version, the model, its accuracy and its card", help_menu)


def open_model_dialog(window) -> None:
    path, _ = QFileDialog.getOpenFileName(
        window, "Open a Keras model", window.settings.directory("model"), "Keras models (*.keras *.h5);;All files (*)"
    )
    if path:
        window.settings.remember_directory("model", path)
        window.load_model(path)


def open_image_dialog(window) -> None:
    paths, _ = QFileDialog.getOpenFileNames(
        window,
        "Open pictures or strokes",
        window.settings.directory("image"),
        "Pictures and strokes (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.json);;All files (*)",
    )
    if paths:
        window.settings.remember_directory("image", paths[0])
        window.open_files(paths)


def save_drawing_dialog(window) -> None:
    if window.canvas.is_empty() and not window.picture_shown:
        window.statusBar().showMessage("Nothing to save: the canvas is empty", 4000)
        return
    path, _ = QFileDialog.getSaveFileName(
        window,
        "Save the drawing",
        str(Path(window.settings.directory("save")) / "digit.png"),
        "PNG image (*.png);;Strokes as JSON (*.json)",
    )
    if path:
        window.settings.remember_directory("save", path)
        window.save_drawing(path)


def export_maps_dialog(window) -> None:
    path, _ = QFileDialog.getSaveFileName(
        window, "Export feature maps", str(Path(window.settings.directory("export")) / "feature-maps.png"), "PNG (*.png)"
    )
    if path:
        window.settings.remember_directory("export", path)
        window.export_maps(path)


def open_model_input_dialog(window) -> None:
    """What was detected about the active model and the user's corrections, saved to its card."""
    from .model_input_dialog import ModelInputDialog

    info = window.model_info
    if info is None:
        window.statusBar().showMessage("No model is loaded yet", 4000)
        return
    dialog = ModelInputDialog(info.path, len(info.class_names), info.input_note, info.output_note, window)
    dialog.setObjectName("model_input_dialog")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.card_saved.connect(lambda _card: window.load_model(info.path))  # read again, with the new card
    dialog.open()
