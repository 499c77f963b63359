"""The split that keeps start-up fast and the core testable: model/ is Qt-free and imports TF lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_qt():
    for path in (ROOT / "model").rglob("*.py"):
        bad = _imports(path, top_level_only=False) & {"PySide6", "pyqtgraph", "PyQt5", "PyQt6"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}; model/ must stay Qt-free"


def test_heavy_libraries_are_imported_lazily():
    for folder in ("model", "gui"):
        for path in (ROOT / folder).rglob("*.py"):
            bad = _imports(path, top_level_only=True) & {"tensorflow", "keras"}
            assert not bad, f"{path.relative_to(ROOT)} imports {bad} at module level; import it where it is used"


def test_only_the_worker_imports_keras_in_the_gui():
    """Keras runs on the worker thread only; the jobs that compute live in model/ (issue 12)."""
    for path in (ROOT / "gui").rglob("*.py"):
        if path.name == "worker.py" and path.parent.name == "gui":
            continue
        bad = _imports(path, top_level_only=False) & {"tensorflow", "keras"}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}; only gui/worker.py may (through model/)"


def test_preprocessing_does_not_load_tensorflow():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from model.data.preprocess import strokes_to_input\n"
        "strokes_to_input([np.array([[0, 0], [1, 1]])])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
