"""The split that keeps start-up fast and the core testable: model/ is Qt-free and imports TF lazily."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """Top-level package names ``path`` imports: import statements, and (anywhere in the file)
    ``importlib.import_module("x")`` / ``__import__("x")`` with a literal name."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    if not top_level_only:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                    or (isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module"))
                )
            ):
                names.add(node.args[0].value.split(".")[0])
    return names


def _model_modules(path: Path) -> set[str]:
    """The project modules ``path`` imports (``model.nets.inference``, ...), wherever in the file, relative ones resolved."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1]  # the package a relative import starts from (an __init__'s own package)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                targets = [".".join(base + ([node.module] if node.module else []))]
                if not node.module:
                    targets = [".".join([*base, a.name]) for a in node.names]
            else:
                targets = [node.module or ""]
            out.update(m for m in targets if m.startswith("model"))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("model"))
    return out


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
    """Keras runs on the worker thread only; the jobs that compute live in model/."""
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


def test_the_rule_checker_sees_every_way_of_importing(tmp_path):
    """The checks above are only as good as ``_imports``: each spelling of a Keras import is caught."""
    for code in (
        "import keras",
        "from keras import layers",
        "import tensorflow as tf",
        "from tensorflow.keras import layers",
        "def f():\n    import keras.ops",
        "import importlib\ndef f():\n    return importlib.import_module('keras')",
        "from importlib import import_module\ndef f():\n    return import_module('tensorflow.keras')",
        "def f():\n    return __import__('keras')",
    ):
        path = tmp_path / "probe.py"
        path.write_text(code + "\n")
        assert _imports(path, top_level_only=False) & {"tensorflow", "keras"}, code


def test_one_inference_queue_in_the_window():
    """Models run on the one latest-wins worker (gui/worker.py): no other GUI module keeps a request queue
    (a QWaitCondition) or builds its own Predictor."""
    for path in (ROOT / "gui").rglob("*.py"):
        if path.name in ("worker.py", "self_test.py") and path.parent.name == "gui":
            continue  # the self-test checks the installation, with no window running
        text = path.read_text()
        assert "QWaitCondition" not in text, f"{path.relative_to(ROOT)} keeps a second request queue; use gui/worker.py's jobs"
        assert "Predictor(" not in text, f"{path.relative_to(ROOT)} builds a Predictor; models load on gui/worker.py"


def test_the_core_has_no_import_circle():
    """Rooms depend on each other in one direction at a time: no module of model/ imports itself back."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "model").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = {m for m in _model_modules(path) if m != name}

    def resolve(m: str) -> str | None:
        while m and m not in graph:
            m = m.rpartition(".")[0]
        return m or None

    edges = {
        n: {r for m in deps if (r := resolve(m)) and r != n and not n.startswith(r + ".") and r != "model"}
        for n, deps in graph.items()
    }
    state: dict[str, int] = {}

    def visit(n: str, trail: list[str]) -> None:
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                raise AssertionError("import circle: " + " -> ".join([*trail, n, m]))
            if not state.get(m):
                visit(m, [*trail, n])
        state[n] = 2

    for n in sorted(edges):
        if not state.get(n):
            visit(n, [])


def test_every_import_of_the_project_names_a_module_that_exists():
    """A module moved to its room and imported by its old relative name fails only when that line runs;
    catch it here. Code in model/ and gui/ uses the rooms; tests and benches may also use the old
    paths that model/__init__.py keeps as aliases."""
    from model import _MOVED

    def exists(module: str) -> bool:
        path = ROOT.joinpath(*module.split("."))
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()

    bad = []
    for folder in ("model", "gui", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            package = parts[:-1]
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ImportFrom):
                    continue
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                head, _, rest = module.partition(".")
                if head not in ("model", "gui") or exists(module):
                    continue
                if folder in ("tests", "bench") and head == "model" and rest.split(".")[0] in _MOVED:
                    continue
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    assert not bad, "imports of modules that do not exist:\n" + "\n".join(bad)
