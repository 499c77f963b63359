"""The feature-map panel on its own (no model): values become the colours drawn, gaps stay see-through,
and each layer's largest value is written after its title."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor

from gui.feature_maps import FeatureMapPanel, MapCell
from gui.panels import colormap
from model.nets.inference import LayerInfo


@pytest.fixture
def panel(qtbot):
    p = FeatureMapPanel()
    qtbot.addWidget(p)
    p.resize(600, 500)
    p.show()
    p.set_layers([LayerInfo("conv1", "Conv2D", (4, 4, 3), 30), LayerInfo("dense", "Dense", (5,), 20)])
    return p


def _pixel(panel, layer: str, channel: int, row: int, col: int) -> QColor:
    item = panel._items[layer]
    item.render()
    rect = item.cell_rect(MapCell(layer, channel, row, col))
    return QColor.fromRgba(item.qimage.pixel(int(rect.x()), int(rect.y())))


def test_each_cell_is_drawn_in_the_colormap_colour_of_its_share_of_the_layer_maximum(panel):
    maps = np.zeros((4, 4, 3), np.float32)
    maps[1, 2, 0] = 2.0  # the layer's maximum: the top of the colormap
    maps[3, 0, 2] = 1.0  # half of it
    panel.set_activations({"conv1": maps, "dense": np.arange(5, dtype=np.float32)})
    cmap = colormap()
    for (channel, row, col), share in (((0, 1, 2), 1.0), ((2, 3, 0), 0.5), ((1, 0, 0), 0.0)):
        want = cmap.map([share], mode="qcolor")[0]
        got = _pixel(panel, "conv1", channel, row, col)
        assert got.alpha() == 255
        assert max(abs(got.red() - want.red()), abs(got.green() - want.green()), abs(got.blue() - want.blue())) <= 3


def test_the_gaps_between_maps_are_see_through(panel):
    panel.set_activations({"conv1": np.ones((4, 4, 3), np.float32)})
    item = panel._items["conv1"]
    item.render()
    gap_x = 4  # the column between the first and the second map
    assert QColor.fromRgba(item.qimage.pixel(gap_x, 0)).alpha() == 0
    assert np.isnan(item.image[:, gap_x]).all()  # the image holds the values, NaN between maps


def test_the_largest_value_is_written_after_each_title_once_there_is_a_drawing(panel):
    assert panel.peak_text("conv1") == ""  # before a drawing: nothing to measure
    maps = np.zeros((4, 4, 3), np.float32)
    maps[0, 0, 1] = 3.25
    panel.set_activations({"conv1": maps, "dense": np.array([0.5, -1.5, 0, 0, 0], np.float32)})
    assert panel.peak_text("conv1") == " · max 3.25"
    assert panel.peak_text("dense") == " · max 1.50"
    assert "conv1" in panel._titles["conv1"].text and "max" not in panel._titles["conv1"].text
    # written in the title's colour and size, right after its text (not over it, not far from it)
    title, peak = panel._titles["conv1"], panel._peaks["conv1"]
    assert peak.brush().color() == pg.mkColor(title.opts["color"])
    text_right = title.item.document().idealWidth() - title.item.document().documentMargin()
    assert peak.pos().x() == pytest.approx(text_right) and peak.font().pointSizeF() <= 9
    panel.set_activations({})
    assert panel.peak_text("conv1") == ""
