"""Running simulations: one run (:func:`simulate`, :func:`write_run`) and the worker guard.

Every workflow that runs the engine goes through this package: a single run here, many runs
through the executors (serial, local processes or a Dask cluster) of this package.
"""

from __future__ import annotations

from corridor.runner.single import DEFAULT_AGENTS, RUN_OUTPUTS, choose_scale, simulate, write_run

__all__ = ["DEFAULT_AGENTS", "RUN_OUTPUTS", "choose_scale", "simulate", "write_run"]
