"""Evaluating the sampled points: one simulation each, in worker processes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from typing import Any

from corridor.report import outcome_totals
from corridor.runner.single import simulate
from corridor.runner.workers import process_pool

#: Agents per evaluation unless told otherwise: many runs, each small.
DEFAULT_AGENTS = 20_000
# --------------------------------------------------------------------------- evaluation


def _evaluate(task: tuple[str, dict[str, Any], int, int | None]) -> list[float]:
    """One model evaluation (in a worker process): the main outcomes of one run."""
    path, overrides, seed, agents = task
    return outcome_totals(simulate(path, seed=seed, agents=agents, overrides=overrides)).tolist()


def _evaluate_all(
    tasks: Sequence[tuple[str, dict[str, Any], int, int | None]],
    workers: int,
    on_evaluation: Callable[[int, int], None] | None,
) -> list[list[float]]:
    results: list[list[float] | None] = [None] * len(tasks)
    done = 0
    if workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            results[i] = _evaluate(task)
            done += 1
            if on_evaluation is not None:
                on_evaluation(done, len(tasks))
    else:
        with process_pool(min(workers, len(tasks)), preload=["corridor.sensitivity"]) as pool:
            futures: dict[Future[list[float]], int] = {
                pool.submit(_evaluate, task): i for i, task in enumerate(tasks)
            }
            try:
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    done += 1
                    if on_evaluation is not None:
                        on_evaluation(done, len(tasks))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return [r for r in results if r is not None]
