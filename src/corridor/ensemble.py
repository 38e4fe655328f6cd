"""Ensembles: many runs of one scenario, over seeds and parameter draws, and their quantiles.

:func:`run_ensemble` is ``corridor ensemble``::

    import corridor
    ens = corridor.run_ensemble("scenarios/mexico-2019.yaml", "runs/2019-ensemble", runs=100,
                                agents=50_000, workers=8)
    ens.summary()          # median, 50% and 90% bands per metric, date and place
    ens.read_runs()        # every run's tidy table, with a ``run`` column

Each run is one (seed, parameter draw) pair and one call of :func:`corridor.simulate` in a
worker process (a local process pool, or the workers of a Dask cluster). Its tidy table is
written as soon as it finishes, atomically, to ``OUT/runs/run=<id>/part.parquet`` (a Parquet
dataset partitioned Hive-style by run): a run killed half-way leaves no file, never half a
file, and a run is never written twice. Re-running the same command resumes: runs whose
partition exists are skipped. ``OUT/manifest.json`` describes the ensemble (scenario digest,
options, the seed and overrides of every run) and guards a folder against being resumed with
another scenario or other options. ``OUT/summary.parquet`` holds the quantiles across runs.
``docs/cluster.md`` shows how to run an ensemble on a Dask cluster.

A run is computed holding an exclusive lock on ``OUT/runs/run=<id>/.run.lock``: a run that
another live process is computing is waited for, not computed again. ``OUT/.ensemble.lock``
keeps two ensembles from writing one folder at once. Local workers die with the process
that started them (:mod:`corridor.workers`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import platform
import socket
import sys
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from corridor.atomic import write_atomically
from corridor.geography import load_network
from corridor.run import choose_scale, simulate
from corridor.scenario import Scenario, ScenarioError, load_scenario, parse_override
from corridor.timeline import compile_timeline
from corridor.workers import process_pool

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "ENSEMBLE_LOCK",
    "MANIFEST_FORMAT",
    "QUANTILES",
    "RUN_LOCK",
    "EnsembleError",
    "EnsembleResult",
    "Posterior",
    "RunError",
    "RunSpec",
    "read_posterior",
    "run_ensemble",
    "summarize_ensemble",
]

#: ``format`` field of ``manifest.json``; bumped when the layout changes.
MANIFEST_FORMAT = "corridor-ensemble/1"
#: Lock file of an ensemble folder, held by the corridor process writing the ensemble.
ENSEMBLE_LOCK = ".ensemble.lock"
#: Lock file of a run's folder ``runs/run=<id>``, held by the process computing the run.
RUN_LOCK = ".run.lock"
#: Quantiles of ``summary.parquet``: column name -> probability.
QUANTILES: dict[str, float] = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
#: ``place`` label of the rows of ``summary.parquet`` summed over all places.
ALL_PLACES = "all"
#: Column of a posterior file holding the relative weight of each draw.
WEIGHT_COLUMN = "weight"
#: Entropy mixed into the generator of weighted posterior resampling, so that it is
#: independent of the simulation's own generator seeded with the same seed.
_DRAW_STREAM = 0x636F7272_69646F72  # "corridor"
#: Times a local process pool is rebuilt after a worker process died.
_POOL_RESTARTS = 2
#: Dask retries of a failed run (a worker dying is rescheduled on its own, without a retry).
_DASK_RETRIES = 2
#: Memory for the dense (runs x keys) array of the summary; more runs are summarised in slabs.
_SUMMARY_MEMORY_BYTES = 512 * 2**20

PosteriorSampling = Literal["cycle", "weighted"]


class EnsembleError(ValueError):
    """An ensemble could not be started, resumed or completed (bad options, a foreign folder...)."""


class RunError(EnsembleError):
    """A run failed in its worker: ``str()`` is the error, ``.details`` its traceback there.

    Workers raise this instead of the original exception, which may not survive the trip
    back to the parent process (an exception whose ``__init__`` takes other arguments than
    its message cannot be unpickled, and would break a process pool).
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message, details)

    def __str__(self) -> str:
        return str(self.args[0])

    @property
    def details(self) -> str:
        """The traceback in the worker."""
        return str(self.args[1])


# --------------------------------------------------------------------------- posterior
@dataclass(frozen=True, eq=False)
class Posterior:
    """Parameter draws read from a file: one row per draw, one column per dotted scenario path.

    Attributes
    ----------
    path : Path
        The file read.
    sha256 : str
        Digest of the file's bytes.
    columns : list of str
        Dotted scenario paths (``behaviour.settle_share``), the override of each draw.
    draws : list of dict
        Per draw, ``{path: value}`` with plain Python values.
    weights : ndarray or None
        Relative weight of each draw, from the optional ``weight`` column.
    """

    path: Path
    sha256: str
    columns: list[str]
    draws: list[dict[str, Any]]
    weights: npt.NDArray[np.float64] | None

    def __len__(self) -> int:
        return len(self.draws)


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar as a plain Python value (JSON- and pydantic-friendly)."""
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_posterior(path: str | Path) -> Posterior:
    """Read parameter draws from a Parquet or CSV file.

    Parameters
    ----------
    path : path
        ``.parquet`` / ``.pq`` (Parquet) or ``.csv``. Every column but ``weight`` is a dotted
        scenario path (as for ``--set``); each row is one draw. ``weight`` (optional) holds
        non-negative relative weights.

    Returns
    -------
    Posterior

    Raises
    ------
    EnsembleError
        If the file cannot be read, has no draws or parameters, holds empty cells, or bad weights.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
        if file.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(file)
        elif file.suffix.lower() == ".csv":
            frame = pd.read_csv(file)
        else:
            raise EnsembleError(f"posterior {file}: expected a .parquet or .csv file")
    except (OSError, ValueError, pa.ArrowException) as exc:
        if isinstance(exc, EnsembleError):
            raise
        raise EnsembleError(f"cannot read posterior {file}: {exc}") from None
    columns = [str(c) for c in frame.columns if str(c) != WEIGHT_COLUMN]
    if not columns:
        raise EnsembleError(f"posterior {file}: no parameter columns (dotted scenario paths)")
    if frame.empty:
        raise EnsembleError(f"posterior {file}: no draws (rows)")
    for col in columns:
        if not col or any(not part for part in col.split(".")):
            raise EnsembleError(f"posterior {file}: column {col!r} is not a dotted scenario path")
        if col.split(".")[0] == "horizon":
            raise EnsembleError(
                f"posterior {file}: column {col!r}: the runs of an ensemble share the horizon"
            )
    empty = frame[columns].isna()
    if empty.to_numpy().any():
        row, col = np.argwhere(empty.to_numpy())[0]
        raise EnsembleError(f"posterior {file}: draw {row} has no value for {columns[col]!r}")
    weights: npt.NDArray[np.float64] | None = None
    if WEIGHT_COLUMN in frame.columns:
        try:
            weights = frame[WEIGHT_COLUMN].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise EnsembleError(f"posterior {file}: column 'weight' is not numeric") from None
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.sum() > 0:
            raise EnsembleError(f"posterior {file}: weights must be finite, non-negative and not all zero")
    draws = [
        {col: _plain(value) for col, value in zip(columns, row, strict=True)}
        for row in frame[columns].itertuples(index=False, name=None)
    ]
    return Posterior(
        path=file.resolve(),
        sha256=hashlib.sha256(data).hexdigest(),
        columns=columns,
        draws=draws,
        weights=weights,
    )


def _draw_of(
    run: int, seed: int, n_draws: int, sampling: PosteriorSampling, cdf: npt.NDArray[np.float64]
) -> int:
    """Index of the posterior draw used by ``run`` (see :func:`run_ensemble`)."""
    if sampling == "cycle":
        return run % n_draws
    u = np.random.default_rng([_DRAW_STREAM, seed, run]).random()
    return min(int(np.searchsorted(cdf, u * cdf[-1], side="right")), n_draws - 1)


# --------------------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunSpec:
    """One run of an ensemble: what a worker needs to compute and write it.

    Attributes
    ----------
    run : int
        Run id, 0-based; names the partition ``runs/run=<id>``.
    seed : int
        Seed of :func:`corridor.simulate`.
    draw : int or None
        Row of the posterior whose values are among ``overrides`` (None without a posterior).
    overrides : dict
        Every override of the run: the ensemble's own, then the draw's.
    scenario_path : str
        Absolute path of the scenario file (workers must see it at that path).
    agents, scale : optional
        As for :func:`corridor.simulate`.
    partition : str
        Absolute path of the run's Parquet file.
    """

    run: int
    seed: int
    draw: int | None
    overrides: dict[str, Any]
    scenario_path: str
    agents: int | None
    scale: float | None
    partition: str

    def describe(self) -> dict[str, Any]:
        """The run's entry in ``manifest.json``."""
        return {
            "run": self.run,
            "seed": self.seed,
            "draw": self.draw,
            "overrides": _jsonable(self.overrides),
            "partition": f"runs/run={self.run}/part.parquet",
        }


@dataclass(frozen=True)
class RunOutcome:
    """What a worker reports of a run (small: the results themselves are in its partition)."""

    run: int
    computed: bool
    rows: int = 0
    wall_seconds: float = 0.0
    identity_holds: bool = True
    host: str = ""
    pid: int = 0


def _versions() -> dict[str, str]:
    from corridor import __version__

    return {
        "corridor": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }


def execute_run(spec: RunSpec) -> RunOutcome:
    """Compute one run and write its partition atomically; skip it if the partition exists.

    This is the task a worker runs (a process of the local pool, or a Dask worker). It is
    idempotent: a retried or duplicated task finds the file and returns at once. The run is
    computed holding an exclusive lock on its folder's ``.run.lock`` (released by the kernel
    when the process dies): a copy that finds the lock taken waits for it, then finds the
    partition written and skips the run, so two live processes never compute one run.
    """
    try:
        return _execute_run(spec)
    except Exception as exc:
        what = str(exc) if isinstance(exc, ScenarioError) else f"{type(exc).__name__}: {exc}"
        raise RunError(what, traceback.format_exc()) from None


def _execute_run(spec: RunSpec) -> RunOutcome:
    target = Path(spec.partition)
    if target.exists():
        return RunOutcome(run=spec.run, computed=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / RUN_LOCK, wait=True):
        if target.exists():  # written by the process that held the lock
            return RunOutcome(run=spec.run, computed=False)
        return _compute_run(spec, target)


def _compute_run(spec: RunSpec, target: Path) -> RunOutcome:
    results = simulate(
        spec.scenario_path,
        seed=spec.seed,
        agents=spec.agents,
        scale=spec.scale,
        overrides=spec.overrides or None,
    )
    table = pa.Table.from_pandas(results.to_frame(), preserve_index=False)
    identity = results.identity_check()
    facts = {
        "run": spec.run,
        "seed": spec.seed,
        "draw": spec.draw,
        "overrides": _jsonable(spec.overrides),
        "versions": _versions(),
        "info": _jsonable(results.info),
        "identity_check": _jsonable(identity),
        "written_by": {"host": socket.gethostname(), "pid": os.getpid()},
    }
    meta = dict(table.schema.metadata or {})
    meta[b"corridor"] = json.dumps(facts, default=str).encode()
    table = table.replace_schema_metadata(meta)
    write_atomically(target, lambda fh: pq.write_table(table, fh, compression="zstd"))
    return RunOutcome(
        run=spec.run,
        computed=True,
        rows=table.num_rows,
        wall_seconds=float(results.info.get("wall_seconds", 0.0)),
        identity_holds=bool(identity["holds"]),
        host=socket.gethostname(),
        pid=os.getpid(),
    )


# --------------------------------------------------------------------------- locks
def _flock(fd: int, wait: bool) -> bool:
    """An exclusive ``flock`` on ``fd``: True once held, False if another process holds it.

    Where the filesystem has no ``flock`` (some NFS or Lustre mounts), or on Windows, there
    is no lock: True.
    """
    if sys.platform == "win32":
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return True
        raise
    return True


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool) -> Iterator[bool]:
    """Hold an exclusive lock on the file ``path`` (created if missing) for the block.

    Yields whether it is held (``wait=False``: False at once if another process holds it).
    The file stays; the lock goes when the block ends or the process dies.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        yield _flock(fd, wait)
    finally:
        os.close(fd)


def _lock_holder(fd: int) -> str:
    """Who holds an ensemble lock, from the file's text ("pid N", "pid N on host H")."""
    for _ in range(20):  # the holder writes it just after locking
        text = os.pread(fd, 256, 0).decode(errors="replace").split()
        if len(text) >= 2 and text[0].isdigit():
            pid, host = text[0], text[1]
            return f"pid {pid}" if host == socket.gethostname() else f"pid {pid} on host {host}"
        time.sleep(0.01)
    return "pid unknown"


@contextlib.contextmanager
def _ensemble_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``OUT/.ensemble.lock`` for the block, or refuse: another process writes ``out_dir``."""
    fd = os.open(out_dir / ENSEMBLE_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if not _flock(fd, wait=False):
            raise EnsembleError(
                f"{out_dir} is being written by another corridor process ({_lock_holder(fd)}); "
                "wait for it to finish, or use another output folder (--out)"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- manifest
def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (dates become ISO strings, tuples lists)."""
    return json.loads(json.dumps(value, default=_json_default, sort_keys=True))


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _content_sha256(scenario: Scenario) -> str:
    """Digest of the validated scenario (after variants and overrides), whatever their spelling."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()


def _write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, default=_json_default) + "\n"
    write_atomically(out_dir / "manifest.json", lambda fh: fh.write(text.encode()))


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    file = out_dir / "manifest.json"
    if not file.exists():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EnsembleError(f"{file} is not readable JSON ({exc}); use another output folder") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise EnsembleError(f"{file} is not a {MANIFEST_FORMAT} manifest; use another output folder")
    return manifest


def _check_resume(out_dir: Path, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Refuse to resume ``out_dir`` unless the new request extends the ensemble it holds."""
    problems = []
    if old["scenario"]["content_sha256"] != new["scenario"]["content_sha256"]:
        problems.append(
            f"scenario: it holds {old['scenario']['name']!r} ({old['scenario']['path']}, "
            f"sha256 {old['scenario']['sha256'][:12]}), not this one "
            f"({new['scenario']['path']}, sha256 {new['scenario']['sha256'][:12]})"
        )
    for key in ("agents", "scale", "overrides"):
        if old["options"].get(key) != new["options"].get(key):
            problems.append(
                f"{key}: it was run with {old['options'].get(key)!r}, not {new['options'].get(key)!r}"
            )
    old_post, new_post = old.get("posterior"), new.get("posterior")
    if (old_post is None) != (new_post is None):
        problems.append(f"posterior: it was run {'with' if old_post else 'without'} one")
    elif old_post is not None and new_post is not None:
        for key in ("sha256", "sampling"):
            if old_post[key] != new_post[key]:
                problems.append(f"posterior {key}: {old_post[key]!r} then, {new_post[key]!r} now")
    old_runs, new_runs = old["runs"], new["runs"]
    if len(new_runs) < len(old_runs):
        problems.append(f"runs: it holds {len(old_runs)} runs; ask for at least as many (or another folder)")
    for before, now in zip(old_runs, new_runs, strict=False):
        if (before["seed"], before["draw"]) != (now["seed"], now["draw"]):
            problems.append(
                f"run {before['run']}: it was seed {before['seed']}, draw {before['draw']}; "
                f"now seed {now['seed']}, draw {now['draw']}"
            )
            break
    if problems:
        raise EnsembleError(
            f"{out_dir} holds another ensemble; use another output folder (--out) or the same options.\n"
            + "\n".join(f"  {p}" for p in problems)
        )


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class EnsembleResult:
    """A finished ensemble, on disk.

    Attributes
    ----------
    out_dir : Path
        The ensemble's folder: ``manifest.json``, ``runs/run=<id>/part.parquet``, ``summary.parquet``.
    manifest : dict
        The contents of ``manifest.json``.
    computed, skipped : tuple of int
        Runs computed by this call, and runs found already written (resumed).
    wall_seconds : float
        Wall time of this call.
    """

    out_dir: Path
    manifest: dict[str, Any]
    computed: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    wall_seconds: float = 0.0
    outcomes: tuple[RunOutcome, ...] = field(default=(), repr=False)

    @property
    def runs_dir(self) -> Path:
        """The partitioned dataset: one ``run=<id>/part.parquet`` per run."""
        return self.out_dir / "runs"

    @property
    def summary_path(self) -> Path:
        """``summary.parquet``: quantiles across runs per metric, date and place."""
        return self.out_dir / "summary.parquet"

    @property
    def n_runs(self) -> int:
        """Number of runs of the ensemble."""
        return len(self.manifest["runs"])

    def partition(self, run: int) -> Path:
        """The Parquet file of run ``run``."""
        return self.runs_dir / f"run={run}" / "part.parquet"

    def summary(self) -> pd.DataFrame:
        """The quantile summary (see :func:`summarize_ensemble`)."""
        return pd.read_parquet(self.summary_path)

    def read_run(self, run: int) -> pd.DataFrame:
        """The tidy table of one run, as :meth:`corridor.Results.to_frame` returned it."""
        return pd.read_parquet(self.partition(run))

    def read_runs(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All runs' tidy tables in one frame, with an integer ``run`` column (memory: all runs)."""
        frame = pd.read_parquet(self.runs_dir, columns=None if columns is None else [*columns, "run"])
        frame["run"] = frame["run"].astype(np.int64)
        return frame


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

    The workers die with this process (:func:`corridor.workers.process_pool`).
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


# --------------------------------------------------------------------------- API
def _normalise_overrides(overrides: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return dict(overrides)
    if isinstance(overrides, str):
        raise EnsembleError("overrides: give a mapping or a list of 'dotted.path=value' strings")
    return dict(parse_override(o) for o in overrides)


def run_ensemble(
    scenario_path: str | Path,
    out_dir: str | Path,
    runs: int,
    *,
    first_seed: int = 0,
    seeds: Sequence[int] | None = None,
    agents: int | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    posterior: str | Path | Posterior | None = None,
    posterior_sampling: PosteriorSampling | None = None,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    progress: bool = True,
) -> EnsembleResult:
    """Run a scenario many times, write each run as it finishes, then the quantiles across runs.

    Parameters
    ----------
    scenario_path : path
        Scenario YAML file. With a ``scheduler``, the workers must see it (and ``out_dir``)
        at the same absolute path: a shared filesystem.
    out_dir : path
        Output folder: ``manifest.json``, ``runs/run=<id>/part.parquet``, ``summary.parquet``.
        If it already holds this ensemble, finished runs are kept and only missing ones run
        (resume); if it holds another ensemble, or other files, :class:`EnsembleError`.
    runs : int
        Number of runs, ``>= 1``. Resuming with more runs than before extends the ensemble.
    first_seed : int
        Run ``i`` has seed ``first_seed + i`` ...
    seeds : sequence of int, optional
        ... unless the seeds are given, one per run.
    agents, scale : optional
        As for :func:`corridor.simulate` (about how many agents, or persons per agent).
    overrides : mapping or list of "path=value", optional
        Applied to every run.
    posterior : path or Posterior, optional
        Parameter draws: a Parquet or CSV file, one column per dotted scenario path, one row
        per draw, and an optional ``weight`` column (see :func:`read_posterior`). Each run
        applies one draw as overrides. Without it, runs differ by seed only.
    posterior_sampling : {"cycle", "weighted"}, optional
        Which draw a run uses. ``"cycle"``: run ``i`` uses draw ``i mod n_draws`` (the default
        without a ``weight`` column). ``"weighted"``: each run draws one row with probability
        proportional to its weight, using a generator seeded with (a fixed stream key, the
        run's seed, the run id), so a run's draw never depends on the other runs (the default
        with a ``weight`` column).
    workers : int, optional
        Local worker processes (default ``os.cpu_count()``); ignored with a ``scheduler``.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or a connected Client: one task per
        run is submitted to the cluster (``pure=False``, retried twice; a run whose worker
        dies is rescheduled by Dask).
    progress : bool
        Show a progress bar (on stderr).

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ScenarioError
        If the scenario (with the overrides, and the first posterior draw) is invalid:
        checked once, in this process, before any run starts.
    EnsembleError
        Bad options, a folder holding another ensemble, or runs that failed (the runs that
        finished are kept: call again to retry the others).

    Notes
    -----
    Every run writes its tidy table (:meth:`corridor.Results.to_frame`, unchanged, with the
    run's facts in the Parquet metadata under ``corridor``) to ``runs/run=<id>/part.parquet``
    through a temporary file and one rename: a worker killed mid-run leaves no partition,
    and the run is computed again (by Dask at once, by the local pool after rebuilding it,
    or on resume). Runs are never written twice. Only small records come back to this
    process; the summary reads the partitions from disk (see :func:`summarize_ensemble`).
    """
    started = time.perf_counter()
    scenario_file = Path(scenario_path).resolve()
    target = Path(out_dir).resolve()
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise EnsembleError(f"runs must be a whole number >= 1 (got {runs!r})")
    if seeds is not None:
        seed_list = [int(s) for s in seeds]
        if len(seed_list) != runs:
            raise EnsembleError(f"seeds: {len(seed_list)} given for {runs} runs")
    else:
        seed_list = [first_seed + i for i in range(runs)]
    if any(s < 0 for s in seed_list):
        raise EnsembleError("seeds must be >= 0")
    if workers is not None and workers < 1:
        raise EnsembleError(f"workers must be >= 1 (got {workers})")
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    base = _normalise_overrides(overrides)

    # Validate everything once, here, before any worker starts.
    scenario = load_scenario(scenario_file, base)
    network = load_network()
    choose_scale(compile_timeline(scenario, network), agents, scale)
    post = read_posterior(posterior) if isinstance(posterior, str | Path) else posterior
    sampling: PosteriorSampling | None = None
    cdf = np.ones(1)
    if post is not None:
        clash = sorted(set(post.columns) & set(base))
        if clash:
            raise EnsembleError(
                f"overrides and posterior both set {', '.join(clash)}: give each in one place"
            )
        sampling = posterior_sampling or ("weighted" if post.weights is not None else "cycle")
        if sampling == "weighted":
            if post.weights is None:
                raise EnsembleError(f"posterior {post.path}: weighted sampling needs a 'weight' column")
            cdf = np.cumsum(post.weights)
        compile_timeline(load_scenario(scenario_file, {**base, **post.draws[0]}), network)
    elif posterior_sampling is not None:
        raise EnsembleError("posterior_sampling needs a posterior")

    specs = []
    for run, seed in enumerate(seed_list):
        draw = None if post is None or sampling is None else _draw_of(run, seed, len(post), sampling, cdf)
        specs.append(
            RunSpec(
                run=run,
                seed=seed,
                draw=draw,
                overrides={**base, **(post.draws[draw] if post is not None and draw is not None else {})},
                scenario_path=str(scenario_file),
                agents=agents,
                scale=scale,
                partition=str(target / "runs" / f"run={run}" / "part.parquet"),
            )
        )

    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "scenario": {
            "path": str(scenario_file),
            "name": scenario.name,
            "sha256": scenario.sha256,
            "content_sha256": _content_sha256(scenario),
            "horizon": {"start": scenario.horizon.start.isoformat(), "end": scenario.horizon.end.isoformat()},
        },
        "options": {"agents": agents, "scale": scale, "overrides": _jsonable(base)},
        "posterior": None
        if post is None
        else {
            "path": str(post.path),
            "sha256": post.sha256,
            "draws": len(post),
            "columns": post.columns,
            "weighted": post.weights is not None,
            "sampling": sampling,
        },
        "runs": [s.describe() for s in specs],
        "versions": _versions(),
        "created": _now(),
        "updated": _now(),
        "complete": False,
        "summary": None,
    }
    client = None if scheduler is None else _connect(scheduler)
    try:
        return _execute(specs, target, manifest, scenario.name, client, n_workers, progress, started)
    finally:
        if client is not None and isinstance(scheduler, str):
            client.close()  # type: ignore[no-untyped-call]


def _execute(
    specs: list[RunSpec],
    target: Path,
    manifest: dict[str, Any],
    name: str,
    client: Client | None,
    n_workers: int,
    progress: bool,
    started: float,
) -> EnsembleResult:
    """Check or start the folder, run what is missing, summarise (the body of :func:`run_ensemble`).

    All of it holds the folder's ``.ensemble.lock``: a second ensemble on the folder is refused.
    """
    _refuse_foreign(target)  # before putting a lock file in someone else's folder
    target.mkdir(parents=True, exist_ok=True)
    with _ensemble_lock(target):
        return _execute_locked(specs, target, manifest, name, client, n_workers, progress, started)


def _refuse_foreign(target: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None for a new folder; refuse a folder holding other files."""
    old = _read_manifest(target) if target.exists() else None
    if old is None and target.exists() and any(p.name != ENSEMBLE_LOCK for p in target.iterdir()):
        raise EnsembleError(
            f"{target} exists and holds no ensemble manifest; use a new or empty output folder"
        )
    return old


def _execute_locked(
    specs: list[RunSpec],
    target: Path,
    manifest: dict[str, Any],
    name: str,
    client: Client | None,
    n_workers: int,
    progress: bool,
    started: float,
) -> EnsembleResult:
    old = _refuse_foreign(target)
    if old is not None:
        _check_resume(target, old, manifest)
        manifest["created"] = old.get("created", manifest["created"])
    _write_manifest(target, manifest)  # first: a folder with other files and no manifest is foreign
    (target / "runs").mkdir(exist_ok=True)

    done = [s.run for s in specs if Path(s.partition).exists()]
    todo = [s for s in specs if not Path(s.partition).exists()]
    _remove_temporary_files(todo)  # of runs killed earlier
    bar, task = _progress(progress, name, len(specs), len(done))
    with bar:

        def advance() -> None:
            bar.advance(task)

        if not todo:
            outcomes: list[RunOutcome] = []
            failed: dict[int, BaseException] = {}
        elif client is not None:
            outcomes, failed = _run_dask(todo, client, advance)
        else:
            outcomes, failed = _run_local(todo, n_workers, advance)
    if failed:
        lines = [
            f"  run {run} (seed {specs[run].seed}): {_describe_failure(exc)}"
            for run, exc in sorted(failed.items())
        ]
        raise EnsembleError(
            f"{len(failed)} of {len(specs)} runs failed; the {len(specs) - len(failed)} others are written. "
            "Run the same command again to retry the failed runs.\n" + "\n".join(lines)
        )

    _remove_temporary_files(specs)  # of workers killed while writing, their runs since redone
    summary = summarize_ensemble(target, runs=[s.run for s in specs])
    manifest["complete"] = True
    manifest["updated"] = _now()
    manifest["summary"] = {
        "path": summary.name,
        "runs": len(specs),
        "quantiles": QUANTILES,
        "method": "numpy.quantile, linear; a run's missing rows count as 0",
    }
    _write_manifest(target, manifest)
    computed = tuple(sorted(o.run for o in outcomes if o.computed))
    return EnsembleResult(
        out_dir=target,
        manifest=manifest,
        computed=computed,
        skipped=tuple(sorted(set(done) | {o.run for o in outcomes if not o.computed})),
        wall_seconds=time.perf_counter() - started,
        outcomes=tuple(sorted(outcomes, key=lambda o: o.run)),
    )


# --------------------------------------------------------------------------- summary
def _iter_slabs(n_keys: int, n_runs: int, memory_bytes: int) -> Iterator[tuple[int, int]]:
    width = max(1, memory_bytes // (8 * max(n_runs, 1)))
    for lo in range(0, n_keys, width):
        yield lo, min(lo + width, n_keys)


def summarize_ensemble(
    out_dir: str | Path,
    runs: Sequence[int] | None = None,
    *,
    memory_bytes: int = _SUMMARY_MEMORY_BYTES,
) -> Path:
    """Write ``summary.parquet``: quantiles across runs per metric, date and place.

    For every run, values are summed over nationalities per (metric, date, place), and over
    places too (``place == "all"``). A (metric, date, place) a run has no row for counts as 0
    in that run (the tidy table leaves zeros out). Across runs: ``mean`` and the quantiles
    of :data:`QUANTILES` (``numpy.quantile``, linear interpolation): the median, the 50%
    band ``q25``-``q75`` and the 90% band ``q05``-``q95``. Rows that are 0 in every run are
    left out.

    Parameters
    ----------
    out_dir : path
        An ensemble folder (its ``manifest.json`` gives the horizon and the runs).
    runs : sequence of int, optional
        The runs to summarise (default: all in the manifest; each must be written).
    memory_bytes : int
        Budget of the dense (runs x keys) array; above it, keys are summarised in slabs,
        each reading every partition again.

    Returns
    -------
    Path
        ``summary.parquet``, written atomically.
    """
    folder = Path(out_dir)
    manifest = _read_manifest(folder)
    if manifest is None:
        raise EnsembleError(f"{folder} holds no ensemble (no manifest.json)")
    run_ids = [int(r["run"]) for r in manifest["runs"]] if runs is None else list(runs)
    files = [folder / "runs" / f"run={r}" / "part.parquet" for r in run_ids]
    missing = [r for r, f in zip(run_ids, files, strict=True) if not f.exists()]
    if missing:
        raise EnsembleError(f"runs {missing} of {folder} are not written yet")
    start = np.datetime64(manifest["scenario"]["horizon"]["start"], "D")
    dates = pd.date_range(manifest["scenario"]["horizon"]["start"], manifest["scenario"]["horizon"]["end"])

    # Names come from the first run's categories (complete lists: every metric, every place).
    first = pd.read_parquet(files[0], columns=["metric", "place"])
    metrics = [str(m) for m in first["metric"].cat.categories]
    places = [str(p) for p in first["place"].cat.categories]
    n_d, n_p = len(dates), len(places) + 1  # the last place index is "all"
    n_keys = len(metrics) * n_d * n_p
    metric_at = {m: i for i, m in enumerate(metrics)}
    place_at = {p: i for i, p in enumerate(places)}

    def keys_of(file: Path) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        frame = pd.read_parquet(file, columns=["date", "metric", "place", "value"])
        try:
            m_map = np.array([metric_at[str(c)] for c in frame["metric"].cat.categories], dtype=np.int64)
            p_map = np.array([place_at[str(c)] for c in frame["place"].cat.categories], dtype=np.int64)
        except KeyError as exc:
            raise EnsembleError(
                f"{file}: {exc.args[0]!r} is not a metric or place of the first run"
            ) from None
        m = m_map[frame["metric"].cat.codes.to_numpy()] if len(m_map) else np.zeros(len(frame), np.int64)
        p = p_map[frame["place"].cat.codes.to_numpy()] if len(p_map) else np.zeros(len(frame), np.int64)
        d = (frame["date"].to_numpy().astype("datetime64[D]") - start).astype(np.int64)
        if len(d) and (d.min() < 0 or d.max() >= n_d):
            raise EnsembleError(f"{file}: dates outside the ensemble's horizon")
        base = (m * n_d + d) * n_p
        value = frame["value"].to_numpy(dtype=np.float64)
        return np.concatenate([base + p, base + (n_p - 1)]), np.concatenate([value, value])

    names = list(QUANTILES)
    probs = list(QUANTILES.values())

    def slab_table(lo: int, hi: int) -> pa.Table:
        dense = np.zeros((len(files), hi - lo))
        if hi > lo:
            for i, file in enumerate(files):
                keys, values = keys_of(file)
                inside = (keys >= lo) & (keys < hi)
                dense[i] = np.bincount(keys[inside] - lo, weights=values[inside], minlength=hi - lo)
        keep = np.flatnonzero(dense.max(axis=0, initial=0.0) > 0)
        kept = dense[:, keep]
        quant = np.quantile(kept, probs, axis=0) if keep.size else np.zeros((len(probs), 0))
        flat = keep + lo
        frame = pd.DataFrame(
            {
                "date": dates.values[(flat // n_p) % n_d].astype("datetime64[ms]"),
                "metric": pd.Categorical.from_codes(flat // (n_p * n_d), pd.Index(metrics)),
                "place": pd.Categorical.from_codes(flat % n_p, pd.Index([*places, ALL_PLACES])),
                "runs": np.full(keep.size, len(files), dtype=np.int32),
                "mean": kept.mean(axis=0),
                **{name: quant[j] for j, name in enumerate(names)},
            }
        )
        return pa.Table.from_pandas(frame, preserve_index=False)

    def write(fh: Any) -> None:
        slabs = list(_iter_slabs(n_keys, len(files), memory_bytes)) or [(0, 0)]
        writer: pq.ParquetWriter | None = None
        try:
            for lo, hi in slabs:
                table = slab_table(lo, hi)
                if writer is None:
                    writer = pq.ParquetWriter(fh, table.schema, compression="zstd")
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()

    target = folder / "summary.parquet"
    write_atomically(target, write)
    return target
