from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The app's QSettings (window geometry, last folders) must not leak between runs or into ~.
import tempfile  # noqa: E402

os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="digit-recognizer-test-config-")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def predictor():
    """The bundled model, loaded once for the whole run."""
    from model.inference import Predictor

    return Predictor()


@pytest.fixture(scope="session")
def stroke_fixtures():
    """``[(path, strokes, label)]`` for the pen-drawn fixture digits (pendigits writers 25-30)."""
    from model.data import read_strokes

    out = []
    for path in sorted((FIXTURES / "strokes").glob("*.json")):
        strokes, label = read_strokes(path)
        out.append((path, strokes, label))
    return out
