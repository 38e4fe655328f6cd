"""Local workers die with their owner: the parent-death signal, the forkserver chain, the watchdog.

Real processes throughout: an owner process is started, SIGKILLed (it alone), and what it
started must be gone within seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence

import psutil
import pytest

from corridor.runner.executors import process_pool
from corridor.runner.workers import ORPHANED_EXIT_CODE, WATCHDOG_THREAD, die_with_parent

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process tree")

#: How long the descendants of a killed owner may live on.
GONE_WITHIN = 5.0
_PR_GET_PDEATHSIG = 2


def descendants(pid: int) -> list[psutil.Process]:
    """Every process below ``pid`` now."""
    return psutil.Process(pid).children(recursive=True)


def running(procs: Sequence[psutil.Process]) -> list[psutil.Process]:
    """Those of ``procs`` still running (a zombie, or a reused pid, is not)."""
    alive = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


def wait_gone(procs: Sequence[psutil.Process], within: float = GONE_WITHIN) -> float:
    """Seconds until none of ``procs`` runs; fails the test after ``within``."""
    start = time.monotonic()
    while running(procs) and time.monotonic() - start < within:
        time.sleep(0.01)
    left = running(procs)
    assert not left, f"still running {within} s after the kill: {[p.pid for p in left]}"
    return time.monotonic() - start


def kill_all(procs: Sequence[psutil.Process]) -> None:
    """Clean up after a failed test: no process of ours is left behind."""
    for proc in running(procs):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


@contextlib.contextmanager
def owner(code: str) -> Iterator[subprocess.Popen[str]]:
    """A Python process running ``code``; killed (with what it started) at the end."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], text=True, stdout=subprocess.PIPE)
    seen: list[psutil.Process] = []
    try:
        yield proc
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            seen = descendants(proc.pid)
        proc.kill()
        proc.wait()
        kill_all(seen)


def wait_for(predicate: object, what: str, within: float = 60.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def pdeathsig() -> int:
    """This process's parent-death signal (0: none)."""
    value = ctypes.c_int()
    ctypes.CDLL(None).prctl(_PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0)
    return value.value


def guard_state() -> tuple[int, int, int]:
    """In a pool worker: guard again (a no-op), then (pid, parent-death signal, watchdog threads)."""
    die_with_parent()
    die_with_parent(os.getppid())
    watchdogs = sum(t.name == WATCHDOG_THREAD for t in threading.enumerate())
    return os.getpid(), pdeathsig(), watchdogs


def test_pool_workers_are_guarded_once_and_the_owner_not_at_all() -> None:
    before = pdeathsig()
    die_with_parent()  # the main process: not a multiprocessing child
    die_with_parent(os.getpid())  # the owner itself
    assert pdeathsig() == before
    assert not [t for t in threading.enumerate() if t.name == WATCHDOG_THREAD]

    with process_pool(2) as pool:
        states = [pool.submit(guard_state).result() for _ in range(4)]
    for pid, sig, watchdogs in states:
        assert pid != os.getpid()
        assert sig == signal.SIGKILL
        assert watchdogs == 1


def test_pool_workers_die_within_seconds_of_their_owner_kill9() -> None:
    code = """
        import time
        from corridor.runner.executors import process_pool
        pool = process_pool(2)
        for _ in range(2):
            pool.submit(time.sleep, 120)
        time.sleep(120)
    """
    with owner(code) as proc:
        # The resource tracker, the forkserver and its two workers.
        wait_for(lambda: len(descendants(proc.pid)) >= 4, "the pool's workers")
        tree = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)  # the owner alone
        proc.wait()
        wait_gone(tree)  # typically 0.2-0.6 s


def test_the_watchdog_ends_a_worker_whose_owner_died_while_its_parent_lives() -> None:
    # owner -> middle (not guarded, outlives the owner) -> guarded worker: no parent-death
    # signal can fire (its parent lives on); only the watchdog, watching the owner, ends it.
    worker = "import os, sys, time; from corridor.runner.workers import die_with_parent; " + (
        "die_with_parent(int(sys.argv[1])); print('guarded', flush=True); time.sleep(120)"
    )
    middle = (
        "import os, subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {worker!r}, str(os.getppid())]); time.sleep(120)"
    )
    code = f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", {middle!r}])
        time.sleep(120)
    """
    with owner(code) as proc:
        wait_for(lambda: len(descendants(proc.pid)) >= 2, "the worker")
        tree = descendants(proc.pid)
        mid = next(p for p in tree if p.ppid() == proc.pid)
        leaf = next(p for p in tree if p.ppid() == mid.pid)
        wait_for(lambda: any(t.id != leaf.pid for t in leaf.threads()), "the worker's watchdog")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            wait_gone([leaf])  # typically within POLL_SECONDS
            assert running([mid]) == [mid]  # the middle one is not guarded: it lives on
        finally:
            kill_all([mid, leaf])


def test_a_worker_whose_owner_is_already_gone_exits_at_once() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    code = (
        f"from corridor.runner.workers import die_with_parent; die_with_parent({gone.pid}); print('survived')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == ORPHANED_EXIT_CODE and "survived" not in done.stdout
