"""One run of an ensemble: its spec, its computation into ``runs/run=K``, and its lock."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from corridor.atomic import write_atomically
from corridor.errors import ScenarioError
from corridor.provenance import versions
from corridor.runner.single import simulate

if TYPE_CHECKING:
    pass
from corridor.ensemble.manifest import _jsonable
from corridor.errors import EnsembleError, RunError

#: Lock file of an ensemble folder, held by the corridor process writing the ensemble.
ENSEMBLE_LOCK = ".ensemble.lock"
#: Lock file of a run's folder ``runs/run=<id>``, held by the process computing the run.
RUN_LOCK = ".run.lock"


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
        "versions": versions(),
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
