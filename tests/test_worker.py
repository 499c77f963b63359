"""The one inference worker (gui/worker.py): latest request wins, the newest answer is always sent,
answers overtaken by a newer drawing are thinned to a frame rate, and others can see someone is drawing."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.worker import LIVE_SECONDS, MIN_FRAME_SECONDS, InferenceWorker, Request


class SlowPredictor:
    """Answers any input after ``seconds`` (a network on a busy machine), without TensorFlow."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def predict(self, x):
        time.sleep(self.seconds)
        return SimpleNamespace(probabilities=np.full(10, 0.1, np.float32), activations={}, dense_activations={}, verdict=None)


@pytest.fixture
def worker(qtbot):
    w = InferenceWorker()
    w._pending_model = None  # no model to load: the stand-in answers
    w._predictor = SlowPredictor(0.01)
    sent: list[tuple[int, float]] = []
    lock = threading.Lock()

    def record(result):  # on the worker thread, as it sends
        with lock:
            sent.append((result.id, time.perf_counter()))

    w.prediction_ready.connect(record, Qt.ConnectionType.DirectConnection)
    w.sent = sent
    w.start()
    yield w
    w.stop()


def _drawing(i: int) -> Request:
    return Request(i, ready=np.full((28, 28), (i % 10) / 10, np.float32))


def test_while_requests_pour_in_the_newest_is_always_answered_and_overtaken_ones_are_thinned(qtbot, worker):
    for i in range(1, 151):  # a pen moving at 500 events a second for 0.3 s, each answer taking 10 ms
        worker.submit(_drawing(i))
        time.sleep(0.002)
    qtbot.waitUntil(lambda: worker.sent and worker.sent[-1][0] == 150, timeout=5000)
    ids = [i for i, _ in worker.sent]
    assert ids == sorted(ids) and len(ids) < 150
    times = [t for _, t in worker.sent]
    # Every answer sent while a newer drawing waited came at least a frame after the one before it.
    assert all(b - a >= MIN_FRAME_SECONDS for a, b in zip(times[:-2], times[1:-1]))


def test_a_lone_request_is_answered_at_once_even_right_after_another(qtbot, worker):
    worker.submit(_drawing(1))
    qtbot.waitUntil(lambda: len(worker.sent) == 1, timeout=5000)
    worker.submit(_drawing(2))  # nothing newer waits: not held back by the frame rate
    qtbot.waitUntil(lambda: len(worker.sent) == 2, timeout=5000)
    assert [i for i, _ in worker.sent] == [1, 2]


def test_answering_says_someone_draws_until_the_pen_has_been_still_a_moment(qtbot, worker):
    assert not worker.answering()
    worker.submit(_drawing(1))
    assert worker.answering()
    qtbot.waitUntil(lambda: len(worker.sent) == 1, timeout=5000)
    qtbot.waitUntil(lambda: not worker.answering(), timeout=int(LIVE_SECONDS * 1000) + 2000)
