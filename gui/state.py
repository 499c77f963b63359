"""The application's shared state: what every view may read, and the signals that say it changed.

Views (the Learn controller and its windows, the handwriting feature, menus) get this object and
talk to it, never to each other's or the main window's attributes (the MNELAB pattern: one
explicit model object passed to the views):

* ``worker``: the one inference worker (``gui/worker.py``); every model computation is a request
  or a job on it, so there is one queue where the latest request wins;
* ``model_info``: the model in use (``None`` while the first one loads), announced by
  ``model_changed``;
* ``last_result``: the answer on screen (``None``: none), announced by ``result_shown`` (its
  request id) once the panels show it;
* ``label_requested``: a view asked to store the drawing under one of the model's outputs.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class AppState(QObject):
    model_changed = Signal(object)  # the ModelInfo now in use
    result_shown = Signal(int)  # request id, after the panels were updated (views read ``last_result``)
    label_requested = Signal(int)  # an output index whose class the drawing should be stored under

    def __init__(self, worker, parent=None):
        super().__init__(parent)
        self.setObjectName("app_state")
        self.worker = worker
        self._model_info = None
        self.last_result = None

    @property
    def model_info(self):
        return self._model_info

    @model_info.setter
    def model_info(self, info) -> None:
        self._model_info = info
        if info is not None:
            self.model_changed.emit(info)
