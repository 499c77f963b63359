"""Teach it your handwriting: label while drawing, see your stored digits, fine-tune, compare, switch models.

``attach(window)`` adds the whole feature to a main window through its shared state
(``window.state``: the worker, the model in use, label requests) and its public surface
(``window.canvas``, ``window.load_model``, ``window.menuBar()``, ``window.statusBar()``):

* typing a digit (0-9) while the canvas has focus stores the drawing with that label (an event
  filter on the canvas; so does Shift+clicking a digit's bar when the prediction panel offers
  ``label_requested``), and a counter in the status bar shows how many of each digit are stored;
* a **Handwriting** menu: *My handwriting…* (thumbnails grouped by digit, delete, relabel,
  import/export, the current model's accuracy on them), *Fine-tune on my digits…* (progress,
  Cancel, before/after), *Use my personal model* (checkable, remembered across starts in
  QSettings) and *Compare models* (both models' probabilities for the current drawing).

One module per part: ``controller.py`` (labelling, menu, model choice), ``view.py`` (My
handwriting), ``tune_dialog.py``, ``compare.py``, ``number_labels.py``, ``runner.py`` (its jobs
on the window's worker and the tuning thread).
"""

from .controller import DIGIT_KEYS, PERSONAL_NAME, USE_PERSONAL_KEY, HandwritingController, attach

__all__ = ["DIGIT_KEYS", "PERSONAL_NAME", "USE_PERSONAL_KEY", "HandwritingController", "attach"]
