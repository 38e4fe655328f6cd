"""Running the runs: a local process pool or a Dask cluster, with progress."""

from __future__ import annotations

import os
import traceback
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from corridor.errors import ScenarioError
from corridor.runner.workers import process_pool

if TYPE_CHECKING:
    from distributed import Client

if TYPE_CHECKING:
    from corridor.ensemble.runs import RunSpec
from corridor.ensemble.runs import RUN_LOCK, RunOutcome, _locked, execute_run
from corridor.errors import EnsembleError, RunError

#: Times a local process pool is rebuilt after a worker process died.
_POOL_RESTARTS = 2
#: Dask retries of a failed run (a worker dying is rescheduled on its own, without a retry).
_DASK_RETRIES = 2


# --------------------------------------------------------------------------- execution
def _progress(enabled: bool, description: str, total: int, done: int) -> tuple[Progress, Any]:
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=True,
    )
    task = bar.add_task(description, total=total, completed=done)
    return bar, task


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


def _run_local(
    specs: Sequence[RunSpec], workers: int, on_done: Any
) -> tuple[list[RunOutcome], dict[int, BaseException]]:
    """Run ``specs`` in a local process pool; rebuild the pool if a worker process dies.

    The workers die with this process (:func:`corridor.runner.workers.process_pool`).
    """
    outcomes: list[RunOutcome] = []
    failed: dict[int, BaseException] = {}
    todo = list(specs)
    restarts = 0
    while todo:
        broken: list[RunSpec] = []
        with process_pool(min(workers, len(todo)), preload=["corridor.ensemble"]) as pool:
            pending: dict[Future[RunOutcome], RunSpec] = {pool.submit(execute_run, s): s for s in todo}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        spec = pending.pop(fut)
                        exc = fut.exception()
                        if isinstance(exc, BrokenProcessPool):
                            broken.append(spec)
                        elif exc is not None:
                            failed[spec.run] = exc
                        else:
                            outcomes.append(fut.result())
                            on_done()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        todo = sorted(broken, key=lambda s: s.run)
        if todo:
            restarts += 1
            if restarts > _POOL_RESTARTS:
                for spec in todo:
                    failed[spec.run] = BrokenProcessPool("a worker process died (killed, or out of memory?)")
                break
    return outcomes, failed


def _connect(scheduler: str | Client) -> Client:
    """A Dask client of ``scheduler`` (an address, or a Client, returned as is)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency, but say what is missing
        raise EnsembleError("a scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    if not isinstance(scheduler, str):
        return scheduler
    try:
        # A time limit, so that a wrong address fails in seconds instead of waiting forever.
        return Client(scheduler, set_as_default=False, timeout=10)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise EnsembleError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None


def _run_dask(
    specs: Sequence[RunSpec], client: Client, on_done: Any
) -> tuple[list[RunOutcome], dict[int, BaseException]]:
    """Submit one task per run to a Dask cluster (``pure=False``, retried twice)."""
    from distributed import as_completed

    outcomes: list[RunOutcome] = []
    failed: dict[int, BaseException] = {}
    tries = dict.fromkeys((s.run for s in specs), 0)

    def submit(spec: RunSpec) -> Any:
        tries[spec.run] += 1
        key = f"corridor-run-{spec.run}-{os.urandom(4).hex()}"
        return client.submit(execute_run, spec, pure=False, retries=_DASK_RETRIES, key=key)

    futures = {submit(s): s for s in specs}
    queue = as_completed(list(futures))  # type: ignore[no-untyped-call]
    try:
        for fut in queue:
            spec = futures.pop(fut)
            try:
                outcome = fut.result()
            except RunError as exc:  # the run itself failed (and was retried by Dask)
                failed[spec.run] = exc
                continue
            except Exception as exc:
                # Not the run: its result could not be fetched (say, its worker died after
                # writing it). The partition on disk is the truth.
                if Path(spec.partition).exists():
                    outcome = RunOutcome(run=spec.run, computed=True)
                elif tries[spec.run] <= _DASK_RETRIES:
                    again = submit(spec)
                    futures[again] = spec
                    queue.add(again)  # type: ignore[no-untyped-call]
                    continue
                else:
                    failed[spec.run] = exc
                    continue
            outcomes.append(outcome)
            on_done()
    except BaseException:
        client.cancel(list(futures))  # type: ignore[no-untyped-call]
        raise
    return outcomes, failed
