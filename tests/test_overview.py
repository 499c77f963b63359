"""The whole network at a glance: at first launch, with a digit drawn, every feature-map cell of the bundled
model is on screen without scrolling, each at least 1.5 device pixels, beside the answer.

Each screen is a fresh process on Qt's offscreen platform configured with that screen (as in
tests/test_window_layout.py), with empty settings: the window sizes itself as on a first launch.
Cells are counted as the panel draws them: pyqtgraph ImageItems, one cell per map value; a map
counts as on screen when all of it lies inside the visible part of the scroll area.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys, time
from gui.app import make_app
app = make_app()
from PySide6.QtCore import QPoint, QRect
from gui.feature_maps import LayerMosaic, MapCell
from gui.main_window import MainWindow
from model.data import read_strokes
from pathlib import Path

w = MainWindow()
w.show()
end = time.time() + 120
while w.model_info is None and time.time() < end:
    app.processEvents(); time.sleep(0.01)
strokes, _ = read_strokes(sorted(Path("tests/fixtures/strokes").glob("3_*.json"))[0])
w.canvas.set_strokes(strokes)
end = time.time() + 30
while (w.last_result is None or w.last_result.input is None) and time.time() < end:
    app.processEvents(); time.sleep(0.01)
for _ in range(30):
    app.processEvents(); time.sleep(0.01)

fm = w.feature_maps
scroll = w.maps_area.scroll
viewport = scroll.viewport()
visible = QRect(viewport.mapTo(w, QPoint(0, 0)), viewport.size()) & w.rect()
dpr = w.screen().devicePixelRatio()
total = sum(int(__import__("math").prod(info.shape)) for info in w.model_info.layers)
on_screen, sizes, items = 0, [], 0
for item in fm.items():
    if not isinstance(item, LayerMosaic):
        continue
    items += 1
    h, wd, shown = item.map_shape
    for ch in range(shown):
        top_left = item.cell_rect(MapCell(item.layer_name, ch, 0, 0))
        bottom_right = item.cell_rect(MapCell(item.layer_name, ch, h - 1, wd - 1))
        a = fm.mapFromScene(item.mapToScene(top_left.topLeft()))
        b = fm.mapFromScene(item.mapToScene(bottom_right.bottomRight()))
        a, b = fm.mapTo(w, a), fm.mapTo(w, b)
        if visible.adjusted(-1, -1, 1, 1).contains(a) and visible.adjusted(-1, -1, 1, 1).contains(b):
            on_screen += h * wd
            sizes.append((b.x() - a.x()) / wd * dpr)
from gui.map_items import OverviewLabel
head = next(i for i in fm.items() if isinstance(i, OverviewLabel) and "the answer" in i.item.toPlainText())
doc = head.item.document()
text_w, text_h = doc.idealWidth() - 2 * doc.documentMargin(), doc.size().height() - 2 * doc.documentMargin()
box = head.mapRectToScene(head.boundingRect())
top, bottom = fm.mapTo(w, fm.mapFromScene(box.topLeft())), fm.mapTo(w, fm.mapFromScene(box.bottomRight()))
answer_line = {
    "fits": text_w <= head.size().width() + 1 and text_h <= head.size().height() + 1,
    "visible": visible.adjusted(-1, -1, 1, 1).contains(top) and visible.adjusted(-1, -1, 1, 1).contains(bottom),
}
digit = w.prediction.digit_label
digit_rect = QRect(digit.mapTo(w, QPoint(0, 0)), digit.size())
print(json.dumps({
    "total": total,
    "on_screen": on_screen,
    "items": items,
    "min_device_px": min(sizes) if sizes else 0,
    "scrollable": scroll.verticalScrollBar().maximum(),
    "answer_visible": digit.isVisible() and w.rect().contains(digit_rect) and not digit_rect.intersects(visible),
    "answer": digit.text(),
    "window": [w.width(), w.height()],
    "answer_line": answer_line,
}))
w.shutdown()
"""


def probe(tmp_path: Path, width: int, height: int, dpr: float) -> dict:
    config = tmp_path / "screen.json"
    screen = {"name": "probe", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}
    config.write_text(json.dumps({"screens": [{**screen, "logicalBaseDpi": 96, "dpr": dpr}]}))
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("width", "height", "dpr"), [(1024, 768, 1.0), (1366, 768, 1.0), (2560, 1600, 2.0)])
def test_every_feature_map_cell_is_on_screen_at_first_launch(tmp_path, width, height, dpr):
    seen = probe(tmp_path, width, height, dpr)
    assert seen["total"] == 59840, seen  # the bundled model's seven map layers
    assert seen["items"] == 7, seen  # one image item per layer
    assert seen["on_screen"] / seen["total"] >= 0.95, seen
    assert seen["min_device_px"] >= 1.5 - 1e-6, seen
    assert seen["scrollable"] == 0, seen  # nothing below the fold
    assert seen["answer_visible"] and seen["answer"] == "3", seen
    # the last line, from the last maps to "the answer (left: click it)", is all there, wrapped if need be
    assert seen["answer_line"] == {"fits": True, "visible": True}, seen


def test_overview_layout_fits_everything_or_the_most_of_every_layer():
    from gui.feature_maps import overview_layout

    bundled = [(28, 28, 16), (28, 28, 32), (14, 14, 32), (14, 14, 32), (12, 12, 48), (6, 6, 48), (4, 4, 64)]
    cell, plans = overview_layout(bundled, 660, 640, 1.5)
    assert cell >= 1.5 and [p.shown for p in plans] == [c for _, _, c in bundled]
    heights = sum(((h + 1) * p.rows - 1) * cell + 19 for (h, _, _), p in zip(bundled, plans, strict=True))
    assert heights <= 640 + 1e-6
    for (_, w, _), p in zip(bundled, plans, strict=True):
        assert ((w + 1) * p.cols - 1) * cell <= 660 + 1e-6  # nothing past the right edge

    big = [(56, 56, 256), (28, 28, 512), (14, 14, 1024), (7, 7, 2048)]  # a ResNet-sized model
    cell, plans = overview_layout(big, 660, 640, 1.5)
    assert cell == 1.5
    assert all(1 <= p.shown < c for (_, _, c), p in zip(big, plans, strict=True))  # every layer present, none whole
    shares = np.array([p.shown / c for (_, _, c), p in zip(big, plans, strict=True)])
    heights = sum(((h + 1) * p.rows - 1) * cell + 19 for (h, _, _), p in zip(big, plans, strict=True))
    assert heights <= 640 + 1e-6 and shares.min() > 0


# --- in the window: a map opens large, a cell there is explained, "+N more" opens the rest ----------


@pytest.fixture
def window(qtbot, stroke_fixtures):
    from gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1366, 740)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.model_info is not None, timeout=60000)
    w.canvas.set_strokes(next(s for _, s, lab in stroke_fixtures if lab == 3))
    qtbot.waitUntil(lambda: w.last_result is not None and w.last_result.input is not None, timeout=20000)
    yield w
    w.close()


def global_rect(widget):
    from PySide6.QtCore import QPoint, QRect

    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())


def test_a_clicked_map_opens_large_beside_the_overview_and_its_cells_are_explained(qtbot, window):
    from PySide6.QtCore import Qt

    from gui.feature_maps import MapCell

    w, fm = window, window.feature_maps
    layer = w.model_info.layers[1].name
    qtbot.mouseClick(fm.viewport(), Qt.MouseButton.LeftButton, pos=fm.map_centre(layer, 4, 10, 10).toPoint())
    detail = w.teaching.detail
    qtbot.waitUntil(detail.isVisible, timeout=5000)
    qtbot.wait(100)
    assert detail.cell_size_on_screen() >= 8 - 1e-6
    assert detail.image.channels == [4] and detail.layer == layer
    # Beside, not over: the canvas, the answer and the overview stay uncovered.
    for widget in (w.canvas, w.prediction, w.maps_area.scroll.viewport()):
        assert not global_rect(detail).intersects(global_rect(widget)), widget
    # Every map still on screen with the dock open.
    for info in w.model_info.layers:
        assert fm.plans[info.name].shown == info.shape[-1]
        assert fm.cell_size_on_screen(info.name) >= 1.5 - 1e-6
    # A cell of the large map: explained, as a click in the overview is.
    cell = MapCell(layer, 4, 7, 12)
    qtbot.mouseClick(detail.graphics.viewport(), Qt.MouseButton.LeftButton, pos=detail.cell_centre(cell))
    assert w.teaching.target == (layer, 4, 7, 12)
    assert fm.selected == cell
    qtbot.mouseMove(detail.graphics.viewport(), detail.cell_centre(MapCell(layer, 4, 3, 5)))
    qtbot.waitUntil(lambda: "row 3, col 5" in detail.hover_label.text(), timeout=3000)
    assert f"{float(w.last_result.activations[layer][3, 5, 4]):.4f}" in detail.hover_label.text()


def test_a_layer_too_big_for_the_panel_says_how_many_more_and_opens_them(qtbot, window):
    from PySide6.QtCore import Qt

    w, fm = window, window.feature_maps
    fm.set_available_size(400, 300)  # a panel far too small for every map
    truncated = [info for info in w.model_info.layers if fm.plans[info.name].shown < info.shape[-1]]
    assert truncated and all(fm.plans[info.name].shown >= 1 for info in w.model_info.layers)
    info = truncated[0]
    title = fm._titles[info.name]
    more = info.shape[-1] - fm.plans[info.name].shown
    assert f"+{more} more" in title.text
    pos = fm.mapFromScene(title.mapToScene(title.boundingRect().center()))
    qtbot.mouseClick(fm.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    detail = w.teaching.detail
    qtbot.waitUntil(detail.isVisible, timeout=5000)
    assert detail.layer == info.name and detail.image.channels == list(range(info.shape[-1]))
