"""First launch fits the screen: 1024x768, 1366x768 and a 2560x1600 screen at 2x scale.

Each screen is a fresh process on Qt's offscreen platform configured with that screen (a JSON
config the offscreen plugin reads), with empty settings, as on a first launch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, sys
from gui.app import make_app
app = make_app()
from gui.main_window import MainWindow
w = MainWindow()
w.show()
for _ in range(20):
    app.processEvents()
screen = w.screen()
area = screen.availableGeometry()
frame = w.frameGeometry()
hint = w.minimumSizeHint()
view = w.input_view
scroll = w.maps_area.scroll
print(json.dumps({
    "area": [area.x(), area.y(), area.width(), area.height()],
    "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
    "minimum": [max(hint.width(), w.minimumWidth()), max(hint.height(), w.minimumHeight())],
    "dpr": screen.devicePixelRatio(),
    "input_view": [view.width(), view.height()],
    "maps_fit": w.feature_maps.width() <= scroll.viewport().width(),  # at the default zoom: no sideways scroll
}))
w.shutdown()
"""


def probe(tmp_path: Path, width: int, height: int, dpr: float) -> dict:
    config = tmp_path / "screen.json"
    config.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "probe",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": dpr,
                    }
                ]
            }
        )
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("width", "height", "dpr"), [(1024, 768, 1.0), (1366, 768, 1.0), (2560, 1600, 2.0)])
def test_first_launch_fits_the_screen(tmp_path, width, height, dpr):
    seen = probe(tmp_path, width, height, dpr)
    ax, ay, aw, ah = seen["area"]
    fx, fy, fw, fh = seen["frame"]
    assert fx >= ax and fy >= ay and fx + fw <= ax + aw and fy + fh <= ay + ah, seen
    mw, mh = seen["minimum"]
    assert mw <= aw and mh <= ah, f"the window cannot be made small enough for this screen: {seen}"
    vw, vh = seen["input_view"]
    assert abs(vw - vh) <= 1, f"the 28x28 preview is not square: {seen}"
    assert seen["maps_fit"], seen
