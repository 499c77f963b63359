"""Screenshots of every Learn view on a given screen size, with the bundled model and a pen-drawn 3.

    uv run python docs/screenshots/make_learn_screenshots.py --screen 1366x768 [--out docs/screenshots]

Runs offscreen on a virtual screen of that size (Qt's offscreen platform with a screen config), so
each window opens as it would on first launch there (sized by ``fit_to_screen``). The model's answers
come from the same jobs the app's worker runs (``model.teaching``), called directly here.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screen", default="1366x768", help="WIDTHxHEIGHT of the virtual screen")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--sample", default="3", help="digit of resources/samples/*.json to draw")
    args = parser.parse_args()
    width, height = (int(v) for v in args.screen.split("x"))
    config = Path(tempfile.mkdtemp()) / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "s", "x": 0, "y": 0, "width": width, "height": height}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import numpy as np
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from gui.learn.architecture import ArchitectureDialog
    from gui.learn.explain import ExplanationPanel
    from gui.learn.filters import FiltersDialog
    from gui.learn.playground import PlaygroundWindow
    from gui.learn.saliency import SaliencyDialog
    from model.data.preprocess import strokes_to_input
    from model.data.readers import read_strokes
    from model.nets.inference import Predictor
    from model.teaching.explain import ConvBreakdown
    from model.teaching.jobs import architecture_job, explain_job, kernels_job, saliency_job

    sample = ROOT / "resources" / "samples" / f"{args.sample}.json"
    image = strokes_to_input(read_strokes(sample)[0]).reshape(28, 28).astype(np.float32)
    predictor = Predictor()
    activations = predictor.predict(image).activations
    args.out.mkdir(parents=True, exist_ok=True)
    tag = args.screen

    def save(widget, name: str) -> None:
        widget.show()
        for _ in range(5):
            app.processEvents()
        path = args.out / f"learn_{name}_{tag}.png"
        widget.grab().save(str(path))
        print(path, widget.width(), "x", widget.height())

    convs = [name for name, a in activations.items() if a.ndim == 3]
    for layer in (convs[0], convs[1], next(n for n in activations if n.startswith("pool"))):
        a = activations[layer]
        r, c, ch = np.unravel_index(int(np.argmax(a)), a.shape)
        result = explain_job(layer, int(ch), int(r), int(c), image, float(a[r, c, ch]))(predictor)
        panel = ExplanationPanel()
        panel.resize(min(520, width // 2), height - 60)
        show = panel.show_conv if isinstance(result.breakdown, ConvBreakdown) else panel.show_pool
        show(result.breakdown, result.image, result.model_value)
        save(panel, f"explain_{layer}")

    playground = PlaygroundWindow()
    save(playground, "playground_lesson")
    playground.step()
    save(playground, "playground_step")
    playground.set_input(image)
    playground.go_to_step(26 * 12 + 12)
    save(playground, "playground_drawing")

    kernels = kernels_job(predictor)
    filters = FiltersDialog()
    filters.set_kernels(kernels)
    save(filters, "filters")

    arch = ArchitectureDialog()
    arch.set_architecture(architecture_job(predictor))
    save(arch, "architecture")

    sal = SaliencyDialog()
    sal.show_maps(saliency_job(image, int(np.argmax(predictor.predict(image).probabilities)))(predictor))
    save(sal, "saliency")


if __name__ == "__main__":
    main()
