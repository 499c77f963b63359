"""The explanation panel fits a narrow dock: its maps and grids stack instead of scrolling sideways."""

from __future__ import annotations

from gui.learn.explain import NARROW_PX, ExplanationPanel


def test_maps_and_grids_stack_when_the_panel_is_narrow_and_stand_side_by_side_when_wide(qtbot):
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    # As after a click on a map cell (the rows are hidden until there is something to explain).
    panel.maps_row.show()
    panel.grids_row.show()

    panel.resize(NARROW_PX + 300, 900)
    qtbot.waitUntil(lambda: panel.previous_map.geometry().x() > panel.input_map.geometry().x())
    first, second = panel.input_map.geometry(), panel.previous_map.geometry()
    assert second.x() > first.x() and second.y() == first.y()  # side by side

    panel.resize(NARROW_PX - 200, 900)
    qtbot.waitUntil(lambda: panel.width() == NARROW_PX - 200)
    qtbot.waitUntil(lambda: panel.previous_map.geometry().y() > panel.input_map.geometry().y())
    first, second = panel.input_map.geometry(), panel.previous_map.geometry()
    assert second.x() == first.x()  # one above the other
    assert panel.window_grid.geometry().y() < panel.kernel_grid.geometry().y() < panel.products_grid.geometry().y()
