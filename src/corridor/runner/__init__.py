"""Running simulations: one run (:func:`simulate`, :func:`write_run`), many runs
(:func:`run_many` on an :class:`Executor`), progress (:class:`Progress`) and the worker guard.

Every workflow that runs the engine goes through this package: a single run here, many runs
through the executors (serial, local processes or a Dask cluster) of
:mod:`corridor.runner.executors`, progress through the protocol of
:mod:`corridor.runner.progress`.
"""

from __future__ import annotations

from corridor.runner.executors import (
    DaskExecutor,
    Executor,
    Finished,
    ProcessExecutor,
    SerialExecutor,
    iter_many,
    make_executor,
    run_many,
)
from corridor.runner.progress import NO_PROGRESS, Progress
from corridor.runner.single import DEFAULT_AGENTS, RUN_OUTPUTS, choose_scale, simulate, write_run

__all__ = [
    "DEFAULT_AGENTS",
    "NO_PROGRESS",
    "RUN_OUTPUTS",
    "DaskExecutor",
    "Executor",
    "Finished",
    "ProcessExecutor",
    "Progress",
    "SerialExecutor",
    "choose_scale",
    "iter_many",
    "make_executor",
    "run_many",
    "simulate",
    "write_run",
]
