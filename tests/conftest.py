from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The app's QSettings (window geometry, last folders) must not leak between runs or into ~.
import tempfile  # noqa: E402

os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="digit-recognizer-test-config-")
# Nor the user's handwriting and models: each test process (one per pytest-xdist worker) has its own.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="digit-recognizer-test-data-")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def mnist_folder(tmp_path) -> Path:
    """A folder with MNIST's four IDX files (gzipped), each holding the fixture digits: enough to train on."""
    import gzip
    import struct

    import numpy as np

    from model.data.readers import load_mnist_test

    x, y = load_mnist_test(FIXTURES / "mnist")
    data = tmp_path / "mnist"
    data.mkdir()
    for stem, array, magic in (
        ("train-images-idx3-ubyte", x, 2051),
        ("train-labels-idx1-ubyte", y, 2049),
        ("t10k-images-idx3-ubyte", x, 2051),
        ("t10k-labels-idx1-ubyte", y, 2049),
    ):
        header = struct.pack(">II", magic, len(array)) + b"".join(struct.pack(">I", d) for d in array.shape[1:])
        with gzip.open(data / f"{stem}.gz", "wb") as f:
            f.write(header + array.astype(np.uint8).tobytes())
    return data


@pytest.fixture(scope="session")
def predictor():
    """The bundled model, loaded once for the whole run."""
    from model.nets.inference import Predictor

    return Predictor()


@pytest.fixture(scope="session")
def stroke_fixtures():
    """``[(path, strokes, label)]`` for the pen-drawn fixture digits (pendigits writers 25-30)."""
    from model.data.readers import read_strokes

    out = []
    for path in sorted((FIXTURES / "strokes").glob("*.json")):
        strokes, label = read_strokes(path)
        out.append((path, strokes, label))
    return out


@pytest.fixture(scope="session", autouse=True)
def _first_run_tour_already_seen():
    """The first-run tour floats over the maps; tests of other things start as a returning user.

    The tour's own tests remove the key to see it as a new user would.
    """
    from PySide6.QtCore import QSettings

    from gui.hints import DONE_KEY
    from model.data.paths import APPLICATION, ORGANIZATION

    QSettings(ORGANIZATION, APPLICATION).setValue(DONE_KEY, True)


class EventLoopGaps:
    """Times between ticks of a 5 ms timer on the GUI thread: a long gap is a frozen window.

    ``with EventLoopGaps() as gaps: ...`` then ``gaps.longest`` (seconds) and ``len(gaps)`` ticks.
    """

    def __enter__(self) -> EventLoopGaps:
        import time

        from PySide6.QtCore import QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()

        def tick() -> None:
            now = time.perf_counter()
            self.gaps.append(now - self._last)
            self._last = now

        self._timer = QTimer()
        self._timer.timeout.connect(tick)
        self._timer.start(5)
        return self

    def __exit__(self, *exc) -> None:
        self._timer.stop()

    def __len__(self) -> int:
        return len(self.gaps)

    @property
    def longest(self) -> float:
        return max(self.gaps, default=0.0)
