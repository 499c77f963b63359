"""Latest request wins: which answers of a background worker are still worth showing.

The window sends the worker a new request on every pen move; the worker answers in its own time.
An answer is shown only if it belongs to the newest drawing: answers to requests issued before
the drawing was cleared or the model changed (:meth:`LatestRequest.invalidate`), and answers older
than one already shown, are stale and dropped. Qt-free, so the rule has plain unit tests.
"""

from __future__ import annotations


class LatestRequest:
    """Hands out increasing request ids and accepts only answers that are still current.

    >>> tracker = LatestRequest()
    >>> a, b = tracker.issue(), tracker.issue()
    >>> tracker.accept(b), tracker.accept(a)  # b shown; a is older than what is on screen
    (True, False)
    """

    def __init__(self) -> None:
        self._latest = 0  # the id handed out last (0: none yet)
        self._oldest_valid = 1  # answers to ids below this belong to a drawing that is gone
        self._shown = 0  # the id of the answer on screen (0: none)

    @property
    def latest(self) -> int:
        """The id of the newest request (0 before the first)."""
        return self._latest

    @property
    def shown(self) -> int:
        """The id of the answer on screen (0 when none is)."""
        return self._shown

    def issue(self) -> int:
        """A new request id, larger than every id handed out before."""
        self._latest += 1
        return self._latest

    def invalidate(self) -> None:
        """Everything asked so far is stale (the drawing was cleared, the model changed)."""
        self._oldest_valid = self._latest + 1

    def accept(self, request_id: int) -> bool:
        """Whether the answer to ``request_id`` should be shown; if so it becomes :attr:`shown`."""
        if request_id < self._oldest_valid or request_id <= self._shown or request_id > self._latest:
            return False
        self._shown = request_id
        return True

    @property
    def settled(self) -> bool:
        """True when no current request is waiting for its answer (the screen is up to date)."""
        return self._latest < self._oldest_valid or self._shown >= self._latest
