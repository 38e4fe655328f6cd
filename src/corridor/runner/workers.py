"""Local worker processes that die with the process that started them.

Every local process pool of corridor comes from
:func:`corridor.runner.executors.process_pool`, and every worker runs :func:`die_with_parent`
first. The problem it solves: a ``kill -9`` of the parent leaves its pool's workers running. They finish
their current task, then wait forever on their task queue (each holds a write end of it, so
it never reaches end-of-file), holding their memory.

:func:`die_with_parent` gives a worker two ways to notice that its owner (the process that
made the pool) is gone:

- **a parent-death signal** (Linux): ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel
  kill the worker as soon as its parent exits. Its parent is then re-checked, to close the
  race of a parent that died before the call.
- **a watchdog thread** (every POSIX system): a daemon thread that looks every
  :data:`POLL_SECONDS` whether the worker's parent changed (it was reparented) or the owner
  is gone (exited, a zombie, or its pid reused), and then ends the worker with ``os._exit``.

The forkserver. Where it exists, pools use the ``forkserver`` start method, so a worker is a
child of the forkserver process, not of the owner: the parent-death signal alone fires only
when the forkserver exits. CPython's forkserver exits when every holder of its "alive" pipe
has closed it, and hands a copy of that pipe to every process it forks, so the owner's death
alone never ends it: the workers keep it alive, and it keeps them alive. In a forkserver
child, :func:`die_with_parent` therefore closes the worker's copy of that pipe (the worker
never uses it). The chain is then: the owner dies, the kernel closes its end of the pipe, the
forkserver reads end-of-file and exits, the kernel sends SIGKILL to each of its workers. The
watchdog, which watches the owner's pid itself, covers the cases the chain does not (another
process holding the pipe, a platform without ``prctl``, a change of CPython's internals).

The parent-death signal follows the *thread* that created the process: a process started by a
thread that then ends is killed with it. Pools here start their workers from the forkserver
(single-threaded) or, with the ``spawn`` method, from the thread that submits the tasks.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["POLL_SECONDS", "die_with_parent", "pool_context"]

#: How often the watchdog thread of a worker looks at its parent and owner, in seconds.
POLL_SECONDS = 0.5
#: Exit status of a worker ended by its watchdog.
ORPHANED_EXIT_CODE = 1
#: ``prctl`` option (linux/prctl.h): the signal sent to this process when its parent exits.
_PR_SET_PDEATHSIG = 1
#: Name of the watchdog thread.
WATCHDOG_THREAD = "corridor-parent-watchdog"

#: Pid of the process this module already guarded (a forked child has another pid: guard it again).
_guarded_pid: int | None = None


def die_with_parent(owner: int | None = None) -> None:
    """Make this process end when its parent, or ``owner``, ends. Idempotent per process.

    Call it first in a worker process (as a pool initializer, or at the start of a task).

    Parameters
    ----------
    owner : int, optional
        Pid of the process the worker works for: its parent, or the process whose forkserver
        is its parent. Default: the process that started this one with :mod:`multiprocessing`
        (``multiprocessing.parent_process()``). In the owner itself, or in a process that
        :mod:`multiprocessing` did not start (a main process), this does nothing.

    Notes
    -----
    Never raises: a guard that cannot be set up (no ``prctl``, no ``/proc``) is left out, and
    the worker runs on as it would without it. On Windows it does nothing.
    """
    global _guarded_pid
    me = os.getpid()
    if _guarded_pid == me or sys.platform == "win32":
        return
    if owner is None:
        parent = multiprocessing.parent_process()
        if parent is None or parent.pid is None:
            return
        owner = parent.pid
    if owner == me:
        return
    _guarded_pid = me
    _set_parent_death_signal()
    _close_forkserver_alive_pipe()
    parent_pid = os.getppid()
    owner_start = _start_time(owner)
    # The parent (or the owner) may have died before the signal was set: then nothing kills us.
    if not _alive(owner, owner_start) or _reparented(parent_pid, owner):
        os._exit(ORPHANED_EXIT_CODE)
    threading.Thread(
        target=_watch, args=(parent_pid, owner, owner_start), name=WATCHDOG_THREAD, daemon=True
    ).start()


def pool_context(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """The start method of local pools: ``forkserver`` where it exists, else ``spawn``.

    ``preload`` names modules the forkserver imports once, before it forks any worker (it
    takes effect only if the forkserver of this process is not running yet).
    """
    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:  # no forkserver on this platform (Windows)
        return multiprocessing.get_context("spawn")
    ctx.set_forkserver_preload(list(dict.fromkeys(["corridor.runner.workers", *preload])))
    return ctx


# --------------------------------------------------------------------------- internals
def _set_parent_death_signal() -> None:
    """Linux: ask the kernel for SIGKILL when the parent (thread) of this process exits."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def _close_forkserver_alive_pipe() -> None:
    """In a child of a forkserver, close its copy of the forkserver's "alive" pipe.

    The forkserver exits once every copy of the pipe's write end is closed; the one in each
    worker would keep it (and, through it, the parent-death signal) waiting for the workers.
    The worker does not use it: a forkserver of its own would get a new pipe. A process that
    runs a forkserver (its ``_forkserver_pid`` is set) keeps its pipe.
    """
    try:
        from multiprocessing import forkserver

        server: Any = forkserver._forkserver
        fd = server._forkserver_alive_fd
        if fd is None or server._forkserver_pid is not None:
            return
        os.close(fd)
        server._forkserver_alive_fd = None
    except (ImportError, AttributeError, OSError):  # another CPython: the watchdog still works
        return


def _proc_stat(pid: int) -> list[str] | None:
    """Linux: the fields of ``/proc/<pid>/stat`` after the command name (state first)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _start_time(pid: int) -> str | None:
    """When process ``pid`` started (Linux, in clock ticks since boot), to tell a reused pid."""
    stat = _proc_stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else None


def _alive(pid: int, start: str | None) -> bool:
    """Whether process ``pid`` (started at ``start``, if known) still runs: not gone, no zombie."""
    if Path("/proc/self/stat").exists():
        stat = _proc_stat(pid)
        if stat is None or stat[0] in ("Z", "X", "x"):
            return False
        return start is None or (len(stat) > 19 and stat[19] == start)
    try:
        os.kill(pid, 0)  # POSIX: signal 0 only checks (not on Windows, where it would kill)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reparented(parent: int, owner: int) -> bool:
    """Linux: whether ``parent`` is neither the owner nor a child of it (a reaper took us over)."""
    if parent == owner:
        return False
    stat = _proc_stat(parent)
    if stat is None:
        return False  # no /proc: the watchdog decides
    return int(stat[1]) != owner


def _watch(parent: int, owner: int, owner_start: str | None) -> None:
    """The watchdog thread: end this process when its parent changes or its owner is gone."""
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent or not _alive(owner, owner_start):
            os._exit(ORPHANED_EXIT_CODE)
