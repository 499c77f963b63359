"""The teaching ("Learn") views: the explanation dock, the playground, filters, architecture, saliency.

One view per module; ``controller.install_teaching(window)`` wires them into the main window and
routes their questions to the inference worker as jobs from ``model/teaching.py``.
"""

from .controller import Teaching, install_teaching

__all__ = ["Teaching", "install_teaching"]
