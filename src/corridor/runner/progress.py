"""How the library reports progress: one small protocol, drawn by whoever calls it.

Every workflow that takes long (a run, an ensemble, a calibration, a forecast, a sensitivity
analysis, a validation, a comparison) takes a ``progress`` argument: an object with the three
methods of :class:`Progress`. The library calls them and draws nothing itself (it never
imports rich); the command line passes a renderer that draws a bar on stderr. The default,
:data:`NO_PROGRESS`, does nothing.

A task is reported as ``start(description, total, done)``, then ``advance(n)`` as its steps
(days of a run, runs of an ensemble, simulations of a calibration) finish, then ``finish()``.
A workflow of several tasks (a calibration, then its checks) calls ``start`` again for each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["NO_PROGRESS", "NoProgress", "Progress", "ProgressCallback", "as_progress"]


@runtime_checkable
class Progress(Protocol):
    """What the library tells about a long task (see the module doc)."""

    def start(self, description: str, total: int, done: int = 0) -> None:
        """A task begins: ``total`` steps in all, ``done`` of them already done (resumed)."""

    def advance(self, n: int = 1) -> None:
        """``n`` more steps of the current task are done."""

    def finish(self) -> None:
        """The current task ended (finished, failed or interrupted)."""


class NoProgress:
    """A :class:`Progress` that reports nowhere (the default)."""

    def start(self, description: str, total: int, done: int = 0) -> None:
        """Nothing."""

    def advance(self, n: int = 1) -> None:
        """Nothing."""

    def finish(self) -> None:
        """Nothing."""


#: The :class:`Progress` of a caller who asks for none.
NO_PROGRESS: Progress = NoProgress()


class ProgressCallback:
    """A :class:`Progress` that calls ``callback(done, total)`` after every step.

    The form of the older ``on_evaluation`` callbacks (``run_sensitivity``).
    """

    def __init__(self, callback: Callable[[int, int], None]) -> None:
        self._callback = callback
        self._done = 0
        self._total = 0

    def start(self, description: str, total: int, done: int = 0) -> None:
        """Remember the task's size."""
        self._done, self._total = done, total

    def advance(self, n: int = 1) -> None:
        """Count ``n`` steps and call back."""
        self._done += n
        self._callback(self._done, self._total)

    def finish(self) -> None:
        """Nothing."""


def as_progress(progress: Progress | bool | None) -> Progress:
    """``progress`` itself, or :data:`NO_PROGRESS` for None and for a bool.

    A bool is what ``run_ensemble(progress=...)`` took before the protocol: the library no
    longer draws bars, so ``True`` and ``False`` both mean none (pass a renderer to see one).
    """
    if progress is None or isinstance(progress, bool):
        return NO_PROGRESS
    return progress
