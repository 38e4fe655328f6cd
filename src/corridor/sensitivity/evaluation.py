"""Evaluating the sampled points: one simulation each, in worker processes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corridor.report import outcome_totals
from corridor.runner.executors import Executor, run_many
from corridor.runner.progress import Progress
from corridor.runner.single import simulate

#: Agents per evaluation unless told otherwise: many runs, each small.
DEFAULT_AGENTS = 20_000
# --------------------------------------------------------------------------- evaluation


def _evaluate(task: tuple[str, dict[str, Any], int, int | None]) -> list[float]:
    """One model evaluation (in a worker process): the main outcomes of one run."""
    path, overrides, seed, agents = task
    return outcome_totals(simulate(path, seed=seed, agents=agents, overrides=overrides)).tolist()


def _evaluate_all(
    tasks: Sequence[tuple[str, dict[str, Any], int, int | None]],
    executor: Executor,
    progress: Progress | None,
) -> list[list[float]]:
    """Every evaluation on ``executor``, in the order of the tasks."""
    return run_many(_evaluate, tasks, executor=executor, progress=progress, description="sensitivity")
