"""Running the runs: :func:`corridor.runner.run_many`'s executors, with resumable bookkeeping."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from corridor.ensemble.runs import RUN_LOCK, RunOutcome, _locked, execute_run
from corridor.errors import RunError, ScenarioError
from corridor.runner.executors import Executor, iter_many

if TYPE_CHECKING:
    from corridor.ensemble.runs import RunSpec
    from corridor.runner.progress import Progress


# --------------------------------------------------------------------------- execution
def _remove_temporary_files(specs: Sequence[RunSpec]) -> None:
    """Delete the temporary files that writers killed mid-write left in the runs' folders.

    Not those of a run whose lock a live process holds: it may be writing them now.
    """
    for spec in specs:
        folder = Path(spec.partition).parent
        stale = list(folder.glob(".part.parquet.*.tmp"))
        if not stale:
            continue
        with _locked(folder / RUN_LOCK, wait=False) as free:
            if free:
                for file in stale:
                    file.unlink(missing_ok=True)


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, RunError | ScenarioError):
        return str(exc)
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def _run(
    specs: Sequence[RunSpec], executor: Executor, progress: Progress, description: str, done: int
) -> tuple[list[RunOutcome], dict[int, BaseException]]:
    """Run ``specs`` on ``executor``: the outcomes, and the error of each run that failed.

    A run whose result could not be fetched (its Dask worker died after writing it, say)
    but whose partition is on disk is done: the partition is the truth.
    """
    outcomes: list[RunOutcome] = []
    failed: dict[int, BaseException] = {}
    for finished in iter_many(
        execute_run, specs, executor=executor, progress=progress, description=description, done=done
    ):
        spec = specs[finished.index]
        if finished.error is None:
            assert finished.value is not None
            outcomes.append(finished.value)
        elif not isinstance(finished.error, RunError | ScenarioError) and Path(spec.partition).exists():
            outcomes.append(RunOutcome(run=spec.run, computed=True))
        else:
            failed[spec.run] = finished.error
    return outcomes, failed
