"""Many runs: one seam (:class:`Executor`) for where they go, and :func:`run_many`.

Every workflow that runs the engine more than once (compare, validate, calibrate's checks,
forecast, sensitivity, ensemble) hands its runs to :func:`run_many` (or :func:`iter_many`,
which yields them as they finish), with an executor:

- :class:`SerialExecutor`: one after the other, in this process;
- :class:`ProcessExecutor`: local worker processes (``forkserver``), each guarded by
  :func:`corridor.runner.workers.die_with_parent`; the pool is rebuilt a few times
  (:data:`POOL_RESTARTS`) if a worker process dies (killed, out of memory), and the runs it
  held are submitted again;
- :class:`DaskExecutor`: the workers of a Dask cluster (an address, or a connected
  ``distributed.Client``), with retries (:data:`DASK_RETRIES`).

Results never depend on the executor or the number of workers: a run's inputs (seed
included) are in its item, and :func:`run_many` gives the results back in the order of the
items. An exception in a run comes home as :class:`corridor.errors.RunError` (its ``.details``
hold the traceback in the worker); a :class:`corridor.errors.CorridorError` (an invalid
scenario, say) comes home unchanged.

This is the one module of corridor that sets up pools of worker processes and Dask clients,
pyabc's samplers included (:func:`abc_sampler`).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from corridor.errors import CorridorError, RunError, WorkflowError
from corridor.runner.progress import Progress, as_progress
from corridor.runner.workers import die_with_parent, pool_context

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "CONNECT_TIMEOUT",
    "DASK_RETRIES",
    "POOL_RESTARTS",
    "DaskExecutor",
    "Executor",
    "Finished",
    "ProcessExecutor",
    "SerialExecutor",
    "abc_sampler",
    "connect",
    "iter_many",
    "make_executor",
    "process_pool",
    "run_many",
]

T = TypeVar("T")
R = TypeVar("R")
_E = TypeVar("_E", bound="_Closing")

#: Times a local process pool is rebuilt after a worker process died.
POOL_RESTARTS = 2
#: Dask retries of a failed run (a worker dying is rescheduled by Dask, without a retry).
DASK_RETRIES = 2
#: Seconds to reach a Dask scheduler, so that a wrong address fails in seconds.
CONNECT_TIMEOUT = 10
#: What a run gets whose worker processes died more than :data:`POOL_RESTARTS` times.
WORKER_DIED = "a worker process died (killed, or out of memory?)"


@dataclass(frozen=True)
class Finished(Generic[R]):
    """One finished item: its index among the items, and its result or its error."""

    index: int
    value: R | None = None
    error: BaseException | None = None


class Executor(Protocol):
    """Where runs go: applies a function to items and yields them as they finish."""

    @property
    def workers(self) -> int:
        """How many items run at once (at most)."""

    def map_unordered(self, work: Callable[[T], R], items: Sequence[T]) -> Iterator[Finished[R]]:
        """``work(item)`` for every item, as :class:`Finished` records in completion order.

        ``work`` is a top-level function (or a ``functools.partial`` of one) and the items
        are picklable, for the executors that send them to other processes. An error of a
        run is yielded, not raised (see :func:`_as_error`).
        """


# --------------------------------------------------------------------------- errors
def _as_error(exc: BaseException) -> BaseException:
    """A run's error as it is reported: a CorridorError as is, anything else as a RunError."""
    if isinstance(exc, CorridorError):
        return exc
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return RunError(f"{type(exc).__name__}: {exc}", details)


def _task(work: Callable[[T], R], item: T) -> R:
    """Run ``work(item)`` (in a worker); an error other than a CorridorError becomes a
    :class:`RunError` carrying the traceback, which pickles whatever the original was."""
    try:
        return work(item)
    except CorridorError:
        raise
    except Exception as exc:
        raise RunError(f"{type(exc).__name__}: {exc}", traceback.format_exc()) from None


def _module_of(work: Callable[..., Any]) -> str | None:
    func = getattr(work, "func", work)  # a functools.partial
    module = getattr(func, "__module__", None)
    return module if isinstance(module, str) and module.startswith("corridor") else None


# --------------------------------------------------------------------------- executors
class _Closing:
    """Executors are context managers: the block's end calls :meth:`close`."""

    def close(self) -> None:
        """Release what the executor holds (nothing, unless it says otherwise)."""

    def __enter__(self: _E) -> _E:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(_Closing):
    """Every item in this process, in order."""

    @property
    def workers(self) -> int:
        """One."""
        return 1

    def map_unordered(self, work: Callable[[T], R], items: Sequence[T]) -> Iterator[Finished[R]]:
        """``work(item)`` for each item in turn."""
        for i, item in enumerate(items):
            try:
                value = _task(work, item)
            except CorridorError as exc:
                yield Finished(i, error=exc)
                continue
            yield Finished(i, value)


def process_pool(max_workers: int, *, preload: Sequence[str] = ()) -> ProcessPoolExecutor:
    """A local process pool whose workers die with this process.

    ``forkserver`` (else ``spawn``) workers that run
    :func:`corridor.runner.workers.die_with_parent` first; ``preload`` names modules for the
    forkserver to import once (see :func:`corridor.runner.workers.pool_context`).
    """
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=pool_context(preload),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


class ProcessExecutor(_Closing):
    """Local worker processes; the pool is rebuilt if a worker process dies.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default ``os.cpu_count()``); never more than the items.
    preload : sequence of str
        Modules for the forkserver to import before forking (the module of the work
        function is added).
    restarts : int
        Times the pool is rebuilt after a worker process died; the runs it held are
        submitted again. Beyond that they fail with a :class:`RunError`.
    """

    def __init__(
        self, workers: int | None = None, *, preload: Sequence[str] = (), restarts: int = POOL_RESTARTS
    ):
        n = workers if workers is not None else (os.cpu_count() or 1)
        if n < 1:
            raise WorkflowError(f"workers must be >= 1 (got {n})")
        self._workers = n
        self.preload = tuple(preload)
        self.restarts = restarts

    @property
    def workers(self) -> int:
        """Worker processes (at most)."""
        return self._workers

    def map_unordered(self, work: Callable[[T], R], items: Sequence[T]) -> Iterator[Finished[R]]:
        """Submit every item to a pool; yield each as it finishes; rebuild a broken pool."""
        module = _module_of(work)
        preload = [*self.preload, *([module] if module else [])]
        todo = list(range(len(items)))
        restarts = 0
        while todo:
            broken: list[int] = []
            with process_pool(min(self._workers, len(todo)), preload=preload) as pool:
                pending: dict[Future[R], int] = {pool.submit(_task, work, items[i]): i for i in todo}
                try:
                    while pending:
                        done, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in sorted(done, key=pending.__getitem__):
                            i = pending.pop(fut)
                            exc = fut.exception()
                            if isinstance(exc, BrokenProcessPool):
                                broken.append(i)
                            elif exc is not None:
                                yield Finished(i, error=_as_error(exc))
                            else:
                                yield Finished(i, fut.result())
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
            todo = sorted(broken)
            if todo:
                restarts += 1
                if restarts > self.restarts:
                    for i in todo:
                        yield Finished(i, error=RunError(WORKER_DIED, f"the pool broke {restarts} times"))
                    return


def connect(
    scheduler: str | Client, *, timeout: float = CONNECT_TIMEOUT, error: type[CorridorError] = WorkflowError
) -> Client:
    """A Dask client of ``scheduler`` (an address, or a Client, returned as is).

    Raises ``error`` (one line) if dask.distributed is missing or the scheduler cannot be
    reached within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency, but say what is missing
        raise error("a scheduler needs dask.distributed: pip install 'corridor[cluster]'") from None
    if not isinstance(scheduler, str):
        return scheduler
    try:
        return Client(scheduler, set_as_default=False, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise error(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None


class DaskExecutor(_Closing):
    """The workers of a Dask cluster: one task per item (``pure=False``), retried.

    Parameters
    ----------
    scheduler : str or distributed.Client
        A scheduler address (``tcp://host:8786``), connected at once (within
        :data:`CONNECT_TIMEOUT` seconds), or a connected Client. :meth:`close` closes the
        client only if this executor opened it.
    retries : int
        Dask retries of a task that failed; a task whose result could not be fetched (its
        worker died, say) is submitted again as many times.
    error : type
        The error raised if the scheduler cannot be reached.
    """

    def __init__(
        self,
        scheduler: str | Client,
        *,
        retries: int = DASK_RETRIES,
        timeout: float = CONNECT_TIMEOUT,
        error: type[CorridorError] = WorkflowError,
    ) -> None:
        self.client = connect(scheduler, timeout=timeout, error=error)
        self._owned = isinstance(scheduler, str)
        self.retries = retries

    @property
    def workers(self) -> int:
        """Worker threads of the cluster now (at least 1)."""
        info = self.client.scheduler_info()
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))

    def map_unordered(self, work: Callable[[T], R], items: Sequence[T]) -> Iterator[Finished[R]]:
        """Submit one task per item; yield each as it finishes."""
        from distributed import as_completed

        client = self.client
        name = getattr(getattr(work, "func", work), "__name__", "task")
        tries = [0] * len(items)

        def submit(i: int) -> Any:
            tries[i] += 1
            key = f"corridor-{name}-{i}-{os.urandom(4).hex()}"
            return client.submit(_task, work, items[i], pure=False, retries=self.retries, key=key)

        futures = {submit(i): i for i in range(len(items))}
        # The client's loop: with set_as_default=False there may be no default client.
        queue = as_completed(list(futures), loop=client.loop)  # type: ignore[no-untyped-call]
        try:
            for fut in queue:
                i = futures.pop(fut)
                try:
                    value = fut.result()
                except CorridorError as exc:  # the run itself failed (and was retried by Dask)
                    yield Finished(i, error=exc)
                    continue
                except Exception as exc:  # not the run: its result could not be fetched
                    if tries[i] <= self.retries:
                        again = submit(i)
                        futures[again] = i
                        queue.add(again)  # type: ignore[no-untyped-call]
                    else:
                        yield Finished(i, error=_as_error(exc))
                    continue
                yield Finished(i, value)
        except BaseException:
            client.cancel(list(futures))  # type: ignore[no-untyped-call]
            raise

    def close(self) -> None:
        """Close the client if this executor connected it."""
        if self._owned:
            self.client.close()  # type: ignore[no-untyped-call]


def make_executor(
    workers: int | None = 1, scheduler: str | Client | None = None, *, preload: Sequence[str] = ()
) -> SerialExecutor | ProcessExecutor | DaskExecutor:
    """The executor of the usual options: a ``scheduler`` (Dask), else ``workers`` local
    processes (None: the CPU count), else, with one worker, this process."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise WorkflowError(f"workers must be >= 1 (got {n})")
    return SerialExecutor() if n == 1 else ProcessExecutor(n, preload=preload)


# --------------------------------------------------------------------------- run_many
def iter_many(
    work: Callable[[T], R],
    items: Sequence[T],
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
    description: str = "runs",
    done: int = 0,
) -> Generator[Finished[R], None, None]:
    """``work(item)`` for every item, yielded as :class:`Finished` records as they finish.

    Errors are yielded, not raised. ``progress`` gets ``start(description, done +
    len(items), done)``, ``advance()`` as each item finishes, and ``finish()`` at the end
    (also when the caller stops early). Default executor: :class:`SerialExecutor`.
    """
    bar = as_progress(progress)
    runner = executor if executor is not None else SerialExecutor()
    bar.start(description, done + len(items), done)
    try:
        if items:
            for finished in runner.map_unordered(work, items):
                bar.advance()
                yield finished
    finally:
        bar.finish()


def run_many(
    work: Callable[[T], R],
    items: Sequence[T],
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
    description: str = "runs",
    done: int = 0,
) -> list[R]:
    """``[work(item) for item in items]``, on ``executor``: the results in the items' order.

    Parameters
    ----------
    work : callable
        A top-level function of one item (or a ``functools.partial`` of one): the executors
        that use other processes pickle it and the items.
    items : sequence
        One per run; the result of a run depends on its item only.
    executor : Executor, optional
        Where the runs go (default :class:`SerialExecutor`).
    progress : Progress, optional
        Told the number of items, and each one that finishes.
    description, done :
        The progress task's description, and steps already done before these items.

    Raises
    ------
    RunError
        The first run that failed (in the order they finished), with its traceback in the
        worker in ``.details``; the runs not started yet are cancelled.
    CorridorError
        A run that raised one (an invalid scenario, say), unchanged.
    """
    results: dict[int, R] = {}
    stream = iter_many(work, items, executor=executor, progress=progress, description=description, done=done)
    try:
        for finished in stream:
            if finished.error is not None:
                raise finished.error
            results[finished.index] = finished.value  # type: ignore[assignment]
    finally:
        stream.close()
    return [results[i] for i in range(len(items))]


# --------------------------------------------------------------------------- pyabc
def abc_sampler(workers: int | None, scheduler: Any) -> tuple[Any, Client | None]:
    """A pyabc sampler for ``calibrate``, and the Dask client to close after it (or None).

    No scheduler: one worker runs in this process (``SingleCoreSampler``, reproducible with a
    seed), more run in pyabc's local processes (``MulticoreEvalParallelSampler``; its model
    guards each of them with :func:`corridor.runner.workers.die_with_parent`). A scheduler
    address: a ``DaskDistributedSampler`` on a client of it. Anything else is taken to be a
    pyabc sampler, and returned as is.
    """
    import pyabc

    from corridor.errors import CalibrationError

    if scheduler is None and workers == 1:  # in this process (reproducible with a seed)
        return pyabc.sampler.SingleCoreSampler(), None
    if scheduler is None:
        return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers), None
    if not isinstance(scheduler, str):
        return scheduler, None  # a pyabc sampler object
    client = connect(scheduler, timeout=30, error=CalibrationError)
    return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), client
