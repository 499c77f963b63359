"""The right-hand side of the window: every feature map, a zoom, and what the mouse is over.

At first the panel is the overview: every map of every layer fits the visible area, no scrolling.
The zoom buttons change the cell size in place (then the maps scroll, never clip, never squeeze
below ``MIN_CELL_PX`` per cell), so an enlarged map stays in the panel, next to the canvas and the
explanation rather than over them, and its cells are clicked and explained like any other;
zooming all the way out returns to the overview.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

from .feature_maps import MIN_CELL_PX, FeatureMapPanel

ZOOM_STEPS = (None, MIN_CELL_PX, 8, 11, 15, 20, 28, 40)  # pixels per cell; None: everything fits


class FeatureMapArea(QWidget):
    """A :class:`FeatureMapPanel` in a scroll area, with zoom buttons and a hover read-out."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.panel = FeatureMapPanel()
        title = QLabel("Feature maps — every layer, live. Click a map to see it large and how a cell is computed.")
        title.setWordWrap(True)
        self.zoom_out_button = QToolButton(text="−", objectName="zoom_out")
        self.zoom_in_button = QToolButton(text="+", objectName="zoom_in")
        self.zoom_out_button.setToolTip("Smaller maps, more per row; all the way out: every map at once")
        self.zoom_in_button.setToolTip("Enlarge the maps (their cells stay clickable)")
        self.zoom_out_button.clicked.connect(lambda: self.zoom(-1))
        self.zoom_in_button.clicked.connect(lambda: self.zoom(+1))
        self.zoom_label = QLabel(objectName="zoom_level")
        header = QHBoxLayout()
        header.addWidget(title, 1)
        header.addWidget(QLabel("Zoom"))
        header.addWidget(self.zoom_out_button)
        header.addWidget(self.zoom_label)
        header.addWidget(self.zoom_in_button)
        self.hover_label = QLabel(" ", objectName="map_hover")
        self.hover_label.setToolTip("The map cell under the mouse: layer, channel, row, column and value")
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Always on: a scroll bar that comes and goes would change the width, the reflow, the
        # height, and so the need for a scroll bar, over and over.
        # The overview fits the viewport and needs none (unless a model has more layers than lines of screen).
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setWidget(self.panel)
        self.scroll.viewport().installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addWidget(self.hover_label)
        layout.addWidget(self.scroll, 1)
        self.panel.hover_text.connect(self._on_hover_text)
        self._update_zoom_label()

    def zoom(self, steps: int) -> None:
        """Bigger (``steps > 0``) or smaller cells, one step of ``ZOOM_STEPS`` at a time."""
        px = self.panel.cell_px
        current = 0 if px is None else max((i for i, s in enumerate(ZOOM_STEPS) if s is not None and s <= px), default=1)
        index = min(max(current + steps, 0), len(ZOOM_STEPS) - 1)
        policy = Qt.ScrollBarPolicy.ScrollBarAsNeeded if ZOOM_STEPS[index] is None else Qt.ScrollBarPolicy.ScrollBarAlwaysOn
        self.scroll.setVerticalScrollBarPolicy(policy)
        self.panel.set_cell_size(ZOOM_STEPS[index])
        self._update_zoom_label()

    def _update_zoom_label(self) -> None:
        px = self.panel.cell_px
        self.zoom_label.setText("all" if px is None else f"{px} px")
        self.zoom_label.setToolTip("every map fits" if px is None else "pixels per map cell")
        self.zoom_out_button.setEnabled(px is not None)
        self.zoom_in_button.setEnabled(px is None or px < ZOOM_STEPS[-1])

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt override)
        # The viewport's own size, once the scroll area has laid it out: the maps reflow to it.
        if watched is self.scroll.viewport() and event.type() == QEvent.Type.Resize:
            self.panel.set_available_size(self.scroll.viewport().width(), self.scroll.viewport().height())
        return False

    @Slot(str)
    def _on_hover_text(self, text: str) -> None:
        self.hover_label.setText(text or " ")
